import { Emitter, newDeviceId, PeercamError, Room, silentLogger } from '../protocol/index.js';
import { CameraEndpoint, type RTCPeerConnectionCtor, W3cPeer } from '../session/index.js';
import { SealedChannel } from '../signaling/channel.js';
import { MqttTransport } from '../signaling/mqtt.js';
import { SessionKeeper } from './keeper.js';
import { type Device, type JoinOptionsBase, PeercamRoom, peerConfigOf, type RoomParts } from './room.js';
import { w3cDataPeer } from './w3c.js';

/** Options of the browser's `joinRoom`. */
export interface BrowserJoinOptions extends JoinOptionsBase {
  /**
   * The RTCPeerConnection to use. Default: the page's own. Inject a polyfill or a wrapped one here (no sniffing happens
   * anywhere else).
   */
  readonly RTCPeerConnection?: RTCPeerConnectionCtor;
}

/** Events of a BrowserWatch. */
export interface BrowserWatchEvents {
  /** A track of the camera arrived (also again after a reconnect); it is in `stream` already. */
  track: (track: MediaStreamTrack) => void;
  /** The connection to the camera is up; `candidateType` tells a direct path (host, srflx) from a relay. */
  connected: (info: { ms: number; candidateType: string | undefined }) => void;
  /** The session ended (it starts again by itself while the watch is open and the camera present). */
  ended: (reason: string, message: string) => void;
}

/** One camera watched in a page. */
export class BrowserWatch extends Emitter<BrowserWatchEvents> {
  /** The camera's video (and audio, when it has some): put it in a `<video>` element's `srcObject`. */
  readonly stream = new MediaStream();
  /** @internal */
  keeper: SessionKeeper | undefined;

  constructor(
    /** The camera watched. */
    readonly device: Device,
  ) {
    super();
  }

  /** @internal */
  replaceTracks(): void {
    for (const t of this.stream.getTracks()) this.stream.removeTrack(t);
  }

  /** @internal */
  addTrack(track: MediaStreamTrack): void {
    this.stream.addTrack(track);
    this.emit('track', track);
  }

  /** @internal */
  fire<K extends keyof BrowserWatchEvents>(event: K, ...args: Parameters<BrowserWatchEvents[K]>): void {
    this.emit(event, ...args);
  }

  /** Stops watching (hangs up). */
  async close(): Promise<void> {
    await this.keeper?.close();
    this.replaceTracks();
    this.removeAllListeners();
  }
}

/** This page as a camera of the room. */
export interface Publication {
  /** Viewers watching now. */
  readonly viewers: number;
  /** Stops serving viewers (they are hung up) and turns this device back into a plain member. */
  close(): Promise<void>;
}

/** Options of `BrowserRoom.publish`. */
export interface BrowserPublishOptions {
  /** The camera's name in the room. Default: the device's name. */
  readonly name?: string;
  /** Viewers served at once. Default 64. */
  readonly maxViewers?: number;
}

/** A room joined from a web page: watch cameras as MediaStreams, publish one, open data channels. */
export class BrowserRoom extends PeercamRoom {
  /** @internal Use `joinRoom`. */
  constructor(
    parts: RoomParts,
    private readonly ctor: RTCPeerConnectionCtor,
  ) {
    super(parts);
  }

  /**
   * Watches a camera of the room. Resolves at once with a BrowserWatch whose `stream` fills when the media arrives;
   * it reconnects by itself until `close()`. Throws 'not-found' when the device is not present.
   */
  async watch(device: Device | string, options: { source?: string } = {}): Promise<BrowserWatch> {
    this.assertJoined('watch');
    const id = this.deviceId(device);
    const target = this.devices.get(id) as Device;
    const w = new BrowserWatch(target);
    let current: W3cPeer | undefined;
    const keeper = new SessionKeeper({
      channel: this.parts.channel,
      camera: id,
      config: this.parts.config,
      log: this.parts.log,
      selfName: this.parts.selfName,
      ...(options.source !== undefined ? { source: options.source } : {}),
      newPeer: (config) => {
        w.replaceTracks();
        const peer = new W3cPeer({
          RTCPeerConnection: this.ctor,
          config,
          media: { role: 'viewer' },
          onTrack: (track) => {
            if (peer === current) w.addTrack(track);
          },
        });
        current = peer;
        return peer;
      },
      connected: (info) => w.fire('connected', info),
      ended: (reason, message) => w.fire('ended', reason, message),
    });
    w.keeper = keeper;
    this.tracked(w);
    keeper.start();
    return w;
  }

  /**
   * Makes this page a camera of the room: every viewer that asks gets the tracks of `stream` (read at each answer, so
   * swap tracks in the stream to switch cameras for new viewers).
   */
  async publish(stream: MediaStream, options: BrowserPublishOptions = {}): Promise<Publication> {
    this.assertJoined('publish');
    const kinds = [...new Set(stream.getTracks().map((t) => t.kind))].filter((k): k is 'video' | 'audio' => k === 'video' || k === 'audio');
    const endpoint = new CameraEndpoint({
      channel: this.mediaView,
      config: this.parts.config,
      maxViewers: options.maxViewers ?? 64,
      log: this.parts.log,
      peerFactory: (config) => new W3cPeer({ RTCPeerConnection: this.ctor, config, media: { role: 'camera', stream: () => stream } }),
    });
    await this.parts.channel.setPresence({
      ...this.parts.presence,
      role: 'camera',
      ...(options.name !== undefined ? { name: options.name } : {}),
      sources: [{ id: 'main', name: 'camera', kinds }],
    });
    let closed = false;
    const stop = async () => {
      if (closed) return;
      closed = true;
      untrack();
      await endpoint.close();
      await this.resetPresence();
    };
    const untrack = this.track(stop);
    return {
      get viewers() {
        return endpoint.viewers;
      },
      close: stop,
    };
  }
}

/**
 * Joins a room from a web page over MQTT-over-WebSocket: the broker in the link (`b=ws://` or `wss://`), `broker`, or
 * else the hub that served the page (its `/mqtt`). Resolves once connected; rejects with a PeercamError ('bad-link',
 * 'bad-config', 'broker-unreachable', 'broker-auth').
 *
 * @example
 * const room = await joinRoom(location.hash);
 * room.on('join', async (d) => { if (d.role === 'camera') video.srcObject = (await room.watch(d)).stream; });
 */
export async function joinRoom(options: string | BrowserJoinOptions): Promise<BrowserRoom> {
  const o: BrowserJoinOptions = typeof options === 'string' ? { link: options } : options;
  const room = typeof o.link === 'string' ? await Room.fromLink(o.link) : o.link;
  const ctor = o.RTCPeerConnection ?? globalThis.RTCPeerConnection;
  if (typeof ctor !== 'function') throw PeercamError.config('This browser has no WebRTC (RTCPeerConnection is missing): open the page in a current browser.');
  const given = o.broker ?? room.options.broker;
  if (given !== undefined && !/^wss?:\/\//.test(given))
    throw PeercamError.config(`A browser reaches brokers over WebSocket only (ws:// or wss://), not "${given}": use the broker's WebSocket URL.`);
  const url = given ?? `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/mqtt`;
  const log = o.log ?? silentLogger;
  const presence = { name: o.name ?? 'peercam device', role: 'viewer', agent: 'peercam/0.1.0 web' } as const;
  const channel = new SealedChannel(room, new MqttTransport({ url, roomLogin: given === undefined ? 'first' : 'if-refused', log }), {
    self: newDeviceId(),
    presence,
    log,
  });
  const joined = new BrowserRoom(
    { channel, presence, config: peerConfigOf(o), log, selfName: 'this page', dataPeer: (config, label, onChannel) => w3cDataPeer(ctor, config, label, onChannel) },
    ctor,
  );
  try {
    await channel.start();
  } catch (err) {
    await channel.close().catch(() => {});
    throw err;
  }
  return joined;
}
