import type { DeviceId } from '../../protocol/index.js';
import type { Link } from './link.js';

export interface RosterOptions {
  readonly self: DeviceId;
  /** A link heard within this many ms is live: a newcomer for the same device never displaces it. */
  readonly liveMs: number;
  /** Links (both directions, past their hello) held at once; more are refused. */
  readonly maxLinks: number;
  /** Links to one device id held at once (an honest device needs one, two while a duplicate dial settles). */
  readonly maxPerDevice: number;
  /** Hands a device's sealed presence, or its clear (null), to the Channel above. */
  readonly report: (device: DeviceId, payload: string | null) => void;
}

export type Admission = { ok: true } | { ok: false; duplicate: boolean; why: string };

interface Device {
  /** Ready links in the order they said hello. */
  readonly links: Link[];
  /** The link whose presence the Channel authenticated: the only one whose clear or loss makes the device gone. */
  bound: Link | undefined;
}

/**
 * The links of each device and which of them speaks for its presence. A hello is not authenticated (the transport
 * cannot open sealed payloads), so anyone can open a link claiming a member's public id; such a link must not take
 * anything from the member's own link:
 *   - a newcomer never replaces a live link: it is added beside it, or refused as the losing duplicate of a dial race;
 *   - a device's presence is bound to the link that carried a presence the Channel authenticated (`checked`). While
 *     that link lives, presence frames on other links are kept but not passed up, so an empty frame from a stranger
 *     cannot make the member leave; only the bound link's clear, close or silence can.
 * What stays possible without authenticated hellos is listed in docs/SECURITY.md.
 */
export class Roster {
  private readonly devices = new Map<DeviceId, Device>();
  /** The last non-empty presence each link carried. */
  private readonly carried = new Map<Link, string>();
  private count = 0;

  constructor(private readonly options: RosterOptions) {}

  /** Links held (past their hello). */
  get size(): number {
    return this.count;
  }

  ids(): DeviceId[] {
    return [...this.devices.keys()];
  }

  has(device: DeviceId): boolean {
    return this.devices.has(device);
  }

  all(): Link[] {
    return [...this.devices.values()].flatMap((d) => d.links);
  }

  /** Whether to hold a link that just said hello as `device`; on refusal the caller closes or retires it. */
  admit(link: Link, device: DeviceId): Admission {
    const d = this.devices.get(device);
    if (this.count >= this.options.maxLinks) return { ok: false, duplicate: false, why: `already ${this.count} LAN links` };
    if (d && d.links.length >= this.options.maxPerDevice) return { ok: false, duplicate: false, why: `already ${d.links.length} links to device ${device}` };
    const current = d && this.primary(device);
    if (current?.heardWithin(this.options.liveMs) && this.losesTo(link, current, device))
      return { ok: false, duplicate: true, why: 'duplicate link' };
    if (d) d.links.push(link);
    else this.devices.set(device, { links: [link], bound: undefined });
    this.count++;
    return { ok: true };
  }

  /**
   * The link to send on: the bound one while it is open (a stranger's link never gets a member's messages), else the
   * oldest live one, else the oldest.
   */
  primary(device: DeviceId): Link | undefined {
    const d = this.devices.get(device);
    if (!d) return undefined;
    if (d.bound?.isReady) return d.bound;
    return d.links.find((l) => l.heardWithin(this.options.liveMs)) ?? d.links[0];
  }

  /** A presence frame arrived on `link`. */
  presence(link: Link, device: DeviceId, payload: string | null): void {
    const d = this.devices.get(device);
    if (!d?.links.includes(link)) return;
    if (payload === null) {
      this.carried.delete(link);
      if (d.bound !== link) return; // not the link that speaks for this device
      d.bound = undefined;
      this.options.report(device, null);
      return;
    }
    this.carried.set(link, payload);
    // Unbound, any link's presence goes up as a candidate: the Channel opens it and `checked` binds the carrier.
    if (d.bound === link || d.bound === undefined) this.options.report(device, payload);
  }

  /** The Channel's verdict on a presence we reported: an authentic, applied one binds the link that carried it. */
  checked(device: DeviceId, payload: string, applied: boolean): void {
    const d = this.devices.get(device);
    if (!applied || !d || d.bound !== undefined) return;
    d.bound = d.links.find((l) => this.carried.get(l) === payload);
  }

  /** A link closed (by either end, or silent too long). Returns false if it was not held. */
  remove(link: Link, device: DeviceId): boolean {
    const d = this.devices.get(device);
    const at = d?.links.indexOf(link) ?? -1;
    if (!d || at < 0) return false;
    d.links.splice(at, 1);
    this.count--;
    const last = this.carried.get(link);
    this.carried.delete(link);
    if (d.links.length === 0) this.devices.delete(device);
    if (d.bound === link) {
      d.bound = undefined;
      // Both ends send one sealed presence on every link, so an honest duplicate carries the same bytes: no flap.
      const twin = d.links.find((l) => l.isReady && this.carried.get(l) === last);
      if (twin) d.bound = twin;
      else {
        this.options.report(device, null);
        for (const l of d.links) {
          const p = this.carried.get(l);
          if (p !== undefined) this.options.report(device, p); // candidates again; `checked` binds an authentic one
        }
      }
    } else if (d.bound === undefined && d.links.length === 0) {
      // An unverified candidate may have been applied: with no link left, the device is certainly gone.
      this.options.report(device, null);
    }
    return true;
  }

  clear(): void {
    this.devices.clear();
    this.carried.clear();
    this.count = 0;
  }

  /** Both ends dial; of two links to one device both keep the one dialed by the lower id. */
  private losesTo(link: Link, current: Link, remote: DeviceId): boolean {
    const dialer = (l: Link) => (l.direction === 'out' ? this.options.self : remote);
    // Same dialer twice is a reconnect racing a dying link (or a stranger): it waits beside the live one.
    return dialer(link) !== dialer(current) && dialer(link) > dialer(current);
  }
}
