import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { startMosquitto } from '../helpers/brokers.js';
import { waitFor } from '../helpers/wait.js';
import { childrenNamed, faultRoom, seen, sleep, startCamera, startWatcher } from './rig.js';

/** How long the camera stays dead before it is started again. */
const DEAD_MS = 1000;

describe('fault: camera agent killed with SIGKILL and restarted', () => {
  it('a watching viewer reconnects by itself within 3 s of the camera coming back', async () => {
    const broker = await startMosquitto();
    after(() => broker.stop());
    const room = await faultRoom(broker.url);
    const first = await startCamera(room.env);
    const watcher = startWatcher(room.env, 'shelf', 12);
    await first.proc.waitFor(/joined; 1 watching/, 15_000);
    await sleep(1500);

    const killedAt = performance.now();
    await first.proc.kill(); // SIGKILL: no hangup, no presence clear; the broker's LWT clears it
    await sleep(DEAD_MS);
    // Same data dir, same name: the same device id comes back (src/cli/home.ts deviceId).
    const second = await startCamera(room.env);
    const joinedMs = Math.round((await seen(second.proc, /joined; 1 watching/, 10_000)) - second.liveAt);

    const report = await watcher.report;
    // The longest gap spans kill -> return -> first frame again; the camera was away (liveAt - killedAt) of it.
    const awayMs = Math.round(second.liveAt - killedAt);
    const recoveryMs = report.stalledMs - awayMs;
    process.stdout.write(
      `# camera away ${awayMs} ms (dead ${DEAD_MS} ms + start-up); viewer joined ${joinedMs} ms and had frames again <= ${recoveryMs} ms after its return; ${JSON.stringify(report)}\n`,
    );
    assert.ok(report.reconnects >= 1, 'the viewer set up a new session');
    assert.ok(recoveryMs <= 3000, `frames again within 3 s of the camera's return (took ${recoveryMs} ms)`);
    assert.ok(report.frames >= 12 * 20 - 30 * (report.stalledMs / 1000), `frames flow after the return: ${report.frames}`);
  });
});

describe('fault: camera agent killed with SIGKILL while encoding', () => {
  it('takes its ffmpeg with it (no orphan encoder left running)', async () => {
    const broker = await startMosquitto();
    after(() => broker.stop());
    const room = await faultRoom(broker.url);
    const cam = await startCamera(room.env, ['--source', 'testsrc', '--size', '320x240']);
    const pid = cam.proc.child.pid!;
    await waitFor(async () => (await childrenNamed(pid, 'ffmpeg')).length === 1, { timeoutMs: 10_000, what: "the camera's ffmpeg" });
    const [ffmpeg] = await childrenNamed(pid, 'ffmpeg');
    await cam.proc.kill();
    await waitFor(() => !existsSync(`/proc/${ffmpeg}`), { timeoutMs: 2000, what: `ffmpeg ${ffmpeg} to end with its camera` });
  });
});
