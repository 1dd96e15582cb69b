import { type IceAdvertBody, PeercamError } from '../protocol/index.js';
import type { IceServer, PeerConfig } from './peer.js';

/** Public STUN added by default only when signaling crosses a non-local broker (both ends may be behind NAT). */
export const DEFAULT_PUBLIC_STUN = 'stun:stun.l.google.com:19302';

/**
 * Parses one `--ice-server` value: `stun:host[:port]`, `turn[s]:host[:port][?transport=udp|tcp]`, with credentials as
 * `turn:user:pass@host:port` (percent-encode `:` or `@` inside them).
 */
export function parseIceServer(text: string, options: { mintedTurn?: boolean } = {}): IceServer {
  const m = /^(stuns?|turns?):(?:([^:@]*):([^@]*)@)?([^?@]+)(\?transport=(udp|tcp))?$/.exec(text.trim());
  if (!m) {
    throw PeercamError.config(
      `"${text}" is not an ICE server URL. Use stun:host:port or turn:user:password@host:port[?transport=tcp].`,
    );
  }
  const [, scheme, user, pass, hostPort, query] = m;
  const urls = `${scheme}:${hostPort}${query ?? ''}`;
  if (scheme?.startsWith('turn')) {
    if (user === undefined || pass === undefined) {
      // With a TURN REST secret (--turn-secret) the credentials are minted per member instead.
      if (options.mintedTurn) return { urls };
      throw PeercamError.config(`TURN server "${urls}" needs credentials: turn:user:password@host:port, or --turn-secret for a coturn with use-auth-secret.`);
    }
    return { urls, username: decodeURIComponent(user), credential: decodeURIComponent(pass) };
  }
  return { urls };
}

/** The URLs of one ICE server entry (RTCIceServer allows one string or a list). */
export function urlsOf(server: IceServer): readonly string[] {
  return typeof server.urls === 'string' ? [server.urls] : server.urls;
}

/** A TURN server URL (`turn:` or `turns:`), as opposed to STUN. */
export function isTurnUrl(url: string): boolean {
  return /^turns?:/i.test(url.trim());
}

/** Whether any of these ICE servers is a TURN server (one that can give this side relayed candidates). */
export function hasTurnServer(servers: readonly IceServer[]): boolean {
  return servers.some((s) => urlsOf(s).some(isTurnUrl));
}

/** TURN whose client leg is a stream rather than UDP: `turns:` (TLS) or `turn:...?transport=tcp`. */
export function isStreamedTurn(url: string): boolean {
  const u = url.trim();
  return /^turns:/i.test(u) || (/^turn:/i.test(u) && /\?transport=tcp$/i.test(u));
}

/** Where ICE servers come from: command-line flags, the environment, the broker host. */
export interface IceChoice {
  /** `--ice-server` values, in order; `none` alone means no ICE servers at all. */
  readonly flags?: readonly string[];
  /** PEERCAM_ICE_SERVERS: comma-separated, or `none`. */
  readonly env?: string | undefined;
  /** The broker URL signaling goes through, if any. */
  readonly broker?: string | undefined;
  /** A TURN REST secret is set: TURN URLs may come without credentials (they are minted). */
  readonly mintedTurn?: boolean;
}

/**
 * The `<meta>` name by which a hub tells the pages it serves whether it hands its members ICE servers (/hub.json, behind
 * the room's HTTP token): "none" (a page may start its sessions at once, with no ICE servers) or "members" (wait for
 * /hub.json). It says only whether there are some, never which: a stranger learns no TURN server or password from it.
 */
export const HUB_ICE_META = 'peercam-ice';

/** Flags win over the environment; with neither, public STUN only when the broker is not on this machine or LAN. */
export function chooseIceServers(choice: IceChoice): IceServer[] {
  const list = choice.flags && choice.flags.length > 0 ? [...choice.flags] : choice.env ? choice.env.split(',') : undefined;
  if (list) {
    const cleaned = list.map((s) => s.trim()).filter((s) => s !== '');
    if (cleaned.length === 1 && cleaned[0] === 'none') return [];
    return cleaned.map((t) => parseIceServer(t, { mintedTurn: choice.mintedTurn === true }));
  }
  return choice.broker && !isLocalHost(choice.broker) ? [{ urls: DEFAULT_PUBLIC_STUN }] : [];
}

/** Loopback, RFC 1918 / RFC 4193 private, link-local and .local names count as local. */
export function isLocalHost(url: string): boolean {
  let host: string;
  try {
    host = new URL(url).hostname.replace(/^\[|\]$/g, '');
  } catch {
    return false;
  }
  return (
    host === 'localhost' ||
    host.endsWith('.local') ||
    host === '::1' ||
    /^127\./.test(host) ||
    /^10\./.test(host) ||
    /^192\.168\./.test(host) ||
    /^172\.(1[6-9]|2\d|3[01])\./.test(host) ||
    /^169\.254\./.test(host) ||
    /^f[cd][0-9a-f]{2}:/i.test(host) ||
    /^fe80:/i.test(host)
  );
}

/**
 * What to try when no candidate pair worked. One known trap gets its own advice: Chromium sends a zero ICE
 * tie-breaker over TURN/TCP and TURN/TLS, which libjuice (the Node engine) refuses with a 400
 * (https://github.com/paullouisageneau/libjuice/issues/355). peercam's TURN bridge mends those checks only when the
 * Node side has the TCP/TLS server too, so a browser whose only relays are TCP/TLS needs that (docs/TURN.md).
 */
export function iceFailureAdvice(config: PeerConfig, remoteAgent: string | undefined): string {
  const turn = config.iceServers.flatMap(urlsOf).filter(isTurnUrl);
  if (turn.length === 0) return 'If the devices are on different networks, a TURN server is needed: pass --ice-server turn:user:password@host:3478.';
  const streamedOnly = turn.every(isStreamedTurn);
  if (streamedOnly && remoteAgent !== undefined && / node$/.test(remoteAgent)) {
    return (
      'Every TURN server here is over TCP/TLS, and a browser reaches a Node camera that way only if the camera has the ' +
      'same TCP/TLS TURN server (libjuice issue 355): give the camera the same --ice-server, or add a UDP TURN URL (turn:host:3478).'
    );
  }
  return 'Check that the TURN server is reachable from both devices and that its credentials are right.';
}

/** A member's presence as far as ICE goes: who it is and the servers it lends (PeerInfo fits). */
export interface IceLender {
  readonly id: string;
  readonly role: string;
  readonly ice?: IceAdvertBody | undefined;
}

/**
 * What a device tells the room about its ICE servers (the `ice` field of its sealed presence), or undefined when it
 * has none to lend. The public STUN default is left out: every device adds it by itself where it applies.
 */
export function iceAdvertOf(config: PeerConfig): IceAdvertBody | undefined {
  const servers = config.iceServers
    .filter((s) => !urlsOf(s).every((u) => u === DEFAULT_PUBLIC_STUN))
    .slice(0, 8)
    .map((s) => ({
      urls: typeof s.urls === 'string' ? s.urls : [...s.urls].slice(0, 4),
      ...(s.username !== undefined ? { username: s.username } : {}),
      ...(s.credential !== undefined ? { credential: s.credential } : {}),
    }));
  if (servers.length === 0) return undefined;
  return { servers, ...(config.iceTransportPolicy === 'relay' ? { policy: 'relay' as const } : {}) };
}

/**
 * This device's own ICE servers plus the ones lent by `remote` (the camera a viewer negotiates with) and by every hub
 * of the room, without duplicates. A hub that asks for relays only (`peercam up --relay`) makes it relay-only, as
 * its /hub.json does for the pages it serves.
 */
export function withLentIce(own: PeerConfig, members: Iterable<IceLender>, remote?: string): PeerConfig {
  const servers: IceServer[] = [...own.iceServers];
  const seen = new Set(servers.map(serverKey));
  let policy = own.iceTransportPolicy;
  for (const m of members) {
    if (!m.ice || (m.id !== remote && m.role !== 'hub')) continue;
    for (const lent of m.ice.servers) {
      const s: IceServer = {
        urls: lent.urls,
        ...(lent.username !== undefined ? { username: lent.username } : {}),
        ...(lent.credential !== undefined ? { credential: lent.credential } : {}),
      };
      const key = serverKey(s);
      if (seen.has(key)) continue;
      seen.add(key);
      servers.push(s);
    }
    if (m.role === 'hub' && m.ice.policy === 'relay') policy = 'relay';
  }
  return servers.length === own.iceServers.length && policy === own.iceTransportPolicy ? own : { iceServers: servers, iceTransportPolicy: policy };
}

function serverKey(s: IceServer): string {
  return JSON.stringify([urlsOf(s), s.username ?? '']);
}
