import {
  type Body,
  type DeviceId,
  Emitter,
  type Logger,
  SeenWindow,
  type MessageType,
  PeercamError,
  type PresenceBody,
  type Room,
  type SessionId,
  silentLogger,
} from '../protocol/index.js';
import type { Channel, ChannelEvents, PeerInfo, Via } from './channel.js';
import type { LinkState, TransportKind } from './transport.js';

export interface MergedChannelOptions {
  /** Presence to give channels added later, until `setPresence` replaces it. */
  readonly presence?: PresenceBody;
  readonly log?: Logger;
  /** Clock for the duplicate memory, injectable for tests. */
  readonly now?: () => number;
}

/**
 * One Channel over several channels of the same room and device (LAN + a broker): peers merged by device id with the
 * transports they were seen on, sends over the first channel (in preference order) that sees the recipient, messages
 * from all of them with duplicates across transports dropped by (from, seq).
 *
 * The channels of one device should share one Courier (ChannelOptions.courier): its seq then never repeats across
 * transports, so dropping a repeated (from, seq) here can only drop a true duplicate.
 */
export class MergedChannel extends Emitter<ChannelEvents> implements Channel {
  readonly self: DeviceId;
  readonly room: Room;
  private readonly members: { channel: Channel; offs: (() => void)[] }[] = [];
  /** Per device: what each channel last said about it. */
  private readonly sightings = new Map<DeviceId, Map<Channel, PeerInfo>>();
  /** Per device: the most recent presence, whichever channel it came by. */
  private readonly latest = new Map<DeviceId, PeerInfo>();
  private readonly merged = new Map<DeviceId, PeerInfo>();
  /** from -> (seq -> ts) of messages passed on. */
  private readonly seen: SeenWindow;
  private current: PresenceBody | undefined;
  private linkState: LinkState = 'connecting';
  private started = false;
  private closed = false;
  private readonly log: Logger;
  private readonly now: () => number;

  /** `channels` in order of preference for sending: the LAN first, then brokers. */
  constructor(channels: readonly Channel[], options: MergedChannelOptions = {}) {
    super();
    const first = channels[0];
    if (!first) throw new PeercamError('internal', 'A MergedChannel needs at least one channel.');
    this.self = first.self;
    this.room = first.room;
    this.current = options.presence;
    this.log = (options.log ?? silentLogger).child({ channel: 'merged' });
    this.now = options.now ?? Date.now;
    this.seen = new SeenWindow(this.now);
    for (const channel of channels) this.attach(channel);
  }

  /** The preferred transport's kind. */
  get kind(): TransportKind {
    return this.members[0]?.channel.kind ?? 'memory';
  }

  get peers(): ReadonlyMap<DeviceId, PeerInfo> {
    return this.merged;
  }

  get state(): LinkState {
    return this.linkState;
  }

  /** The channels merged now, in order of preference. */
  get channels(): readonly Channel[] {
    return this.members.map((m) => m.channel);
  }

  async start(): Promise<void> {
    if (this.closed) throw new PeercamError('closed', 'This channel was closed; create a new one.');
    this.started = true;
    await Promise.all(this.members.map((m) => m.channel.start()));
    this.updateState();
  }

  /**
   * Adds a channel at runtime (a hub's broker found on the LAN), last in preference. Started here when this channel
   * already is, and given the current presence; on failure it is removed again and the error thrown.
   */
  async add(channel: Channel): Promise<void> {
    if (this.closed) throw new PeercamError('closed', 'This channel was closed; create a new one.');
    if (channel.room.id !== this.room.id || channel.self !== this.self)
      throw new PeercamError('internal', 'A merged channel only takes channels of its own room and device.');
    this.attach(channel);
    if (!this.started) return;
    try {
      await channel.start();
      if (this.current) await channel.setPresence(this.current);
    } catch (err) {
      await this.remove(channel);
      throw err;
    }
    this.updateState();
  }

  /** Removes and closes a channel; devices seen only there are gone. */
  async remove(channel: Channel): Promise<void> {
    const i = this.members.findIndex((m) => m.channel === channel);
    if (i < 0) return;
    const [member] = this.members.splice(i, 1);
    for (const off of member?.offs ?? []) off();
    for (const id of [...this.sightings.keys()]) this.forget(id, channel);
    this.updateState();
    await channel.close();
  }

  async send<T extends Exclude<MessageType, 'presence'>>(to: DeviceId, type: T, sid: SessionId, body: Body<T>): Promise<void> {
    if (this.closed) throw new PeercamError('closed', 'This channel was closed; create a new one.');
    // Where the recipient is present, in order of preference; then brokers, whose inboxes take mail for anyone.
    const channels = this.channels;
    const route = [...channels.filter((c) => c.peers.has(to)), ...channels.filter((c) => !c.peers.has(to) && c.kind !== 'lan')];
    let lastError: unknown = new PeercamError('not-found', `Device ${to} is not reachable on any transport (it left, or is not on this LAN).`);
    for (const channel of route) {
      try {
        await channel.send(to, type, sid, body);
        return;
      } catch (err) {
        lastError = err;
        this.log.debug({ to, via: channel.kind, err: String(err) }, 'send failed; trying the next transport');
      }
    }
    throw lastError;
  }

  get presence(): PresenceBody | undefined {
    return this.current;
  }

  async setPresence(presence: PresenceBody): Promise<void> {
    this.current = presence;
    await Promise.all(this.members.map((m) => m.channel.setPresence(presence)));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const channels = this.channels;
    for (const m of this.members.splice(0)) for (const off of m.offs) off();
    await Promise.all(channels.map((c) => c.close()));
    this.merged.clear();
    this.sightings.clear();
    this.latest.clear();
    this.removeAllListeners();
  }

  private attach(channel: Channel): void {
    this.members.push({
      channel,
      offs: [
        channel.on('peer', (p) => this.onPeer(channel, p)),
        channel.on('gone', (id) => this.forget(id, channel)),
        channel.on('message', (e) => {
          if (this.seen.firstTime(e.from, e.seq, e.ts)) this.emit('message', e);
          else this.emit('dropped', 'replay', `${e.type} seq ${e.seq} from ${e.from} already arrived by another transport`);
        }),
        channel.on('dropped', (reason, detail) => this.emit('dropped', reason, detail)),
        channel.on('state', () => this.updateState()),
      ],
    });
  }

  private onPeer(channel: Channel, peer: PeerInfo): void {
    let seen = this.sightings.get(peer.id);
    if (!seen) {
      seen = new Map();
      this.sightings.set(peer.id, seen);
    }
    seen.set(channel, peer);
    this.latest.set(peer.id, peer);
    this.publish(peer.id);
  }

  private forget(id: DeviceId, channel: Channel): void {
    const seen = this.sightings.get(id);
    if (!seen?.delete(channel)) return;
    if (seen.size === 0) {
      this.sightings.delete(id);
      this.latest.delete(id);
      if (this.merged.delete(id)) this.emit('gone', id);
      return;
    }
    const latest = this.latest.get(id);
    const remaining = [...seen.values()];
    if ((!latest || !remaining.includes(latest)) && remaining[0]) this.latest.set(id, remaining[0]);
    this.publish(id);
  }

  /** Recomputes a device's merged entry and announces it if it changed. */
  private publish(id: DeviceId): void {
    const seen = this.sightings.get(id);
    const latest = this.latest.get(id);
    if (!seen || !latest) return;
    const kinds = this.channels.filter((c) => seen.has(c)).map((c) => c.kind);
    const peer: PeerInfo = { ...latest, via: viaOf(kinds) };
    const before = this.merged.get(id);
    this.merged.set(id, peer);
    if (!before || JSON.stringify(before) !== JSON.stringify(peer)) this.emit('peer', peer);
  }

  private updateState(): void {
    const states = this.channels.map((c) => c.state);
    const state: LinkState = states.includes('online') ? 'online' : states.includes('connecting') ? 'connecting' : 'offline';
    if (state === this.linkState) return;
    this.linkState = state;
    const detail = this.channels.map((c) => `${c.kind} ${c.state}`).join(', ');
    this.emit('state', state, detail);
  }
}

/** 'lan', 'mqtt' or 'lan+mqtt' for `peercam ls`; other mixes (tests over memory) name the preferred one. */
export function viaOf(kinds: readonly TransportKind[]): Via {
  const set = new Set(kinds);
  if (set.has('lan') && set.has('mqtt')) return 'lan+mqtt';
  return kinds[0] ?? 'memory';
}
