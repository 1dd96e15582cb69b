import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ALL_FORMATS, EncodedPacketSink, FilePathSource, Input } from 'mediabunny';
import { NAL, nalType, packetizeH264 } from '../../src/media/h264.js';
import { serializeRtp } from '../../src/media/rtp.js';
import { VideoAssembler } from '../../src/record/assembler.js';
import { CameraRecorder, type CameraRecorderOptions } from '../../src/record/camera-recorder.js';
import { FramePool } from '../../src/record/frame-pool.js';
import { listSegments } from '../../src/record/store.js';
import { ClipStream, clipUnits } from '../media/clip.js';

const root = mkdtempSync(join(tmpdir(), 'peercam-rec-pool-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** Fills a frame with a pattern of its own number, to see later whether something wrote over it. */
const fill = (data: Uint8Array, seq: number) => data.fill(seq & 0xff);
const intact = (data: Uint8Array, seq: number) => data.every((b) => b === (seq & 0xff));

test('FramePool: a slab is used again only once every frame in it is released', () => {
  const pool = new FramePool(1000, 64, 2);
  const frames: { data: Uint8Array; seq: number }[] = [];
  const take = (size: number) => {
    const f = pool.take(size);
    fill(f.data, f.seq);
    frames.push(f);
  };
  for (let i = 0; i < 20; i++) take(200); // 5 frames a slab: 4 slabs
  assert.deepEqual(frames.map((f) => f.seq), [...Array(20).keys()]);
  assert.equal(pool.allocated, 4);
  pool.release(7); // frames 0-6 done: the first slab (0-4) is free, the second (5-9) still holds 7-9
  for (let i = 0; i < 10; i++) take(200);
  assert.equal(pool.reused, 1, 'the free slab came back');
  assert.equal(pool.allocated, 5);
  for (const f of frames.slice(7)) assert.ok(intact(f.data, f.seq), `frame ${f.seq} kept its bytes`);
  // A frame larger than a quarter of a slab has memory of its own.
  const big = pool.take(300);
  assert.equal(big.data.buffer.byteLength, 300);
  assert.equal(big.seq, 30);
});

test('FramePool: without releases nothing is used again, and it tracks at most maxSlabs', () => {
  const pool = new FramePool(1000, 3, 2);
  const frames = Array.from({ length: 40 }, () => pool.take(250));
  assert.equal(pool.reused, 0);
  assert.equal(pool.allocated, 10);
  assert.equal(new Set(frames.map((f) => f.data.buffer)).size, 10, 'every slab is new memory');
  // Releasing everything now frees only what it still tracks (the last 3 slabs); the rest is the GC's.
  pool.release(Number.POSITIVE_INFINITY);
  pool.take(250);
  pool.take(250);
  assert.equal(pool.reused, 1);
});

test('frames of several slices, each in FU-A fragments and together larger than the join space, come out whole', () => {
  const a = new VideoAssembler('H264');
  const params = clipUnits[0]!.filter((n) => nalType(n) === NAL.SPS || nalType(n) === NAL.PPS);
  const slice = (header: number, seed: number) => Uint8Array.from({ length: 50_000 }, (_, i) => (i === 0 ? header : (i * seed) & 0xff));
  const frames = [
    [...params, slice(0x65, 7), slice(0x65, 11), slice(0x65, 13)],
    [slice(0x41, 17), slice(0x41, 19), slice(0x41, 23)],
    [slice(0x41, 29), slice(0x41, 31), slice(0x41, 37)],
  ];
  const lengthPrefixed = (nals: Uint8Array[]) => Buffer.concat(nals.flatMap((n) => [Buffer.from([0, 0, n.length >> 8, n.length & 0xff]), n]));
  let seq = 0;
  const got: Uint8Array[] = [];
  for (const [i, nals] of frames.entries())
    for (const { payload, marker } of packetizeH264(nals)) {
      const packet = { marker, payloadType: 96, sequenceNumber: seq++, timestamp: i * 3000, ssrc: 1, csrcs: [], payload, paddingSize: 0 };
      got.push(...a.push(serializeRtp(packet)).map((f) => Uint8Array.from(f.data)));
    }
  assert.equal(got.length, 3);
  for (const [i, nals] of frames.entries()) assert.deepEqual(Buffer.from(got[i]!), lengthPrefixed(nals), `frame ${i}`);
});

/** The frames an assembler makes of the clip's packets, copied: what the files must hold, sample by sample. */
function expectedFrames(packets: Uint8Array[]): Uint8Array[] {
  const a = new VideoAssembler('H264');
  return packets.flatMap((p) => a.push(p).map((f) => Uint8Array.from(f.data)));
}

async function samplesOf(camera: string): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for (const seg of listSegments(root, camera)) {
    const input = new Input({ source: new FilePathSource(seg.path), formats: ALL_FORMATS });
    const track = await input.getPrimaryVideoTrack();
    assert.ok(track, `${seg.path} has video`);
    for await (const p of new EncodedPacketSink(track).packets()) out.push(p.data);
    input.dispose();
  }
  return out;
}

/**
 * Records `seconds` of the clip (a keyframe every second) with a pool of small slabs, letting the writes catch up
 * every second as a live recorder does; returns the packets fed and the pool.
 */
async function record(camera: string, seconds: number, options: Partial<CameraRecorderOptions>): Promise<{ packets: Uint8Array[]; pool: FramePool }> {
  const t0 = Date.UTC(2026, 0, 6, 9, 0, 0);
  let wall = t0;
  // 64 KB slabs: under a second of the clip (~77 KB/s) each, keyframes (~9 KB) included.
  const pool = new FramePool(64 * 1024);
  const rec = new CameraRecorder({ root, camera, segmentMs: 4000, now: () => wall, framePool: pool, ...options });
  rec.startSession('H264');
  const clip = new ClipStream();
  const packets: Uint8Array[] = [];
  for (let i = 0; i < seconds * 30; i++) {
    for (const p of clip.frames(1)) {
      const bytes = serializeRtp(p);
      packets.push(bytes);
      rec.video(bytes);
    }
    wall += 1000 / 30;
    if (i % 30 === 29) await new Promise((r) => setTimeout(r, 5));
  }
  await rec.close();
  return { packets, pool };
}

test('recorded with slabs used over and over, every sample on disk is the frame that was received', async () => {
  const { packets, pool } = await record('Pool cam', 20, {});
  assert.ok(pool.reused >= 10, `slabs used again ${pool.reused} times (allocated ${pool.allocated})`);
  const expected = expectedFrames(packets);
  const got = await samplesOf('Pool cam');
  assert.equal(got.length, expected.length);
  for (let i = 0; i < got.length; i++) assert.deepEqual(got[i], expected[i], `sample ${i}`);
});

test('events mode: frames kept in the pre-roll are not written over while they wait', async () => {
  const t0 = Date.UTC(2026, 0, 6, 9, 0, 0);
  // Recording from 10 s to 14 s with a 3 s pre-roll: the clip starts at the keyframe at 7 s (or one before).
  const gate = { preRollMs: 3000, recording: (wall: number) => wall - t0 >= 10_000 && wall - t0 < 14_000 };
  const { packets, pool } = await record('Pool events cam', 20, { gate });
  assert.ok(pool.reused > 0, `slabs used again ${pool.reused} times`);
  const segs = listSegments(root, 'Pool events cam');
  assert.equal(segs.length, 2, 'the 4 s segments of one event');
  const startFrame = Math.round(((segs[0]!.start - t0) * 30) / 1000);
  const expected = expectedFrames(packets);
  const got = await samplesOf('Pool events cam');
  assert.ok(got.length >= 30 * 7, `${got.length} samples`);
  for (let i = 0; i < got.length; i++) assert.deepEqual(got[i], expected[startFrame + i], `sample ${i} (frame ${startFrame + i})`);
});
