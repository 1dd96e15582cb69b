import { hostname } from 'node:os';
import { type DeviceId, type Logger, type Room, silentLogger } from '../protocol/index.js';
import { SealedChannel } from '../signaling/channel.js';
import { LanTransport } from '../signaling/lan/index.js';
import { HUB_AGENT } from './hub.js';

export interface HubLanOptions {
  readonly room: Room;
  /** The hub's device id (stable per data dir). */
  readonly id: DeviceId;
  /** TCP port of the embedded broker. */
  readonly mqttPort: number;
  /** The hub's own LAN address for TXT `b=` (informative: devices dial the address they resolved the hub at). */
  readonly address?: string;
  /** Pin the advertisement to one interface. */
  readonly interface?: string;
  readonly name?: string;
  readonly log?: Logger;
  readonly env?: NodeJS.ProcessEnv;
}

export interface HubLan {
  /** The TXT `b=` value advertised. */
  readonly broker: string;
  close(): Promise<void>;
}

/**
 * Puts the hub on the LAN: advertises `_peercam._tcp` with role hub and TXT `b=mqtt://<address>:<port>` naming its
 * embedded broker, and answers LAN links like any device (presence role hub). LAN devices of the room that see it
 * join that broker as well, so browser viewers of the hub see LAN cameras with no setup. The caller does not start
 * this when mDNS is off (--no-mdns, PEERCAM_MDNS=off).
 */
export async function advertiseHub(options: HubLanOptions): Promise<HubLan> {
  const log = (options.log ?? silentLogger).child({ component: 'hub-lan' });
  const broker = `mqtt://${options.address ?? '0.0.0.0'}:${options.mqttPort}`;
  const name = options.name ?? `peercam hub ${hostname()}`;
  const transport = new LanTransport({
    role: 'hub',
    name,
    browse: false,
    txt: { b: broker },
    ...(options.interface !== undefined ? { interface: options.interface } : {}),
    ...(options.env ? { env: options.env } : {}),
    log,
  });
  const channel = new SealedChannel(options.room, transport, {
    self: options.id,
    presence: { name, role: 'hub', agent: HUB_AGENT },
    log,
  });
  await channel.start();
  log.info({ broker, port: transport.port }, 'hub advertised on the LAN');
  return { broker, close: () => channel.close() };
}
