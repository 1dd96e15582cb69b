import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { encodeJpeg420 } from '../../src/events/jpeg.js';

const dir = mkdtempSync(join(tmpdir(), 'peercam-jpeg-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A 178x100 YUV 4:2:0 frame: luma and chroma gradients, a bright box, noise (edges not a multiple of 16). */
function frame(w: number, h: number): Uint8Array {
  const out = new Uint8Array((w * h * 3) / 2);
  let seed = 1;
  const noise = () => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return (seed >>> 24) % 9;
  };
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) out[y * w + x] = x >= 60 && x < 90 && y >= 30 && y < 60 ? 235 : 30 + ((x + y) % 160) + noise();
  for (let i = 0; i < (w / 2) * (h / 2); i++) {
    out[w * h + i] = 64 + ((i * 3) % 128);
    out[w * h + (w / 2) * (h / 2) + i] = 200 - ((i * 5) % 128);
  }
  return out;
}

test('baseline JPEG from YUV 4:2:0: ffmpeg decodes it to the same picture, in about a millisecond', () => {
  const [w, h] = [178, 100];
  const yuv = frame(w, h);
  const jpeg = encodeJpeg420(w, h, yuv, 90);
  assert.deepEqual([...jpeg.subarray(0, 2), ...jpeg.subarray(-2)], [0xff, 0xd8, 0xff, 0xd9]);
  const file = join(dir, 'a.jpg');
  writeFileSync(file, jpeg);
  const decoded = execFileSync('ffmpeg', ['-v', 'error', '-i', file, '-f', 'rawvideo', '-pix_fmt', 'yuvj420p', 'pipe:1'], { maxBuffer: 1 << 24 });
  assert.equal(decoded.length, yuv.length);
  // yuvj420p: the JPEG's own planes, no range conversion. Luma, then the chroma planes.
  let err = 0;
  for (let i = 0; i < w * h; i++) err += Math.abs(decoded[i]! - yuv[i]!);
  assert.ok(err / (w * h) < 4, `mean luma error ${(err / (w * h)).toFixed(2)}`);
  let cerr = 0;
  for (let i = w * h; i < yuv.length; i++) cerr += Math.abs(decoded[i]! - yuv[i]!);
  assert.ok(cerr / (yuv.length - w * h) < 4, `mean chroma error ${(cerr / (yuv.length - w * h)).toFixed(2)}`);
  const t0 = performance.now();
  for (let i = 0; i < 20; i++) encodeJpeg420(w, h, yuv, 70);
  process.stdout.write(`# jpeg: ${((performance.now() - t0) / 20).toFixed(2)} ms per 178x100 snapshot, ${encodeJpeg420(w, h, yuv, 70).length} bytes\n`);
  assert.throws(() => encodeJpeg420(177, 100, yuv), /even sizes/);
  // Video levels (ffmpeg's yuv420p: black 16, white 235) stretch to JPEG's full range.
  const levels = new Uint8Array((16 * 16 * 3) / 2).fill(128);
  levels.fill(16, 0, 128);
  levels.fill(235, 128, 256);
  writeFileSync(file, encodeJpeg420(16, 16, levels, 95, 'limited'));
  const back = execFileSync('ffmpeg', ['-v', 'error', '-i', file, '-f', 'rawvideo', '-pix_fmt', 'yuvj420p', 'pipe:1']);
  assert.ok(back[0]! <= 3 && back[255]! >= 252, `black ${back[0]}, white ${back[255]}`);
});
