/** What the MQTT adapter tells the user when the broker cannot be reached or refuses us; shared helpers. */
import { PeercamError } from '../protocol/index.js';

/** Maps what MQTT.js or the socket reported to what the user should do; 'protocol' = try MQTT 3.1.1. */
export function classify(url: string, err: unknown, timeoutMs: number): PeercamError | 'protocol' {
  if (err instanceof PeercamError) return err;
  const code = typeof err === 'object' && err !== null && 'code' in err ? err.code : undefined;
  if (typeof code === 'number') {
    // CONNACK return codes: MQTT 3.1.1 section 3.2.2.3 (1..5) and MQTT 5 section 3.2.2.2 (0x80..).
    if (code === 1 || code === 0x84) return 'protocol';
    if (code === 4 || code === 5 || code === 0x86 || code === 0x87)
      return new PeercamError(
        'broker-auth',
        `The broker at ${url} rejected the username/password (${errorText(err)}). Check the credentials given for this broker (in its URL or the username/password options).`,
        { cause: err },
      );
    return unreachable(url, `it refused the connection (${errorText(err)})`, err);
  }
  if (typeof code === 'string') {
    if (code === 'ECONNREFUSED') return unreachable(url, 'connection refused', err);
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return unreachable(url, 'its host name does not resolve', err);
    if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return unreachable(url, 'no network route to it', err);
    if (/CERT|^ERR_TLS|^ERR_SSL|SELF_SIGNED/.test(code))
      return new PeercamError(
        'broker-unreachable',
        `Cannot reach the MQTT broker at ${url}: its TLS certificate is not trusted (${code}). Pass the CA certificate that signed it, or use a certificate this device trusts.`,
        { cause: err },
      );
  }
  if (err instanceof Error && /connack timeout/i.test(err.message)) return unreachable(url, `no answer within ${timeoutMs / 1000} s`, err);
  if (err === undefined) return unreachable(url, 'the connection closed');
  return unreachable(url, errorText(err), err);
}

/**
 * True when the broker hung up on our CONNECT without a CONNACK: a clean close, a reset, or bytes MQTT.js could not
 * parse as the CONNACK it expected. Brokers that speak only MQTT 3.1.1 answer an MQTT 5 CONNECT this way (RabbitMQ 3.10
 * closes the socket) instead of the CONNACK refusal the spec asks for (MQTT 3.1.1 section 3.1.2.2).
 */
export function hungUp(err: unknown): boolean {
  if (err === undefined) return true;
  const code = typeof err === 'object' && err !== null && 'code' in err ? err.code : undefined;
  if (code === 'ECONNRESET' || code === 'EPIPE') return true;
  // mqtt-packet's parse errors are plain Errors without a code ("Invalid header flag bits", "Malformed ...").
  return err instanceof Error && code === undefined && !/connack timeout/i.test(err.message);
}

/** MQTT 5 CONNACK 0x9A "Retain not supported" (MQTT 5 section 3.2.2.2): our retained LWT was refused. */
export function retainRefused(err: unknown): boolean {
  return typeof err === 'object' && err !== null && 'code' in err && err.code === 0x9a;
}

/** A CONNACK refusing who we are (3.1.1: 4 bad username or password, 5 not authorized; 5: 0x86, 0x87). */
export function isLoginRefusal(err: unknown): boolean {
  if (err instanceof PeercamError) return false;
  const code = typeof err === 'object' && err !== null && 'code' in err ? err.code : undefined;
  return code === 4 || code === 5 || code === 0x86 || code === 0x87;
}

/** The broker refused us anonymously and with the room's hub login. */
export function loginRefusedBothWays(url: string, cause: unknown): PeercamError {
  return new PeercamError(
    'broker-auth',
    `The broker at ${url} refused this device both without credentials and with this room's hub login (${errorText(cause)}). ` +
      "If it is a peercam hub, it runs another room: use that hub's link. If it is your own broker, put its credentials in the URL (mqtt://user:password@host:1883).",
    { cause },
  );
}

export function unreachable(url: string, why: string, cause?: unknown): PeercamError {
  return new PeercamError('broker-unreachable', `Cannot reach the MQTT broker at ${url}: ${why}. Is it running? Check --broker or PEERCAM_BROKER.`, {
    cause,
  });
}

export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString().replace(/\/$/, '');
  } catch {
    return url;
  }
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Resolves true if `p` settles within `ms` (its rejection is swallowed), false otherwise. */
export async function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  const done = p.then(
    () => true,
    () => true,
  );
  try {
    return await Promise.race([done, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The broker's ACL refused one of the few things protocol v1 needs (docs/mosquitto-acl.acl shows them). */
export function aclRefusal(url: string, what: string, cause?: unknown): PeercamError {
  return new PeercamError(
    'broker-auth',
    `The broker at ${url} does not let this device ${what}${cause ? ` (${errorText(cause)})` : ''}. Its ACL must let a device subscribe to presence/+ and its own inbox, and publish its presence and to others' inboxes.`,
    { cause },
  );
}

/** The broker URL carries its own login (mqtt://user:pass@host): it wins over any other credentials. */
export function hasUserInfo(url: string): boolean {
  try {
    const u = new URL(url);
    return u.username !== '' || u.password !== '';
  } catch {
    return false;
  }
}
