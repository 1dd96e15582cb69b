import type { Command } from 'commander';
import pino from 'pino';
import type { Logger, PresenceBody, Role, Room } from '../protocol/index.js';
import { chooseIceServers, isTurnUrl, type PeerConfig, urlsOf } from '../session/index.js';
import { mdnsAllowedByEnv } from '../signaling/lan/netif.js';
import { turnRestConfig } from '../agent/turn-rest.js';

export const DEFAULT_BROKER = 'mqtt://127.0.0.1:1883';

/** Options every networked command shares. */
export interface NetOptions {
  room?: string;
  broker?: string;
  iceServer?: string[];
  relay?: boolean;
  iceBind?: string;
  turnSecret?: string;
  turnTtl?: string;
  mdns?: boolean;
  verbose?: boolean;
}

export function addNetOptions(cmd: Command): Command {
  return cmd
    .option('--room <link|file>', 'pairing link or file holding it (default: the room in PEERCAM_HOME)')
    .option('--broker <url>', 'MQTT broker: mqtt://, mqtts://, ws://, wss:// (default: PEERCAM_BROKER, the link, or the local hub)')
    .option('--ice-server <url>', 'STUN/TURN server, repeatable: stun:host:port, turn:user:pass@host:port[?transport=tcp], turns:user:pass@host:port, or none', collect, [])
    .option('--relay', 'only use TURN relays (iceTransportPolicy relay)')
    .option(...TURN_SECRET_OPTION)
    .option(...TURN_TTL_OPTION)
    .option('--ice-bind <address>', 'gather ICE candidates on this local address only (also PEERCAM_ICE_BIND; 127.0.0.1 for loopback tests)')
    .option('--no-mdns', 'do not use mDNS on the LAN (also PEERCAM_MDNS=off)')
    .option('-v, --verbose', 'log what happens (also PEERCAM_LOG=debug|info|warn)');
}

export const TURN_SECRET_OPTION = [
  '--turn-secret <secret>',
  "coturn's static-auth-secret (use-auth-secret): TURN URLs without user:pass get short-lived credentials minted from it, and members get only those (also PEERCAM_TURN_SECRET)",
] as const;
export const TURN_TTL_OPTION = ['--turn-ttl <seconds>', 'lifetime of minted TURN credentials (also PEERCAM_TURN_TTL; default 86400)'] as const;

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export function logger(options: { verbose?: boolean }): Logger {
  const level = process.env.PEERCAM_LOG ?? (options.verbose ? 'info' : 'warn');
  return pino({ level, base: null }, pino.destination(2));
}

export function brokerUrl(options: NetOptions, room: Room): string {
  return options.broker ?? process.env.PEERCAM_BROKER ?? room.options.broker ?? DEFAULT_BROKER;
}

/**
 * The ICE servers of this device: --ice-server / PEERCAM_ICE_SERVERS, with TURN credentials minted from --turn-secret /
 * PEERCAM_TURN_SECRET where a TURN URL has none (re-minted as they age; `refreshMs` says how often to re-advertise).
 */
export function peerConfig(
  options: Pick<NetOptions, 'iceServer' | 'relay' | 'turnSecret' | 'turnTtl'>,
  broker: string | undefined,
): PeerConfig & { readonly refreshMs?: number } {
  const secret = options.turnSecret ?? process.env.PEERCAM_TURN_SECRET;
  const base: PeerConfig = {
    iceServers: chooseIceServers({ flags: options.iceServer ?? [], env: process.env.PEERCAM_ICE_SERVERS, broker, mintedTurn: secret !== undefined }),
    iceTransportPolicy: options.relay ? 'relay' : 'all',
  };
  if (secret === undefined) return base;
  // A secret from the environment alone is for the commands that have a TURN server to mint for; others ignore it.
  const mintable = base.iceServers.some((s) => s.username === undefined && urlsOf(s).some(isTurnUrl));
  if (options.turnSecret === undefined && !mintable) return base;
  const ttlText = options.turnTtl ?? process.env.PEERCAM_TURN_TTL;
  const ttlS = ttlText === undefined ? undefined : Number(ttlText);
  return turnRestConfig(base, { secret, ...(ttlS !== undefined ? { ttlS } : {}) });
}

/** Options of the Node WebRTC engine that are not part of the portable PeerConfig. */
export function engineOptions(options: NetOptions): { bindAddress?: string } {
  const bind = options.iceBind ?? process.env.PEERCAM_ICE_BIND;
  return bind ? { bindAddress: bind } : {};
}

export function mdnsEnabled(options: NetOptions): boolean {
  return options.mdns !== false && mdnsAllowedByEnv(process.env);
}

export function presenceOf(name: string, role: Role): PresenceBody {
  return { name, role, agent: `peercam/${VERSION} node` };
}

export const VERSION = '0.1.0';
