import {
  type Body,
  Courier,
  type DeviceId,
  type DropReason,
  Emitter,
  type Envelope,
  type Logger,
  MAX_QUERY_KNOWN,
  type MessageType,
  type PresenceBody,
  PeercamError,
  type Room,
  type SessionId,
  silentLogger,
} from '../protocol/index.js';
import { DropLog, type RateLimitOptions, RateLimiter } from './rate-limit.js';
import type { LinkState, Transport, TransportKind } from './transport.js';

/** Where a peer was seen: one transport, or both the LAN and a broker (MergedChannel). */
export type Via = TransportKind | 'lan+mqtt';

/** A member of the room as its presence describes it. */
export interface PeerInfo extends PresenceBody {
  readonly id: DeviceId;
  /** Which transport(s) we saw it on. */
  readonly via: Via;
}

/** Events of a Channel. */
export interface ChannelEvents {
  /** A device appeared, or changed its presence. */
  peer: (peer: PeerInfo) => void;
  /** A device left: clean close, broker LWT, or lost LAN heartbeat. */
  gone: (id: DeviceId) => void;
  /** An envelope for us passed every check (authentic, fresh, not replayed, addressed to us). */
  message: (envelope: Envelope) => void;
  /** Something was received and dropped; never fatal. */
  dropped: (reason: DropReason, detail: string) => void;
  /** The link to the room went up or down. */
  state: (state: LinkState, detail?: string) => void;
}

/** Signaling in one room: presence in and out, sealed messages to one device, and what arrives for us. */
export interface Channel {
  readonly self: DeviceId;
  readonly room: Room;
  readonly kind: TransportKind;
  /** Devices present now (self excluded). */
  readonly peers: ReadonlyMap<DeviceId, PeerInfo>;
  readonly state: LinkState;
  /** What this member announces now (undefined: a merged channel not given one yet). Change a field with setPresence. */
  readonly presence: PresenceBody | undefined;
  start(): Promise<void>;
  send<T extends Exclude<MessageType, 'presence'>>(to: DeviceId, type: T, sid: SessionId, body: Body<T>): Promise<void>;
  setPresence(presence: PresenceBody): Promise<void>;
  on<K extends keyof ChannelEvents>(event: K, listener: ChannelEvents[K]): () => void;
  close(): Promise<void>;
}

/** Options of a SealedChannel: who we are, our presence, limits and logging. */
export interface ChannelOptions {
  readonly self: DeviceId;
  readonly presence: PresenceBody;
  /** false: watch the room without publishing our presence (e.g. `peercam ls`). Default true. */
  readonly announce?: boolean;
  readonly log?: Logger;
  /** Clock, injectable for tests. */
  readonly now?: () => number;
  /** Budget per authenticated sender (see rate-limit.ts); false turns it off. Default DEFAULT_RATE_LIMIT. */
  readonly rateLimit?: RateLimitOptions | false;
  /** Repeated drops of one reason are logged at most once per this interval. Default 10 s. */
  readonly dropLogIntervalMs?: number;
  /**
   * Seal/open with this Courier instead of a fresh one. The channels of one device under a MergedChannel share one,
   * so its (from, seq) stay unique across transports and an envelope arriving twice is a replay.
   */
  readonly courier?: Courier;
}

/** The one Channel implementation: seals and checks everything, over any Transport. */
export class SealedChannel extends Emitter<ChannelEvents> implements Channel {
  readonly self: DeviceId;
  readonly kind: TransportKind;
  private readonly courier: Courier;
  private readonly log: Logger;
  private readonly known = new Map<DeviceId, PeerInfo>();
  /** The seq of the newest presence or 'here' applied per device (see notePeer). */
  private readonly presenceSeq = new Map<DeviceId, number>();
  private current: PresenceBody;
  private linkState: LinkState = 'connecting';
  private closed = false;
  private readonly announce: boolean;
  /** Presence payloads are opened in arrival order per device, so a late clear cannot be overtaken. */
  private readonly presenceQueue = new Map<DeviceId, Promise<void>>();
  private readonly limiter: RateLimiter | undefined;
  private readonly dropLog: DropLog;
  /** Set once start() asked who is here; from then on every return to 'online' asks again. */
  private asking = false;
  /** Our presences go out one after the other, in the order they were set (see publishPresence). */
  private presenceTurn: Promise<void> = Promise.resolve();

  constructor(
    readonly room: Room,
    private readonly transport: Transport,
    options: ChannelOptions,
  ) {
    super();
    this.self = options.self;
    this.kind = transport.kind;
    this.current = options.presence;
    this.announce = options.announce ?? true;
    this.log = (options.log ?? silentLogger).child({ channel: transport.kind });
    this.courier = options.courier ?? new Courier(room, options.self, options.now ? { now: options.now } : {});
    this.limiter = options.rateLimit === false ? undefined : new RateLimiter({ ...(options.now ? { now: options.now } : {}), ...options.rateLimit });
    this.dropLog = new DropLog(this.log, options.dropLogIntervalMs, options.now);
  }

  get peers(): ReadonlyMap<DeviceId, PeerInfo> {
    return this.known;
  }

  get state(): LinkState {
    return this.linkState;
  }

  async start(): Promise<void> {
    if (this.closed) throw new PeercamError('closed', 'This channel was closed; create a new one.');
    this.transport.useRoomCredentials?.(this.room.credentials);
    await this.transport.open(this.room.id, this.self, {
      presence: (device, payload) => this.onPresence(device, payload),
      inbox: (payload) => void this.onInbox(payload),
      state: (state, detail) => {
        const back = state === 'online' && this.linkState !== 'online';
        this.linkState = state;
        this.emit('state', state, detail);
        // Members that joined while we were away, or whose presence our broker node never had, answer this.
        if (back && this.asking) void this.ask();
      },
    });
    this.linkState = 'online';
    await this.publishPresence(this.current);
    this.asking = true;
    void this.ask();
  }

  get presence(): PresenceBody {
    return this.current;
  }

  async setPresence(presence: PresenceBody): Promise<void> {
    this.current = presence;
    await this.publishPresence(presence);
  }

  /**
   * Seals now (its seq says which presence is newer) and publishes after the presences set before it. Seals finish
   * in no fixed order (WebCrypto's threads); published out of order, the broker would retain the older one (a recorder
   * whose disk is full, then writable again, staying "full" for members who join later), and members, who keep the
   * highest seq, would never show it. A presence replaced before its turn is not published at all.
   */
  private publishPresence(presence: PresenceBody): Promise<void> {
    if (this.closed || !this.announce) return Promise.resolve();
    const sealed = this.courier.sealPresence(presence);
    const turn = this.presenceTurn.then(async () => {
      const { payload } = await sealed;
      if (presence === this.current && !this.closed) await this.transport.setPresence(payload);
    });
    this.presenceTurn = turn.catch(() => {});
    return turn;
  }

  async send<T extends Exclude<MessageType, 'presence'>>(to: DeviceId, type: T, sid: SessionId, body: Body<T>): Promise<void> {
    if (this.closed) throw new PeercamError('closed', 'This channel was closed; create a new one.');
    const { payload } = await this.courier.seal(to, type, sid, body);
    await this.transport.send(to, payload);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.transport.close();
    this.known.clear();
    this.removeAllListeners();
  }

  /** Broadcasts "who is here?", listing who we already know so they need not answer. */
  private async ask(): Promise<void> {
    if (!this.transport.query || this.closed) return;
    try {
      await this.transport.query(async () => {
        await Promise.all(this.presenceQueue.values()); // presence already delivered, still being opened
        const known = [...this.known.keys()].slice(0, MAX_QUERY_KNOWN);
        // A silent watcher (`peercam ls`) sends no role: everyone answers it.
        const role = this.announce ? { role: this.presence.role } : {};
        return (await this.courier.sealQuery(known.length > 0 ? { known, ...role } : role)).payload;
      });
    } catch (err) {
      this.log.debug({ err: String(err) }, 'who-is-here query not sent');
    }
  }

  /**
   * A member asked who is here: we answer once, to its inbox, unless it listed us, or both of us are viewers (viewers
   * need cameras only; without this a crowd of viewers joining at once would answer each other, N x N messages).
   */
  private async answer(from: DeviceId, query: Body<'query'>): Promise<void> {
    if (!this.announce || query.known?.includes(this.self)) return;
    if (query.role === 'viewer' && this.presence.role === 'viewer') return;
    try {
      await this.send(from, 'here', '', this.presence);
    } catch (err) {
      this.log.debug({ err: String(err), to: from }, 'answer to a who-is-here query not sent');
    }
  }

  /** A presence, from the retained slot or from an answer to our query. */
  private notePeer(device: DeviceId, body: PresenceBody, seq: number): void {
    // A 'here' answer and a newer presence travel on different topics and may cross: the older one (lower seq, sealed
    // earlier by the same device) must not undo the newer, e.g. turn a camera back into a viewer, or bring back a
    // device that has left. Kept after a leave for that reason; a restarted device's seq starts higher (its clock).
    if (seq < (this.presenceSeq.get(device) ?? -1)) return;
    this.presenceSeq.set(device, seq);
    const peer: PeerInfo = { ...body, id: device, via: this.kind };
    const before = this.known.get(device);
    this.known.set(device, peer);
    if (!before || JSON.stringify(before) !== JSON.stringify(peer)) this.emit('peer', peer);
  }

  private onPresence(device: DeviceId, payload: string | Uint8Array | null): void {
    if (device === this.self) return;
    const prev = this.presenceQueue.get(device) ?? Promise.resolve();
    const next = prev.then(() => this.applyPresence(device, payload));
    this.presenceQueue.set(device, next);
    void next.finally(() => {
      if (this.presenceQueue.get(device) === next) this.presenceQueue.delete(device);
    });
  }

  private async applyPresence(device: DeviceId, payload: string | Uint8Array | null): Promise<void> {
    if (this.closed) return;
    if (payload === null || payload.length === 0) {
      if (this.known.delete(device)) this.emit('gone', device);
      return;
    }
    const opened = await (this.transport.query ? this.courier.openBroadcast(device, payload) : this.courier.openPresence(device, payload));
    if (this.closed) return;
    const applied = opened.ok && (!this.limiter || this.limiter.take(device));
    if (opened.ok && opened.envelope.type === 'query') {
      if (!applied) return this.dropped('rate-limited', `query of ${device}: over its budget`);
      return this.answer(device, opened.envelope.body);
    }
    this.transport.presenceChecked?.(device, payload, applied);
    if (!opened.ok) return this.dropped(opened.reason, `presence of ${device}: ${opened.detail}`);
    if (!applied) return this.dropped('rate-limited', `presence of ${device}: over its budget`);
    const e = opened.envelope;
    if (e.type === 'presence') this.notePeer(device, e.body, e.seq);
  }

  private async onInbox(payload: string | Uint8Array): Promise<void> {
    const opened = await this.courier.open(payload);
    if (this.closed) return;
    if (!opened.ok) return this.dropped(opened.reason, opened.detail);
    // Only after authentication: an outsider cannot spend a member's budget, and only members have one.
    const e = opened.envelope;
    if (this.limiter && !this.limiter.take(e.from)) return this.dropped('rate-limited', `${e.type} from ${e.from}: over its budget`);
    if (e.type === 'here') return this.notePeer(e.from, e.body, e.seq);
    this.emit('message', e);
  }

  private dropped(reason: DropReason, detail: string): void {
    this.dropLog.note(reason, detail);
    this.emit('dropped', reason, detail);
  }
}
