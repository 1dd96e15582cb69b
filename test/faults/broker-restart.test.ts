import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { startAedes, startMosquitto, type TestBroker } from '../helpers/brokers.js';
import { cameras, faultRoom, presenceWatch, sleep, startCamera, startWatcher, watchOnce } from './rig.js';

/** How long the broker stays down: long enough for every client to notice and back off a few times. */
const OUTAGE_MS = 5000;

/**
 * Issue 6: a broker restarted mid-stream. Media does not go through the broker, so a viewer already watching sees no
 * gap; the camera rejoins and re-publishes its presence within 5 s of the broker's return, and new viewers can connect.
 */
async function brokerRestart(broker: TestBroker): Promise<void> {
  const room = await faultRoom(broker.url);
  const camera = await startCamera(room.env);
  const watcher = startWatcher(room.env, 'shelf', 14);
  await camera.proc.waitFor(/joined; 1 watching/, 15_000);
  await sleep(1500);

  await broker.stop();
  await camera.proc.waitFor(/broker offline/, 5000);
  await sleep(OUTAGE_MS);
  await broker.start();
  const back = performance.now();

  const observer = await presenceWatch(room.link, broker.url);
  const presentMs = Math.round((await observer.until('shelf', 10_000)) - back);
  await observer.close();
  process.stdout.write(`# ${broker.url}: camera present again ${presentMs} ms after the broker came back\n`);
  assert.ok(presentMs <= 5000, `presence back within 5 s of the broker's return (took ${presentMs} ms)`);

  // Signaling works again: a new viewer sets up a session; ls lists the camera.
  const fresh = await watchOnce(room.env);
  assert.ok(fresh.frames > 0, `a new viewer after the restart got frames: ${JSON.stringify(fresh)}`);
  assert.deepEqual(await cameras(room.env), ['shelf']);

  const report = await watcher.report;
  process.stdout.write(`# ${broker.url}: viewer across the outage: ${JSON.stringify(report)}\n`);
  assert.equal(report.reconnects, 0, `the session rode through the outage: ${watcher.stderr()}`);
  assert.ok(report.frames >= 14 * 20, `frames kept flowing (${report.frames} in 14 s)`);
  assert.ok(report.stalledMs < OUTAGE_MS / 2, `no stall during the broker outage (longest gap ${report.stalledMs} ms)`);
}

describe('fault: broker restarted mid-stream', () => {
  it('Mosquitto: media keeps flowing, presence and signaling back within 5 s', async () => {
    const broker = await startMosquitto();
    after(() => broker.stop());
    await brokerRestart(broker);
  });

  it('embedded aedes: media keeps flowing, presence and signaling back within 5 s', async () => {
    const broker = await startAedes();
    after(() => broker.stop());
    await brokerRestart(broker);
  });
});
