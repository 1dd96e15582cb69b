/** How a supervised producer is restarted after it dies: exponential backoff with jitter (LiveKit-style policy). */
export interface RestartPolicy {
  /** Delay before the first restart. Default 1000 ms. */
  readonly initialDelayMs: number;
  /** Upper bound of any delay. Default 30000 ms. */
  readonly maxDelayMs: number;
  /** Growth per consecutive failure. Default 2. */
  readonly factor: number;
  /** Fraction of the delay randomized either way, so many cameras on one host do not restart in lockstep. */
  readonly jitter: number;
  /** A run this long counts as healthy: the next failure starts the backoff over. Default 60000 ms. */
  readonly healthyAfterMs: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicy = {
  initialDelayMs: 1000,
  maxDelayMs: 30_000,
  factor: 2,
  jitter: 0.2,
  healthyAfterMs: 60_000,
};

/** Delay before restart number `attempt` (0 = first), within [initialDelayMs * (1 - jitter), maxDelayMs]. */
export function restartDelay(policy: RestartPolicy, attempt: number, random: () => number = Math.random): number {
  const base = Math.min(policy.maxDelayMs, policy.initialDelayMs * policy.factor ** attempt);
  const jittered = base * (1 - policy.jitter + 2 * policy.jitter * random());
  return Math.round(Math.min(policy.maxDelayMs, jittered));
}
