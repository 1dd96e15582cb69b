import { type DeviceId, Emitter, type Logger, type PresenceBody, type SessionId, silentLogger } from '../protocol/index.js';
import { CameraEndpoint, type CameraSession, iceAdvertOf, type IceProblem, type PeerConfig, type Timeouts } from '../session/index.js';
import type { Channel } from '../signaling/channel.js';
import { VideoEncodes } from '../media/encodes.js';
import { connectSource, Fanout } from '../media/fanout.js';
import { CNAME, createCameraPeer, type NdcOptions, TurnBridge } from '../media/ndc/index.js';
import { PacketBatch } from '../media/packet-batch.js';
import {
  describeSourceSpec,
  type OpenSourceOptions,
  openSource,
  parseSourceSpec,
  type Source,
  type SourceState,
  type VideoCodec,
} from '../media/sources/index.js';
import type { Speaker } from '../media/speaker/index.js';
import type { ViewerFeed } from '../media/viewer-feed.js';

/** What a CameraAgent needs: a started channel, a source and its name, ICE servers. */
export interface CameraAgentOptions {
  /** A started channel of the room. Its presence is set to this camera's. */
  readonly channel: Channel;
  /** A source spec (`demo`, `testsrc`, `file:PATH`, `v4l2:/dev/video0`, `rtsp://...`) or an open Source. */
  readonly source: string | Source;
  readonly name: string;
  /** Its ICE servers, also lent to viewers in the sealed presence (`refreshMs`: re-advertise that often, for minted TURN). */
  readonly peerConfig: PeerConfig & { readonly refreshMs?: number };
  /** Options to open `source` with; their bitrate, keyframe interval and ffmpeg lookup also apply to second encodes. */
  readonly sourceOptions?: OpenSourceOptions;
  /** How long a second encode (another codec, for viewers without the source's) outlives its last viewer. Default 10 s. */
  readonly secondEncodeLingerMs?: number;
  /** Start new viewers from the cached GOP (default true). Off only for the benchmark's comparison arm. */
  readonly keyframeCache?: boolean;
  readonly maxViewers?: number;
  readonly engine?: NdcOptions;
  /** Plays viewers' talk-back; without it the camera's audio is send-only (or absent). Its owner stops it. */
  readonly speaker?: Speaker;
  readonly timeouts?: Partial<Timeouts>;
  readonly log?: Logger;
  /**
   * Listeners registered before the camera can be reached: a viewer's offer may arrive the instant the endpoint
   * exists, and a listener added after `start()` resolved would miss that viewer joining.
   */
  readonly on?: Partial<CameraAgentEvents>;
}

/** Events of a CameraAgent. */
export interface CameraAgentEvents {
  /** A viewer started or stopped watching; `viewers` is the count after the change. */
  viewer: (event: { viewer: DeviceId; change: 'joined' | 'left'; viewers: number; reason?: string }) => void;
  /** The source changed state (restarting after a crash, failed, live again). */
  source: (state: SourceState, reason: string | undefined) => void;
  /** The first video packet went to a viewer, `ms` after its peer connection was created for its offer. */
  'first-frame': (event: { viewer: DeviceId; ms: number }) => void;
  /** A second encode (the video in another codec, for viewers that lack the source's) started, went live or stopped. */
  encode: (codec: VideoCodec, state: SourceState, reason: string | undefined) => void;
  /** A viewer's ICE failed or did not connect within the ICE timeout (once per session), with the diagnosed problem. */
  'ice-trouble': (event: { viewer: DeviceId; problem: IceProblem }) => void;
}

/**
 * One camera: one source fanned out to every viewer that offers, in the best codec both sides have (the source's own,
 * else a second encode shared by every viewer of that codec, run only while one watches).
 */
export class CameraAgent extends Emitter<CameraAgentEvents> {
  private readonly endpoint: CameraEndpoint;
  private readonly encodes: VideoEncodes;
  /** Opus from sources that have audio (files, RTSP), one more fan-out beside the video's. */
  private readonly audioFanout: Fanout | undefined;
  private readonly offs: (() => void)[] = [];
  /** Live sessions by id, and the codec each one's viewer receives: to tell them when their encode cannot run. */
  private readonly sessions = new Map<SessionId, CameraSession>();
  private readonly holders = new Map<SessionId, VideoCodec>();
  private closed = false;
  /** Media sent to viewers since start, all viewers together (read by the metrics, src/metrics/). */
  readonly sent = { bytes: 0, packets: 0, frames: 0 };
  /** Video the source produced since start (RTP bytes with headers, frames), watched or not (the metrics' bitrate, fps). */
  readonly produced = { bytes: 0, frames: 0 };
  /** Sessions in ICE trouble since start, by diagnosed problem (once per session): counted here, so metrics attached later miss none. */
  readonly iceTroubles = new Map<IceProblem, number>();

  private constructor(
    readonly source: Source,
    private readonly ownsSource: boolean,
    options: CameraAgentOptions,
    private readonly turnBridge: TurnBridge | undefined,
  ) {
    super();
    if (options.on?.viewer) this.on('viewer', options.on.viewer);
    if (options.on?.source) this.on('source', options.on.source);
    if (options.on?.encode) this.on('encode', options.on.encode);
    const log = (options.log ?? silentLogger).child({ camera: options.name });
    const o = options.sourceOptions;
    this.encodes = new VideoEncodes({
      source,
      keyframeCache: options.keyframeCache ?? true,
      ...(options.secondEncodeLingerMs !== undefined ? { lingerMs: options.secondEncodeLingerMs } : {}),
      transcode: {
        ...(o?.fps !== undefined ? { fps: o.fps } : {}),
        ...(o?.gopSeconds !== undefined ? { gopSeconds: o.gopSeconds } : {}),
        ...(o?.bitrate !== undefined ? { bitrate: o.bitrate } : {}),
        ...(o?.preset !== undefined ? { preset: o.preset } : {}),
        ...(o?.env !== undefined ? { env: o.env } : {}),
      },
      logger: log,
      onSecondEncode: (codec, state, reason) => this.emit('encode', codec, state, reason),
      onUnusable: (codec, message) => {
        for (const [sid, c] of this.holders) if (c === codec) this.sessions.get(sid)?.close('error', `This camera cannot send ${codec}: ${message}`);
      },
    });
    this.audioFanout = source.audio ? new Fanout({ codec: 'opus', clockRate: source.audio.clockRate, logger: log }) : undefined;
    this.offs.push(
      ...(this.audioFanout ? [connectSource(source, this.audioFanout, 'audio')] : []),
      source.on('state', (state, reason) => this.emit('source', state, reason)),
      source.on('packet', (p, kind) => {
        if (kind !== 'video') return;
        this.produced.bytes += 12 + p.payload.length;
        if (p.marker) this.produced.frames++; // the last packet of a frame (RFC 6184 5.1, RFC 7741 4.1)
      }),
    );
    // A source opened before the agent may be live already: say so once, as if it had just happened.
    if (source.state !== 'starting') this.emit('source', source.state, source.reason);
    this.endpoint = new CameraEndpoint({
      channel: options.channel,
      config: options.peerConfig,
      log,
      ...(options.maxViewers ? { maxViewers: options.maxViewers } : {}),
      ...(options.timeouts ? { timeouts: options.timeouts } : {}),
      peerFactory: (config, context) => {
        const speaker = options.speaker;
        const created = performance.now();
        let first = true;
        const sendVideo = (p: Uint8Array) => {
          this.sent.bytes += p.length;
          this.sent.packets++;
          if (((p[1] ?? 0) & 0x80) !== 0) this.sent.frames++; // RTP marker bit: last packet of a frame (RFC 6184 5.1, RFC 7741 4.1)
          if (first) {
            first = false;
            this.emit('first-frame', { viewer: context.viewer, ms: performance.now() - created });
          }
          peer.sendRtp(p);
        };
        // A viewer that takes its media in bursts (a recorder) gets everything held and sent together.
        const batch = context.batchMs ? new PacketBatch({ intervalMs: context.batchMs }) : undefined;
        const batched = (sink: (p: Uint8Array) => unknown) => (batch ? batch.wrap(sink) : sink);
        let feed: ViewerFeed | undefined;
        let audioFeed: ViewerFeed | undefined;
        /** The encode this viewer holds, from the answer until the peer ends. */
        let held: { codec: VideoCodec; fanout: Fanout } | undefined;
        const release = () => {
          if (held) this.encodes.release(held.codec);
          held = undefined;
          this.holders.delete(context.sid);
        };
        const peer = createCameraPeer(
          config,
          {
            video: { codec: this.encodes.codecs },
            onCodec: (codec) => {
              held = { codec, fanout: this.encodes.acquire(codec) };
              this.holders.set(context.sid, codec);
            },
            ...(this.audioFanout ? { audio: { codec: 'opus' as const } } : {}),
            onKeyframeRequest: () => feed?.pictureLost(),
            onNack: (seqs) => feed?.nack(seqs),
            ...(speaker ? { talkBack: { onRtp: (packet: Uint8Array) => speaker.play(context.viewer, packet) } } : {}),
            onOpen: () => {
              const n = peer.negotiated;
              if (!n || feed || this.closed || !held) return;
              // Sender reports on both streams: receivers (browsers, the recorder) line the sound up with the picture.
              const reports = (kind: 'video' | 'audio') => ({ cname: CNAME, send: batched((p: Uint8Array) => peer.sendRtcp(p, kind)) });
              feed = held.fanout.addViewer({ payloadType: n.videoPt, ssrc: n.ssrc, sink: batched(sendVideo), senderReports: reports('video') });
              if (n.audio && this.audioFanout)
                audioFeed = this.audioFanout.addViewer({
                  payloadType: n.audio.pt,
                  ssrc: n.audio.ssrc,
                  sink: batched((p) => peer.sendAudioRtp(p)),
                  senderReports: reports('audio'),
                });
            },
          },
          { ...options.engine, ...(turnBridge ? { turnBridge } : {}), log },
        );
        // Stop feeding before the track closes: a send after close crashes libdatachannel (DESIGN.md).
        peer.on('state', (s) => {
          if (s === 'closed' || s === 'failed') {
            batch?.close();
            feed?.close();
            audioFeed?.close();
            release();
          }
        });
        return peer;
      },
    });
    this.endpoint.on('session', (s) => {
      this.sessions.set(s.sid, s);
      s.on('trouble', (d) => {
        this.iceTroubles.set(d.problem, (this.iceTroubles.get(d.problem) ?? 0) + 1);
        this.emit('ice-trouble', { viewer: s.remote, problem: d.problem });
      });
      this.emit('viewer', { viewer: s.remote, change: 'joined', viewers: this.endpoint.viewers });
    });
    this.endpoint.on('ended', (s, reason) => {
      this.sessions.delete(s.sid);
      this.emit('viewer', { viewer: s.remote, change: 'left', viewers: this.endpoint.viewers, reason });
    });
  }

  static async start(options: CameraAgentOptions): Promise<CameraAgent> {
    const owns = typeof options.source === 'string';
    const source =
      typeof options.source === 'string'
        ? await openSource(options.source, { ...options.sourceOptions, ...(options.log ? { logger: options.log } : {}) })
        : options.source;
    let bridge: TurnBridge | undefined;
    try {
      bridge = await TurnBridge.open(options.peerConfig, options.log);
    } catch (err) {
      if (owns) await source.stop();
      throw err;
    }
    const agent = new CameraAgent(source, owns, options, bridge);
    const label = typeof options.source === 'string' ? describeSourceSpec(parseSourceSpec(options.source)) : source.spec;
    const presence = (): PresenceBody => {
      const ice = iceAdvertOf(options.peerConfig);
      return {
        name: options.name,
        role: 'camera',
        sources: [{ id: 'main', name: label, kinds: source.audio ? ['video', 'audio'] : ['video'] }],
        talkBack: options.speaker !== undefined,
        agent: 'peercam/0.1.0 node',
        ...(ice ? { ice } : {}),
      };
    };
    await options.channel.setPresence(presence());
    // Minted TURN credentials age: viewers get fresh ones in the presence long before the old ones expire.
    const refreshMs = options.peerConfig.refreshMs;
    if (refreshMs !== undefined) {
      const timer = setInterval(() => void options.channel.setPresence(presence()).catch(() => {}), refreshMs);
      agent.offs.push(() => clearInterval(timer));
    }
    return agent;
  }

  get viewers(): number {
    return this.endpoint.viewers;
  }

  /** The video encodes running now: the source's own (unless it stopped or failed) and the second encodes. */
  runningEncodes(): VideoCodec[] {
    const own = this.source.state === 'stopped' || this.source.state === 'failed' ? [] : [this.source.codec];
    return [...own, ...this.encodes.running.keys()];
  }

  /**
   * Feeds this camera's media to one more sink beside its viewers (a WHIP output): the video in `codec` (its encode
   * is held until `close`) and the audio when the source has some. `pictureLost` asks for a keyframe.
   */
  attachOutput(
    codec: VideoCodec,
    video: { payloadType: number; ssrc: number; sink: (packet: Uint8Array) => void },
    audio?: { payloadType: number; ssrc: number; sink: (packet: Uint8Array) => void },
  ): { pictureLost(): void; close(): void } {
    const fanout = this.encodes.acquire(codec);
    const feed = fanout.addViewer(video);
    const audioFeed = audio && this.audioFanout ? this.audioFanout.addViewer(audio) : undefined;
    let closed = false;
    return {
      pictureLost: () => feed.pictureLost(),
      close: () => {
        if (closed) return;
        closed = true;
        feed.close();
        audioFeed?.close();
        this.encodes.release(codec);
      },
    };
  }

  /** Hangs up every viewer, stops the source (if we opened it). Leaves the channel to its owner. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.endpoint.close(); // the hangups go out before whoever owns the channel closes it
    await this.encodes.close();
    this.audioFanout?.close();
    for (const off of this.offs) off();
    if (this.ownsSource) await this.source.stop();
    this.turnBridge?.close();
    this.removeAllListeners();
  }
}

/** Shorthand used by the hub and the CLI. */
export function startCamera(options: CameraAgentOptions): Promise<CameraAgent> {
  return CameraAgent.start(options);
}
