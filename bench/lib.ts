import { spawnSync } from 'node:child_process';

/**
 * Re-runs the calling bench inside a fresh loopback-only network namespace (`unshare -n`, root needed), so nothing
 * it starts (WebRTC, mDNS, Chromium) can use or reach a real interface. Returns only inside the namespace.
 */
export function isolate(name: string, script: string): void {
  if (process.env.PEERCAM_ISOLATED) return;
  if (process.getuid?.() !== 0) {
    console.error(`${name} needs root: it runs in its own network namespace (run it as root, e.g. sudo npm run ${name}).`);
    process.exit(2);
  }
  const inner = 'ip link set lo up && exec env PEERCAM_ISOLATED=1 "$0" --import tsx "$@"';
  const r = spawnSync('unshare', ['-n', '--', 'sh', '-c', inner, process.execPath, script, ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}

/** Nearest-rank percentile. */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN;
}
