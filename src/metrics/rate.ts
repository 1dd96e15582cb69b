/** How often counters are sampled for a rate, and over how long the rate is taken. */
const SAMPLE_MS = 1000;
const WINDOW_MS = 5000;

/**
 * Per-second rates of growing counters (a camera's bytes and frames), over the last few seconds: for gauges that say
 * "bitrate now" and "fps now" without PromQL's rate(). Sampled by one timer that never keeps the process alive.
 */
export class Rates<K extends string> {
  private readonly samples = new Map<string, { at: number; values: Record<K, number> }[]>();
  private readonly sources = new Map<string, () => Record<K, number>>();
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly now: () => number = () => performance.now()) {}

  /** Starts sampling `read` under `name` (again: replaces it). */
  watch(name: string, read: () => Record<K, number>): void {
    this.sources.set(name, read);
    this.samples.set(name, [{ at: this.now(), values: { ...read() } }]);
    this.timer ??= setInterval(() => this.sample(), SAMPLE_MS);
    this.timer.unref();
  }

  /** Per second over the window, for each name (0 until two samples exist). */
  rates(): Map<string, Record<K, number>> {
    const out = new Map<string, Record<K, number>>();
    for (const [name, list] of this.samples) {
      const first = list[0];
      const read = this.sources.get(name);
      if (!first || !read) continue;
      const now = { at: this.now(), values: { ...read() } };
      const dt = (now.at - first.at) / 1000;
      const r = {} as Record<K, number>;
      for (const k of Object.keys(now.values) as K[]) r[k] = dt > 0.2 ? Math.max(0, (now.values[k] - first.values[k]) / dt) : 0;
      out.set(name, r);
    }
    return out;
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private sample(): void {
    const at = this.now();
    for (const [name, read] of this.sources) {
      const list = this.samples.get(name) ?? [];
      // A copy: `read` may hand out the live counters themselves.
      list.push({ at, values: { ...read() } });
      while (list.length > 2 && (list[1]?.at ?? at) <= at - WINDOW_MS) list.shift();
      this.samples.set(name, list);
    }
  }
}
