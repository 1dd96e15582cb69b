/** The shortest and longest span a rate is taken over. */
const MIN_SPAN_MS = 1000;
const MAX_SPAN_MS = 30_000;

/**
 * Per-second rates of growing counters (a camera's bytes and frames) for gauges that say "bitrate now" and "fps now"
 * without PromQL's rate(). Sampled when asked (each scrape), with no timer of its own: the rate is over the time since
 * the oldest sample of the last 30 s that is at least a second old (the previous scrape, or when watching began).
 */
export class Rates<K extends string> {
  private readonly samples = new Map<string, { at: number; values: Record<K, number> }[]>();
  private readonly sources = new Map<string, () => Record<K, number>>();

  constructor(private readonly now: () => number = () => performance.now()) {}

  /** Starts sampling `read` under `name` (again: replaces it). */
  watch(name: string, read: () => Record<K, number>): void {
    this.sources.set(name, read);
    // A copy: `read` may hand out the live counters themselves.
    this.samples.set(name, [{ at: this.now(), values: { ...read() } }]);
  }

  /** Per second, for each name (0 until a sample a second old exists). */
  rates(): Map<string, Record<K, number>> {
    const out = new Map<string, Record<K, number>>();
    const at = this.now();
    for (const [name, read] of this.sources) {
      const list = this.samples.get(name) ?? [];
      const now = { at, values: { ...read() } };
      while (list.length > 1 && (list[1]?.at ?? at) <= at - MAX_SPAN_MS) list.shift();
      const base = [...list].reverse().find((s) => s.at <= at - MIN_SPAN_MS) ?? list[0];
      const dt = base ? (at - base.at) / 1000 : 0;
      const r = {} as Record<K, number>;
      for (const k of Object.keys(now.values) as K[]) r[k] = base && dt > 0.2 ? Math.max(0, (now.values[k] - base.values[k]) / dt) : 0;
      out.set(name, r);
      list.push(now);
      this.samples.set(name, list);
    }
    return out;
  }
}
