// Child of hang-watchdog.test.ts: starts the watchdog with argv[2] seconds, then either blocks its main thread for
// argv[3] seconds (Atomics.wait, as a thread stuck on a native lock) or, with argv[3] = "idle", lets its event loop
// run empty for 3 s and exits 0.
import { startHangWatchdog } from '../../src/cli/hang-watchdog.js';

startHangWatchdog(Number(process.argv[2]));
process.stdout.write('watching\n');
if (process.argv[3] === 'idle') {
  setTimeout(() => process.stdout.write('done\n'), 3000);
} else {
  // Let the worker start first (it runs once this task yields), then block for good.
  setTimeout(() => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Number(process.argv[3]) * 1000), 200);
}
