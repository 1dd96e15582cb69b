import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, test } from 'node:test';
import { parseSenderReports } from '../../src/media/rtcp.js';
import { serializeRtp } from '../../src/media/rtp.js';
import { CameraRecorder } from '../../src/record/camera-recorder.js';
import { listSegments } from '../../src/record/store.js';
import { ClipStream } from '../media/clip.js';

const root = mkdtempSync(join(tmpdir(), 'peercam-avsync-'));
after(() => rmSync(root, { recursive: true, force: true }));
const run = promisify(execFile);

const VIDEO_TS0 = 0xffff0000; // ClipStream's first timestamp
const AUDIO_TS0 = 0x7fff1234;
/** Audio reaches the recorder this much later than the video captured at the same instant. */
const AUDIO_LATE_MS = 310;

/**
 * 6 s of H.264 (30 fps) and Opus (20 ms packets) captured together; the audio arrives 310 ms late. Capture instant c
 * (ms): video RTP VIDEO_TS0 + 90c, audio RTP AUDIO_TS0 + 48c. With `reports`, the camera's sender reports say so.
 */
async function record(camera: string, reports: boolean): Promise<number[]> {
  let wall = Date.UTC(2026, 0, 5, 12, 0, 0);
  const rec = new CameraRecorder({ root, camera, segmentMs: 60_000, now: () => wall });
  rec.startSession('H264');
  const clip = new ClipStream();
  const events: { at: number; run: () => void }[] = [];
  for (let i = 0; i < 180; i++) {
    const c = (i * 1000) / 30;
    const packets = clip.frames(1).map(serializeRtp);
    events.push({
      at: c,
      run: () => {
        for (const p of packets) rec.video(p);
      },
    });
  }
  for (let j = 0; j < 300; j++) {
    const c = j * 20;
    const packet = serializeRtp({ marker: false, payloadType: 111, sequenceNumber: j, timestamp: (AUDIO_TS0 + 960 * j) >>> 0, ssrc: 7, csrcs: [], payload: new Uint8Array([0xfc, 0xff, 0xfe]), paddingSize: 0 });
    events.push({ at: c + AUDIO_LATE_MS, run: () => rec.audio(packet) });
  }
  if (reports) {
    // Sent at capture instant 1000 ms: what an RTCP SR of each track says (parsed from real SR bytes).
    const ntp0 = 3_900_000_000_000;
    events.push({ at: 1000, run: () => rec.senderReport('video', srOf(1, ntp0 + 1000, (VIDEO_TS0 + 90_000) >>> 0)) });
    events.push({ at: 1000 + AUDIO_LATE_MS, run: () => rec.senderReport('audio', srOf(7, ntp0 + 1000, (AUDIO_TS0 + 48_000) >>> 0)) });
  }
  events.sort((a, b) => a.at - b.at);
  const t0 = wall;
  for (const e of events) {
    wall = t0 + e.at;
    e.run();
  }
  await rec.close();
  const seg = listSegments(root, camera).at(-1);
  assert.ok(seg, 'a segment');
  const { stdout } = await run('ffprobe', ['-v', 'error', '-select_streams', 'a', '-show_entries', 'packet=pts_time', '-of', 'csv=p=0', seg.path]);
  return stdout.trim().split('\n').map(Number);
}

/** A sender report as it travels (RFC 3550 6.4.1), read back by the parser the recorder uses. */
function srOf(ssrc: number, ntpMs: number, rtpTs: number) {
  const b = new Uint8Array(28);
  const v = new DataView(b.buffer);
  b[0] = 0x80;
  b[1] = 200;
  v.setUint16(2, 6);
  v.setUint32(4, ssrc);
  v.setUint32(8, Math.floor(ntpMs / 1000));
  v.setUint32(12, Math.round(((ntpMs % 1000) / 1000) * 2 ** 32));
  v.setUint32(16, rtpTs);
  const [sr] = parseSenderReports(b);
  assert.ok(sr && sr.ssrc === ssrc && sr.rtpTs === rtpTs && Math.abs(sr.ntpMs - ntpMs) < 0.001);
  return sr;
}

/** How far the audio sits after the video of the same capture instant (ms): packets are every 20 ms from instant 0. */
const lag = (pts: number[]) => {
  const first = pts[0]!;
  return Math.round(((first * 1000) % 20) * 10) / 10;
};

test('audio lined up with video by the camera’s RTCP sender reports, not by arrival time', async () => {
  const bySr = await record('SR cam', true);
  const byArrival = await record('Arrival cam', false);
  assert.ok(bySr.length > 100 && byArrival.length > 100, `${bySr.length} / ${byArrival.length} audio packets`);
  // Video tick 0 is capture instant 0, so audio packet j belongs at j * 20 ms exactly: a multiple of 20 ms.
  const srLag = lag(bySr);
  assert.ok(srLag < 1 || srLag > 19, `with sender reports the audio sits ${srLag} ms off the 20 ms grid`);
  // By arrival, it sits 310 ms late: 10 ms off the grid (and 300 ms more that the grid cannot show).
  assert.ok(Math.abs(lag(byArrival) - 10) < 3, `by arrival the audio sits ${lag(byArrival)} ms off the grid`);
  const delta = (byArrival[0]! - bySr[0]!) * 1000;
  process.stdout.write(`# audio of the same instant: by sender reports on the grid, by arrival ${delta.toFixed(0)} ms later\n`);
});
