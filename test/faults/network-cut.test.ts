import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { WatchReport } from '../../src/agent/watch.js';
import { MOSQUITTO } from '../helpers/brokers.js';
import { NetnsRig } from '../helpers/netns.js';
import { faultRoom, sleep } from './rig.js';

const MAIN = join(import.meta.dirname, '..', '..', 'dist', 'cli', 'main.js');
/**
 * Issue 6: a viewer's network cut and restored. Camera and broker in host A, the viewer in host B of a namespaced
 * LAN; B's only interface goes down and up again. Nobody touches the viewer: it must recover by itself.
 */
async function cutViewer(cutMs: number, watchSeconds: number): Promise<{ report: WatchReport; recoveryMs: number; viewerLog: string[] }> {
  const rig = await NetnsRig.up(['a', 'b']);
  after(() => rig.down());
  const dir = await mkdtemp(join(tmpdir(), 'peercam-cut-'));
  after(() => rm(dir, { recursive: true, force: true }));
  const conf = join(dir, 'mosquitto.conf');
  await writeFile(conf, [`listener 1883 ${rig.address('a')}`, 'allow_anonymous true', 'persistence false', 'max_queued_messages 0', 'log_dest stderr', 'log_type error', ''].join('\n'));
  const broker = rig.spawn('a', [MOSQUITTO, '-c', conf]);
  await sleep(300);
  assert.ok(broker.running, `mosquitto runs in host A: ${broker.stderr}`);

  const room = await faultRoom(`mqtt://${rig.address('a')}:1883`);
  const env = (host: string) => ({ ...room.env, PEERCAM_MDNS: 'off', PEERCAM_ICE_BIND: rig.address(host), PEERCAM_LOG: 'info' });
  const camera = rig.spawn('a', [process.execPath, MAIN, 'camera', '--source', 'demo', '--name', 'shelf'], env('a'));
  await camera.until(() => (camera.stdout.includes('is live in room') ? true : undefined), 30_000, 'camera live');
  const watcher = rig.spawn('b', [process.execPath, MAIN, 'watch', 'shelf', '--seconds', String(watchSeconds), '--json'], env('b'));
  await camera.until(() => (/joined; 1 watching/.test(camera.stdout) ? true : undefined), 30_000, 'viewer joined');
  await sleep(2000);

  const cutAt = performance.now();
  await rig.exec('b', ['ip', 'link', 'set', 'lan0', 'down']);
  await sleep(cutMs);
  await rig.exec('b', ['ip', 'link', 'set', 'lan0', 'up']);
  const restoredAt = performance.now();

  const report = await watcher.until(() => watcher.events.find((e) => 'frames' in e) as unknown as WatchReport | undefined, watchSeconds * 1000 + 30_000, 'the watch report');
  const outageMs = Math.round(restoredAt - cutAt);
  // The longest gap runs from the last frame before the cut to the first after the restore.
  const recoveryMs = report.stalledMs - outageMs;
  const viewerLog = watcher.stderr.split('\n').filter((l) => /restarting ICE|session ended|"online"|lost the broker/.test(l)).map((l) => l.slice(0, 240));
  process.stdout.write(`# link down ${outageMs} ms; frames again <= ${recoveryMs} ms after restore; ${JSON.stringify(report)}\n`);
  process.stdout.write(`# camera: ${camera.stdout.trim().split('\n').join('\n# camera: ')}\n# viewer: ${viewerLog.join('\n# viewer: ')}\n`);
  assert.ok(report.stalledMs >= cutMs - 500, `the cut was real: frames stopped (${report.stalledMs} ms)`);
  // Frames for most of the time left after the restore: recovery happened, and early.
  const left = watchSeconds - 2 - cutMs / 1000;
  assert.ok(report.frames >= (2 + left / 2) * 25, `frames flow again after the restore: ${report.frames} (recovered after ${recoveryMs} ms)`);
  return { report, recoveryMs, viewerLog };
}

describe('fault: a viewer\'s network cut and restored', { timeout: 120_000 }, () => {
  it('10 s: the viewer recovers with no manual action (its ICE and MQTT links ride through) and frames flow again', async () => {
    const { viewerLog } = await cutViewer(10_000, 20);
    // 10 s is inside both ICE consent (RFC 7675: 30 s) and MQTT keepalive (1.5 x 20 s): no restart needed.
    assert.deepEqual(viewerLog.filter((l) => /session ended/.test(l)), []);
  });

  it('31 s, past ICE consent expiry: the viewer restarts ICE by itself and frames flow again', async () => {
    const { report, viewerLog } = await cutViewer(31_000, 42);
    assert.ok(viewerLog.some((l) => /restarting ICE/.test(l)) || report.reconnects > 0, `an ICE restart or a new session: ${viewerLog.join('\n')}`);
  });
});
