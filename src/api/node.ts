import { type DeviceId, Emitter, newDeviceId, PeercamError, type PresenceBody, Room, silentLogger } from '../protocol/index.js';
import { CameraAgent, type CameraAgentOptions } from '../agent/camera.js';
import { FrameCounter, type FrameStats } from '../agent/frame-counter.js';
import { createDataPeer, createViewerPeer, shutdownNdc, TurnBridge, type ViewerPeer } from '../media/ndc/index.js';
import type { OpenSourceOptions, Source, VideoCodec } from '../media/sources/index.js';
import type { Speaker } from '../media/speaker/index.js';
import type { PeerConfig } from '../session/index.js';
import { type Channel, SealedChannel } from '../signaling/channel.js';
import type { LanRoom } from '../signaling/lan/join.js';
import { MqttTransport } from '../signaling/mqtt.js';
import type { SessionKeeper } from './keeper.js';
import { NdcRawChannel } from './ndc.js';
import { type Device, type JoinOptionsBase, PeercamRoom, peerConfigOf, type RoomParts } from './room.js';

/** Options of the Node `joinRoom`. */
export interface NodeJoinOptions extends JoinOptionsBase {
  /**
   * Gather ICE candidates on this local address only. Default: the PEERCAM_ICE_BIND environment variable, else every
   * interface. ('127.0.0.1' on a loopback-only machine: libjuice gathers no loopback candidates otherwise.)
   */
  readonly bindAddress?: string;
  /**
   * Also meet on the LAN, with no server: mDNS discovery (off under PEERCAM_MDNS=off) and a WebSocket per device
   * (docs/LAN.md). With a broker too, both are merged. `true` for the defaults.
   */
  readonly lan?: boolean | NodeLanOptions;
  /** This device's id. Default: a new random one. Keep one across restarts to stay the same device to the others. */
  readonly id?: DeviceId;
  /** false: watch the room without being seen (no presence published, not advertised on the LAN). Default true. */
  readonly announce?: boolean;
  /**
   * @internal The peer configuration as is, instead of `iceServers` and `relayOnly` (the CLI's: TURN credentials
   * minted from a secret, re-advertised every `refreshMs`).
   */
  readonly peerConfig?: PeerConfig & { readonly refreshMs?: number };
  /** @internal The presence announced at join as is, instead of `name` as a viewer (the CLI's camera and recorder). */
  readonly presence?: PresenceBody;
}

/** LAN options of the Node `joinRoom`. */
export interface NodeLanOptions {
  /** Pin discovery and the LAN WebSocket to this interface (name or IPv4 address). */
  readonly interface?: string;
  /** Port of our LAN WebSocket. Default: a free port the system picks. */
  readonly port?: number;
  /** Devices to dial directly (`ws://host:port`), for networks without multicast. */
  readonly peers?: readonly string[];
  /** Use mDNS. Default true, unless the PEERCAM_MDNS environment variable is "off"; false leaves only `peers`. */
  readonly mdns?: boolean;
  /** The mDNS instance name. Default: one made from the device id. */
  readonly instanceName?: string;
  /** Advertise on mDNS even with `announce: false` (a long-running observer, so devices that start dial it at once). */
  readonly advertise?: boolean;
}

/** Events of a NodeWatch. */
export interface NodeWatchEvents {
  /** One RTP packet of the camera's video (H.264 or VP8, see `codec`) or Opus audio, as received. */
  rtp: (packet: Uint8Array, kind: 'video' | 'audio') => void;
  /** The connection to the camera is up; `candidateType` tells a direct path (host, srflx) from a relay. */
  connected: (info: { ms: number; candidateType: string | undefined }) => void;
  /** The session ended (it starts again by itself while the watch is open and the camera present). */
  ended: (reason: string, message: string) => void;
  /** Why the connection cannot be made yet (no network path, TURN refused), while the session still tries. */
  trouble: (message: string) => void;
}

/** Options of `NodeRoom.watch`. */
export interface NodeWatchOptions {
  /** The camera's source to watch. Default its first. */
  readonly source?: string;
  /** Receive the camera's audio too. Default true. */
  readonly audio?: boolean;
  /** Video codecs to offer, preferred first. Default H.264 then VP8. */
  readonly videoCodecs?: readonly VideoCodec[];
}

/** One camera watched from Node: its RTP, and frame counts. */
export class NodeWatch extends Emitter<NodeWatchEvents> {
  /** @internal */
  keeper: SessionKeeper | undefined;
  /** @internal */
  readonly counter: FrameCounter;
  /** @internal */
  peer: ViewerPeer | undefined;
  /** @internal */
  bridge: TurnBridge | undefined;
  /** @internal */
  sessions = 0;

  constructor(
    /** The camera watched. */
    readonly device: Device,
  ) {
    super();
    this.counter = new FrameCounter(() => this.codec, performance.now());
  }

  /** The video codec negotiated, once connected. */
  get codec(): VideoCodec | undefined {
    return this.peer?.negotiated?.codec;
  }

  /** Decodable frames received so far (complete access units), keyframes, bytes, size, time to the first frame. */
  get stats(): FrameStats {
    return this.counter.stats;
  }

  /** Sessions set up again after the first (camera restarted, network cut, broker outage). */
  get reconnects(): number {
    return Math.max(0, this.sessions - 1);
  }

  /** @internal */
  fire<K extends keyof NodeWatchEvents>(event: K, ...args: Parameters<NodeWatchEvents[K]>): void {
    this.emit(event, ...args);
  }

  /** Stops watching (hangs up). */
  async close(): Promise<void> {
    await this.keeper?.close();
    this.bridge?.close();
    this.removeAllListeners();
  }
}

/** Options of `NodeRoom.publish`. */
export interface NodePublishOptions {
  /** The camera's name in the room. Default: the device's name. */
  readonly name?: string;
  /** Options to open a source spec with (bitrate, fps, keyframe interval). */
  readonly sourceOptions?: OpenSourceOptions;
  /** Viewers served at once. Default 64. */
  readonly maxViewers?: number;
  /** Listeners to register before the first viewer can arrive. */
  readonly on?: CameraAgentOptions['on'];
  /** Plays viewers' talk-back (their microphone); without it the camera takes none. Its owner stops it. */
  readonly speaker?: Speaker;
  /** Start new viewers from the cached keyframe. Default true (off only for measurements). */
  readonly keyframeCache?: boolean;
}

/** A room joined from Node: watch cameras (RTP), become one from a source, open data channels. */
export class NodeRoom extends PeercamRoom {
  /** @internal Use `joinRoom`. */
  constructor(
    parts: RoomParts,
    private readonly bindAddress: string | undefined,
    /** @internal The LAN side, when joined with `lan` (foreign devices, brokers joined). */
    readonly lan: LanRoom | undefined,
  ) {
    super(parts);
  }

  /** @internal The signaling channel (for the CLI's metrics and motion events). */
  get channel(): Channel {
    return this.parts.channel;
  }

  /** @internal The channel as a camera endpoint sees it: every offer but data-channel offers. */
  get mediaChannel(): Channel {
    return this.mediaView;
  }

  /**
   * Watches a camera of the room. Resolves at once with a NodeWatch that emits `rtp` as media arrives; it reconnects by
   * itself until `close()`. Throws 'not-found' when the device is not present.
   */
  async watch(device: Device | string, options: NodeWatchOptions = {}): Promise<NodeWatch> {
    this.assertJoined('watch');
    const id = this.deviceId(device);
    const w = new NodeWatch(this.devices.get(id) as Device);
    // TURN over TCP or TLS, which the engine lacks, through a local UDP stand-in per server.
    const bridge = await TurnBridge.open(this.parts.config, this.parts.log);
    w.bridge = bridge;
    const keeper = this.keep(id, options, {
      newPeer: (config) => {
        w.counter.newStream();
        const peer = createViewerPeer(config, {
          ...(this.bindAddress !== undefined ? { bindAddress: this.bindAddress } : {}),
          ...(bridge ? { turnBridge: bridge } : {}),
          ...(options.videoCodecs ? { videoCodecs: options.videoCodecs } : {}),
          log: this.parts.log,
          audio: options.audio ?? true,
          onRtp: (packet, kind) => {
            if (peer !== w.peer) return;
            if (kind === 'video') w.counter.push(packet);
            w.fire('rtp', packet, kind);
          },
        });
        w.peer = peer;
        return peer;
      },
      connected: (info) => w.fire('connected', info),
      ended: (reason, message) => w.fire('ended', reason, message),
      started: () => w.sessions++,
      trouble: (d) => w.fire('trouble', d.message),
    });
    w.keeper = keeper;
    this.tracked(w);
    keeper.start();
    return w;
  }

  /**
   * Makes this process a camera of the room, from a source spec (`testsrc`, `demo`, `file:clip.mp4`,
   * `v4l2:/dev/video0`, `rtsp://...`) or a Source you implement (RTP packets of H.264 or VP8). One encode is fanned
   * out to every viewer. Resolves once the camera is announced; `close()` the returned agent to stop.
   */
  async publish(source: string | Source, options: NodePublishOptions = {}): Promise<CameraAgent> {
    this.assertJoined('publish');
    const agent = await CameraAgent.start({
      channel: this.mediaView,
      source,
      name: options.name ?? this.parts.presence.name,
      peerConfig: this.parts.config,
      log: this.parts.log,
      ...(this.bindAddress !== undefined ? { engine: { bindAddress: this.bindAddress } } : {}),
      ...(options.sourceOptions ? { sourceOptions: options.sourceOptions } : {}),
      ...(options.maxViewers !== undefined ? { maxViewers: options.maxViewers } : {}),
      ...(options.on ? { on: options.on } : {}),
      ...(options.speaker ? { speaker: options.speaker } : {}),
      ...(options.keyframeCache !== undefined ? { keyframeCache: options.keyframeCache } : {}),
    });
    const close = agent.close.bind(agent);
    const untrack = this.track(() => close());
    agent.close = async () => {
      untrack();
      await close();
      await this.resetPresence();
    };
    return agent;
  }
}

let liveRooms = 0;

/**
 * Joins a room from Node over its MQTT broker (the link's `b=`, or `broker`: mqtt://, mqtts://, ws://, wss://), over
 * the LAN (`lan`), or both merged.
 * Resolves once connected; rejects with a PeercamError ('bad-link', 'bad-config', 'broker-unreachable', 'broker-auth').
 * The last room of the process to leave releases the WebRTC engine's threads, so the process can exit.
 *
 * @example
 * const room = await joinRoom(process.env.PEERCAM_ROOM);
 * room.on('channel', (ch) => ch.on('message', (m) => console.log(m)));
 */
export async function joinRoom(options: string | NodeJoinOptions): Promise<NodeRoom> {
  const o: NodeJoinOptions = typeof options === 'string' ? { link: options } : options;
  const room = typeof o.link === 'string' ? await Room.fromLink(o.link) : o.link;
  const url = o.broker ?? room.options.broker;
  if (url === undefined && !o.lan)
    throw PeercamError.config('No broker: the room link has no "b=" and no `broker` option was given. Pass the broker URL (mqtt://host:1883), or `lan: true`.');
  const log = o.log ?? silentLogger;
  const bindAddress = o.bindAddress ?? process.env.PEERCAM_ICE_BIND;
  const presence: PresenceBody = o.presence ?? { name: o.name ?? 'peercam device', role: 'viewer', agent: 'peercam/0.1.0 node' };
  const role = presence.role;
  const self = o.id ?? newDeviceId();
  const announce = o.announce ?? true;
  const lanOptions = o.lan === true ? {} : o.lan || undefined;
  // Loaded only for the LAN (mDNS, its WebSocket server): a member over a broker alone does not carry it.
  const lan = lanOptions
    ? await (await import('../signaling/lan/join.js')).LanRoom.join({
        room,
        self,
        presence,
        role,
        announce,
        ...(lanOptions.advertise !== undefined ? { advertise: lanOptions.advertise } : {}),
        ...(lanOptions.instanceName !== undefined ? { name: lanOptions.instanceName } : {}),
        ...(url !== undefined ? { broker: url } : {}),
        ...(lanOptions.interface !== undefined ? { interface: lanOptions.interface } : {}),
        ...(lanOptions.port !== undefined ? { port: lanOptions.port } : {}),
        ...(lanOptions.peers ? { peers: lanOptions.peers } : {}),
        env: lanOptions.mdns === false ? { ...process.env, PEERCAM_MDNS: 'off' } : process.env,
        log,
      })
    : undefined;
  const channel: Channel = lan ? lan.channel : new SealedChannel(room, new MqttTransport({ url: url as string, log }), { self, presence, announce, log });
  const engine = { ...(bindAddress !== undefined ? { bindAddress } : {}), log };
  liveRooms++;
  let released = false;
  const release = async () => {
    if (released) return;
    released = true;
    await lan?.close();
    if (--liveRooms === 0) shutdownNdc();
  };
  const joined = new NodeRoom(
    {
      channel,
      presence,
      config: o.peerConfig ?? peerConfigOf(o),
      log,
      selfName: 'this device',
      cleanup: release,
      dataPeer: (config, label, onChannel) =>
        createDataPeer(config, { ...engine, ...(label !== undefined ? { label } : {}), onChannel: (dc) => onChannel(new NdcRawChannel(dc)) }),
    },
    bindAddress,
    lan,
  );
  try {
    if (!lan) await channel.start(); // LanRoom.join started its own
  } catch (err) {
    await channel.close().catch(() => {});
    await release();
    throw err;
  }
  return joined;
}
