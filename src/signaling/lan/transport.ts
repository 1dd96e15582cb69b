import { WebSocket } from 'ws';
import { type DeviceId, Emitter, type Logger, PeercamError, type RoomId, silentLogger } from '../../protocol/index.js';
import type { Transport, TransportHandlers } from '../transport.js';
import { Advertiser } from './advertiser.js';
import { exponentialBackoff } from '../backoff.js';
import { RetryTimers } from './backoff.js';
import { type LanService, MdnsBrowser } from './browser.js';
import { MAX_FRAME_BYTES } from './frames.js';
import { CloseCode, DEAD_AFTER_BEATS, Link } from './link.js';
import { findInterface, ipv4Interfaces, mdnsAllowedByEnv, type NetIf } from './netif.js';
import type { LanTransportEvents, LanTransportOptions } from './options.js';
import { Roster } from './roster.js';
import { LinkServer } from './server.js';

export type { LanTransportEvents, LanTransportOptions } from './options.js';

/** Links past their hello held at once (both directions), and to one device id (see roster.ts). */
export const LINK_LIMITS = { total: 128, perDevice: 4 } as const;

/**
 * Signaling with no server: finds room members with mDNS/DNS-SD and carries sealed payloads over direct WebSockets.
 * Both ends dial as soon as they discover each other; when two links to one device exist, the one dialed by the
 * lower device id is kept (both ends apply the same rule), so discovery takes whichever side is quicker.
 */
export class LanTransport extends Emitter<LanTransportEvents> implements Transport {
  readonly kind = 'lan';
  private readonly counts = { inbound: 0, outbound: 0, rejected: 0 };
  private readonly log: Logger;
  private readonly heartbeatMs: number;
  private readonly now: () => number;
  private readonly mdnsOn: boolean;
  private readonly retry: RetryTimers<string>;
  /** The interface given with `interface`; undefined: every interface (the server listens on 0.0.0.0). */
  private netif: NetIf | undefined;
  private mdnsNetifs: readonly NetIf[] = [];
  private server: LinkServer | undefined;
  private browser: MdnsBrowser | undefined;
  private advertiser: Advertiser | undefined;
  private me: { room: RoomId; self: DeviceId; handlers: TransportHandlers } | undefined;
  private presence: string | null = null;
  private closed = false;
  private roster: Roster | undefined;
  private readonly pending = new Set<Link>();
  private readonly dialing = new Map<string, Link>();
  private readonly advertised = new Map<DeviceId, LanService>();
  private readonly others = new Map<string, LanService>();
  private readonly staticRemote = new Map<string, DeviceId>();

  constructor(private readonly options: LanTransportOptions) {
    super();
    this.log = (options.log ?? silentLogger).child({ transport: 'lan' });
    this.heartbeatMs = options.heartbeatMs ?? 1000;
    this.now = options.now ?? Date.now;
    this.mdnsOn = mdnsAllowedByEnv(options.env);
    this.retry = new RetryTimers(options.reconnect ?? exponentialBackoff({ initialMs: 250, maxMs: 10_000, jitter: 'equal' }));
    if (!(this.heartbeatMs >= 50)) throw PeercamError.config(`heartbeatMs must be at least 50 ms, got ${options.heartbeatMs}.`);
  }

  /** The port our WebSocket server listens on (after open). */
  get port(): number {
    return this.server?.port ?? 0;
  }

  /** Every device resolved on the LAN, ours or not. */
  services(): LanService[] {
    return [...this.others.values(), ...this.advertised.values()];
  }

  /** Devices of other rooms seen on the LAN. */
  foreign(): LanService[] {
    return [...this.others.values()];
  }

  /** Connections seen by our WebSocket server, dialed by us, and refused (bad hello, foreign room, limits). */
  get stats(): { inbound: number; outbound: number; rejected: number } {
    const refused = this.server?.refused ?? 0;
    return { ...this.counts, inbound: this.counts.inbound + refused, rejected: this.counts.rejected + refused };
  }

  /** Devices we hold a link to. */
  connected(): DeviceId[] {
    return this.roster?.ids() ?? [];
  }

  /** Where the mDNS browser listens and sends from; undefined when mDNS browsing is off. */
  mdnsBinding(): { bind: string; multicastInterfaces: string[] } | undefined {
    return this.browser?.binding;
  }

  /**
   * The interfaces mDNS runs on (after open): the pinned one, else every non-loopback IPv4 interface, else loopback
   * alone (`offline` true: only devices on this machine can be found). Empty when mDNS is off.
   */
  get discovery(): { interfaces: readonly NetIf[]; offline: boolean } {
    return { interfaces: this.mdnsNetifs, offline: this.mdnsNetifs.length > 0 && this.netif === undefined && this.mdnsNetifs.every((n) => n.address.startsWith('127.')) };
  }

  async open(room: RoomId, self: DeviceId, handlers: TransportHandlers): Promise<void> {
    if (this.closed) throw new PeercamError('closed', 'This LAN transport was closed; create a new one.');
    if (this.me) throw new PeercamError('internal', 'LAN transport opened twice.');
    this.me = { room, self, handlers };
    this.roster = new Roster({
      self,
      // Both ends ping every beat, so a healthy link is heard at least once per beat; half the dead limit is slack.
      liveMs: (this.heartbeatMs * DEAD_AFTER_BEATS) / 2,
      maxLinks: LINK_LIMITS.total,
      maxPerDevice: LINK_LIMITS.perDevice,
      report: (device, payload) => handlers.presence(device, payload),
    });
    handlers.state('connecting');
    this.netif = this.options.interface === undefined ? undefined : findInterface(this.options.interface);
    await this.listen();
    const { browse = true, advertise = true } = this.options;
    if (this.mdnsOn && (browse || advertise)) this.mdnsNetifs = this.chooseMdnsInterfaces();
    const netifs = this.mdnsNetifs;
    if (this.mdnsOn && browse && netifs.length > 0) {
      const browser = new MdnsBrowser({ netifs, log: this.log, now: this.now });
      browser.on('up', (s) => this.onServiceUp(s));
      browser.on('down', (s) => this.onServiceDown(s));
      this.browser = browser;
      await browser.start();
    }
    if (this.mdnsOn && advertise && netifs.length > 0) {
      const { role } = this.options;
      const name = this.options.name ?? `peercam ${role} ${self.slice(0, 6)}`;
      this.advertiser = new Advertiser({
        netifs,
        ...(this.options.txt ? { txt: this.options.txt } : {}),
        name,
        id: self,
        room,
        role,
        port: this.port,
        log: this.log,
      });
      // Not awaited: probing takes ~1 s, and both ends dial, so our own browse usually connects us sooner.
      this.advertiser.start();
    }
    if (!this.mdnsOn) this.log.info({}, 'mDNS is off (PEERCAM_MDNS=off): only static peers are dialed');
    for (const url of this.options.peers ?? []) this.dialStatic(url);
    handlers.state('online');
  }

  async setPresence(payload: string | null): Promise<void> {
    this.presence = payload;
    for (const link of this.roster?.all() ?? []) link.send(payload === null ? { t: 'presence' } : { t: 'presence', p: payload });
  }

  async send(to: DeviceId, payload: string): Promise<void> {
    if (this.closed) throw new PeercamError('closed', 'This LAN transport was closed; create a new one.');
    const link = this.roster?.primary(to);
    if (!link?.send({ t: 'msg', p: payload }))
      throw new PeercamError('not-found', `Device ${to} has no open LAN link (it left, or is not reachable from here).`);
  }

  /** The Channel authenticated (or not) a presence we handed up: an authentic one binds the link that carried it. */
  presenceChecked(device: DeviceId, payload: string | Uint8Array, applied: boolean): void {
    if (typeof payload === 'string') this.roster?.checked(device, payload, applied);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.retry.clear();
    const links = [...(this.roster?.all() ?? []), ...this.pending];
    this.roster?.clear();
    this.pending.clear();
    for (const link of links) {
      if (link.isReady) link.send({ t: 'presence' });
      link.close(CloseCode.normal, 'leaving');
    }
    await this.browser?.close();
    await this.advertiser?.stop().catch((err: unknown) => this.log.warn({ err: String(err) }, 'mDNS goodbye failed'));
    await this.server?.close();
    this.removeAllListeners();
  }

  /**
   * Every non-loopback IPv4 interface, named as os.networkInterfaces() names them, so ciao never guesses from `ip link`
   * (whose `lan0@if5` names it cannot match: it then advertised on loopback alone). With none, loopback and a warning.
   */
  private chooseMdnsInterfaces(): NetIf[] {
    if (this.netif) return [this.netif];
    const lan = ipv4Interfaces();
    if (lan.length > 0) {
      this.log.info({ interfaces: lan.map((n) => `${n.name} ${n.address}`) }, 'mDNS on every network interface');
      return lan;
    }
    // info, not warn: `discovery.offline` says it to callers, and the CLI prints it in words.
    this.log.info(
      {},
      'No network interface with an IPv4 address besides loopback: LAN discovery can find only devices on this machine. ' +
        'Connect to a network (or pass --interface), or dial devices directly with --peer ws://host:port.',
    );
    return ipv4Interfaces({ loopback: true });
  }

  private async listen(): Promise<void> {
    const host = this.netif?.address ?? '0.0.0.0';
    this.server = await LinkServer.listen(host, this.options.port ?? 0, this.log, (socket, address, settled) => {
      this.counts.inbound++;
      if (this.closed) {
        settled();
        socket.terminate();
        return;
      }
      const link = new Link(socket, this.linkOptions('in'));
      link.on('ready', settled);
      link.on('closed', settled);
      this.log.debug({ address }, 'inbound LAN connection');
      this.attach(link);
    });
  }

  private linkOptions(direction: 'in' | 'out', expect?: DeviceId) {
    const me = this.me!;
    return { room: me.room, self: me.self, direction, heartbeatMs: this.heartbeatMs, now: this.now, log: this.log, ...(expect ? { expect } : {}) };
  }

  private dial(url: string, expect?: DeviceId): Link {
    this.counts.outbound++;
    const socket = new WebSocket(url, {
      maxPayload: MAX_FRAME_BYTES,
      perMessageDeflate: false,
      handshakeTimeout: 5000,
      ...(this.netif ? { localAddress: this.netif.address } : {}),
    });
    const link = new Link(socket, this.linkOptions('out', expect));
    this.attach(link);
    return link;
  }

  private attach(link: Link): void {
    this.pending.add(link);
    let remote: DeviceId | undefined;
    let held = false;
    link.on('ready', (id) => {
      remote = id;
      this.pending.delete(link);
      held = this.adopt(link, id);
    });
    link.on('presence', (p) => {
      if (held && remote !== undefined) this.roster?.presence(link, remote, p);
    });
    link.on('message', (p) => this.me?.handlers.inbox(p));
    link.on('closed', (why) => {
      this.pending.delete(link);
      if (remote === undefined) {
        this.counts.rejected += link.direction === 'in' ? 1 : 0;
        this.log.debug({ direction: link.direction, why }, 'LAN link closed before hello');
        return;
      }
      if (!held || this.closed || !this.roster?.remove(link, remote)) return;
      this.log.info({ remote, why }, 'LAN link lost');
      if (!this.roster.has(remote)) this.redial(remote);
    });
  }

  /** Holds a link that said hello, unless a limit or a live link to the same device says otherwise (roster.ts). */
  private adopt(link: Link, remote: DeviceId): boolean {
    const admission = this.roster!.admit(link, remote);
    if (!admission.ok) {
      if (link.direction === 'in') this.counts.rejected++;
      if (admission.duplicate) link.retire(admission.why);
      else link.close(CloseCode.busy, admission.why);
      return false;
    }
    this.retry.reset(remote);
    if (this.presence !== null) link.send({ t: 'presence', p: this.presence });
    return true;
  }

  private onServiceUp(s: LanService): void {
    const me = this.me;
    if (!me || s.id === me.self) return;
    this.emit('service', s);
    if (s.room !== me.room) {
      const known = this.others.has(s.instance);
      this.others.set(s.instance, s);
      if (!known) this.emit('foreign', s);
      return;
    }
    this.advertised.set(s.id, s);
    this.retry.reset(s.id);
    this.dialAdvertised(s.id);
  }

  private onServiceDown(s: LanService): void {
    this.others.delete(s.instance);
    if (this.advertised.get(s.id)?.instance === s.instance) {
      this.advertised.delete(s.id);
      if (!this.roster?.has(s.id)) this.retry.cancel(s.id);
    }
  }

  private dialAdvertised(id: DeviceId): void {
    const s = this.advertised.get(id);
    if (this.closed || !s || this.roster?.has(id) || this.dialing.has(id)) return;
    const link = this.dial(`ws://${s.address}:${s.port}`, id);
    this.dialing.set(id, link);
    link.on('closed', () => {
      if (this.dialing.get(id) === link) this.dialing.delete(id);
      if (!link.remote) this.redial(id);
    });
    link.on('ready', () => this.dialing.delete(id));
  }

  /** A device's link is gone: try again while it is still advertised (or is a static peer). */
  private redial(id: DeviceId): void {
    if (this.advertised.has(id)) this.retry.schedule(id, () => this.dialAdvertised(id));
    for (const [url, remote] of this.staticRemote) if (remote === id) this.retry.schedule(url, () => this.dialStatic(url));
  }

  private dialStatic(url: string): void {
    if (this.closed) return;
    const known = this.staticRemote.get(url);
    // Already linked to that device (e.g. it dialed us): check again later instead of opening a duplicate.
    if (known !== undefined && this.roster?.has(known)) {
      this.retry.schedule(url, () => this.dialStatic(url));
      return;
    }
    const link = this.dial(url);
    link.on('ready', (id) => {
      this.staticRemote.set(url, id);
      this.retry.reset(url);
    });
    link.on('closed', () => {
      if (!this.closed && (!link.remote || !this.roster?.has(link.remote))) this.retry.schedule(url, () => this.dialStatic(url));
    });
  }
}
