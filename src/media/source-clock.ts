/**
 * Where a live source's RTP clock stands against the wall clock, for RTCP sender reports (RFC 3550 6.4.1: a report
 * pairs the sender's wall clock with the RTP timestamp of that same instant). Each packet gives its arrival time minus
 * its media time; the earliest is the best estimate (a later one waited in the encoder, a pipe or the event loop).
 * The estimate moves on to the best of the last `windowMs` every window, so a source clock that drifts from the wall
 * clock (a camera's crystal, a clip paced by a timer) is followed rather than kept at its first reading.
 */
export class SourceClock {
  /** The best reading in use: the source's RTP timestamp `ts` was live at wall time `wall` (ms since the epoch). */
  private ref: { wall: number; ts: number; epoch: number } | undefined;
  /** The best reading of the window being gathered. */
  private next: { wall: number; ts: number } | undefined;
  private windowStart = 0;

  constructor(
    private readonly clockRate: number,
    private readonly windowMs = 10_000,
  ) {}

  /** A packet of the source arrived at `wall`; `epoch` changes when the source's stream starts over. */
  packet(ts: number, epoch: number, wall: number): void {
    const ref = this.ref;
    if (!ref || ref.epoch !== epoch) {
      this.ref = { wall, ts, epoch };
      this.next = undefined;
      this.windowStart = wall;
      return;
    }
    if (this.expected(ref, ts) > wall) this.ref = { wall, ts, epoch };
    const next = !this.next || this.expected(this.next, ts) > wall ? { wall, ts } : this.next;
    this.next = next;
    if (wall - this.windowStart >= this.windowMs) {
      this.ref = { wall: next.wall, ts: next.ts, epoch };
      this.next = undefined;
      this.windowStart = wall;
    }
  }

  /** The source's RTP timestamp at wall time `wall` and the epoch it belongs to; undefined before the first packet. */
  at(wall: number): { ts: number; epoch: number } | undefined {
    const ref = this.ref;
    if (!ref) return undefined;
    return { ts: (ref.ts + Math.round(((wall - ref.wall) * this.clockRate) / 1000)) >>> 0, epoch: ref.epoch };
  }

  /** When `ts` was live by `reading` (32-bit serial arithmetic: readings are seconds apart, RFC 3550 5.1). */
  private expected(reading: { wall: number; ts: number }, ts: number): number {
    return reading.wall + (((ts - reading.ts) | 0) * 1000) / this.clockRate;
  }
}
