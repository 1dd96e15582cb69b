// What the soak reads about each process it started, from /proc (Linux): CPU time, RSS, open fds, threads.
import { readdir, readFile } from 'node:fs/promises';

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ; 100 on every Linux this runs on). */
const HZ = 100;

export interface ProcSample {
  /** CPU seconds (user + system) used so far. */
  readonly cpuS: number;
  readonly rssMB: number;
  readonly fds: number;
  readonly threads: number;
}

export async function sampleProc(pid: number): Promise<ProcSample | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may hold spaces: utime and stime are 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cpuS = (Number(fields[11]) + Number(fields[12])) / HZ;
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const rssKB = Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0);
    const threads = Number(/^Threads:\s+(\d+)/m.exec(status)?.[1] ?? 0);
    const fds = (await readdir(`/proc/${pid}/fd`)).length;
    return { cpuS, rssMB: rssKB / 1024, fds, threads };
  } catch {
    return undefined; // exited
  }
}

/** One process over the run: its samples, with the time each was taken (s since the soak started). */
export class ProcTrack {
  readonly samples: { t: number; s: ProcSample }[] = [];

  constructor(
    readonly role: 'camera' | 'viewer' | 'broker',
    readonly name: string,
    readonly pid: number,
  ) {}

  async sample(t: number): Promise<void> {
    const s = await sampleProc(this.pid);
    if (s) this.samples.push({ t, s });
  }

  /** CPU use between the last two samples, in % of one core. */
  cpuPct(): number {
    const [a, b] = this.samples.slice(-2);
    if (!a || !b || b.t === a.t) return 0;
    return (100 * (b.s.cpuS - a.s.cpuS)) / (b.t - a.t);
  }

  /** Average CPU from `from` s to the end, in % of one core. */
  cpuAvgPct(from: number): number {
    const after = this.samples.filter((x) => x.t >= from);
    const a = after[0];
    const b = after.at(-1);
    if (!a || !b || b.t === a.t) return 0;
    return (100 * (b.s.cpuS - a.s.cpuS)) / (b.t - a.t);
  }

  latest(): ProcSample | undefined {
    return this.samples.at(-1)?.s;
  }

  /**
   * Growth after warm-up: the first sample at or after `from` against the median of the last three (one late spike,
   * e.g. a GC that has not run yet, is not a leak). Flagged past thresholds a healthy process stays under.
   */
  growth(from: number): { rssMB: number; fds: number; threads: number; flags: string[] } {
    const after = this.samples.filter((x) => x.t >= from);
    const first = after[0]?.s;
    const tail = after.slice(-3).map((x) => x.s);
    if (!first || tail.length === 0 || after.length < 3) return { rssMB: 0, fds: 0, threads: 0, flags: [] };
    const median = (f: (s: ProcSample) => number) => tail.map(f).sort((x, y) => x - y)[Math.floor(tail.length / 2)] ?? 0;
    const rssMB = median((s) => s.rssMB) - first.rssMB;
    const fds = median((s) => s.fds) - first.fds;
    const threads = median((s) => s.threads) - first.threads;
    const flags: string[] = [];
    if (rssMB > Math.max(8, 0.15 * first.rssMB)) flags.push(`${this.name}: RSS +${rssMB.toFixed(1)} MB after warm-up`);
    if (fds > 4) flags.push(`${this.name}: ${fds} more open fds after warm-up`);
    if (threads > 4) flags.push(`${this.name}: ${threads} more threads after warm-up`);
    return { rssMB: round1(rssMB), fds, threads, flags };
  }
}

export function round1(n: number): number {
  return Math.round(n * 10) / 10;
}

/** min / avg / max of a list, rounded to one decimal. */
export function spread(values: readonly number[]): { min: number; avg: number; max: number } {
  if (values.length === 0) return { min: 0, avg: 0, max: 0 };
  return { min: round1(Math.min(...values)), avg: round1(values.reduce((a, b) => a + b, 0) / values.length), max: round1(Math.max(...values)) };
}
