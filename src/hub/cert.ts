import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generate } from 'selfsigned';
import { type Logger, PeercamError, silentLogger } from '../protocol/index.js';

export interface HubCertificate {
  readonly key: string;
  readonly cert: string;
  /** SHA-256 fingerprint, to compare with what a phone's browser shows. */
  readonly fingerprint: string;
  /** Names and addresses the certificate is valid for. */
  readonly names: readonly string[];
}

interface Stored extends HubCertificate {
  readonly notAfter: string;
}

/** Browsers refuse leaf certificates valid longer than 398 days (CA/Browser Forum); stay under it. */
const VALID_DAYS = 397;
const RENEW_BEFORE_DAYS = 30;

/**
 * The hub's self-signed certificate, made once and kept in `dir` (phones accept it once and keep accepting it).
 * It is made again only when it nears expiry or when a current LAN address is not among its names, because a phone
 * reaching the hub by that address would be refused anyway.
 */
export async function hubCertificate(
  dir: string,
  names: readonly string[],
  /** Atomic private write (the CLI's writeFileSafely), so a crash never leaves half a key. */
  write: (file: string, body: string, mode: number) => Promise<void>,
  log: Logger = silentLogger,
): Promise<HubCertificate> {
  const file = join(dir, 'hub-cert.json');
  const stored = await readStored(file);
  const fresh = stored && Date.parse(stored.notAfter) - Date.now() > RENEW_BEFORE_DAYS * 86_400_000;
  if (stored && fresh && names.every((n) => stored.names.includes(n))) return stored;
  const all = [...new Set([...(stored?.names ?? []), ...names])];
  log.info({ names: all, file }, stored ? 'renewing the hub certificate' : 'creating the hub certificate');
  const notAfter = new Date(Date.now() + VALID_DAYS * 86_400_000);
  let pems: Awaited<ReturnType<typeof generate>>;
  try {
    pems = await generate([{ name: 'commonName', value: 'peercam hub' }], {
      keyType: 'ec',
      curve: 'P-256',
      algorithm: 'sha256',
      notAfterDate: notAfter,
      extensions: [
        { name: 'basicConstraints', cA: false },
        { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
        { name: 'extKeyUsage', serverAuth: true },
        { name: 'subjectAltName', altNames: all.map((n) => (isIp(n) ? { type: 7 as const, ip: n } : { type: 2 as const, value: n })) },
      ],
    });
  } catch (err) {
    throw new PeercamError('internal', `Could not create the hub's HTTPS certificate: ${err instanceof Error ? err.message : String(err)}.`, {
      cause: err,
    });
  }
  const made: Stored = { key: pems.private, cert: pems.cert, fingerprint: new X509Certificate(pems.cert).fingerprint256, names: all, notAfter: notAfter.toISOString() };
  await write(file, `${JSON.stringify(made, null, 2)}\n`, 0o600);
  return made;
}

async function readStored(file: string): Promise<Stored | undefined> {
  try {
    const s = JSON.parse(await readFile(file, 'utf8')) as Partial<Stored>;
    if (typeof s.key === 'string' && typeof s.cert === 'string' && Array.isArray(s.names) && typeof s.notAfter === 'string')
      return { key: s.key, cert: s.cert, fingerprint: s.fingerprint ?? '', names: s.names, notAfter: s.notAfter };
  } catch {
    // none yet or unreadable: make a new one
  }
  return undefined;
}

function isIp(name: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(name) || name.includes(':');
}
