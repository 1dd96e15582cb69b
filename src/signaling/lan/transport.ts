import { WebSocket, WebSocketServer } from 'ws';
import { type DeviceId, Emitter, type Logger, PeercamError, type Role, type RoomId, silentLogger } from '../../protocol/index.js';
import type { Transport, TransportHandlers } from '../transport.js';
import { Advertiser } from './advertiser.js';
import { exponentialBackoff, type ReconnectPolicy, RetryTimers } from './backoff.js';
import { type LanService, MdnsBrowser } from './browser.js';
import { MAX_FRAME_BYTES } from './frames.js';
import { CloseCode, Link } from './link.js';
import { findInterface, mdnsAllowedByEnv, type NetIf } from './netif.js';

export interface LanTransportOptions {
  /** Pin discovery and the WebSocket server to one interface (`lan0`, `lan0@if5` or one of its IPv4 addresses). */
  readonly interface?: string;
  /** WebSocket port to listen on and advertise; 0 (default) picks a free one. */
  readonly port?: number;
  readonly role: Role;
  /** mDNS instance name; defaults to `peercam <role> <id prefix>`. */
  readonly name?: string;
  /** More TXT entries to advertise (a hub's `b=<broker URL>`, see docs/PROTOCOL.md). */
  readonly txt?: Readonly<Record<string, string>>;
  readonly log?: Logger;
  /** Advertise `_peercam._tcp` (default true). */
  readonly advertise?: boolean;
  /** Browse for `_peercam._tcp` (default true). */
  readonly browse?: boolean;
  /** Devices to dial directly, `ws://host:port` (networks without multicast, tests). */
  readonly peers?: readonly string[];
  /** Heartbeat interval; a link silent for 2.5 intervals is dead. Default 1000 ms. */
  readonly heartbeatMs?: number;
  readonly reconnect?: ReconnectPolicy;
  readonly now?: () => number;
  /** Environment read for `PEERCAM_MDNS=off`, which turns mDNS off whatever the options say. */
  readonly env?: NodeJS.ProcessEnv;
}

export interface LanTransportEvents {
  /** A device of any room was resolved on the LAN (for `peercam ls --lan`). */
  service: (service: LanService) => void;
  /** A device of another room was seen; we never connect to it. */
  foreign: (service: LanService) => void;
}

/** Unauthenticated inbound links allowed at once; more are refused until some say hello or time out. */
const MAX_PENDING_INBOUND = 64;

/**
 * Signaling with no server: finds room members with mDNS/DNS-SD and carries sealed payloads over direct WebSockets.
 * Both ends dial as soon as they discover each other; when two links to one device exist, the one dialed by the
 * lower device id is kept (both ends apply the same rule), so discovery takes whichever side is quicker.
 */
export class LanTransport extends Emitter<LanTransportEvents> implements Transport {
  readonly kind = 'lan';
  /** Connections seen by our WebSocket server, dialed by us, and refused (bad hello, foreign room, limits). */
  readonly stats = { inbound: 0, outbound: 0, rejected: 0 };
  private readonly log: Logger;
  private readonly heartbeatMs: number;
  private readonly now: () => number;
  private readonly mdnsOn: boolean;
  private readonly retry: RetryTimers<string>;
  private netif: NetIf | undefined;
  private server: WebSocketServer | undefined;
  private browser: MdnsBrowser | undefined;
  private advertiser: Advertiser | undefined;
  private me: { room: RoomId; self: DeviceId; handlers: TransportHandlers } | undefined;
  private presence: string | null = null;
  private closed = false;
  private readonly links = new Map<DeviceId, Link>();
  private readonly pending = new Set<Link>();
  private readonly dialing = new Map<string, Link>();
  private readonly announced = new Set<DeviceId>();
  private readonly advertised = new Map<DeviceId, LanService>();
  private readonly others = new Map<string, LanService>();
  private readonly staticRemote = new Map<string, DeviceId>();

  constructor(private readonly options: LanTransportOptions) {
    super();
    this.log = (options.log ?? silentLogger).child({ transport: 'lan' });
    this.heartbeatMs = options.heartbeatMs ?? 1000;
    this.now = options.now ?? Date.now;
    this.mdnsOn = mdnsAllowedByEnv(options.env);
    this.retry = new RetryTimers(options.reconnect ?? exponentialBackoff());
    if (!(this.heartbeatMs >= 50)) throw PeercamError.config(`heartbeatMs must be at least 50 ms, got ${options.heartbeatMs}.`);
  }

  /** The port our WebSocket server listens on (after open). */
  get port(): number {
    const address = this.server?.address();
    return typeof address === 'object' && address !== null ? address.port : 0;
  }

  /** Every device resolved on the LAN, ours or not. */
  services(): LanService[] {
    return [...this.others.values(), ...this.advertised.values()];
  }

  /** Devices of other rooms seen on the LAN. */
  foreign(): LanService[] {
    return [...this.others.values()];
  }

  /** Devices we hold a live link to. */
  connected(): DeviceId[] {
    return [...this.links.keys()];
  }

  /** Where the mDNS browser listens and sends from; undefined when mDNS browsing is off. */
  mdnsBinding(): { bind: string; multicastInterface: string | undefined } | undefined {
    return this.browser?.binding;
  }

  async open(room: RoomId, self: DeviceId, handlers: TransportHandlers): Promise<void> {
    if (this.closed) throw new PeercamError('closed', 'This LAN transport was closed; create a new one.');
    if (this.me) throw new PeercamError('internal', 'LAN transport opened twice.');
    this.me = { room, self, handlers };
    handlers.state('connecting');
    this.netif = this.options.interface === undefined ? undefined : findInterface(this.options.interface);
    await this.listen();
    const { browse = true, advertise = true } = this.options;
    if (this.mdnsOn && browse) {
      const browser = new MdnsBrowser({ ...(this.netif ? { netif: this.netif } : {}), log: this.log, now: this.now });
      browser.on('up', (s) => this.onServiceUp(s));
      browser.on('down', (s) => this.onServiceDown(s));
      this.browser = browser;
      await browser.start();
    }
    if (this.mdnsOn && advertise) {
      const { role } = this.options;
      const name = this.options.name ?? `peercam ${role} ${self.slice(0, 6)}`;
      this.advertiser = new Advertiser({
        ...(this.netif ? { netif: this.netif } : {}),
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
    for (const link of this.links.values()) link.send(payload === null ? { t: 'presence' } : { t: 'presence', p: payload });
  }

  async send(to: DeviceId, payload: string): Promise<void> {
    if (this.closed) throw new PeercamError('closed', 'This LAN transport was closed; create a new one.');
    const link = this.links.get(to);
    if (!link?.send({ t: 'msg', p: payload }))
      throw new PeercamError('not-found', `Device ${to} has no open LAN link (it left, or is not reachable from here).`);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.retry.clear();
    for (const link of [...this.links.values(), ...this.pending]) {
      if (link.isReady) link.send({ t: 'presence' });
      link.close(CloseCode.normal, 'leaving');
    }
    this.links.clear();
    this.pending.clear();
    await this.browser?.close();
    await this.advertiser?.stop().catch((err: unknown) => this.log.warn({ err: String(err) }, 'mDNS goodbye failed'));
    const server = this.server;
    if (server) {
      for (const client of server.clients) client.terminate();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    this.removeAllListeners();
  }

  private async listen(): Promise<void> {
    const host = this.netif?.address ?? '0.0.0.0';
    const port = this.options.port ?? 0;
    const server = new WebSocketServer({ host, port, maxPayload: MAX_FRAME_BYTES, perMessageDeflate: false, clientTracking: true });
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', (err: NodeJS.ErrnoException) =>
        reject(
          PeercamError.config(
            err.code === 'EADDRINUSE'
              ? `Port ${port} on ${host} is already in use; pick another with --port, or 0 for any.`
              : `Cannot listen on ${host}:${port} for LAN links: ${err.message}.`,
            err,
          ),
        ),
      );
    });
    server.on('error', (err) => this.log.warn({ err: err.message }, 'LAN WebSocket server error'));
    server.on('connection', (socket) => {
      this.stats.inbound++;
      const inboundPending = [...this.pending].filter((l) => l.direction === 'in').length;
      if (this.closed || inboundPending >= MAX_PENDING_INBOUND) {
        this.stats.rejected++;
        socket.terminate();
        return;
      }
      this.attach(new Link(socket, this.linkOptions('in')));
    });
    this.server = server;
  }

  private linkOptions(direction: 'in' | 'out', expect?: DeviceId) {
    const me = this.me!;
    return { room: me.room, self: me.self, direction, heartbeatMs: this.heartbeatMs, now: this.now, log: this.log, ...(expect ? { expect } : {}) };
  }

  private dial(url: string, expect?: DeviceId): Link {
    this.stats.outbound++;
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
    link.on('ready', (id) => {
      remote = id;
      this.pending.delete(link);
      this.adopt(link, id);
    });
    link.on('presence', (p) => {
      if (remote === undefined || this.links.get(remote) !== link) return;
      if (p === null) this.announced.delete(remote);
      else this.announced.add(remote);
      this.me?.handlers.presence(remote, p);
    });
    link.on('message', (p) => this.me?.handlers.inbox(p));
    link.on('closed', (why) => {
      this.pending.delete(link);
      if (remote === undefined) {
        this.stats.rejected += link.direction === 'in' ? 1 : 0;
        this.log.debug({ direction: link.direction, why }, 'LAN link closed before hello');
        return;
      }
      if (this.links.get(remote) !== link) return;
      this.links.delete(remote);
      this.log.info({ remote, why }, 'LAN link lost');
      if (this.announced.delete(remote)) this.me?.handlers.presence(remote, null);
      if (!this.closed) this.redial(remote);
    });
  }

  /** Both ends dial; of two links to one device both keep the one dialed by the lower id. */
  private adopt(link: Link, remote: DeviceId): void {
    const self = this.me!.self;
    const dialer = (l: Link) => (l.direction === 'out' ? self : remote);
    const current = this.links.get(remote);
    if (current && current !== link) {
      // Same dialer twice means a reconnect raced a dying link: the newer one wins.
      const keepNew = dialer(link) === dialer(current) || dialer(link) < dialer(current);
      const loser = keepNew ? current : link;
      loser.retire('duplicate link');
      if (!keepNew) return;
    }
    this.links.set(remote, link);
    this.retry.reset(remote);
    if (this.presence !== null) link.send({ t: 'presence', p: this.presence });
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
      if (!this.links.has(s.id)) this.retry.cancel(s.id);
    }
  }

  private dialAdvertised(id: DeviceId): void {
    const s = this.advertised.get(id);
    if (this.closed || !s || this.links.has(id) || this.dialing.has(id)) return;
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
    if (known !== undefined && this.links.has(known)) {
      this.retry.schedule(url, () => this.dialStatic(url));
      return;
    }
    const link = this.dial(url);
    link.on('ready', (id) => {
      this.staticRemote.set(url, id);
      this.retry.reset(url);
    });
    link.on('closed', () => {
      if (!this.closed && (!link.remote || !this.links.has(link.remote))) this.retry.schedule(url, () => this.dialStatic(url));
    });
  }
}
