import type { Command } from 'commander';
import { findCamera, type WatchReport } from '../agent/watch.js';
import type { NodeWatch } from '../api/node.js';
import { newDeviceId, PeercamError } from '../protocol/index.js';
import { addNetOptions, logger, presenceOf } from './context.js';
import { addLanOptions, type Joined, joinRoom, type LanCliOptions } from './lan.js';

interface WatchCliOptions extends LanCliOptions {
  seconds: string;
  json?: boolean;
  codec?: string;
}

export function registerWatch(program: Command): void {
  addLanOptions(addNetOptions(
    program
      .command('watch')
      .argument('<camera>', 'camera name or device id')
      .description('watch a camera headless: connect, count decodable frames, report')
      .option('--seconds <n>', 'how long to watch after the first frame', '5')
      .option('--codec <h264|vp8>', 'offer only this video codec (as a browser without H.264 does); default both')
      .option('--json', 'print {camera, connectedMs, firstFrameMs, frames, keyframes, bytes, width, height, codec, candidateType, reconnects, stalledMs, audioPackets, audioBytes}'),
  )).action(async (camera: string, opts: WatchCliOptions) => {
    const log = logger(opts);
    const seconds = Number(opts.seconds);
    if (!Number.isFinite(seconds) || seconds <= 0) throw new RangeError(`--seconds must be a positive number, not "${opts.seconds}"`);
    const codec = opts.codec?.toUpperCase();
    if (codec !== undefined && codec !== 'H264' && codec !== 'VP8') throw PeercamError.config(`--codec ${opts.codec}: use h264 or vp8.`);
    const joined = await joinRoom(opts, { id: newDeviceId(), presence: presenceOf('watch', 'viewer') }, log);
    const say = (line: string) => opts.json || process.stderr.write(`${line}\n`);
    try {
      const report = await watchFor(joined, camera, seconds, codec, say);
      if (opts.json) process.stdout.write(`${JSON.stringify(report)}\n`);
      else
        process.stdout.write(
          `${report.camera}: ${report.frames} frames (${report.keyframes} keyframes) ${report.width ?? '?'}x${report.height ?? '?'} ${report.codec ?? ''}, ` +
            `connected ${report.connectedMs ?? '-'} ms, first frame ${report.firstFrameMs ?? '-'} ms, path ${report.candidateType ?? '-'}, ` +
            `${report.reconnects} reconnects, longest stall ${report.stalledMs} ms\n`,
        );
      if (report.frames === 0) {
        process.stderr.write(`peercam: could not watch "${report.camera}": ${report.error}\n`);
        process.exitCode = 1;
      }
    } finally {
      await joined.close();
    }
  });
}

/**
 * Watches through the library's `NodeRoom.watch` (which comes back by itself after a session ends) for `seconds` from
 * the first frame, or `seconds` + 20 s when none arrives, and reports what a decoder could have shown.
 */
async function watchFor(joined: Joined, camera: string, seconds: number, codec: 'H264' | 'VP8' | undefined, say: (line: string) => void): Promise<WatchReport> {
  const started = performance.now();
  const target = await findCamera(joined.channel, camera, 10_000);
  const opened = performance.now();
  let connectedMs: number | undefined;
  let candidateType: string | undefined;
  let lastError: string | undefined;
  let audioPackets = 0;
  let audioBytes = 0;
  let inSession = false;
  const w: NodeWatch = await joined.node.watch(target.id, codec ? { videoCodecs: [codec] } : {});
  w.on('rtp', (packet, kind) => {
    if (kind !== 'audio') return;
    audioPackets++;
    audioBytes += Math.max(0, packet.length - 12);
  });
  w.on('connected', ({ ms, candidateType: type }) => {
    inSession = true;
    connectedMs ??= Math.round(performance.now() - started);
    candidateType = type;
    say(`connected in ${ms} ms (${type ?? 'unknown'} path)`);
  });
  // Why ICE is stuck, as soon as it is (within the ICE timeout), not after the restarts ran out.
  w.on('trouble', (message) => {
    lastError = message;
    say(`cannot connect yet: ${message}`);
  });
  w.on('ended', (reason, message) => {
    inSession = false;
    // A session closed by this side says nothing new; keep the reason the network gave.
    if (!(reason === 'local' && lastError !== undefined)) lastError = message;
    say(`session ended (${reason}): ${message}`);
  });
  // The watch's frame counter starts when it opened; the report counts from the start, as connectedMs does.
  const firstFrameMs = () => (w.stats.firstFrameMs === undefined ? undefined : Math.round(w.stats.firstFrameMs + opened - started));
  const deadline = started + seconds * 1000 + 20_000;
  while (performance.now() < deadline) {
    const first = firstFrameMs();
    if (first !== undefined && performance.now() - started >= first + seconds * 1000) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const stats = { ...w.stats };
  const report: WatchReport = {
    camera: target.name,
    id: target.id,
    connectedMs,
    firstFrameMs: firstFrameMs(),
    frames: stats.frames,
    keyframes: stats.keyframes,
    bytes: stats.bytes,
    width: stats.width,
    height: stats.height,
    codec: w.codec,
    candidateType,
    reconnects: w.reconnects,
    stalledMs: stats.stalledMs,
    audioPackets,
    audioBytes,
  };
  if (report.frames === 0) report.error = lastError ?? 'connected, but no decodable frame arrived';
  await w.close();
  if (inSession) say('session ended (local): watch finished');
  return report;
}
