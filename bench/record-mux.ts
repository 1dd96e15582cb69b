/**
 * The recorder's own work, per RTP packet and per frame (issue 10: bench:record's CPU per camera): the shipped demo
 * clip (640x360 H.264, as `peercam camera --source demo` sends it) packetized into RTP, each packet copied into a
 * fresh Buffer as node-datachannel hands it over, then fed through CameraRecorder (depacketize, mux into fragmented
 * MP4, write, fdatasync per fragment) on a fake clock, as fast as it goes. No network and no WebRTC: CPU time per
 * packet stays comparable on a shared, loaded machine where a % of a core does not. Ends with one JSON line.
 *
 *   node --import tsx bench/record-mux.ts [--seconds 600] [--rounds 3]        (add --cpu-prof before it for a profile)
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packetizeH264, splitAccessUnits, splitAnnexB } from '../src/media/h264.js';
import { writeRtp } from '../src/media/rtp.js';
import { DEMO_CLIP } from '../src/media/sources/demo.js';
import { CameraRecorder } from '../src/record/camera-recorder.js';

const arg = (name: string, fallback: string) => {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? (process.argv[at + 1] ?? fallback) : fallback;
};
/** Seconds of video recorded per round. */
const SECONDS = Number(arg('seconds', '600'));
const ROUNDS = Number(arg('rounds', '3'));
const FPS = 30;
const FRAME_TICKS = 90_000 / FPS;

// One loop of the clip as the camera sends it: RTP packets per frame (1200-byte MTU, STAP-A for SPS+PPS).
const units = splitAccessUnits(splitAnnexB(new Uint8Array(await readFile(DEMO_CLIP))));
const frames = units.map((nals) =>
  packetizeH264(nals, { mtu: 1200 }).map(({ payload, marker }) => writeRtp(payload, { marker, payloadType: 102, sequenceNumber: 0, timestamp: 0, ssrc: 0x1234_5678 })),
);

const rows: Record<string, number>[] = [];
for (let round = 0; round < ROUNDS; round++) rows.push(await run());
const best = (key: string) => Math.min(...rows.map((r) => r[key] ?? Number.POSITIVE_INFINITY));
process.stdout.write(
  `${JSON.stringify({ bench: 'record-mux', seconds: SECONDS, rounds: rows, bestUsPerPacket: best('usPerPacket'), bestUsPerFrame: best('usPerFrame'), bestCpuPctPerCamera: best('cpuPctOfCoreAtRealTime') })}\n`,
);

async function run(): Promise<Record<string, number>> {
  const root = await mkdtemp(join(tmpdir(), 'peercam-bench-mux-'));
  let clock = Date.parse('2026-12-05T00:00:00Z');
  const rec = new CameraRecorder({ root, camera: 'bench', segmentMs: 60_000, now: () => clock });
  rec.startSession('H264');
  let seq = 1000;
  let ts = 12_345;
  let packets = 0;
  let bytes = 0;
  const total = SECONDS * FPS;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let f = 0; f < total; f++) {
    for (const template of frames[f % frames.length]!) {
      // node-datachannel hands every packet over in a Buffer of its own: a copy of the serialized packet, with its
      // sequence number and timestamp set (serializing it here would count the camera's work as the recorder's).
      const rtp = Buffer.from(template);
      rtp.writeUInt16BE(seq, 2);
      rtp.writeUInt32BE(ts, 4);
      seq = (seq + 1) & 0xffff;
      rec.video(rtp);
      packets++;
      bytes += rtp.length;
    }
    ts = (ts + FRAME_TICKS) >>> 0;
    clock += 1000 / FPS;
    // Let the writes (and their fdatasync callbacks) run once per second of video, as they would live.
    if (f % FPS === FPS - 1) await rec.flush();
  }
  await rec.close();
  const wallMs = performance.now() - t0;
  const used = process.cpuUsage(cpu0);
  const cpuUs = used.user + used.system;
  await rm(root, { recursive: true, force: true });
  const row = {
    frames: rec.frames,
    packets,
    mbps: Math.round(((bytes * 8) / SECONDS / 1e6) * 100) / 100,
    writtenOverReceived: Math.round((rec.writtenBytes / rec.receivedBytes) * 1000) / 1000,
    wallMs: Math.round(wallMs),
    cpuMs: Math.round(cpuUs / 1000),
    usPerPacket: Math.round((cpuUs / packets) * 100) / 100,
    usPerFrame: Math.round((cpuUs / rec.frames) * 100) / 100,
    /** The recorder's own share of one core for this camera live (its CPU time / the video's duration). */
    cpuPctOfCoreAtRealTime: Math.round((cpuUs / 1e6 / SECONDS) * 100 * 1000) / 1000,
  };
  process.stderr.write(`${JSON.stringify(row)}\n`);
  return row;
}
