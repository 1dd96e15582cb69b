import type { RemoteInfo } from 'node:dgram';
import type { Answer } from 'dns-packet';
import makeMdns from 'multicast-dns';
import {
  type DeviceId,
  DEVICE_ID_PATTERN,
  Emitter,
  type Logger,
  PeercamError,
  PROTOCOL_VERSION,
  ROOM_ID_PATTERN,
  type Role,
  type RoomId,
} from '../../protocol/index.js';
import { DnsSdCache, type ResolvedInstance } from './cache.js';
import { type NetIf, onLink } from './netif.js';

export const SERVICE_TYPE = '_peercam._tcp.local';

/** A peercam device found on the LAN, whatever its room. */
export interface LanService {
  readonly instance: string;
  readonly id: DeviceId;
  readonly room: RoomId;
  readonly role: Role;
  readonly address: string;
  readonly port: number;
  /** A hub's MQTT broker (TXT `b=`), for devices of its room to join too. */
  readonly broker?: string;
}

export interface BrowserEvents {
  /** A device was resolved, or its advertisement changed. */
  up: (service: LanService) => void;
  /** Its records expired or it said goodbye. */
  down: (service: LanService) => void;
}

export interface BrowserOptions {
  /** Where to browse (never empty): one socket per interface, each sending its queries out of that interface alone. */
  readonly netifs: readonly NetIf[];
  readonly log: Logger;
  readonly now: () => number;
  /** Browse queries go out at 1 s, 2 s, 4 s ... up to this interval (RFC 6762 5.2). */
  readonly maxQueryIntervalMs?: number;
}

const TICK_MS = 250;

/** Browses `_peercam._tcp` with multicast-dns on each of the given interfaces. */
export class MdnsBrowser extends Emitter<BrowserEvents> {
  private readonly cache = new DnsSdCache(SERVICE_TYPE);
  private readonly found = new Map<string, LanService>();
  private sockets: { netif: NetIf; mdns: makeMdns.MulticastDNS }[] = [];
  private timer: ReturnType<typeof setInterval> | undefined;
  private nextQueryAt = 0;
  private interval = 1000;

  constructor(private readonly options: BrowserOptions) {
    super();
  }

  /** Where the sockets listen and which interfaces their multicast goes out of (for the "no leak" checks). */
  get binding(): { bind: string; multicastInterfaces: string[] } {
    return { bind: '0.0.0.0', multicastInterfaces: this.options.netifs.map((n) => n.address) };
  }

  services(): LanService[] {
    return [...this.found.values()];
  }

  async start(): Promise<void> {
    try {
      for (const netif of this.options.netifs) this.sockets.push({ netif, mdns: await this.open(netif) });
    } catch (err) {
      await this.close();
      throw err;
    }
    this.nextQueryAt = this.options.now();
    this.timer = setInterval(() => this.tick(), TICK_MS);
    this.tick();
  }

  /**
   * A socket bound to 0.0.0.0:5353 (a socket bound to a unicast address gets no multicast on Linux) whose membership
   * and outgoing interface are this interface's address, so its queries leave through it alone. Linux hands every
   * socket the group's packets from all interfaces; responses from off this interface's subnet are dropped below.
   */
  private async open(netif: NetIf): Promise<makeMdns.MulticastDNS> {
    const mdns = makeMdns({ interface: netif.address, bind: '0.0.0.0', reuseAddr: true, loopback: true, ttl: 255 });
    mdns.on('warning', (err: Error) => this.options.log.debug({ err: err.message, netif: netif.name }, 'mDNS warning'));
    mdns.on('response', (packet: makeMdns.ResponsePacket, rinfo: RemoteInfo) => this.onResponse(netif, mdns, packet, rinfo));
    await new Promise<void>((resolve, reject) => {
      mdns.once('ready', resolve);
      mdns.once('error', (err: Error) =>
        reject(new PeercamError('bad-config', `Cannot listen for mDNS on UDP 5353 (${netif.name}): ${err.message}. Is multicast allowed here?`, { cause: err })),
      );
    });
    mdns.on('error', (err: Error) => this.options.log.warn({ err: err.message, netif: netif.name }, 'mDNS socket error'));
    return mdns;
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    const sockets = this.sockets;
    this.sockets = [];
    await Promise.all(sockets.map(({ mdns }) => new Promise<void>((resolve) => mdns.destroy(() => resolve()))));
    this.removeAllListeners();
  }

  private tick(): void {
    const now = this.options.now();
    this.apply(now);
    const questions = this.cache.questions(now);
    let answers: Answer[] = [];
    if (now >= this.nextQueryAt) {
      questions.unshift({ name: SERVICE_TYPE, type: 'PTR' });
      answers = this.cache.knownAnswers(now);
      this.nextQueryAt = now + this.interval;
      this.interval = Math.min(this.interval * 2, this.options.maxQueryIntervalMs ?? 60_000);
    }
    if (questions.length > 0) for (const { mdns } of this.sockets) mdns.query({ questions, answers });
  }

  private onResponse(netif: NetIf, mdns: makeMdns.MulticastDNS, packet: makeMdns.ResponsePacket, rinfo: RemoteInfo): void {
    if (!onLink(netif, rinfo.address)) return;
    this.cache.ingest([...(packet.answers ?? []), ...(packet.additionals ?? [])], this.options.now());
    this.apply(this.options.now());
    // Ask at once for what this response left out (e.g. the A record of a new SRV target).
    const questions = this.cache.questions(this.options.now());
    if (questions.length > 0) mdns.query({ questions });
  }

  private apply(now: number): void {
    const { up, down } = this.cache.update(now);
    for (const r of down) {
      const s = this.found.get(r.instance);
      if (!s) continue;
      this.found.delete(r.instance);
      this.emit('down', s);
    }
    for (const r of up) {
      const s = toService(r);
      const before = this.found.get(r.instance);
      if (!s) {
        this.options.log.debug({ instance: r.instance, txt: r.txt }, 'ignoring a _peercam._tcp service with unusable TXT');
        if (before) {
          this.found.delete(r.instance);
          this.emit('down', before);
        }
        continue;
      }
      this.found.set(r.instance, s);
      this.emit('up', s);
    }
  }
}

const ROLES: readonly string[] = ['camera', 'viewer', 'hub'];

function isRole(s: string | undefined): s is Role {
  return s !== undefined && ROLES.includes(s);
}

/** TXT `v=1 id=<deviceId> r=<roomId> role=camera|viewer|hub`; anything else is not a peercam v1 device. */
export function toService(r: ResolvedInstance): LanService | undefined {
  const { v, id, r: room, role } = r.txt;
  if (v !== String(PROTOCOL_VERSION) || id === undefined || room === undefined || !isRole(role)) return undefined;
  if (!DEVICE_ID_PATTERN.test(id) || !ROOM_ID_PATTERN.test(room)) return undefined;
  const broker = r.txt.b !== undefined && /^(mqtts?|wss?):\/\/[^/\s]+/.test(r.txt.b) ? r.txt.b : undefined;
  return { instance: r.instance, id, room, role, address: r.address, port: r.port, ...(broker ? { broker } : {}) };
}
