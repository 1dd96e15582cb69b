/** How long one fuzz input may take before it counts as a hang (generous: a 2-core CI box under load). */
export const INPUT_DEADLINE_MS = 2000;

/** Resolves with `work`'s value, or rejects when it takes longer than `ms`: a hang is a failure, not a wait. */
export async function withinDeadline<T>(work: Promise<T>, what: string, ms = INPUT_DEADLINE_MS): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms (hang)`)), ms);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
