import { type DeviceId, Emitter, type Logger, newDeviceId, PeercamError, type PresenceBody, Room, sendsAudio, silentLogger } from '../protocol/index.js';
import {
  CameraEndpoint,
  type IceProblem,
  type IceServer,
  type PeerConfig,
  type RTCPeerConnectionCtor,
  type SessionState,
  W3cPeer,
} from '../session/index.js';
import type { ReconnectPolicy } from '../signaling/backoff.js';
import { type Channel, SealedChannel } from '../signaling/channel.js';
import { MqttTransport } from '../signaling/mqtt.js';
import type { SessionKeeper } from './keeper.js';
import { type Device, type JoinOptionsBase, PeercamRoom, peerConfigOf, type RoomParts } from './room.js';
import { SparePeers } from './spare-peers.js';
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
  /**
   * A new connection to the camera is being made (the first, a reconnect, or a fresh one after ICE failed): `stream`
   * was emptied, and `peerConnection` and `talkBack` are now the new connection's.
   */
  connecting: () => void;
  /** The connection to the camera is up; `candidateType` tells a direct path (host, srflx) from a relay. */
  connected: (info: { ms: number; candidateType: string | undefined }) => void;
  /** Why the connection cannot be made yet (no network path, TURN refused), while the session still tries. */
  trouble: (message: string, problem: IceProblem) => void;
  /** The offer left for the camera, or its answer arrived (for timelines of how long a picture takes). */
  step: (step: 'offer-sent' | 'answer-received') => void;
  /** The session's state changed: negotiating, connected, restarting (ICE again), closed. */
  state: (state: SessionState) => void;
  /** The session ended (it starts again by itself while the watch is open and the camera present). */
  ended: (reason: string, message: string) => void;
}

/** Options of `BrowserRoom.watch`. */
export interface BrowserWatchOptions {
  /** The camera's source to watch. Default its first. */
  readonly source?: string;
  /** How long to wait before the next session after one ended while the camera is present. Default 250 ms doubling to 4 s. */
  readonly retry?: ReconnectPolicy;
  /** Where this watch's sessions log. Default the room's logger. */
  readonly log?: Logger;
}

/** One camera watched in a page. */
export class BrowserWatch extends Emitter<BrowserWatchEvents> {
  /** The camera's video (and audio, when it has some): put it in a `<video>` element's `srcObject`. */
  readonly stream = new MediaStream();
  /** @internal */
  keeper: SessionKeeper | undefined;
  /** @internal */
  peer: W3cPeer | undefined;

  constructor(
    /** The camera watched. */
    readonly device: Device,
  ) {
    super();
  }

  /** The current connection (for getStats), if one is being made or up. */
  get peerConnection(): RTCPeerConnection | undefined {
    return this.peer?.pc;
  }

  /**
   * The talk-back sender of the current connection: `replaceTrack(micTrack)` talks to the camera, `replaceTrack(null)`
   * stops (no renegotiation). A new connection (`connecting`) has a new sender.
   */
  get talkBack(): RTCRtpSender | undefined {
    return this.peer?.talkBack;
  }

  /** The session's state now; 'waiting' between sessions (for the next try, the signaling link or the camera). */
  get state(): SessionState | 'waiting' {
    return this.keeper?.state ?? 'waiting';
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

/** A viewer's talk-back audio arriving at a published camera. */
export interface TalkBackAudio {
  /** The viewer talking. */
  readonly viewer: DeviceId;
  /** Its audio: put it in an `<audio>` element's `srcObject`. It carries sound only while the viewer talks. */
  readonly stream: MediaStream;
  /** The viewer's connection (getStats gives the audio level). */
  readonly peerConnection: RTCPeerConnection;
}

/** Events of a Publication. */
export interface PublicationEvents {
  /** The number of viewers changed. */
  viewers: (count: number) => void;
  /** A viewer's talk-back audio track arrived (published with `talkBack: true`, or a viewer sent it anyway). */
  talkBack: (talk: TalkBackAudio) => void;
  /** A viewer's session ended. */
  left: (viewer: DeviceId) => void;
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
  /** Say in the presence that this camera plays viewers' talk-back (viewers show a push-to-talk button). Default false. */
  readonly talkBack?: boolean;
}

/**
 * A page's camera, as `BrowserRoom.publish` makes it: its viewers, their talk-back, and the stream they get (swap it
 * with `replaceStream`, rename the camera with `rename`).
 */
export class BrowserPublication extends Emitter<PublicationEvents> implements Publication {
  private readonly peers = new Set<W3cPeer>();
  private readonly endpoint: CameraEndpoint;
  private closed = false;
  private untrack: () => void = () => {};

  /** @internal Use `BrowserRoom.publish`. */
  constructor(
    private streamNow: MediaStream,
    private name: string,
    private readonly options: BrowserPublishOptions,
    private readonly room: { channel: Channel; config: PeerConfig; log: Logger; ctor: () => RTCPeerConnectionCtor; presence: PresenceBody; reset: () => Promise<void> },
  ) {
    super();
    this.endpoint = new CameraEndpoint({
      channel: room.channel,
      config: room.config,
      maxViewers: options.maxViewers ?? 64,
      log: room.log,
      peerFactory: (config, ctx) => {
        const peer = new W3cPeer({
          RTCPeerConnection: room.ctor(),
          config,
          media: { role: 'camera', stream: () => this.streamNow },
          onTrack: (track, stream) => {
            if (track.kind === 'audio') this.emit('talkBack', { viewer: ctx.viewer, stream, peerConnection: peer.pc });
          },
        });
        this.peers.add(peer);
        peer.on('state', (st) => st === 'closed' && this.peers.delete(peer));
        return peer;
      },
    });
    this.endpoint.on('session', () => this.emit('viewers', this.endpoint.viewers));
    this.endpoint.on('ended', (s) => {
      this.emit('viewers', this.endpoint.viewers);
      this.emit('left', s.remote);
    });
  }

  /** Viewers watching now. */
  get viewers(): number {
    return this.endpoint.viewers;
  }

  /** The stream viewers get now. */
  get stream(): MediaStream {
    return this.streamNow;
  }

  /**
   * Swaps in another stream (another camera, or the same one taken again after the page was in background): every
   * viewer gets its tracks without renegotiating, new viewers get them too, and the presence follows (audio or not).
   * The old stream's tracks are left to the caller.
   */
  async replaceStream(stream: MediaStream): Promise<void> {
    this.streamNow = stream;
    for (const peer of this.peers) for (const track of stream.getTracks()) await peer.replaceTrack(track).catch(() => {});
    await this.announce();
  }

  /** Renames the camera in the room. */
  async rename(name: string): Promise<void> {
    this.name = name;
    await this.announce();
  }

  /** Stops serving viewers (they are hung up) and turns this device back into a plain member. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.untrack();
    await this.endpoint.close();
    await this.room.reset();
    this.removeAllListeners();
  }

  /** @internal */
  async announce(): Promise<void> {
    if (this.closed) return;
    const has = (kind: 'video' | 'audio') => this.streamNow.getTracks().some((t) => t.kind === kind);
    const kinds = (['video', 'audio'] as const).filter(has);
    await this.room.channel.setPresence({
      ...this.room.presence,
      name: this.name,
      role: 'camera',
      sources: [{ id: 'main', name: 'camera', kinds }],
      ...(this.options.talkBack ? { talkBack: true } : {}),
    });
  }

  /** @internal */
  tracked(untrack: () => void): void {
    this.untrack = untrack;
  }
}

/** Options of `roomOnChannel`. */
export interface RoomOnChannelOptions {
  /** The presence the channel was made with: publish() builds on it, and a closed publication goes back to it. */
  readonly presence: PresenceBody;
  /** The RTCPeerConnection to use. Default: the page's own (looked up when a connection is made). */
  readonly RTCPeerConnection?: RTCPeerConnectionCtor;
  /** STUN/TURN servers. Default none. */
  readonly iceServers?: readonly IceServer[];
  /** Use TURN relays only. */
  readonly relayOnly?: boolean;
  /** Where to log (pino-compatible); silent by default. */
  readonly log?: Logger;
}

/** A room joined from a web page: watch cameras as MediaStreams, publish one, open data channels. */
export class BrowserRoom extends PeercamRoom {
  private readonly spares: SparePeers;

  /** @internal Use `joinRoom` or `roomOnChannel`. */
  constructor(
    parts: RoomParts,
    private readonly ctor: () => RTCPeerConnectionCtor,
  ) {
    super(parts);
    this.spares = new SparePeers((config) => new W3cPeer({ RTCPeerConnection: ctor(), config, media: { role: 'viewer' } }));
    this.track(async () => this.spares.close());
  }

  /**
   * Makes `count` viewer connections now, each with its offer made, for the next `watch()` calls: called before the
   * room is joined (roomOnChannel, before the channel starts), the browser's WebRTC set-up overlaps the wait for the
   * broker, and a camera's session sends its offer the moment the camera is known. Spares serve the room's own ICE
   * settings only (a camera that lends ICE servers gets a fresh connection); unused ones close after 30 s. In a
   * browser without WebRTC it does nothing (`watch()` says what is missing).
   */
  prepareWatches(count = 1): void {
    this.assertJoined('prepare watches');
    try {
      this.spares.prepare(this.parts.config, count);
    } catch {
      // A spare is only a head start: what stops one (no RTCPeerConnection here) is said by the watch() that needs it.
    }
  }

  /**
   * Watches a camera of the room. Resolves at once with a BrowserWatch whose `stream` fills when the media arrives;
   * it reconnects by itself until `close()` (with `retry`'s waits, and at once when the signaling link comes back).
   * Throws 'not-found' when the device is not present.
   */
  async watch(device: Device | string, options: BrowserWatchOptions = {}): Promise<BrowserWatch> {
    this.assertJoined('watch');
    const id = this.deviceId(device);
    const w = new BrowserWatch(this.devices.get(id) as Device);
    w.keeper = this.keep(id, options, {
      newPeer: (config) => {
        w.replaceTracks();
        const peer = this.spares.take(config) ?? new W3cPeer({ RTCPeerConnection: this.ctor(), config, media: { role: 'viewer', audio: hasAudio(this.devices.get(id)) } });
        peer.onTrack = (track) => {
          if (peer === w.peer) w.addTrack(track);
        };
        w.peer = peer;
        w.fire('connecting');
        return peer;
      },
      connected: (info) => w.fire('connected', info),
      ended: (reason, message) => w.fire('ended', reason, message),
      trouble: (d) => w.fire('trouble', d.message, d.problem),
      step: (step) => w.fire('step', step),
      state: (state) => w.fire('state', state),
    });
    this.tracked(w);
    w.keeper.start();
    return w;
  }

  /**
   * Makes this page a camera of the room: every viewer that asks gets the tracks of `stream` (read at each answer;
   * `replaceStream` swaps them for every viewer). Resolves once the camera is announced.
   */
  async publish(stream: MediaStream, options: BrowserPublishOptions = {}): Promise<BrowserPublication> {
    this.assertJoined('publish');
    const p = new BrowserPublication(stream, options.name ?? this.parts.presence.name, options, {
      channel: this.mediaView,
      config: this.parts.config,
      log: this.parts.log,
      ctor: this.ctor,
      presence: this.parts.presence,
      reset: () => this.resetPresence(),
    });
    p.tracked(this.track(() => p.close()));
    await p.announce();
    return p;
  }
}

/**
 * Makes a BrowserRoom of a signaling channel the page built itself (its own transport, device id, reconnect policy or
 * a channel made before it starts, so that nothing it receives is missed). `leave()` closes the channel. What
 * `joinRoom` does after connecting; the web app of `peercam up` joins this way.
 */
export function roomOnChannel(channel: Channel, options: RoomOnChannelOptions): BrowserRoom {
  const log = options.log ?? silentLogger;
  const ctor = (): RTCPeerConnectionCtor => {
    const c = options.RTCPeerConnection ?? globalThis.RTCPeerConnection;
    if (typeof c !== 'function') throw PeercamError.config(NO_WEBRTC);
    return c;
  };
  return new BrowserRoom(
    {
      channel,
      presence: options.presence,
      config: peerConfigOf({ link: channel.room, ...options }),
      log,
      selfName: 'this page',
      dataPeer: (config, label, onChannel) => w3cDataPeer(ctor(), config, label, onChannel),
    },
    ctor,
  );
}

const NO_WEBRTC = 'This browser has no WebRTC (RTCPeerConnection is missing): open the page in a current browser.';

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
  if (typeof ctor !== 'function') throw PeercamError.config(NO_WEBRTC);
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
  const joined = roomOnChannel(channel, { ...o, presence, RTCPeerConnection: ctor, log });
  try {
    await channel.start();
  } catch (err) {
    await channel.close().catch(() => {});
    throw err;
  }
  return joined;
}

/**
 * Whether a viewer's connection to `camera` needs an audio transceiver: it sends sound, or it plays talk-back (or an
 * older camera does not say: assumed).
 */
function hasAudio(camera: Device | undefined): boolean {
  return camera?.talkBack !== false || sendsAudio(camera);
}
