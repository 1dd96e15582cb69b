/** How the Recordings view writes times and lengths. */

/** A wall time as `HH:MM:SS` (24 h) in the browser's time zone. */
export const clock = (ms: number): string => new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });

/** A length as `12 s`, `3 min 4 s` or `2 h 5 min`. */
export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

/** `1 recording`, `2 recordings`. */
export function count(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** When an event happened, as a list says it: `Today 16:42:05`, `Yesterday 09:10:00`, or the date and the time. */
export function when(ms: number, now = Date.now()): string {
  const day = new Date(ms).toDateString();
  const yesterday = new Date(now);
  yesterday.setDate(yesterday.getDate() - 1);
  const label = day === new Date(now).toDateString() ? 'Today' : day === yesterday.toDateString() ? 'Yesterday' : new Date(ms).toLocaleDateString();
  return `${label} ${clock(ms)}`;
}
