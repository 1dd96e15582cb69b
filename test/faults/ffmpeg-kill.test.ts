import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { startMosquitto } from '../helpers/brokers.js';
import { waitFor } from '../helpers/wait.js';
import { childrenNamed, childrenOf, faultRoom, seenAfter, sleep, startCamera, startWatcher } from './rig.js';

describe('fault: the camera\'s ffmpeg killed', () => {
  it('the source restarts and the watching viewer has frames again within a few seconds, same session', async () => {
    const broker = await startMosquitto();
    after(() => broker.stop());
    const room = await faultRoom(broker.url);
    // A small testsrc keeps ffmpeg cheap; a 1 s GOP bounds how long the new run takes to its first keyframe.
    const camera = await startCamera(room.env, ['--source', 'testsrc', '--size', '320x240', '--fps', '15', '--gop', '1', '--bitrate', '300']);
    await camera.proc.waitFor(/source live/, 15_000);
    const watcher = startWatcher(room.env, 'shelf', 10);
    await camera.proc.waitFor(/joined; 1 watching/, 15_000);
    await sleep(1500);

    const pid = camera.proc.child.pid ?? -1;
    await waitFor(async () => (await childrenNamed(pid, 'ffmpeg')).length === 1, { timeoutMs: 5000, what: "the camera's ffmpeg child" });
    const [ffmpeg] = await childrenNamed(pid, 'ffmpeg');
    assert.ok(ffmpeg !== undefined);
    const from = camera.proc.output().length;
    const killedAt = performance.now();
    process.kill(ffmpeg, 'SIGKILL');
    await seenAfter(camera.proc, from, /source restarting: ffmpeg was killed by SIGKILL/, 5000);
    const liveAt = await seenAfter(camera.proc, from, /source live/, 10_000);
    const next = await childrenOf(pid);
    assert.ok(!next.includes(ffmpeg) && next.length === 1, `a new ffmpeg runs (${next.join(',')})`);

    const report = await watcher.report;
    const sourceDownMs = Math.round(liveAt - killedAt);
    process.stdout.write(`# ffmpeg down ${sourceDownMs} ms (restart backoff + start-up); longest gap at the viewer ${report.stalledMs} ms; ${JSON.stringify(report)}\n`);
    assert.equal(report.reconnects, 0, 'the session survived: the fan-out continues it from the new run\'s first keyframe');
    assert.ok(report.stalledMs - sourceDownMs <= 2000, `frames again within 2 s of the new ffmpeg's first packet (gap ${report.stalledMs} ms, source down ${sourceDownMs} ms)`);
    assert.ok(report.stalledMs <= 5000, `longest gap ${report.stalledMs} ms`);
    assert.ok(report.frames >= 10 * 15 * 0.6, `frames ${report.frames}`);
  });
});
