import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { listSegments } from '../../src/record/store.js';
import { startAedes, type TestBroker } from '../helpers/brokers.js';
import { cliHome, runCli, spawnCli } from '../helpers/cli.js';
import { waitFor } from '../helpers/wait.js';
import { assertSegmentsMeet, decodeErrors, probe } from './probe.js';

/** `peercam record` against real cameras (`peercam camera`) over the hub's broker (aedes), as a user runs them. */
describe('peercam record', () => {
  let broker: TestBroker | undefined;
  let home: Awaited<ReturnType<typeof cliHome>> | undefined;
  let env: NodeJS.ProcessEnv;
  const out = mkdtempSync(join(tmpdir(), 'peercam-recordings-'));
  const clip = join(out, '..', `peercam-av-${process.pid}.mp4`);

  before(async () => {
    broker = await startAedes();
    home = await cliHome();
    env = home.env;
    assert.equal((await runCli(['room', 'new', '--no-qr', '--broker', broker.url], env)).code, 0);
    // A file with sound, for a camera that sends Opus as well.
    execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=30', '-f', 'lavfi', '-i', 'sine=frequency=440', '-t', '20', '-c:v', 'libx264', '-c:a', 'aac', '-y', clip]);
  });

  after(async () => {
    await broker?.stop();
    await home?.remove();
    rmSync(out, { recursive: true, force: true });
    rmSync(clip, { force: true });
  });

  const finished = (camera: string) => listSegments(out, camera).filter((s) => !s.open);

  it('records every camera present and every one that appears, with audio when it has it; files probe, decode, and meet', async () => {
    const shelf = spawnCli(['camera', '--source', 'testsrc', '--name', 'shelf', '--size', '640x360', '--gop', '1'], env);
    after(() => shelf.kill());
    await shelf.waitFor(/is live in room/);
    const started = Date.now();
    const rec = spawnCli(['record', '--out', out, '--segment', '2s', '-v'], env);
    after(() => rec.kill());
    await rec.waitFor(/recording "shelf"/);
    // A camera that appears later, with audio.
    const porch = spawnCli(['camera', '--source', `file:${clip}`, '--name', 'porch', '--size', '320x240', '--gop', '1'], env);
    after(() => porch.kill());
    await rec.waitFor(/recording "porch"/, 30_000);
    await waitFor(() => finished('shelf').length >= 5 && finished('porch').length >= 3, { timeoutMs: 60_000, what: 'segments of both cameras', intervalMs: 250 });
    assert.equal(await rec.stop(), 0, rec.output().slice(-3000));
    const stopped = Date.now();

    const shelfSegs = listSegments(out, 'shelf');
    assert.ok(shelfSegs.every((s) => !s.open), 'a clean stop finishes every segment');
    const span = await assertSegmentsMeet(shelfSegs, { width: 640 });
    assert.ok(span <= stopped - started + 1000, `span ${span} ms fits the wall time ${stopped - started} ms`);
    assert.ok(shelfSegs[0]!.start >= started - 2000, 'named by when it was recorded');

    const porchSegs = finished('porch');
    const withSound = await Promise.all(porchSegs.map(async (s) => (await probe(s.path)).streams.map((x) => x.codec).sort().join('+')));
    assert.ok(withSound.includes('h264+opus'), `porch segments: ${withSound.join(', ')}`);
    for (const s of porchSegs) assert.equal(await decodeErrors(s.path), '', s.path);
  });

  it('SIGKILL mid-segment leaves playable files; the next start repairs the unfinished one and records on', async () => {
    const cam = spawnCli(['camera', '--source', 'testsrc', '--name', 'kitchen', '--size', '640x360', '--gop', '1'], env);
    after(() => cam.kill());
    await cam.waitFor(/is live in room/);
    const rec = spawnCli(['record', '--out', out, '--segment', '60s', '--cameras', 'kitchen'], env);
    after(() => rec.kill());
    await rec.waitFor(/"kitchen" connected/, 30_000);
    await waitFor(() => (listSegments(out, 'kitchen').at(-1)?.durationMs ?? 0) >= 4000, { timeoutMs: 30_000, what: '4 s in the open segment', intervalMs: 100 });
    await new Promise((r) => setTimeout(r, 700));
    await rec.kill();
    const killedAt = Date.now();
    const open = listSegments(out, 'kitchen').filter((s) => s.open);
    assert.equal(open.length, 1, 'the killed recorder left its segment open');
    const left = open[0]!;
    // Unrepaired, as the crash left it: it still probes and decodes.
    assert.equal((await probe(left.path)).streams[0]?.codec, 'h264');
    assert.equal(await decodeErrors(left.path), '');
    const lostMs = killedAt - (left.start + left.durationMs);
    process.stdout.write(`# SIGKILL: ${Math.round(left.durationMs)} ms on disk, ${lostMs} ms lost (1 s GOP)\n`);
    assert.ok(lostMs < 3000, `lost ${lostMs} ms, more than a keyframe interval and a bit`);

    const again = spawnCli(['record', '--out', out, '--segment', '2s', '--cameras', 'kitchen'], env);
    after(() => again.kill());
    await again.waitFor(/repaired 1 unfinished segment/);
    assert.ok(!existsSync(left.path), 'renamed with its duration');
    await waitFor(() => finished('kitchen').length >= 3, { timeoutMs: 30_000, what: 'recording resumed', intervalMs: 200 });
    await again.stop();
    for (const s of listSegments(out, 'kitchen')) {
      assert.ok(!s.open);
      assert.equal(await decodeErrors(s.path), '', s.path);
    }
  });
});
