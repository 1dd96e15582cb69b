import { type CameraAgent, startCamera } from '../../agent/camera.js';
import { createViewerPeer, type NdcOptions, type ViewerPeer } from '../../media/ndc/index.js';
import { IngestSource } from '../../media/sources/index.js';
import { type DeviceId, type Envelope, type Logger, newDeviceId, Room } from '../../protocol/index.js';
import { type PeerConfig, ViewerSession } from '../../session/index.js';
import { type Channel, type PeerInfo, SealedChannel } from '../../signaling/channel.js';
import { MemoryBroker } from '../../signaling/memory.js';
import { WhepError } from './errors.js';

export interface WhepRelaysOptions {
  /** The gateway's member of the room: the hub watches cameras through it, like every other viewer. */
  readonly channel: Channel;
  /** ICE servers of the upstream sessions and of the relayed WHEP clients' sessions (the hub's, as in its Link headers). */
  readonly config: PeerConfig;
  readonly engine?: NdcOptions;
  /** How long a relay keeps watching its camera after its last WHEP client left (the next one starts at once). Default 5 s. */
  readonly lingerMs?: number;
  /** How long the camera has to answer and connect before a relayed POST fails. Default 15 s. */
  readonly startMs?: number;
  readonly log: Logger;
}

/**
 * The hub's relays (docs/WHEP.md "How media flows"): for a WHEP client that cannot reach the camera, the hub watches
 * the camera once, as a viewer of the room (ViewerSession + node-datachannel), and serves every relayed client of that
 * camera from that one stream, like a WHIP ingest: keyframe cache, a client's PLI sent upstream, many clients. The
 * serving side is a CameraAgent in a private in-process room, so relayed WHEP sessions go through exactly the same
 * signaling as direct ones; only the peer they talk to differs.
 */
export class WhepRelays {
  private readonly relays = new Map<string, WhepRelay>();

  constructor(
    private readonly options: WhepRelaysOptions,
    private readonly hooks: {
      /** Envelopes from a relay's camera to the gateway's sessions. */
      route(e: Envelope): void;
      /** A relay stopped (its camera left, the hub's session with it failed, no client for a while). */
      closed(relay: WhepRelay): void;
    },
  ) {}

  /** Relays watching a camera now. */
  get size(): number {
    return this.relays.size;
  }

  /** The relay of this camera (and source), started if there is none; resolves once it takes WHEP offers. */
  async get(camera: PeerInfo, source: string | undefined): Promise<WhepRelay> {
    const key = `${camera.id}/${source ?? ''}`;
    let relay = this.relays.get(key);
    if (!relay || relay.closed) {
      const created = new WhepRelay(camera, source, this.options, (e) => this.hooks.route(e));
      relay = created;
      this.relays.set(key, created);
      created.onClose(() => {
        if (this.relays.get(key) === created) this.relays.delete(key);
        this.hooks.closed(created);
      });
    }
    await relay.ready;
    return relay;
  }

  async close(): Promise<void> {
    await Promise.all([...this.relays.values()].map((r) => r.close('The hub stopped.')));
  }
}

/** One camera watched by the hub for its relayed WHEP clients. */
export class WhepRelay {
  /** Resolves once the camera's media flows into the relay and the relay's camera takes offers. */
  readonly ready: Promise<void>;
  /** The gateway's member of the relay's private room: relayed WHEP sessions signal through it. */
  link!: SealedChannel;
  /** The relay's camera in that room: relayed WHEP sessions send their offers to it. */
  readonly device: DeviceId = newDeviceId();
  closed = false;
  private cameraChannel: SealedChannel | undefined;
  private upstream: ViewerSession | undefined;
  private peer: ViewerPeer | undefined;
  private source: IngestSource | undefined;
  private agent: CameraAgent | undefined;
  private agentStarting: Promise<CameraAgent> | undefined;
  private linger: ReturnType<typeof setTimeout> | undefined;
  private offLink: (() => void) | undefined;
  private sourceReady: (() => void) | undefined;
  private failStart: ((err: WhepError) => void) | undefined;
  private readonly closers: (() => void)[] = [];
  private readonly log: Logger;

  constructor(
    readonly camera: PeerInfo,
    readonly sourceId: string | undefined,
    private readonly options: WhepRelaysOptions,
    private readonly route: (e: Envelope) => void,
  ) {
    this.log = options.log.child({ relay: camera.name });
    this.ready = this.start().catch(async (err: unknown) => {
      await this.close(err instanceof Error ? err.message : String(err));
      throw err;
    });
    this.ready.catch(() => {}); // the POST that waits on it reports the failure
  }

  onClose(fn: () => void): void {
    if (this.closed) fn();
    else this.closers.push(fn);
  }

  private async start(): Promise<void> {
    const { config, engine, channel } = this.options;
    const t0 = Date.now();
    // A private room of two members on an in-process broker: the relay's camera and the gateway's link to it.
    const broker = new MemoryBroker();
    const room = await Room.create({ name: 'WHEP relay' });
    this.cameraChannel = new SealedChannel(room, broker.transport(), { self: this.device, presence: { name: this.camera.name, role: 'camera' }, rateLimit: false });
    this.link = new SealedChannel(room, broker.transport(), { self: newDeviceId(), presence: { name: 'WHEP gateway', role: 'hub' }, rateLimit: false });
    await this.cameraChannel.start();
    await this.link.start();
    this.offLink = this.link.on('message', (e) => this.route(e));
    const flowing = new Promise<void>((resolve, reject) => {
      this.sourceReady = resolve;
      this.failStart = reject;
    });
    const startMs = this.options.startMs ?? 15_000;
    const timer = setTimeout(() => this.failStart?.(new WhepError(504, `The hub could not watch the camera "${this.camera.name}" to relay it within ${startMs / 1000} s.`)), startMs);
    try {
      this.upstream = new ViewerSession({
        channel,
        camera: this.camera.id,
        config,
        ...(this.sourceId !== undefined ? { source: this.sourceId } : {}),
        selfName: 'the hub',
        log: this.log,
        // A new peer per (re)start of the upstream session: all of them feed the same source (a new SSRC is a new
        // epoch for the fan-out, which continues from the next keyframe).
        peerFactory: (peerConfig) => {
          const peer = createViewerPeer(peerConfig, { ...engine, audio: true, log: this.log, onRtp: (p, kind) => this.onRtp(p, kind) });
          this.peer = peer;
          return peer;
        },
      });
      this.upstream.once('closed', (reason, message) => void this.close(`the hub's session with the camera ended (${reason}): ${message}`));
      // The answer settles the codec: the relay's camera starts then, before media flows, so its keyframe cache
      // holds the GOP the camera sends every new viewer at once.
      this.upstream.on('step', (step) => {
        if (step === 'answer-received') this.makeSource();
      });
      await this.upstream.start();
      await flowing;
    } finally {
      clearTimeout(timer);
    }
    if (!this.agentStarting || this.closed) throw new WhepError(502, `The relay of "${this.camera.name}" stopped while starting.`);
    this.agent = await this.agentStarting;
    if (this.closed) {
      await this.agent.close();
      throw new WhepError(502, `The relay of "${this.camera.name}" stopped while starting.`);
    }
    await this.untilVisible();
    this.viewers(0); // no client yet: the linger runs until the POST that started the relay joins
    this.log.info({ camera: this.camera.name, codec: this.source?.codec, ms: Date.now() - t0 }, 'WHEP relay opened');
  }

  /** The source of the relay's camera, made from what the camera's answer settled, and that camera. */
  private makeSource(): void {
    const n = this.peer?.negotiated;
    const channel = this.cameraChannel;
    if (this.source || !n || !channel || this.closed) return;
    const source = new IngestSource({
      spec: `relay:${this.camera.name}`,
      codec: n.codec,
      audio: n.audioPt !== undefined,
      // A relayed client's PLI (at most one a second for all of them) becomes the hub's PLI to the camera.
      requestKeyframe: () => void this.peer?.requestKeyframe(),
      logger: this.log,
    });
    this.source = source;
    const { config, engine } = this.options;
    this.agentStarting = startCamera({ channel, source, name: this.camera.name, peerConfig: config, ...(engine ? { engine } : {}), log: this.log, on: { viewer: (e) => this.viewers(e.viewers) } });
    this.agentStarting.catch((err: unknown) => this.failStart?.(new WhepError(502, `The relay of "${this.camera.name}" could not start: ${String(err)}`)));
  }

  private onRtp(packet: Uint8Array, kind: 'video' | 'audio'): void {
    if (this.closed || !this.source) return;
    this.source.push(packet, kind);
    if (kind === 'video') this.sourceReady?.();
  }

  /** The gateway's link sees the relay's camera (its presence crossed the in-process broker). */
  private untilVisible(): Promise<void> {
    if (this.link.peers.has(this.device)) return Promise.resolve();
    return new Promise((resolve) => {
      const off = this.link.on('peer', (p) => {
        if (p.id !== this.device) return;
        off();
        resolve();
      });
    });
  }

  private viewers(n: number): void {
    clearTimeout(this.linger);
    this.linger = undefined;
    if (n > 0 || this.closed) return;
    const ms = this.options.lingerMs ?? 5000;
    this.linger = setTimeout(() => void this.close(`no WHEP client for ${ms / 1000} s`), ms);
  }

  /** Hangs up the relayed clients and the hub's session with the camera. */
  async close(reason: string): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.linger);
    this.failStart?.(new WhepError(502, `The hub could not relay the camera "${this.camera.name}": ${reason}.`));
    for (const fn of this.closers.splice(0)) fn();
    this.log.info({ camera: this.camera.name, reason }, 'WHEP relay closed');
    // A camera still starting (the relay failed meanwhile) is closed once it is up.
    const agent = this.agent ?? (await this.agentStarting?.catch(() => undefined));
    await agent?.close();
    this.source?.end(reason);
    this.upstream?.close('local', `The hub stopped relaying: ${reason}`);
    this.offLink?.();
    await this.link?.close();
    await this.cameraChannel?.close();
  }
}
