import { type DeviceId, Emitter, type Logger, PeercamError, type PresenceBody, type Room } from '../protocol/index.js';
import { CameraEndpoint, type IceServer, type Peer, type PeerConfig, ViewerSession } from '../session/index.js';
import type { Channel, PeerInfo } from '../signaling/channel.js';
import type { LinkState } from '../signaling/transport.js';
import { ChannelView, DATA_SOURCE_PREFIX, isDataOffer } from './channel-view.js';
import { type KeeperHooks, SessionKeeper } from './keeper.js';
import { type ChannelLimits, PeerChannel, type RawChannel } from './peer-channel.js';
import type { ReconnectPolicy } from '../signaling/backoff.js';

/** A member of the room as its sealed presence describes it: id, name, role (camera, viewer, hub), its sources. */
export type Device = PeerInfo;

/** Events of a joined room. */
export interface RoomEvents {
  /** A device appeared. A listener added later is first called with every device already present. */
  join: (device: Device) => void;
  /** A present device changed its presence (e.g. a viewer became a camera, or was renamed). */
  update: (device: Device) => void;
  /** A device left: clean leave, lost connection (broker last will) or lost LAN heartbeat. */
  leave: (device: Device) => void;
  /** Another device opened a data channel to this one (see `openChannel`). */
  channel: (channel: PeerChannel) => void;
  /** The signaling link went up or down; sessions already connected keep their media meanwhile. */
  state: (state: LinkState, detail?: string) => void;
}

/** Options every platform's `joinRoom` takes. */
export interface JoinOptionsBase {
  /** The room: its pairing link (anything with `#k=...`, optionally `&b=<broker>`), or a Room. */
  readonly link: string | Room;
  /** MQTT broker URL; overrides the link's `b=`. */
  readonly broker?: string;
  /** This device's name in the room. Default "peercam device". */
  readonly name?: string;
  /** STUN/TURN servers. Default none: peers find each other on their own networks only (add a STUN server across NATs). */
  readonly iceServers?: readonly IceServer[];
  /** Use TURN relays only. */
  readonly relayOnly?: boolean;
  /** Where to log (pino-compatible); silent by default. */
  readonly log?: Logger;
}

/** A data-channel peer factory: the offerer (label set) creates the channel, the answerer takes the one offered. */
export type DataPeerFactory = (config: PeerConfig, label: string | undefined, onChannel: (raw: RawChannel) => void) => Peer;

/** @internal What differs between the browser and Node under a PeercamRoom. */
export interface RoomParts {
  readonly channel: Channel;
  readonly dataPeer: DataPeerFactory;
  readonly presence: PresenceBody;
  readonly config: PeerConfig;
  readonly log: Logger;
  /** How failure messages call this side ("this page", "this device"). */
  readonly selfName: string;
  /** Extra cleanup after the channel closed (engine shutdown, LAN). */
  readonly cleanup?: () => Promise<void>;
}

/** Options of `openChannel`. */
export interface OpenChannelOptions extends ChannelLimits {
  /** A name for the channel, given to the other side. Default "data". */
  readonly label?: string;
  /** How long to wait for the channel to open. Default 30 s. */
  readonly timeoutMs?: number;
  /**
   * The source to offer for, when the other device answers one of its own sources with a data channel (a recorder's
   * `recordings`, docs/RECORDING.md) rather than being a room device that takes any channel. Default: a channel to
   * such a device, which gets it as a `channel` event.
   */
  readonly source?: string;
}

/**
 * A joined room: who is present, data channels to any of them, and (in the platform subclasses) watching cameras and
 * becoming one. Everything goes peer to peer; the broker or the LAN carries only sealed signaling.
 */
export class PeercamRoom extends Emitter<RoomEvents> {
  /** This device's id in the room. */
  readonly self: DeviceId;
  /** The room (id, credentials, link). */
  readonly room: Room;
  /** @internal */
  protected readonly parts: RoomParts;
  /** @internal The channel as the media endpoint sees it: every offer but data offers. */
  protected readonly mediaView: Channel;
  private readonly known = new Map<DeviceId, Device>();
  private readonly dataEndpoint: CameraEndpoint;
  private readonly incoming = new Map<string, PeerChannel>();
  private readonly outgoing = new Set<PeerChannel>();
  private readonly closers = new Set<() => Promise<void>>();
  private left = false;

  /** @internal Use `joinRoom`. */
  constructor(parts: RoomParts) {
    super();
    this.parts = parts;
    this.self = parts.channel.self;
    this.room = parts.channel.room;
    const ch = parts.channel;
    ch.on('peer', (p) => {
      const had = this.known.has(p.id);
      this.known.set(p.id, p);
      this.emit(had ? 'update' : 'join', p);
    });
    ch.on('gone', (id) => {
      const p = this.known.get(id);
      if (!p) return;
      this.known.delete(id);
      this.emit('leave', p);
    });
    ch.on('state', (s, detail) => this.emit('state', s, detail));
    for (const p of ch.peers.values()) this.known.set(p.id, p);
    this.mediaView = new ChannelView(ch, (e) => !isDataOffer(e));
    this.dataEndpoint = new CameraEndpoint({
      channel: new ChannelView(ch, isDataOffer),
      config: parts.config,
      maxSessionsPerViewer: 64,
      log: parts.log,
      peerFactory: (config, ctx) => {
        const label = (ctx.source ?? '').slice(DATA_SOURCE_PREFIX.length) || 'data';
        const key = `${ctx.viewer}/${ctx.sid}`;
        this.incoming.get(key)?.end('replaced by a new connection');
        const channel = new PeerChannel(ctx.viewer, label);
        this.incoming.set(key, channel);
        void channel.whenOpen().then(
          () => this.emit('channel', channel),
          () => {},
        );
        return parts.dataPeer(config, undefined, (raw) => channel.attach(raw));
      },
    });
    this.dataEndpoint.on('session', (s) => {
      const key = `${s.remote}/${s.sid}`;
      s.once('closed', (_reason, message) => {
        this.incoming.get(key)?.end(message);
        this.incoming.delete(key);
      });
    });
  }

  /** Devices present now, this one excluded. */
  get devices(): ReadonlyMap<DeviceId, Device> {
    return this.known;
  }

  /** The cameras present now (hubs with cameras included). */
  cameras(): Device[] {
    return [...this.known.values()].filter((d) => d.role === 'camera' || (d.role === 'hub' && (d.sources?.length ?? 0) > 0));
  }

  /** The signaling link's state now. */
  get state(): LinkState {
    return this.parts.channel.state;
  }

  /** Adds a listener; returns its unsubscribe closure. A `join` listener first hears of every device already present. */
  override on<K extends keyof RoomEvents>(event: K, listener: RoomEvents[K]): () => void {
    const off = super.on(event, listener);
    if (event === 'join') {
      const present = [...this.known.values()];
      const join = listener as RoomEvents['join'];
      let live = true;
      queueMicrotask(() => {
        for (const d of present) if (live && this.known.get(d.id) === d) join(d);
      });
      return () => {
        live = false;
        off();
      };
    }
    return off;
  }

  /**
   * Opens a reliable, ordered data channel to a device of the room (any role), peer to peer. Resolves once it is open;
   * rejects with a PeercamError: 'not-found' (no such device), 'ice-failed' (no network path), 'timeout', 'closed'.
   * The other device gets it as a `channel` event (or, with `source`, answers that source of its own).
   */
  async openChannel(device: Device | DeviceId, options: OpenChannelOptions = {}): Promise<PeerChannel> {
    this.assertJoined('open a channel');
    const id = this.deviceId(device);
    const label = options.label ?? 'data';
    const channel = new PeerChannel(id, label, options);
    const session = new ViewerSession({
      channel: this.parts.channel,
      camera: id,
      config: this.parts.config,
      source: options.source ?? `${DATA_SOURCE_PREFIX}${label}`,
      // Until the channel opens, a failed attempt is tried again with a new connection (nothing was sent yet; a
      // connection made right after another one closed can fail its DTLS handshake in node-datachannel). Once open, a
      // data channel does not outlive its connection: the caller opens a new one, knowing messages may be lost.
      maxRestarts: 2,
      log: this.parts.log,
      selfName: this.parts.selfName,
      peerFactory: (config) => this.parts.dataPeer(config, label, (raw) => channel.attach(raw)),
    });
    session.once('closed', (reason, message) => channel.end(message, reason === 'ice-failed' ? 'ice-failed' : 'closed'));
    let opened = false;
    session.on('state', (state) => state === 'restarting' && opened && channel.end('the connection was lost', 'closed'));
    channel.onEnd(() => {
      this.outgoing.delete(channel);
      session.close('local', 'The channel was closed.');
    });
    this.outgoing.add(channel);
    const timeoutMs = options.timeoutMs ?? 30_000;
    const timer = setTimeout(() => channel.end(`not open after ${timeoutMs / 1000} s`, 'timeout'), timeoutMs);
    try {
      await session.start();
      await channel.whenOpen();
      opened = true;
    } finally {
      clearTimeout(timer);
    }
    return channel;
  }

  /**
   * Leaves the room: closes every channel, watch and camera of this device, clears its presence and disconnects.
   * Idempotent.
   */
  async leave(): Promise<void> {
    if (this.left) return;
    this.left = true;
    for (const c of this.outgoing) c.close();
    for (const c of this.incoming.values()) c.close();
    await Promise.all([...this.closers].map((close) => close().catch(() => {})));
    await this.dataEndpoint.close();
    await this.parts.channel.close();
    await this.parts.cleanup?.();
    this.known.clear();
    this.removeAllListeners();
  }

  /** @internal Registers something leave() must close first; returns its unregister closure. */
  protected track(close: () => Promise<void>): () => void {
    this.closers.add(close);
    return () => this.closers.delete(close);
  }

  /** @internal Tracks `thing` for leave(), untracked again when it is closed by itself. */
  protected tracked<T extends { close(): Promise<void> }>(thing: T): T {
    const untrack = this.track(() => thing.close());
    const close = thing.close.bind(thing);
    thing.close = async () => {
      untrack();
      await close();
    };
    return thing;
  }

  /** @internal Keeps camera `id` watched (sessions again after each end) with this room's channel and settings. */
  protected keep(id: DeviceId, options: { source?: string; retry?: ReconnectPolicy; log?: Logger }, hooks: KeeperHooks): SessionKeeper {
    return new SessionKeeper({
      ...hooks,
      channel: this.parts.channel,
      camera: id,
      config: this.parts.config,
      log: options.log ?? this.parts.log,
      selfName: this.parts.selfName,
      ...(options.source !== undefined ? { source: options.source } : {}),
      ...(options.retry !== undefined ? { retry: options.retry } : {}),
    });
  }

  /** @internal */
  protected deviceId(device: Device | DeviceId): DeviceId {
    const id = typeof device === 'string' ? device : device.id;
    if (!this.known.has(id)) throw new PeercamError('not-found', `The device ${id} is not present in this room; wait for its "join" event.`);
    return id;
  }

  /** @internal */
  protected assertJoined(what: string): void {
    if (this.left) throw new PeercamError('closed', `This room was left; join again to ${what}.`);
  }

  /** @internal Sets this device's presence back to a plain member's. */
  protected resetPresence(): Promise<void> {
    return this.left ? Promise.resolve() : this.parts.channel.setPresence(this.parts.presence);
  }
}

/** Resolves `JoinOptionsBase` fields shared by both platforms. */
export function peerConfigOf(options: JoinOptionsBase): PeerConfig {
  return { iceServers: options.iceServers ?? [], iceTransportPolicy: options.relayOnly ? 'relay' : 'all' };
}
