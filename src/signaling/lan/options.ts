import type { Logger, Role } from '../../protocol/index.js';
import type { ReconnectPolicy } from '../backoff.js';
import type { LanService } from './browser.js';

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
