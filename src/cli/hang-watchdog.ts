import { Worker } from 'node:worker_threads';
import { PeercamError } from '../protocol/index.js';

/** Default seconds the main thread may stay blocked before the process ends itself (PEERCAM_HANG_EXIT_S). */
export const DEFAULT_HANG_EXIT_S = 60;

/** Runs in a worker thread: it keeps running while the main thread is blocked, and kills the process when it is. */
const WORKER = `
const { workerData } = require('node:worker_threads');
const { writeSync } = require('node:fs');
const beat = new Int32Array(workerData.buffer);
setInterval(() => {
  const silentS = Number(process.hrtime.bigint() / 1000000000n) - Atomics.load(beat, 0);
  if (silentS < workerData.limitS) return;
  writeSync(2, 'peercam: the main thread has not run for ' + Math.round(silentS) + ' s (a native WebRTC engine hang, ' +
    'docs/RELIABILITY.md); exiting so that a supervisor (systemd Restart=always, docker --restart) starts it again.\\n');
  process.kill(process.pid, 'SIGKILL');
}, Math.min(5000, workerData.limitS * 250));
`;

/** Reads PEERCAM_HANG_EXIT_S: seconds (> 0), or 0 / off for no watchdog. */
export function hangExitSeconds(value = process.env.PEERCAM_HANG_EXIT_S): number {
  if (value === undefined || value === '') return DEFAULT_HANG_EXIT_S;
  if (value === 'off') return 0;
  const s = Number(value);
  if (!Number.isFinite(s) || s < 0) {
    throw PeercamError.config(`PEERCAM_HANG_EXIT_S=${value}: give the seconds (e.g. 60), or 0 / off for no watchdog.`);
  }
  return s;
}

/**
 * Ends the process (SIGKILL, after one line on stderr) when its main thread has not run for `limitS` seconds.
 *
 * A native deadlock in the WebRTC engine (libdatachannel#1630, #1538: threads that wait for each other's locks over a
 * TURN relay) leaves a camera or recorder alive but deaf: its main thread blocks for good in the next call into the
 * engine, nothing times out and nothing is said. A process that ends instead is one a supervisor restarts and a user
 * notices. The main thread marks every second that it ran (an unref'd timer: the watchdog never keeps a process alive);
 * a worker thread, which the blocked main thread cannot stop, checks the mark. Nothing peercam does blocks its main
 * thread for more than a fraction of a second, so 60 s is a hang.
 */
export function startHangWatchdog(limitS: number): void {
  if (limitS <= 0) return;
  const buffer = new SharedArrayBuffer(4);
  const beat = new Int32Array(buffer);
  // The monotonic clock, in seconds, shared by both threads: a wall-clock jump is not a hang.
  const mark = () => Atomics.store(beat, 0, Number(process.hrtime.bigint() / 1_000_000_000n));
  mark();
  const tick = setInterval(mark, 1000);
  tick.unref();
  new Worker(WORKER, { eval: true, workerData: { buffer, limitS } }).unref();
}
