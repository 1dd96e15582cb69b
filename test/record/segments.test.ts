import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { packetizeH264, splitAccessUnits, splitAnnexB } from '../../src/media/h264.js';
import { serializeRtp } from '../../src/media/rtp.js';
import { CameraRecorder } from '../../src/record/camera-recorder.js';
import { listSegments } from '../../src/record/store.js';
import { startFfmpegRtp } from '../helpers/ffmpeg-rtp.js';
import { recordClip } from '../helpers/recorded-clip.js';
import { waitFor } from '../helpers/wait.js';
import { ClipStream } from '../media/clip.js';
import { decodeErrors, probe } from './probe.js';

const root = mkdtempSync(join(tmpdir(), 'peercam-rec-'));
const run = promisify(execFile);
after(() => rmSync(root, { recursive: true, force: true }));

test('10 s of H.264 RTP -> 3 s segments that meet exactly, each probing and decoding cleanly', async () => {
  // Crosses midnight: two day folders.
  await recordClip(root, 'Clip cam', { start: Date.UTC(2026, 0, 2, 23, 59, 58), seconds: 10, segmentMs: 3000 });
  const segs = listSegments(root, 'Clip cam');
  assert.deepEqual(segs.map((s) => Math.round(s.durationMs)), [3000, 3000, 3000, 1000]);
  assert.equal(new Set(segs.map((s) => s.path.split('/').at(-2))).size, 2, 'a folder per UTC day');
  for (let i = 1; i < segs.length; i++) assert.ok(Math.abs(segs[i - 1]!.start + segs[i - 1]!.durationMs - segs[i]!.start) <= 1, 'no gap, no overlap');
  let frames = 0;
  let expectedStart = 0;
  for (const s of segs) {
    const p = await probe(s.path);
    assert.equal(p.streams[0]?.codec, 'h264');
    assert.equal(p.streams[0]?.width, 640);
    // ffprobe's duration runs from 0: the file's own length is duration - start_time.
    assert.ok(Math.abs(p.duration - p.startTime - s.durationMs / 1000) < 0.05, `${s.path}: ${p.duration - p.startTime} s`);
    // The RTP timeline runs on across files: each starts where the one before ended.
    assert.ok(Math.abs(p.startTime - expectedStart) < 0.001, `start ${p.startTime}, expected ${expectedStart}`);
    expectedStart += s.durationMs / 1000;
    frames += p.streams[0]?.frames ?? 0;
    assert.equal(await decodeErrors(s.path), '');
  }
  assert.equal(frames, 300);
});

test('a segment sealed while the clock anchor could still be refined meets the next one exactly (media in bursts)', async () => {
  const t0 = Date.UTC(2026, 0, 5, 8, 0, 0);
  let wall = t0;
  const rec = new CameraRecorder({ root, camera: 'Bursty', segmentMs: 2000, now: () => wall });
  rec.startSession('H264');
  const clip = new ClipStream();
  for (let i = 0; i < 8 * 30; i++) {
    // The first 3 s arrive 40 ms late (held in a camera's burst), the rest on time: arrival times would lower the
    // anchor by 40 ms after the first 2 s segment was sealed with it.
    wall = t0 + (i * 1000) / 30 + (i < 90 ? 40 : 0);
    for (const p of clip.frames(1)) rec.video(serializeRtp(p));
  }
  await rec.close();
  const segs = listSegments(root, 'Bursty');
  assert.ok(segs.length >= 3, `${segs.length} segments`);
  for (let i = 1; i < segs.length; i++) {
    const off = segs[i]!.start - (segs[i - 1]!.start + segs[i - 1]!.durationMs);
    assert.ok(Math.abs(off) <= 1, `segment ${i} starts ${off} ms off the end of the one before`);
  }
});

test('High profile H.264 (an RTSP camera copied through): the avcC carries its chroma format and bit depths', async () => {
  // 2 s of 4:2:0 High profile, one keyframe a second, no B-frames, as Annex B from ffmpeg.
  const { stdout } = await run(
    'ffmpeg',
    ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=15', '-t', '2', '-c:v', 'libx264', '-profile:v', 'high', '-pix_fmt', 'yuv420p', '-bf', '0', '-g', '15', '-f', 'h264', '-'],
    { encoding: 'buffer', maxBuffer: 16 * 1024 * 1024 },
  );
  let wall = Date.UTC(2026, 0, 4, 9, 0, 0);
  const rec = new CameraRecorder({ root, camera: 'High cam', segmentMs: 60_000, now: () => wall });
  rec.startSession('H264');
  let seq = 0;
  splitAccessUnits(splitAnnexB(new Uint8Array(stdout))).forEach((nals, i) => {
    for (const { payload, marker } of packetizeH264(nals)) {
      rec.video(serializeRtp({ marker, payloadType: 102, sequenceNumber: seq++, timestamp: i * 6000, ssrc: 9, csrcs: [], payload, paddingSize: 0 }));
    }
    wall += 1000 / 15;
  });
  await rec.close();
  const [seg] = listSegments(root, 'High cam');
  assert.ok(seg);
  const p = await probe(seg.path);
  assert.equal(p.streams[0]?.codec, 'h264');
  assert.equal(p.streams[0]?.frames, 30);
  const { stdout: profile } = await run('ffprobe', ['-v', 'error', '-select_streams', 'v', '-show_entries', 'stream=profile,pix_fmt', '-of', 'csv=p=0', seg.path]);
  assert.equal(profile.trim(), 'High,yuv420p');
  assert.equal(await decodeErrors(seg.path), '');
});

test('a gap in the stream ends the segment; the next starts at the following keyframe', async () => {
  let wall = Date.UTC(2026, 0, 3, 10, 0, 0);
  const rec = new CameraRecorder({ root, camera: 'Gappy', segmentMs: 60_000, now: () => wall });
  rec.startSession('H264');
  const clip = new ClipStream();
  const send = (n: number) => {
    for (let i = 0; i < n; i++) {
      for (const p of clip.frames(1)) rec.video(serializeRtp(p));
      wall += 1000 / 30;
    }
  };
  send(60);
  wall += 5000; // the camera went silent for 5 s (arrival time); RTP time runs on at 3000 ticks a frame
  clip.frames(150);
  send(60);
  await rec.close();
  const segs = listSegments(root, 'Gappy');
  assert.equal(segs.length, 2);
  assert.ok(segs[1]!.start - (segs[0]!.start + segs[0]!.durationMs) >= 4000, 'the hole stays a hole');
  for (const s of segs) assert.equal(await decodeErrors(s.path), '');
});

test('frames that stop while the connection stays up: checkStalled() finishes the segment once they are gapMs late', async () => {
  let wall = Date.UTC(2026, 0, 3, 11, 0, 0);
  const finished: number[] = [];
  const rec = new CameraRecorder({ root, camera: 'Stalled', segmentMs: 60_000, now: () => wall, onSegment: (_p, _s, durationMs) => finished.push(durationMs) });
  rec.startSession('H264');
  const clip = new ClipStream();
  for (let i = 0; i < 60; i++) {
    for (const p of clip.frames(1)) rec.video(serializeRtp(p));
    wall += 1000 / 30;
  }
  wall += 1500;
  rec.checkStalled();
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.deepEqual(finished, [], 'still open 1.5 s after the last frame (gapMs 2 s)');
  wall += 1000;
  rec.checkStalled();
  await waitFor(() => finished.length === 1, { timeoutMs: 2000, what: 'the stalled segment finished' });
  assert.equal(Math.round(finished[0]!), 2000, 'it ends at its last frame');
  const [seg] = listSegments(root, 'Stalled');
  assert.ok(seg);
  assert.equal(await decodeErrors(seg.path), '');
  await rec.close();
  assert.equal(finished.length, 1);
});

test('real encoders: H.264 with Opus audio, and VP8, recorded without re-encoding', async () => {
  const rec = new CameraRecorder({ root, camera: 'Real', segmentMs: 2000 });
  rec.startSession('H264');
  const video = await startFfmpegRtp('H264', (p) => rec.video(p));
  const audio = await startFfmpegRtp('OPUS', (p) => rec.audio(p));
  const vp8Rec = new CameraRecorder({ root, camera: 'Real VP8', segmentMs: 2000 });
  vp8Rec.startSession('VP8');
  const vp8 = await startFfmpegRtp('VP8', (p) => vp8Rec.video(p));
  try {
    // On a loaded machine the audio encoder may start seconds after the video one: wait for a segment that has both.
    const lastHasAudio = async () => {
      const last = listSegments(root, 'Real').filter((s) => !s.open).at(-1);
      return last !== undefined && (await probe(last.path)).streams.some((x) => x.codec === 'opus');
    };
    await waitFor(async () => listSegments(root, 'Real VP8').filter((s) => !s.open).length >= 2 && listSegments(root, 'Real').filter((s) => !s.open).length >= 2 && (await lastHasAudio()), {
      timeoutMs: 60_000,
      what: 'two finished segments of each camera, the last H.264 one with sound',
      intervalMs: 500,
    });
  } finally {
    await Promise.all([video.stop(), audio.stop(), vp8.stop()]);
    await rec.close();
    await vp8Rec.close();
  }
  const h264 = listSegments(root, 'Real');
  const withAudio = h264.filter((s) => !s.open);
  // The first segment may start before the first audio packet; the later ones carry both.
  const last = await probe(withAudio.at(-1)!.path);
  assert.deepEqual(last.streams.map((s) => s.codec).sort(), ['h264', 'opus']);
  assert.ok(last.streams.every((s) => s.frames > 0));
  for (const s of h264) assert.equal(await decodeErrors(s.path), '', s.path);
  for (const s of listSegments(root, 'Real VP8')) {
    const p = await probe(s.path);
    assert.equal(p.streams[0]?.codec, 'vp8');
    assert.equal(p.streams[0]?.width, 320);
    assert.equal(await decodeErrors(s.path), '', s.path);
  }
});
