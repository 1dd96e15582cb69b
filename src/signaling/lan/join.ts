import { Courier, type DeviceId, Emitter, type Logger, type PresenceBody, type Role, type Room, silentLogger } from '../../protocol/index.js';
import { SealedChannel } from '../channel.js';
import { MergedChannel } from '../merged.js';
import { MqttTransport } from '../mqtt.js';
import { exponentialBackoff, type ReconnectPolicy } from '../backoff.js';
import { RetryTimers } from './backoff.js';
import type { LanService } from './browser.js';
import { LanTransport } from './transport.js';

export interface JoinLanOptions {
  readonly room: Room;
  readonly self: DeviceId;
  readonly presence: PresenceBody;
  /** false: watch without publishing our presence (`peercam ls`). Default true. */
  readonly announce?: boolean;
  /** mDNS role and instance name; advertised unless `advertise` is false (default: advertise when announcing). */
  readonly role: Role;
  readonly name?: string;
  readonly advertise?: boolean;
  /** Pin discovery and the LAN WebSocket server to one interface. */
  readonly interface?: string;
  /** LAN WebSocket port (0 = any). */
  readonly port?: number;
  /** Devices to dial directly (`ws://host:port`), for networks without multicast. */
  readonly peers?: readonly string[];
  /** A broker the user configured: joined too when reachable, retried in the background when not. */
  readonly broker?: string;
  /** Join the embedded broker of a hub of our room seen on the LAN (TXT `b=`). Default true. */
  readonly followHubs?: boolean;
  /** First-connection limit per broker attempt. Default 5 s. */
  readonly brokerTimeoutMs?: number;
  readonly retry?: ReconnectPolicy;
  readonly log?: Logger;
  readonly env?: NodeJS.ProcessEnv;
}

export interface LanRoomEvents {
  /** A broker was joined (the merged channel gained it), could not be reached, or was left (its hub went away). */
  broker: (url: string, change: 'joined' | 'unreachable' | 'left', detail?: string) => void;
}

/** MQTT keepalive towards a hub's broker: its LWT then clears a vanished device within ~7.5 s instead of 30 s. */
const HUB_KEEPALIVE_S = 5;

/**
 * A device in LAN mode: a LanTransport channel, plus a configured broker and the broker of any hub of the room seen
 * on the LAN, all behind one MergedChannel. They share one Courier, so seq numbers never repeat across transports.
 */
export class LanRoom extends Emitter<LanRoomEvents> {
  readonly channel: MergedChannel;
  private readonly log: Logger;
  private readonly retry: RetryTimers<string>;
  /** Broker URL -> its channel once joined ('pending' while connecting). */
  private readonly joined = new Map<string, SealedChannel | 'pending'>();
  /** Hub device id -> the broker URL we joined for it. */
  private readonly hubs = new Map<DeviceId, string>();
  private closed = false;

  private constructor(
    private readonly options: JoinLanOptions,
    readonly lan: LanTransport,
    private readonly courier: Courier,
  ) {
    super();
    this.log = (options.log ?? silentLogger).child({ component: 'lan-room' });
    this.retry = new RetryTimers(options.retry ?? exponentialBackoff({ initialMs: 2000, maxMs: 30_000, jitter: 'equal' }));
    const lanChannel = new SealedChannel(options.room, lan, this.channelOptions());
    this.channel = new MergedChannel([lanChannel], { presence: options.presence, ...(options.log ? { log: options.log } : {}) });
    if (options.followHubs ?? true) {
      lan.on('service', (s) => this.onService(s));
      // A hub that left the LAN takes its broker with it: leave it rather than wait for its LWTs.
      lanChannel.on('gone', (id) => void this.leaveHub(id));
      // ... and a hub whose link came back (its advertisement unchanged, so no new `service`) is joined again.
      lanChannel.on('peer', (p) => {
        const s = p.role === 'hub' ? lan.services().find((x) => x.id === p.id) : undefined;
        if (s) this.onService(s);
      });
    }
  }

  /** Joins the LAN, then the configured broker when reachable (retried in the background when not). */
  static async join(options: JoinLanOptions): Promise<LanRoom> {
    const lan = new LanTransport({
      role: options.role,
      advertise: options.advertise ?? options.announce ?? true,
      ...(options.name !== undefined ? { name: options.name } : {}),
      ...(options.interface !== undefined ? { interface: options.interface } : {}),
      ...(options.port !== undefined ? { port: options.port } : {}),
      ...(options.peers ? { peers: options.peers } : {}),
      ...(options.log ? { log: options.log } : {}),
      ...(options.env ? { env: options.env } : {}),
    });
    const room = new LanRoom(options, lan, new Courier(options.room, options.self));
    try {
      await room.channel.start();
      if (options.broker !== undefined) await room.joinBroker(options.broker, { keepRetrying: true });
    } catch (err) {
      await room.close();
      throw err;
    }
    return room;
  }

  /** Broker URLs joined now. */
  brokers(): string[] {
    return [...this.joined].filter(([, c]) => c !== 'pending').map(([url]) => url);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.retry.clear();
    await this.channel.close();
    this.removeAllListeners();
  }

  private channelOptions() {
    const { self, presence, announce = true, log } = this.options;
    return { self, presence, announce, courier: this.courier, ...(log ? { log } : {}) };
  }

  private onService(s: LanService): void {
    if (this.closed || s.role !== 'hub' || s.room !== this.options.room.id || s.broker === undefined) return;
    const url = hubBrokerUrl(s);
    if (url === undefined || this.hubs.get(s.id) === url) return;
    this.hubs.set(s.id, url);
    void this.joinBroker(url, { hub: s.id });
  }

  /** Joins a broker; a failure is reported, and retried while it is wanted (configured, or its hub still on the LAN). */
  private async joinBroker(url: string, why: { keepRetrying?: boolean; hub?: DeviceId }): Promise<void> {
    if (this.closed || this.joined.has(url)) return;
    this.joined.set(url, 'pending');
    const transport = new MqttTransport({
      url,
      ...(this.options.brokerTimeoutMs !== undefined ? { connectTimeoutMs: this.options.brokerTimeoutMs } : {}),
      // A hub's broker admits the room's members only: present the room login at once.
      ...(why.hub !== undefined ? { keepaliveSeconds: HUB_KEEPALIVE_S, roomLogin: 'first' as const } : {}),
      ...(this.options.log ? { log: this.options.log } : {}),
    });
    const channel = new SealedChannel(this.options.room, transport, this.channelOptions());
    try {
      await this.channel.add(channel);
    } catch (err) {
      this.joined.delete(url);
      if (this.closed) return;
      const detail = err instanceof Error ? err.message : String(err);
      this.log.warn({ url, err: detail }, 'broker not reachable; staying on the LAN and trying again later');
      this.emit('broker', url, 'unreachable', detail);
      const wanted = () => !this.closed && (why.keepRetrying === true || (why.hub !== undefined && this.hubs.get(why.hub) === url));
      if (wanted()) this.retry.schedule(url, () => void (wanted() && this.joinBroker(url, why)));
      return;
    }
    if (this.closed || (why.hub !== undefined && this.hubs.get(why.hub) !== url)) {
      this.joined.delete(url);
      await this.channel.remove(channel);
      return;
    }
    this.retry.reset(url);
    this.joined.set(url, channel);
    this.log.info({ url }, 'joined the broker too');
    this.emit('broker', url, 'joined');
  }

  private async leaveHub(id: DeviceId): Promise<void> {
    const url = this.hubs.get(id);
    if (url === undefined) return;
    this.hubs.delete(id);
    this.retry.cancel(url);
    const channel = this.joined.get(url);
    if (channel === undefined || channel === 'pending') return;
    this.joined.delete(url);
    await this.channel.remove(channel);
    this.emit('broker', url, 'left', 'its hub left the LAN');
  }
}

/**
 * The broker a hub names in TXT `b=`, reached at the address we resolved the hub at: that address is on our link,
 * while the host in `b=` is only the hub's idea of its own address (it may have several).
 */
export function hubBrokerUrl(s: Pick<LanService, 'broker' | 'address'>): string | undefined {
  if (s.broker === undefined) return undefined;
  try {
    const url = new URL(s.broker);
    url.hostname = s.address;
    return url.href.replace(/\/$/, '');
  } catch {
    return undefined;
  }
}
