/**
 * LAN discovery benchmark in a namespaced LAN (scripts/netns-rig.sh): a viewer in host B, then N times a camera in
 * host A. Measures discovery (camera starts its channel -> viewer has its presence), loss on SIGKILL (kill -> viewer
 * reports it gone) and loss of a frozen device (SIGSTOP: its socket stays open, only heartbeats tell).
 *
 *   npm run bench:lan [-- --trials 10]
 *
 * Runs itself inside a fresh `unshare -n` namespace (root needed) so no mDNS can reach a real interface. Ends with one
 * JSON line: {"discoveryP50Ms":..,"discoveryP95Ms":..,"lossP50Ms":..,"lossP95Ms":..,"stallLossP50Ms":..,...}.
 */
import { fileURLToPath } from 'node:url';
import { Room } from '../src/protocol/index.js';
import { isolate, percentile } from './lib.js';
import { NetnsRig } from '../test/helpers/netns.js';

async function main(): Promise<void> {
  isolate('bench:lan', fileURLToPath(import.meta.url));
  const at = process.argv.indexOf('--trials');
  const trials = at > 0 ? Number(process.argv[at + 1]) : 10;
  if (!Number.isInteger(trials) || trials < 1) throw new Error('--trials takes a positive integer');
  const rig = await NetnsRig.up(['a', 'b']);
  const stop = () => void rig.down().then(() => process.exit(130));
  process.once('SIGINT', stop);
  try {
    const link = await (await Room.create()).link();
    const viewer = rig.node('b', { link, role: 'viewer', name: 'bench-viewer', interface: 'lan0' });
    await viewer.waitFor((e) => e.ev === 'ready', 30_000, 'viewer ready');
    const discovery: number[] = [];
    const loss: number[] = [];
    const stall: number[] = [];
    for (let i = 0; i < trials; i++) {
      for (const how of ['SIGKILL', 'SIGSTOP'] as const) {
        const cam = rig.node('a', { link, role: 'camera', name: `bench-cam-${i}-${how}`, interface: 'lan0' });
        const starting = await cam.waitFor((e) => e.ev === 'starting', 30_000, 'camera starting');
        const seen = await viewer.waitFor((e) => e.ev === 'peer' && e.id === starting.id, 10_000, 'viewer sees camera');
        if (how === 'SIGKILL') discovery.push(seen.t - starting.t);
        const t0 = Date.now();
        process.kill(cam.pid, how);
        const gone = await viewer.waitFor((e) => e.ev === 'gone' && e.id === starting.id, 10_000, 'camera gone');
        (how === 'SIGKILL' ? loss : stall).push(gone.t - t0);
        await cam.kill('SIGKILL');
      }
      console.error(`trial ${i + 1}/${trials}: discovery ${discovery.at(-1)} ms, SIGKILL loss ${loss.at(-1)} ms, SIGSTOP loss ${stall.at(-1)} ms`);
    }
    const result = {
      trials,
      discoveryP50Ms: percentile(discovery, 50),
      discoveryP95Ms: percentile(discovery, 95),
      lossP50Ms: percentile(loss, 50),
      lossP95Ms: percentile(loss, 95),
      stallLossP50Ms: percentile(stall, 50),
      stallLossP95Ms: percentile(stall, 95),
    };
    console.log(JSON.stringify(result));
  } finally {
    process.off('SIGINT', stop);
    await rig.down();
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
