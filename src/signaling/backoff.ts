import { PeercamError } from '../protocol/index.js';

/** When to try again after losing (or failing to get) a link: LiveKit's ReconnectPolicy shape, injectable. */
export interface ReconnectPolicy {
  /** Delay before retry number `attempt` (0 = first retry after a loss), or null to give up. */
  nextDelayMs(attempt: number): number | null;
}

/** Shape of an exponential backoff: first delay, growth factor, ceiling and jitter. */
export interface BackoffOptions {
  readonly initialMs?: number;
  readonly maxMs?: number;
  readonly factor?: number;
  /**
   * 'full': uniform in [0, d] ("full jitter", the AWS architecture blog's recommendation), so a broker restart is not
   * met by every client at the same instant; 'equal': uniform in [d/2, d]; 'none': exactly d.
   */
  readonly jitter?: 'full' | 'equal' | 'none';
  /** Give up after this many retries; unlimited by default (a camera should come back whenever the broker does). */
  readonly maxAttempts?: number;
  /** Uniform random in [0, 1), injectable for tests. */
  readonly random?: () => number;
}

/** Exponential backoff with jitter: d = min(maxMs, initialMs * factor^attempt). */
export function exponentialBackoff(options: BackoffOptions = {}): ReconnectPolicy {
  const { initialMs = 250, maxMs = 10_000, factor = 2, jitter = 'full', maxAttempts = Number.POSITIVE_INFINITY, random = Math.random } = options;
  const positive = (name: string, value: number) => {
    if (!(value > 0) || Number.isNaN(value)) throw PeercamError.config(`Reconnect backoff: ${name} must be a positive number (got ${value}).`);
  };
  positive('initialMs', initialMs);
  positive('maxMs', maxMs);
  positive('maxAttempts', maxAttempts);
  if (!(factor >= 1)) throw PeercamError.config(`Reconnect backoff: factor must be at least 1 (got ${factor}).`);
  if (maxMs < initialMs) throw PeercamError.config(`Reconnect backoff: maxMs (${maxMs}) is below initialMs (${initialMs}).`);
  return {
    nextDelayMs(attempt: number): number | null {
      if (attempt >= maxAttempts) return null;
      const ceiling = Math.min(maxMs, initialMs * factor ** Math.max(0, attempt));
      const r = Math.min(Math.max(random(), 0), 1);
      switch (jitter) {
        case 'full':
          return Math.round(ceiling * r);
        case 'equal':
          return Math.round(ceiling / 2 + (ceiling / 2) * r);
        case 'none':
          return ceiling;
      }
    },
  };
}
