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

/** Compares a received payload with a sealed one (base64url text, so ASCII) without decoding it. */
export function sameText(bytes: Uint8Array, text: string | undefined): boolean {
  if (text === undefined || bytes.length !== text.length) return false;
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== text.charCodeAt(i)) return false;
  return true;
}

/**
 * Other devices' retained presence, as it reaches the Channel. Two rules on top of passing it up:
 * - A broker that shuts down publishes every client's will (Mosquitto does on SIGTERM) just before it drops us: those
 *   clears say the broker is going, not the devices, and acting on them would end sessions whose media never touches
 *   the broker. So a clear is held `graceMs` and dropped if our connection closes meanwhile.
 * - Without a per-device ACL an outsider can clear any slot; the device re-publishes its presence at once
 *   (PresenceKeeper). A held clear followed by the very presence the Channel last authenticated is no leave at all.
 */
export class OthersPresence {
  private readonly clears = new Map<DeviceId, ReturnType<typeof setTimeout>>();
  /** Per device, the last presence the Channel authenticated and applied. */
  private readonly authentic = new Map<DeviceId, string>();

  constructor(
    private readonly deliver: (device: DeviceId, payload: Uint8Array | null) => void,
    private readonly graceMs = 750,
  ) {}

  /** A retained message on `device`'s slot; `live()` says whether the connection it came by is still up. */
  received(device: DeviceId, payload: Uint8Array, live: () => boolean): void {
    if (payload.length === 0) {
      this.hold(device, live);
      return;
    }
    const known = this.authentic.get(device);
    if (known !== undefined && sameText(payload, known)) this.forget(device);
    else this.flush(device); // a clear then a presence, in that order (a device that came back)
    this.deliver(device, payload);
  }

  /** The Channel's verdict on a presence we passed up (Transport.presenceChecked). */
  checked(device: DeviceId, payload: string | Uint8Array, applied: boolean): void {
    if (applied) this.authentic.set(device, typeof payload === 'string' ? payload : new TextDecoder().decode(payload));
  }

  /** Our connection closed: the clears it delivered last may be the broker's own shutdown. */
  drop(): void {
    for (const timer of this.clears.values()) clearTimeout(timer);
    this.clears.clear();
  }

  private hold(device: DeviceId, live: () => boolean): void {
    if (this.clears.has(device)) return;
    this.clears.set(
      device,
      setTimeout(() => {
        if (live()) this.flush(device);
        else this.forget(device);
      }, this.graceMs),
    );
  }

  private flush(device: DeviceId): void {
    if (!this.clears.has(device)) return;
    this.forget(device);
    this.authentic.delete(device);
    this.deliver(device, null);
  }

  private forget(device: DeviceId): void {
    clearTimeout(this.clears.get(device));
    this.clears.delete(device);
  }
}
