/** When to try a lost link again: exponential backoff with jitter (LiveKit-style policy, injectable). */
export interface ReconnectPolicy {
  /** Delay before attempt `attempt` (0-based), in ms. */
  delayMs(attempt: number): number;
}

export function exponentialBackoff(initialMs = 250, maxMs = 10_000, jitter = 0.2, random: () => number = Math.random): ReconnectPolicy {
  return {
    delayMs(attempt: number): number {
      const base = Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 30));
      return Math.round(base * (1 - jitter + 2 * jitter * random()));
    },
  };
}

/** One retry timer per key; scheduling again replaces the pending one. */
export class RetryTimers<K> {
  private readonly timers = new Map<K, { timer: ReturnType<typeof setTimeout>; attempt: number }>();
  private readonly attempts = new Map<K, number>();

  constructor(private readonly policy: ReconnectPolicy) {}

  schedule(key: K, run: () => void): void {
    this.cancel(key);
    const attempt = this.attempts.get(key) ?? 0;
    this.attempts.set(key, attempt + 1);
    const timer = setTimeout(() => {
      this.timers.delete(key);
      run();
    }, this.policy.delayMs(attempt));
    this.timers.set(key, { timer, attempt });
  }

  cancel(key: K): void {
    const t = this.timers.get(key);
    if (t) clearTimeout(t.timer);
    this.timers.delete(key);
  }

  /** Success: the next failure starts again from the shortest delay. */
  reset(key: K): void {
    this.cancel(key);
    this.attempts.delete(key);
  }

  clear(): void {
    for (const t of this.timers.values()) clearTimeout(t.timer);
    this.timers.clear();
    this.attempts.clear();
  }
}
