import { networkInterfaces } from 'node:os';
import { PeercamError } from '../../protocol/index.js';

/** An interface LAN discovery runs on (one when pinned with --interface, else every non-loopback one). */
export interface NetIf {
  readonly name: string;
  readonly address: string;
  readonly netmask: string;
}

/**
 * Finds an interface's IPv4 address. Accepts the name as `ip link` prints it (`lan0@if5`: the part after `@` names
 * the veth peer, not the interface; ciao and os.networkInterfaces() know only `lan0`) or one of its IPv4 addresses.
 */
export function findInterface(spec: string): NetIf {
  const wanted = spec.split('@')[0] ?? spec;
  const all = networkInterfaces();
  for (const [name, infos] of Object.entries(all)) {
    for (const info of infos ?? []) {
      if (info.family !== 'IPv4') continue;
      if (name === wanted || info.address === wanted) return { name, address: info.address, netmask: info.netmask };
    }
  }
  const known = Object.entries(all)
    .filter(([, infos]) => infos?.some((i) => i.family === 'IPv4'))
    .map(([name]) => name);
  throw PeercamError.config(
    `Network interface "${spec}" has no IPv4 address here (interfaces with one: ${known.join(', ') || 'none'}). ` +
      'Pass --interface with one of those names, or leave it out to use every interface.',
  );
}

/**
 * Every interface with an IPv4 address that is not loopback (nor link-local only), each once with its first such
 * address, as os.networkInterfaces() names them (`lan0`, never `ip link`'s `lan0@if5`). `loopback: true` lists the
 * loopback interfaces instead (the fallback when a machine has no network: devices on this machine still meet).
 */
export function ipv4Interfaces(which: { loopback: boolean } = { loopback: false }): NetIf[] {
  const out: NetIf[] = [];
  for (const [name, infos] of Object.entries(networkInterfaces())) {
    const info = (infos ?? []).find((i) => i.family === 'IPv4' && i.internal === which.loopback && !i.address.startsWith('169.254.'));
    if (info) out.push({ name, address: info.address, netmask: info.netmask });
  }
  return out;
}

function toInt(ip: string): number {
  return ip.split('.').reduce((acc, part) => ((acc << 8) | (Number(part) & 255)) >>> 0, 0);
}

/** Whether `ip` is on the interface's subnet (RFC 6762 11: responses from off-link sources are ignored). */
export function onLink(netif: NetIf, ip: string): boolean {
  const mask = toInt(netif.netmask);
  return (toInt(ip) & mask) === (toInt(netif.address) & mask);
}

/** `PEERCAM_MDNS=off` (or 0/false/no) turns mDNS off for the whole process, whatever the options say. */
export function mdnsAllowedByEnv(env: NodeJS.ProcessEnv = process.env): boolean {
  const value = (env.PEERCAM_MDNS ?? '').trim().toLowerCase();
  return !['off', '0', 'false', 'no'].includes(value);
}
