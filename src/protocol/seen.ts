import type { DeviceId } from './ids.js';
import { MAX_SKEW_MS } from './envelope.js';

/**
 * Which (sender, seq) pairs were accepted in the last two skew windows: the replay rule of protocol v1, and the
 * cross-transport dedupe of a merged channel. Anything older is rejected as stale before it gets here, so older
 * entries are forgotten; at most `maxPerSender` are kept per sender.
 */
export class SeenWindow {
  private readonly seen = new Map<DeviceId, Map<number, number>>();

  constructor(
    private readonly now: () => number,
    private readonly maxPerSender = 4096,
  ) {}

  /** Records (from, seq) sent at `ts`; false when it was recorded before. */
  firstTime(from: DeviceId, seq: number, ts: number): boolean {
    let seen = this.seen.get(from);
    if (!seen) {
      seen = new Map();
      this.seen.set(from, seen);
    }
    if (seen.has(seq)) return false;
    seen.set(seq, ts);
    if (seen.size > this.maxPerSender || seen.size % 256 === 0) {
      const horizon = this.now() - 2 * MAX_SKEW_MS;
      for (const [s, t] of seen) if (t < horizon || seen.size > this.maxPerSender) seen.delete(s);
    }
    return true;
  }
}
