import type { DeviceId } from '../protocol/index.js';

/**
 * Keeps our retained presence slot holding what we last published. Without a per-device ACL anyone on the broker can
 * write `presence/<us>`: an empty message (members see us leave) or junk (members already present keep our last good
 * presence, but devices joining later get only the junk and never see us). Whenever the slot shows anything else than
 * ours, ours goes out again, at most once per `minGapMs` (a later difference waits for the end of the gap), so two
 * clients fighting over one device id cannot loop hot.
 */
export class PresenceKeeper {
  private last = Number.NEGATIVE_INFINITY;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly republish: () => void,
    private readonly minGapMs = 1000,
    private readonly now: () => number = Date.now,
  ) {}

  /** A retained message on our own slot arrived; `mine` is our last payload (null = we cleared it). True if it differed. */
  seen(payload: Uint8Array, mine: string | null): boolean {
    if (sameText(payload, mine ?? '')) return false;
    if (this.timer !== undefined) return true; // one re-publish is already due; it sends whatever is ours by then
    const wait = this.last + this.minGapMs - this.now();
    if (wait <= 0) this.fire();
    else this.timer = setTimeout(() => this.fire(), wait);
    return true;
  }

  /** Our connection closed or the transport did: a re-publish still due would go to a dead connection. */
  cancel(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private fire(): void {
    this.timer = undefined;
    this.last = this.now();
    this.republish();
  }
}

/** Compares a received payload with our own (base64url text, so ASCII) without decoding it. */
function sameText(bytes: Uint8Array, text: string): boolean {
  if (bytes.length !== text.length) return false;
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== text.charCodeAt(i)) return false;
  return true;
}

/**
 * A broker that shuts down publishes every client's will (Mosquitto does on SIGTERM) just before it drops us: those
 * presence clears say the broker is going, not the devices, and acting on them would end sessions whose media never
 * touches the broker. So a clear is held `graceMs` and dropped if our connection closes meanwhile.
 */
export class HeldClears {
  private readonly clears = new Map<DeviceId, ReturnType<typeof setTimeout>>();

  constructor(
    private readonly deliver: (device: DeviceId) => void,
    private readonly graceMs = 750,
  ) {}

  /** Holds a clear of `device`; `live()` is asked when the grace ends (false: that connection is gone). */
  hold(device: DeviceId, live: () => boolean): void {
    if (this.clears.has(device)) return;
    this.clears.set(
      device,
      setTimeout(() => {
        if (live()) this.flush(device);
        else this.clears.delete(device);
      }, this.graceMs),
    );
  }

  /** Delivers a held clear of `device` now (a presence follows it, in that order: a device that came back). */
  flush(device: DeviceId): void {
    const timer = this.clears.get(device);
    if (timer === undefined) return;
    clearTimeout(timer);
    this.clears.delete(device);
    this.deliver(device);
  }

  /** Our connection closed: the clears it delivered last may be the broker's own shutdown. */
  drop(): void {
    for (const timer of this.clears.values()) clearTimeout(timer);
    this.clears.clear();
  }
}
