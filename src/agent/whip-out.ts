import { NdcSenderPeer, type NdcOptions } from '../media/ndc/index.js';
import { Emitter, type Logger, PeercamError, silentLogger } from '../protocol/index.js';
import type { PeerConfig } from '../session/index.js';
import type { CameraAgent } from './camera.js';

export interface WhipOutOptions {
  /** The WHIP endpoint (an SFU, a media server, a CDN, another peercam hub's /whip/<name>). */
  readonly url: string;
  /** Sent as `Authorization: Bearer <token>` when given. */
  readonly token?: string;
  readonly camera: CameraAgent;
  readonly config: PeerConfig;
  readonly engine?: NdcOptions;
  /** Wait before publishing again after a failure. Default 5 s. */
  readonly retryMs?: number;
  readonly log?: Logger;
}

export type WhipOutState = 'connecting' | 'live' | 'retrying' | 'stopped';

export interface WhipOutEvents {
  /** Publishing started, went live, failed (retrying, with why) or stopped. */
  state: (state: WhipOutState, detail: string | undefined) => void;
}

/**
 * `peercam camera --whip-out URL`: publishes the camera to a WHIP server (RFC 9725) beside its P2P viewers, from the
 * same encode (one more fan-out sink). A failed session is replaced after `retryMs`; `close` DELETEs it.
 */
export class WhipOut extends Emitter<WhipOutEvents> {
  private peer: NdcSenderPeer | undefined;
  private output: { pictureLost(): void; close(): void } | undefined;
  private location: URL | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private stopped = false;
  private readonly log: Logger;
  state: WhipOutState = 'connecting';

  constructor(private readonly options: WhipOutOptions) {
    super();
    this.log = (options.log ?? silentLogger).child({ whipOut: options.url.replace(/\?.*$/, '') });
  }

  start(): void {
    void this.connect();
  }

  async close(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.timer);
    await this.hangUp();
    this.setState('stopped', undefined);
    this.removeAllListeners();
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    this.setState('connecting', undefined);
    const source = this.options.camera.source;
    const peer = new NdcSenderPeer(this.options.config, {
      ...this.options.engine,
      log: this.log,
      codec: source.codec,
      audio: source.audio !== undefined,
      onKeyframeRequest: () => this.output?.pictureLost(),
      onOpen: () => {
        if (this.peer !== peer || this.output) return;
        const m = peer.media;
        this.output = this.options.camera.attachOutput(
          source.codec,
          { payloadType: m.videoPt, ssrc: m.videoSsrc, sink: (p) => peer.sendVideo(p) },
          source.audio ? { payloadType: m.audioPt, ssrc: m.audioSsrc, sink: (p) => peer.sendAudio(p) } : undefined,
        );
        this.setState('live', undefined);
      },
    });
    this.peer = peer;
    peer.on('state', (s) => {
      if (this.peer === peer && (s === 'failed' || s === 'closed')) this.retry(`the connection to the WHIP server ${s}`);
    });
    try {
      const offer = await peer.offer();
      const res = await fetch(this.options.url, {
        method: 'POST',
        body: offer,
        headers: { 'content-type': 'application/sdp', ...(this.options.token ? { authorization: `Bearer ${this.options.token}` } : {}) },
        signal: AbortSignal.timeout(15_000),
      });
      const body = await res.text();
      if (res.status !== 201) throw new PeercamError('media', `The WHIP server answered ${res.status}: ${body.trim().slice(0, 200) || res.statusText}.`);
      const location = res.headers.get('location');
      if (location) this.location = new URL(location, this.options.url);
      if (this.peer !== peer) return;
      peer.acceptAnswer(body);
    } catch (err) {
      this.retry(err instanceof Error ? err.message : String(err));
    }
  }

  private retry(why: string): void {
    if (this.stopped) return;
    this.log.warn({ why }, 'WHIP output failed; publishing again soon');
    void this.hangUp();
    this.setState('retrying', why);
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.connect(), this.options.retryMs ?? 5000);
  }

  /** Stops feeding before the track closes (a send after close crashes libdatachannel), then DELETEs the session. */
  private async hangUp(): Promise<void> {
    this.output?.close();
    this.output = undefined;
    const peer = this.peer;
    this.peer = undefined;
    peer?.close();
    const location = this.location;
    this.location = undefined;
    if (location)
      await fetch(location, {
        method: 'DELETE',
        headers: this.options.token ? { authorization: `Bearer ${this.options.token}` } : {},
        signal: AbortSignal.timeout(3000),
      }).catch((err: unknown) => this.log.debug({ err: String(err) }, 'the WHIP DELETE failed'));
  }

  private setState(state: WhipOutState, detail: string | undefined): void {
    this.state = state;
    this.emit('state', state, detail);
  }
}
