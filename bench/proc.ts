import { readdirSync, readFileSync } from 'node:fs';
import { descendants } from '../test/helpers/procs.js';

/** Clock ticks per second of /proc's CPU times (USER_HZ; 100 on Linux). */
export const CLK_TCK = 100;

/** CPU time a process has used so far, in clock ticks. */
export function cpuTicks(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return Number(fields[11]) + Number(fields[12]); // utime + stime (proc(5) fields 14, 15)
}

/** A process's resident memory in MB, to 0.1 MB. */
export function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Math.round((Number(m?.[1]) / 1024) * 10) / 10;
}

/**
 * CPU ticks of a process by thread: its main thread (JavaScript, N-API callbacks) apart, the others summed by name
 * (node-datachannel's "juice poll", "RTC worker" and "SCTP timer"; V8 and libuv threads are named "node").
 */
export function threadTicks(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = Number(tid) === pid ? 'main' : stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')).replace(/ /g, '-');
      const fields = stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
      out.set(name, (out.get(name) ?? 0) + Number(fields[11]) + Number(fields[12]));
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}

/** Voluntary context switches (a thread going to sleep: one per wake-up) so far, by thread, named as in threadTicks. */
export function threadWakeups(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const status = readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
      const name = Number(tid) === pid ? 'main' : (/^Name:\s*(.*)$/m.exec(status)?.[1] ?? '?').trim().replace(/ /g, '-');
      const n = Number(/^voluntary_ctxt_switches:\s*(\d+)/m.exec(status)?.[1] ?? 0);
      out.set(name, (out.get(name) ?? 0) + n);
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}

/** UDP datagrams dropped because a socket's receive buffer was full, in the network namespace of `pid`. */
export function udpReceiveDrops(pid: number): number {
  const lines = readFileSync(`/proc/${pid}/net/snmp`, 'utf8').split('\n').filter((l) => l.startsWith('Udp:'));
  const names = lines[0]?.split(/\s+/) ?? [];
  const values = lines[1]?.split(/\s+/) ?? [];
  return Number(values[names.indexOf('RcvbufErrors')] ?? 0);
}

/**
 * CPU ticks of every process below `root` (its children, theirs, and so on; not `root` itself), summed by the group
 * `classify` gives each one's command line (undefined: not counted). Processes that ended meanwhile are not seen.
 */
export async function descendantTicks(
  root: number,
  classify: (cmdline: string) => string | undefined,
  /** Also per thread, as `group:thread` (named as in threadTicks, a trailing number dropped: pools sum up). */
  byThread = false,
): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const add = (key: string, ticks: number) => out.set(key, (out.get(key) ?? 0) + ticks);
  for (const { pid, argv } of await descendants(root)) {
    const group = classify(argv.join(' '));
    if (group === undefined) continue;
    try {
      add(group, cpuTicks(pid));
      if (byThread) for (const [name, ticks] of threadTicks(pid)) add(`${group}:${name.replace(/[-_]?\d+$/, '')}`, ticks);
    } catch {
      // it ended meanwhile
    }
  }
  return out;
}
