import type { Command } from 'commander';
import { watch } from '../agent/watch.js';
import { newDeviceId, PeercamError } from '../protocol/index.js';
import { addNetOptions, engineOptions, logger, peerConfig, presenceOf } from './context.js';
import { addLanOptions, joinRoom, type LanCliOptions } from './lan.js';

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
    const { channel, broker } = joined;
    const say = (line: string) => opts.json || process.stderr.write(`${line}\n`);
    try {
      const report = await watch({ channel, camera, seconds, peerConfig: peerConfig(opts, broker), engine: engineOptions(opts), ...(codec ? { videoCodecs: [codec] } : {}), log, onEvent: say });
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
