import ciao, { type CiaoService, type Responder } from '@homebridge/ciao';
import { type DeviceId, type Logger, PROTOCOL_VERSION, type Role, type RoomId } from '../../protocol/index.js';
import type { NetIf } from './netif.js';

export interface AdvertiserOptions {
  /** Where to advertise (never empty): ciao is given these names and told to answer with their addresses only. */
  readonly netifs: readonly NetIf[];
  /** Instance name shown by browsers; ciao renames on conflict (RFC 6762 9). */
  readonly name: string;
  readonly id: DeviceId;
  readonly room: RoomId;
  readonly role: Role;
  readonly port: number;
  /** More TXT entries, e.g. a hub's `b=<broker URL>`. */
  readonly txt?: Readonly<Record<string, string>>;
  readonly log: Logger;
}

/**
 * Advertises `_peercam._tcp` with ciao, a conformant responder: probing before announcing (RFC 6762 8.1), conflict
 * resolution, answering queries, goodbyes (TTL 0) on end. The interfaces are always passed explicitly: left alone,
 * ciao lists interfaces with `ip -o link show`, whose `lan0@if5` veth names match nothing in os.networkInterfaces(),
 * and ends up advertising on loopback only.
 */
export class Advertiser {
  private responder: Responder | undefined;
  private service: CiaoService | undefined;
  /** Resolves when the first announcement went out (after probing, ~1 s). */
  announced: Promise<void> = Promise.resolve();

  constructor(private readonly options: AdvertiserOptions) {}

  start(): void {
    const { netifs, name, id, room, role, port, txt, log } = this.options;
    const names = netifs.map((n) => n.name);
    const responder = ciao.getResponder({ interface: names, disableIpv6: true });
    this.responder = responder;
    const service = responder.createService({
      name,
      type: 'peercam',
      port,
      hostname: `peercam-${id}`,
      txt: { ...txt, v: String(PROTOCOL_VERSION), id, r: room, role },
      disabledIpv6: true,
      restrictedAddresses: names,
    });
    this.service = service;
    service.on('name-change', (renamed) => log.info({ name: renamed }, 'mDNS name taken on the LAN; advertising under a new name'));
    this.announced = service.advertise().catch((err: unknown) => {
      log.warn({ err: err instanceof Error ? err.message : String(err) }, 'mDNS advertisement failed; others can still dial us directly');
    });
  }

  /** Sends goodbyes and releases the responder. Safe to call more than once. */
  async stop(): Promise<void> {
    const service = this.service;
    const responder = this.responder;
    this.service = undefined;
    this.responder = undefined;
    try {
      if (service) await service.destroy();
    } finally {
      if (responder) await responder.shutdown();
    }
  }
}
