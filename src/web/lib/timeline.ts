/**
 * The page's timeline of one camera coming up, as `performance.mark`s (cheap, always on): `peercam:<step>` and
 * `peercam:<step>:<camera id>`. `npm run bench:web` reads them to show where the time from page open goes:
 * start (script running), online (broker joined), presence (the camera is known), offer, answer, ice, frame.
 */
export type Step = 'start' | 'hub' | 'online' | 'presence' | 'offer' | 'answer' | 'ice' | 'frame';

/** Marks a step once per (step, camera): the first occurrence is what a person waits for. */
export function mark(step: Step, camera?: string): void {
  const name = camera ? `peercam:${step}:${camera}` : `peercam:${step}`;
  try {
    if (performance.getEntriesByName(name, 'mark').length === 0) performance.mark(name);
  } catch {
    // no User Timing in this browser: nothing to record
  }
}
