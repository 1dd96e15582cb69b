import { isIP } from 'node:net';

/**
 * How a WHEP session's media reaches the client (docs/WHEP.md): `direct` from the camera (its one encode, the hub
 * carries no media), or through the hub's `relay` (the hub watches the camera once and re-sends to every relayed
 * client). `auto` picks per session with `choosePath`.
 */
export type WhepRelayMode = 'auto' | 'always' | 'never';

export const WHEP_RELAY_MODES: readonly WhepRelayMode[] = ['auto', 'always', 'never'];

export function isRelayMode(value: string): value is WhepRelayMode {
  return (WHEP_RELAY_MODES as readonly string[]).includes(value);
}

/** What `auto` knows when it decides. */
export interface PathFacts {
  /** The client's address as the hub's HTTP server sees it (the socket's peer, no forwarded headers trusted). */
  readonly client: string;
  /** The camera's ICE candidates (`candidate:...` lines) from its answer to this or an earlier WHEP offer. */
  readonly camera: readonly string[];
  /** The hub announces STUN or TURN servers (Link rel="ice-server"): the client gathers server-reflexive candidates. */
  readonly clientHasIceServers: boolean;
}

/**
 * Whether the client can plausibly reach the camera by ICE (`direct`), else `relay`. ICE alone knows for sure, but a
 * WHEP answer must go out before the client even gathers, and a session cannot move to another path afterwards (its
 * DTLS association is bound to the peer it started with), so the hub decides from addresses, erring towards direct
 * (the camera's one encode, no media through the hub) whenever a path is likely:
 * - the client is on the hub's machine (loopback): it reaches what the hub reaches;
 * - the camera has a TURN relay candidate: reachable from wherever its TURN server is;
 * - a camera host or server-reflexive address is on the client's network (same IPv4 /24, same IPv6 /64);
 * - the camera hides its host addresses behind mDNS names (a browser) and the client is on a private network;
 * - the camera has a server-reflexive candidate and the client gets STUN/TURN from the hub's Link headers (both
 *   sides learned their NAT mappings: hole punching usually works, TURN covers the rest).
 * Otherwise (typically: the camera only has private host addresses and the client comes from elsewhere) the relay.
 */
export function choosePath(facts: PathFacts): { path: 'direct' | 'relay'; why: string } {
  const client = plainAddress(facts.client);
  if (isLoopback(client)) return { path: 'direct', why: 'the client is on the hub machine' };
  const candidates = facts.camera.map(parseCandidate).filter((c) => c !== undefined);
  if (candidates.some((c) => c.type === 'relay')) return { path: 'direct', why: 'the camera has a TURN relay candidate' };
  const near = candidates.find((c) => (c.type === 'host' || c.type === 'srflx') && sameNetwork(c.address, client));
  if (near) return { path: 'direct', why: `the camera's ${near.type} address ${near.address} is on the client's network` };
  if (isPrivate(client) && candidates.some((c) => c.address.endsWith('.local'))) return { path: 'direct', why: 'a LAN client and a camera with mDNS host candidates' };
  if (facts.clientHasIceServers && candidates.some((c) => c.type === 'srflx')) return { path: 'direct', why: 'both sides have STUN (server-reflexive candidates)' };
  return { path: 'relay', why: `no camera candidate the client at ${client} can reach (${candidates.map((c) => `${c.type} ${c.address}`).join(', ') || 'none'})` };
}

interface Candidate {
  readonly address: string;
  readonly type: string;
}

/** `candidate:<foundation> <component> <transport> <priority> <address> <port> typ <type> ...` (RFC 8839 section 5.1). */
function parseCandidate(line: string): Candidate | undefined {
  const parts = line.replace(/^a=/, '').replace(/^candidate:/, '').trim().split(/\s+/);
  const address = parts[4];
  const typ = parts.indexOf('typ');
  const type = typ >= 0 ? parts[typ + 1] : undefined;
  return address && type ? { address: address.toLowerCase(), type } : undefined;
}

/** `::ffff:10.0.0.1` (an IPv4 client on a dual-stack socket) as `10.0.0.1`. */
function plainAddress(address: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return (m?.[1] ?? address).toLowerCase();
}

function isLoopback(address: string): boolean {
  return address === '::1' || address.startsWith('127.');
}

function isPrivate(address: string): boolean {
  if (isIP(address) === 4) {
    const [a = 0, b = 0] = address.split('.').map(Number);
    return a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 169 && b === 254) || a === 127;
  }
  return /^f[cd]/.test(address) || address.startsWith('fe80:') || address === '::1';
}

/** Same IPv4 /24 or IPv6 /64: the netmask is unknown here, and these are the usual LAN sizes. */
function sameNetwork(a: string, b: string): boolean {
  const family = isIP(a);
  if (family === 0 || family !== isIP(b)) return false;
  if (family === 4) return a.split('.').slice(0, 3).join('.') === b.split('.').slice(0, 3).join('.');
  return expand6(a).slice(0, 4).join(':') === expand6(b).slice(0, 4).join(':');
}

function expand6(address: string): string[] {
  const [head = '', tail] = address.split('::');
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  const fill = tail === undefined ? [] : new Array<string>(8 - h.length - t.length).fill('0');
  return [...h, ...fill, ...t].map((g) => g.replace(/^0+(?=.)/, ''));
}
