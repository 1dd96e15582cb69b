export interface WaitOptions {
  readonly timeoutMs: number;
  /** What was awaited, for the failure message. */
  readonly what: string;
  readonly intervalMs?: number;
}

/** Polls `predicate` until it holds, or fails with what was awaited. */
export async function waitFor(predicate: () => boolean | Promise<boolean>, options: WaitOptions): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    if (await predicate()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${options.timeoutMs} ms waiting for ${options.what}`);
    await sleep(options.intervalMs ?? 10);
  }
}

/** Runs `check` (an assertion block) until it stops throwing; returns its value, or rethrows its last failure. */
export async function eventually<T>(check: () => T | Promise<T>, options: WaitOptions): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`${options.what}: still failing after ${options.timeoutMs} ms`, { cause: err });
    }
    await sleep(options.intervalMs ?? 10);
  }
}

/**
 * Resolves with the arguments of the next event that passes `filter`. `subscribe` registers the listener and returns
 * its unsubscribe closure, as peercam's `Emitter.on` does: `nextEvent((l) => channel.on('gone', l), {...})`.
 */
export function nextEvent<A extends unknown[]>(
  subscribe: (listener: (...args: A) => void) => () => void,
  options: { timeoutMs: number; what: string; filter?: (...args: A) => boolean },
): Promise<A> {
  return new Promise<A>((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`timed out after ${options.timeoutMs} ms waiting for ${options.what}`));
    }, options.timeoutMs);
    const off = subscribe((...args: A) => {
      if (options.filter && !options.filter(...args)) return;
      clearTimeout(timer);
      off();
      resolve(args);
    });
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** `promise`, or a failure naming `what` when it has not settled within `ms` (a hang becomes a message). */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish in ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}
