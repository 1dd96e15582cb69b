import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';

export interface ChildResult {
  readonly code: number | null;
  /** The signal that ended it (a native crash shows as SIGSEGV or SIGBUS), or null. */
  readonly signal: string | null;
  readonly out: string;
  /** The last 4,000 characters of stderr. */
  readonly err: string;
}

/** Runs a TypeScript file in a child Node (tsx) to completion; rejects, after killing it, when it outlives the deadline. */
export function runTsChild(file: string, args: readonly string[], options: { timeoutMs: number; nodeFlags?: readonly string[] }): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...(options.nodeFlags ?? []), '--import', 'tsx', file, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${file} hung (> ${options.timeoutMs} ms)\n${out}\n${err}`));
    }, options.timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, out, err });
    });
  });
}

/** PIDs of the running processes named `comm` whose parent is `parent` (read from /proc, as `ps` would). */
export function childrenNamed(parent: number, comm: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    // "pid (comm) state ppid ...": comm may hold spaces, so split at the last parenthesis (proc(5)).
    const close = stat.lastIndexOf(')');
    const name = stat.slice(stat.indexOf('(') + 1, close);
    const [state, ppid] = stat.slice(close + 2).split(' ');
    if (name === comm && Number(ppid) === parent && state !== 'Z') found.push(Number(entry));
  }
  return found;
}

/** Ends `child` with `signal`, then SIGKILL after `graceMs`; resolves once it has exited (at once if it already had). */
export async function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM', graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** A process's descendants (PID and command line), read from /proc. */
export async function descendants(root: number): Promise<{ pid: number; argv: string[] }[]> {
  const parents = new Map<number, number>();
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = await readFile(`/proc/${name}/stat`, 'utf8').catch(() => '');
    // pid (comm) state ppid ...: comm may hold spaces or parentheses, so split after the last ')'.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (Number.isInteger(ppid)) parents.set(Number(name), ppid);
  }
  const out: { pid: number; argv: string[] }[] = [];
  const walk = async (pid: number) => {
    for (const [child, parent] of parents) {
      if (parent !== pid) continue;
      const argv = (await readFile(`/proc/${child}/cmdline`, 'utf8').catch(() => '')).split('\0').filter(Boolean);
      if (argv.length > 0) out.push({ pid: child, argv });
      await walk(child);
    }
  };
  await walk(root);
  return out;
}
