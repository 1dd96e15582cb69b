import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { shutdownNdc } from '../../src/media/ndc/index.js';
import { serializeRtp } from '../../src/media/rtp.js';
import { IngestSource } from '../../src/media/sources/ingest.js';
import { cameraRig } from '../helpers/camera-rig.js';
import { ClipStream } from '../media/clip.js';

after(() => shutdownNdc());

/** NTP (RFC 3550 4: seconds since 1900) to Unix ms. */
const NTP_UNIX_MS = 2_208_988_800_000;

interface Arrival {
  readonly ts: number;
  readonly at: number;
}

test('a Node camera sends RTCP sender reports for its video and audio that map each RTP clock to the wall clock', async () => {
  // A live source with sound: 30 fps H.264 (keyframe every second) and 20 ms Opus packets, sent as they are captured.
  const source = new IngestSource({ spec: 'test', codec: 'H264', audio: true, requestKeyframe: () => {} });
  const clip = new ClipStream(0x1111, 100, 0x7fff_0000);
  const t0 = performance.now();
  let frames = 0;
  let audio = 0;
  const pace = setInterval(() => {
    const elapsed = performance.now() - t0;
    for (; frames * (1000 / 30) <= elapsed; frames++) for (const p of clip.frames(1)) source.push(serializeRtp(p), 'video');
    for (; audio * 20 <= elapsed; audio++) {
      const packet = { marker: false, payloadType: 111, sequenceNumber: audio & 0xffff, timestamp: (0x1234_5678 + audio * 960) >>> 0, ssrc: 0x2222, csrcs: [], payload: new Uint8Array([0xfc, 0xff, 0xfe]), paddingSize: 0 };
      source.push(serializeRtp(packet), 'audio');
    }
  }, 5);
  const rig = await cameraRig({ source, name: 'sr cam' });
  const reports: { kind: 'video' | 'audio'; ntpMs: number; rtpTs: number; at: number }[] = [];
  const arrivals: Record<'video' | 'audio', Arrival[]> = { video: [], audio: [] };
  try {
    // Join mid-GOP, 1.5 s in: the viewer starts with the cached keyframe and what followed it, sent as a burst.
    await new Promise((r) => setTimeout(r, 1500));
    const session = rig.session({
      audio: true,
      onRtp: (packet, kind) => arrivals[kind].push({ ts: Buffer.from(packet).readUInt32BE(4), at: Date.now() }),
      onSenderReport: (sr, kind) => reports.push({ kind, ...sr, at: Date.now() }),
    });
    await session.start();
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && (reports.filter((r) => r.kind === 'video').length < 3 || reports.filter((r) => r.kind === 'audio').length < 3)) await new Promise((r) => setTimeout(r, 100));
    session.close('local', 'test done');
    await session.drain();
  } finally {
    clearInterval(pace);
    await rig.close();
  }
  for (const kind of ['video', 'audio'] as const) {
    const srs = reports.filter((r) => r.kind === kind);
    assert.ok(srs.length >= 3, `${srs.length} ${kind} sender reports`);
    const clock = kind === 'video' ? 90 : 48;
    // Each report, applied to the packets that came live (after the first second of the session), gives their
    // arrival time on loopback: the wall clock at which the camera sent them. A report made from a packet of the
    // join burst (the cached keyframe, 0.5 s old) would be off by about that much.
    const first = arrivals[kind][0]!.at;
    const live = arrivals[kind].filter((a) => a.at > first + 1000);
    assert.ok(live.length > 20, `${live.length} live ${kind} packets`);
    for (const sr of srs) {
      const errors = live.map((a) => sr.ntpMs - NTP_UNIX_MS + ((a.ts - sr.rtpTs) | 0) / clock - a.at).sort((a, b) => a - b);
      const median = errors[errors.length >> 1]!;
      assert.ok(Math.abs(median) < 100, `${kind} report ${JSON.stringify(sr)}: off by ${median.toFixed(1)} ms (median of ${errors.length} packets)`);
    }
  }
});
