import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { promisify } from 'node:util';
import { EventGate } from '../../src/agent/event-gate.js';
import { packetizeH264, splitAccessUnits, splitAnnexB } from '../../src/media/h264.js';
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

test('events mode with a 4 s keyframe interval (a Node camera\'s default --gop 4): the clip starts at the last keyframe at least the pre-roll before the motion began, so between the pre-roll and the pre-roll + 4 s before it', async () => {
  // 20 s of 160x90 at 30 fps, an IDR every 120 frames only (no scene-cut keyframes), Annex B.
  const file = join(root, 'gop4.h264');
  await promisify(execFile)('ffmpeg', [
    ...['-y', '-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc=s=160x90:r=30:d=20'],
    ...['-c:v', 'libx264', '-preset', 'ultrafast', '-g', '120', '-keyint_min', '120', '-sc_threshold', '0', '-bf', '0', '-pix_fmt', 'yuv420p', '-f', 'h264', file],
  ]);
  const units = splitAccessUnits(splitAnnexB(readFileSync(file)));
  assert.equal(units.length, 600);
  const GOP_MS = 4000;
  const PRE_MS = 2000;
  /** The motion began at `motionMs` into the stream; the start message reaches the recorder 800 ms later. */
  const clipStart = async (motionMs: number): Promise<number> => {
    const t0 = Date.UTC(2026, 0, 5, 12, 0, 0);
    let wall = t0;
    const gate = new EventGate({ preRollMs: PRE_MS, postRollMs: 1000, now: () => wall });
    const camera = `gop4-${motionMs}`;
    const rec = new CameraRecorder({ root, camera, segmentMs: 60_000, now: () => wall, gate });
    rec.startSession('H264');
    let seq = 1000;
    let phase = 0;
    for (let i = 0; i < units.length; i++) {
      if (phase === 0 && wall - t0 >= motionMs + 800 && ++phase) gate.start('e', t0 + motionMs);
      if (phase === 1 && wall - t0 >= motionMs + 1800 && ++phase) gate.end('e');
      for (const { payload, marker } of packetizeH264(units[i]!)) {
        rec.video(serializeRtp({ marker, payloadType: 96, sequenceNumber: seq++ & 0xffff, timestamp: i * 3000, ssrc: 7, csrcs: [], payload, paddingSize: 0 }));
      }
      wall += 1000 / 30;
    }
    await rec.close();
    const segs = listSegments(root, camera);
    assert.equal(segs.length, 1, JSON.stringify(segs));
    assert.equal(await decodeErrors(segs[0]!.path), '', 'starts at a keyframe: decodes cleanly');
    return segs[0]!.start - t0;
  };
  const found: string[] = [];
  for (const motion of [5800, 7100, 10_050, 13_900]) {
    const start = await clipStart(motion);
    const before = motion - start;
    found.push(`${before} ms before the motion at ${motion} ms`);
    // Keyframes at 0, 4, 8, 12 s: the last one at or before motion - pre-roll.
    assert.equal(Math.round(start / GOP_MS) * GOP_MS, Math.floor((motion - PRE_MS) / GOP_MS) * GOP_MS, `clip from ${start} ms for motion at ${motion} ms`);
    assert.ok(before >= PRE_MS - 40 && before < PRE_MS + GOP_MS + 40, `${before} ms of pre-roll for motion at ${motion} ms`);
  }
  process.stdout.write(`# events mode, GOP 4 s, pre-roll 2 s: clips start ${found.join(', ')}\n`);
});
