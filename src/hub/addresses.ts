import { hostname, networkInterfaces } from 'node:os';

/** The machine's IPv4 LAN addresses (not loopback, not link-local), the ones a phone on the same WiFi can reach. */
export function lanAddresses(): string[] {
  const out: string[] = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) {
      if (a.family === 'IPv4' && !a.internal && !a.address.startsWith('169.254.')) out.push(a.address);
    }
  }
  return [...new Set(out)];
}

/** Names the hub's certificate covers: its LAN addresses, loopback and its host names. */
export function certificateNames(addresses: readonly string[]): string[] {
  const host = hostname();
  return [...addresses, '127.0.0.1', 'localhost', ...(host ? [host, `${host}.local`] : [])];
}
