import type { ReconnectPolicy } from '../backoff.js';

/** One retry timer per key; scheduling again replaces the pending one. */
export class RetryTimers<K> {
  private readonly timers = new Map<K, { timer: ReturnType<typeof setTimeout>; attempt: number }>();
  private readonly attempts = new Map<K, number>();

  constructor(private readonly policy: ReconnectPolicy) {}

  schedule(key: K, run: () => void): void {
    this.cancel(key);
    const attempt = this.attempts.get(key) ?? 0;
    const delay = this.policy.nextDelayMs(attempt);
    if (delay === null) return; // the policy gave up on this key
    this.attempts.set(key, attempt + 1);
    const timer = setTimeout(() => {
      this.timers.delete(key);
      run();
    }, delay);
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
