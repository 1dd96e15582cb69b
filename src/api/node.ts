import { Emitter, newDeviceId, PeercamError, Room, silentLogger } from '../protocol/index.js';
import { CameraAgent, type CameraAgentOptions } from '../agent/camera.js';
import { FrameCounter, type FrameStats } from '../agent/frame-counter.js';
import { createDataPeer, createViewerPeer, shutdownNdc, type ViewerPeer } from '../media/ndc/index.js';
import type { OpenSourceOptions, Source, VideoCodec } from '../media/sources/index.js';
import { type Channel, SealedChannel } from '../signaling/channel.js';
import { LanRoom } from '../signaling/lan/join.js';
import { MqttTransport } from '../signaling/mqtt.js';
import { SessionKeeper } from './keeper.js';
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
}

/** LAN options of the Node `joinRoom`. */
export interface NodeLanOptions {
  /** Pin discovery and the LAN WebSocket to this interface (name or IPv4 address). */
  readonly interface?: string;
  /** Port of our LAN WebSocket. Default: a free port the system picks. */
  readonly port?: number;
  /** Devices to dial directly (`ws://host:port`), for networks without multicast. */
  readonly peers?: readonly string[];
}

/** Events of a NodeWatch. */
export interface NodeWatchEvents {
  /** One RTP packet of the camera's video (H.264 or VP8, see `codec`) or Opus audio, as received. */
  rtp: (packet: Uint8Array, kind: 'video' | 'audio') => void;
  /** The connection to the camera is up; `candidateType` tells a direct path (host, srflx) from a relay. */
  connected: (info: { ms: number; candidateType: string | undefined }) => void;
  /** The session ended (it starts again by itself while the watch is open and the camera present). */
  ended: (reason: string, message: string) => void;
}

/** One camera watched from Node: its RTP, and frame counts. */
export class NodeWatch extends Emitter<NodeWatchEvents> {
  /** @internal */
  keeper: SessionKeeper | undefined;
  /** @internal */
  readonly counter: FrameCounter;
  /** @internal */
  peer: ViewerPeer | undefined;

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

  /** @internal */
  fire<K extends keyof NodeWatchEvents>(event: K, ...args: Parameters<NodeWatchEvents[K]>): void {
    this.emit(event, ...args);
  }

  /** Stops watching (hangs up). */
  async close(): Promise<void> {
    await this.keeper?.close();
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
}

/** A room joined from Node: watch cameras (RTP), become one from a source, open data channels. */
export class NodeRoom extends PeercamRoom {
  /** @internal Use `joinRoom`. */
  constructor(
    parts: RoomParts,
    private readonly bindAddress: string | undefined,
  ) {
    super(parts);
  }

  /**
   * Watches a camera of the room. Resolves at once with a NodeWatch that emits `rtp` as media arrives; it reconnects by
   * itself until `close()`. Throws 'not-found' when the device is not present.
   */
  async watch(device: Device | string, options: { source?: string; audio?: boolean } = {}): Promise<NodeWatch> {
    this.assertJoined('watch');
    const id = this.deviceId(device);
    const w = new NodeWatch(this.devices.get(id) as Device);
    const keeper = new SessionKeeper({
      channel: this.parts.channel,
      camera: id,
      config: this.parts.config,
      log: this.parts.log,
      selfName: this.parts.selfName,
      ...(options.source !== undefined ? { source: options.source } : {}),
      newPeer: (config) => {
        w.counter.newStream();
        const peer = createViewerPeer(config, {
          ...(this.bindAddress !== undefined ? { bindAddress: this.bindAddress } : {}),
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
    });
    w.keeper = keeper;
    this.tracked(w);
    await keeper.start();
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
  const presence = { name: o.name ?? 'peercam device', role: 'viewer', agent: 'peercam/0.1.0 node' } as const;
  const self = newDeviceId();
  const lanOptions = o.lan === true ? {} : o.lan || undefined;
  const lan = lanOptions
    ? await LanRoom.join({
        room,
        self,
        presence,
        role: 'viewer',
        ...(url !== undefined ? { broker: url } : {}),
        ...(lanOptions.interface !== undefined ? { interface: lanOptions.interface } : {}),
        ...(lanOptions.port !== undefined ? { port: lanOptions.port } : {}),
        ...(lanOptions.peers ? { peers: lanOptions.peers } : {}),
        env: process.env,
        log,
      })
    : undefined;
  const channel: Channel = lan ? lan.channel : new SealedChannel(room, new MqttTransport({ url: url as string, log }), { self, presence, log });
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
      config: peerConfigOf(o),
      log,
      selfName: 'this device',
      cleanup: release,
      dataPeer: (config, label, onChannel) =>
        createDataPeer(config, { ...engine, ...(label !== undefined ? { label } : {}), onChannel: (dc) => onChannel(new NdcRawChannel(dc)) }),
    },
    bindAddress,
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
