import { readdirSync, readFileSync } from 'node:fs';

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
