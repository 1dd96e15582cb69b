import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { EventGate } from '../../src/agent/event-gate.js';
import { serializeRtp } from '../../src/media/rtp.js';
import { CameraRecorder } from '../../src/record/camera-recorder.js';
import { listSegments } from '../../src/record/store.js';
import { ClipStream } from '../media/clip.js';
import { decodeErrors, probe } from '../record/probe.js';

const root = mkdtempSync(join(tmpdir(), 'peercam-rec-events-'));
after(() => rmSync(root, { recursive: true, force: true }));

test('events mode: one clip from a keyframe at least the pre-roll before the event to the post-roll after its end', async () => {
  const t0 = Date.UTC(2026, 0, 4, 12, 0, 0);
  let wall = t0;
  // Pre-roll 2 s, post-roll 2 s; motion from 5.5 s to 6.5 s (the clip has a keyframe every second).
  const gate = new EventGate({ preRollMs: 2000, postRollMs: 2000, now: () => wall });
  const rec = new CameraRecorder({ root, camera: 'Events cam', segmentMs: 60_000, now: () => wall, gate });
  rec.startSession('H264');
  const clip = new ClipStream();
  let phase = 0;
  for (let i = 0; i < 360; i++) {
    if (wall - t0 >= 5500 && phase === 0 && ++phase) gate.start('e1');
    if (wall - t0 >= 6500 && phase === 1 && ++phase) gate.end('e1');
    for (const p of clip.frames(1)) rec.video(serializeRtp(p));
    wall += 1000 / 30;
  }
  await rec.close();
  const segs = listSegments(root, 'Events cam');
  assert.equal(segs.length, 1, JSON.stringify(segs));
  const seg = segs[0]!;
  // The keyframe at 3 s is the last one at least 2 s before 5.5 s: the pre-roll frames from before the event are kept.
  assert.ok(Math.abs(seg.start - (t0 + 3000)) <= 40, `starts ${seg.start - t0} ms into the stream`);
  assert.ok(Math.abs(seg.start + seg.durationMs - (t0 + 8500)) <= 80, `ends ${seg.start + seg.durationMs - t0} ms into the stream`);
  const p = await probe(seg.path);
  assert.equal(p.streams[0]?.codec, 'h264');
  assert.ok(Math.abs((p.streams[0]?.frames ?? 0) - 165) <= 2, `frames ${p.streams[0]?.frames}`);
  assert.equal(await decodeErrors(seg.path), '', 'starts at a keyframe: decodes cleanly');
});

test('the gate: recording during an event and its post-roll only; a camera gone ends its event', () => {
  let now = 0;
  const gate = new EventGate({ preRollMs: 5000, postRollMs: 10_000, now: () => now });
  assert.equal(gate.recording(now), false);
  gate.start('a');
  now = 60_000;
  assert.equal(gate.recording(now), true, 'an event under way records however long it lasts');
  gate.end('a');
  now += 9999;
  assert.equal(gate.recording(now), true);
  now += 2;
  assert.equal(gate.recording(now), false);
  gate.start('b');
  gate.gone();
  now += 10_001;
  assert.equal(gate.recording(now), false);
});
