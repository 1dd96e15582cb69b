import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { parseRtp, serializeRtp } from '../../src/media/rtp.js';
import { readRtp } from '../../src/record/assembler.js';
import { CameraRecorder } from '../../src/record/camera-recorder.js';
import { listSegments } from '../../src/record/store.js';
import { waitFor } from '../helpers/wait.js';
import { ClipStream } from '../media/clip.js';

const root = mkdtempSync(join(tmpdir(), 'peercam-rec-path-'));
after(() => rmSync(root, { recursive: true, force: true }));

test('readRtp (the per-packet header read) gives what parseRtp gives: CSRCs, extension, padding; malformed -> undefined', () => {
  const payload = Uint8Array.from({ length: 40 }, (_, i) => i);
  const cases = [
    { csrcs: [], paddingSize: 0 },
    { csrcs: [1, 2, 3], paddingSize: 0 },
    { csrcs: [7], paddingSize: 5, extension: { profile: 0xbede, data: Uint8Array.of(0x10, 0xaa, 0, 0, 0x21, 1, 2, 0) } },
    { csrcs: [], paddingSize: 1, extension: { profile: 0x1000, data: new Uint8Array(0) } },
  ];
  for (const c of cases) {
    const bytes = serializeRtp({ marker: true, payloadType: 102, sequenceNumber: 65535, timestamp: 0xfffffff0, ssrc: 0x89abcdef, payload, ...c });
    const want = parseRtp(bytes);
    const got = readRtp(bytes);
    assert.ok(got);
    assert.deepEqual(
      [got.marker, got.payloadType, got.sequenceNumber, got.timestamp, got.ssrc, got.paddingSize, [...got.payload]],
      [want.marker, want.payloadType, want.sequenceNumber, want.timestamp, want.ssrc, want.paddingSize, [...want.payload]],
    );
  }
  const good = serializeRtp({ marker: false, payloadType: 96, sequenceNumber: 1, timestamp: 2, ssrc: 3, csrcs: [], payload, paddingSize: 0 });
  assert.equal(readRtp(good.subarray(0, 11)), undefined, 'shorter than the header');
  assert.equal(readRtp(Uint8Array.of(0x40, ...good.subarray(1))), undefined, 'version 1');
  assert.equal(readRtp(Uint8Array.of(0x8f, ...good.subarray(1, 20))), undefined, '15 CSRCs that are not there');
  const badPad = Uint8Array.from(good);
  badPad[0] = 0xa0;
  badPad[badPad.length - 1] = 0;
  assert.equal(readRtp(badPad), undefined, 'padding size 0');
});

test('batched writes: a fragment is on disk once the frame after the next keyframe came, with no flush', async () => {
  // The demo clip has an IDR at frames 0, 30, 60. Frames 0-29 are the first fragment; the muxer closes it when it is
  // given frame 30, which the file does when frame 31 tells frame 30's duration. Writing a fragment's frames in one
  // step must not hold them back any longer than that (what a crash loses).
  let wall = Date.UTC(2026, 0, 5, 12, 0, 0);
  const rec = new CameraRecorder({ root, camera: 'Batch cam', segmentMs: 60_000, now: () => wall });
  rec.startSession('H264');
  const clip = new ClipStream();
  for (let i = 0; i <= 31; i++) {
    for (const p of clip.frames(1)) rec.video(serializeRtp(p));
    wall += 1000 / 30;
  }
  const moofs = () => {
    const open = listSegments(root, 'Batch cam').find((s) => s.open);
    return open ? countBoxes(readFileSync(open.path), 'moof') : 0;
  };
  await waitFor(() => moofs() === 1, { timeoutMs: 20_000, what: 'the first fragment (frames 0-29) on disk', intervalMs: 20 });
  await rec.close();
  const segs = listSegments(root, 'Batch cam');
  assert.equal(segs.length, 1);
  assert.equal(countBoxes(readFileSync(segs[0]!.path), 'moof'), 2, 'frames 30-31 are the second, written at close');
});

/** Top-level boxes of one type in an MP4. */
function countBoxes(file: Buffer, type: string): number {
  let n = 0;
  for (let o = 0; o + 8 <= file.length; ) {
    const size = file.readUInt32BE(o);
    if (file.toString('latin1', o + 4, o + 8) === type) n++;
    if (size < 8) break;
    o += size;
  }
  return n;
}
