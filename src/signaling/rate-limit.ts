import type { DropReason, Logger } from '../protocol/index.js';

export interface RateLimitOptions {
  /** Messages one sender may deliver at once after a quiet spell. Default 100. */
  readonly burst?: number;
  /** Messages per second one sender may deliver in the long run. Default 20. */
  readonly perSecond?: number;
  /** Senders remembered at most; the longest idle are forgotten first. Default 1024. */
  readonly maxSenders?: number;
  /** Clock, injectable for tests. */
  readonly now?: () => number;
}

/**
 * The default budget. A viewer<->camera session costs ~4 messages (offer, answer, one or two candidate batches; see
 * bench/signaling.ts) and an ICE restart about as many again, so 100 at once and 20/s leave a legitimate device far
 * from the limit while bounding what a misbehaving member can make a camera do.
 */
export const DEFAULT_RATE_LIMIT = { burst: 100, perSecond: 20, maxSenders: 1024 } as const;

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * A token bucket per sender. Keys are authenticated device ids (the Channel asks only after a message opened), so an
 * outsider cannot create entries; `maxSenders` still bounds memory if a member invents many ids.
 */
export class RateLimiter {
  private readonly burst: number;
  private readonly perMs: number;
  private readonly maxSenders: number;
  private readonly now: () => number;
  /** Insertion order = least recently used first (take() re-inserts). */
  private readonly buckets = new Map<string, Bucket>();

  constructor(options: RateLimitOptions = {}) {
    this.burst = options.burst ?? DEFAULT_RATE_LIMIT.burst;
    this.perMs = (options.perSecond ?? DEFAULT_RATE_LIMIT.perSecond) / 1000;
    this.maxSenders = options.maxSenders ?? DEFAULT_RATE_LIMIT.maxSenders;
    this.now = options.now ?? Date.now;
    if (!(this.burst >= 1 && this.perMs > 0 && this.maxSenders >= 1))
      throw new RangeError('rate limit: burst and maxSenders must be >= 1 and perSecond > 0');
  }

  /** Spends one token of `sender`; false when its budget is exhausted (the message should be dropped). */
  take(sender: string): boolean {
    const now = this.now();
    const prev = this.buckets.get(sender);
    const bucket = prev ?? { tokens: this.burst, at: now };
    if (prev) {
      bucket.tokens = Math.min(this.burst, bucket.tokens + Math.max(0, now - bucket.at) * this.perMs);
      bucket.at = now;
      this.buckets.delete(sender);
    }
    this.buckets.set(sender, bucket);
    if (this.buckets.size > this.maxSenders) {
      const oldest = this.buckets.keys().next().value;
      if (oldest !== undefined) this.buckets.delete(oldest);
    }
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  /** Senders currently remembered. */
  get size(): number {
    return this.buckets.size;
  }
}

/**
 * Logs dropped messages without letting a flood turn into a log flood: the first drop of each reason is logged at
 * once, later ones are counted and summed up in one line at most every `intervalMs` (written when the next drop after
 * the interval arrives, so no timer outlives the channel).
 */
export class DropLog {
  private readonly last = new Map<DropReason, { at: number; suppressed: number }>();

  constructor(
    private readonly log: Logger,
    private readonly intervalMs = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Records one drop; returns whether a log line was written for it. */
  note(reason: DropReason, detail: string): boolean {
    const now = this.now();
    const entry = this.last.get(reason);
    if (entry && now - entry.at < this.intervalMs) {
      entry.suppressed++;
      return false;
    }
    const suppressed = entry?.suppressed ?? 0;
    this.last.set(reason, { at: now, suppressed: 0 });
    if (suppressed > 0) this.log.warn({ reason, detail, suppressed, intervalMs: this.intervalMs }, `dropped ${suppressed + 1} signaling messages (${reason}) since the last report`);
    else this.log.warn({ reason, detail }, 'dropped a signaling message');
    return true;
  }
}
