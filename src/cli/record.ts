import { join } from 'node:path';
import type { Command } from 'commander';
import { DEFAULT_BATCH_MS, RECORDINGS_PRESENCE_SOURCE, Recorder } from '../agent/recorder.js';
import { parseDuration, parseMinFree, parseSize } from '../record/units.js';
import type { RecorderOptions } from '../agent/recorder.js';
import type { PeercamMetrics } from '../metrics/index.js';
import { type Logger, MAX_BATCH_MS, PeercamError } from '../protocol/index.js';
import type { PeerConfig } from '../session/index.js';
import type { Channel } from '../signaling/channel.js';
import { untilSignal } from './camera.js';
import { addNetOptions, engineOptions, logger, peerConfig, presenceOf } from './context.js';
import { dataDir, deviceId } from './home.js';
import { addLanOptions, joinRoom, type LanCliOptions } from './lan.js';
import { startHomeAssistantMember } from './motion.js';

export interface RecordCliOptions {
  out?: string;
  keep: string;
  keepEvents?: string;
  maxDisk?: string;
  minFree: string;
  segment: string;
  cameras?: string;
  mode?: string;
  preRoll?: string;
  postRoll?: string;
  batchMs?: string;
}

interface RecordOptions extends LanCliOptions, RecordCliOptions {
  metricsPort?: string;
  homeassistant?: string;
}

/** The recording flags shared by `peercam record` and `peercam up --record`. */
export function addRecordOptions(cmd: Command): Command {
  return cmd
    .option('--keep <age>', 'delete recordings older than this (e.g. 12h, 7d, 30d)', '7d')
    .option('--keep-events <age>', 'keep recordings that hold a motion event this long instead (e.g. 30d; events mode: every clip); default: --keep')
    .option('--max-disk <size>', 'keep all recordings under this size, oldest deleted first (e.g. 50GB)')
    .option('--min-free <size|%>', 'never let free space on the disk go under this (e.g. 5%, 2GB)', '5%')
    .option('--segment <length>', 'length of one file (e.g. 60s, 10m)', '60s')
    .option('--cameras <names>', 'record only these cameras (comma-separated names or ids)')
    .option('--mode <continuous|events>', 'events: keep only clips around motion events (pre-roll to post-roll)', 'continuous')
    .option('--pre-roll <length>', 'events mode: start clips this much before the motion (at a keyframe, from those kept in memory)', '5s')
    .option('--post-roll <length>', 'events mode: keep this much after an event ends', '10s')
    .option('--batch-ms <ms>', 'ask Node cameras for the media in bursts of this many ms (fewer wake-ups, less CPU; 0: live)', String(DEFAULT_BATCH_MS));
}

export const defaultRecordingsDir = (): string => join(dataDir(), 'recordings');

/** Turns the flags into the recorder's options (throws a bad-config error naming the flag). */
export function recorderSettings(opts: RecordCliOptions, out: string | undefined): Omit<RecorderOptions, 'channel' | 'peerConfig'> {
  const cameras = opts.cameras?.split(',').map((c) => c.trim()).filter(Boolean);
  return {
    root: out ?? opts.out ?? defaultRecordingsDir(),
    keepMs: parseDuration(opts.keep, '--keep'),
    ...(opts.keepEvents !== undefined ? { keepEventsMs: parseDuration(opts.keepEvents, '--keep-events') } : {}),
    ...(opts.maxDisk !== undefined ? { maxBytes: parseSize(opts.maxDisk, '--max-disk') } : {}),
    minFree: parseMinFree(opts.minFree, '--min-free'),
    segmentMs: parseDuration(opts.segment, '--segment'),
    ...(cameras?.length ? { cameras } : {}),
    ...(opts.batchMs !== undefined ? { batchMs: parseBatchMs(opts.batchMs) } : {}),
    ...recordMode(opts),
  };
}

function parseBatchMs(text: string): number {
  const ms = Number(text);
  if (!/^\s*\d+\s*$/.test(text) || ms > MAX_BATCH_MS) throw PeercamError.config(`--batch-ms must be a whole number of ms from 0 to ${MAX_BATCH_MS}, not "${text}".`);
  return ms;
}

function recordMode(opts: RecordCliOptions): Pick<RecorderOptions, 'mode' | 'preRollMs' | 'postRollMs'> {
  const mode = opts.mode ?? 'continuous';
  if (mode !== 'continuous' && mode !== 'events') throw PeercamError.config(`--mode ${mode}: use continuous or events.`);
  // In continuous mode the rolls are the margins around an event that --keep-events keeps.
  const rolls = { preRollMs: parseDuration(opts.preRoll ?? '5s', '--pre-roll'), postRollMs: parseDuration(opts.postRoll ?? '10s', '--post-roll') };
  return mode === 'continuous' ? rolls : { mode, ...rolls };
}

/** Starts a recorder on a joined channel, printing what happens on stderr; with `metrics`, counted there too. */
export async function startRecorder(
  channel: Channel,
  config: PeerConfig,
  settings: ReturnType<typeof recorderSettings>,
  engine: RecorderOptions['engine'],
  log: Logger,
  metrics?: PeercamMetrics,
): Promise<Recorder> {
  const counted = metrics?.recorder();
  if (metrics) {
    metrics.watchDrops(channel);
    metrics.watchLink(channel);
  }
  const recorder = await Recorder.start({
    ...settings,
    channel,
    peerConfig: config,
    ...(engine ? { engine } : {}),
    log,
    onEvent: (line) => process.stderr.write(`peercam record: ${line}\n`),
    ...(counted ? { onActivity: counted.activity } : {}),
  });
  counted?.attach(recorder, settings.root);
  return recorder;
}

export function registerRecord(program: Command): void {
  addLanOptions(
    addNetOptions(
      addRecordOptions(
        program
          .command('record')
          .description('record every camera of the room to disk (fragmented MP4, no re-encoding), kept by age and size')
          .option('--out <dir>', 'recordings folder (default: recordings/ in PEERCAM_HOME)')
          .option('--metrics-port <n>', 'serve Prometheus metrics at http://127.0.0.1:N/metrics (0 = a free port)')
          .option('--homeassistant <url>', "also publish the room's cameras to Home Assistant (MQTT discovery, mqtt://user:pass@host:1883; plaintext there)"),
      ),
    ),
  ).action(async (opts: RecordOptions) => {
    const log = logger(opts);
    const settings = recorderSettings(opts, undefined);
    const presence = { ...presenceOf('recorder', 'viewer'), sources: [RECORDINGS_PRESENCE_SOURCE] };
    const joined = await joinRoom(opts, { id: await deviceId('recorder'), presence }, log);
    try {
      // prom-client is loaded only when asked for.
      const m = opts.metricsPort !== undefined ? await import('../metrics/index.js') : undefined;
      const metrics = m ? new m.PeercamMetrics() : undefined;
      const recorder = await startRecorder(joined.channel, peerConfig(opts, joined.broker), settings, engineOptions(opts), log, metrics);
      const scrape = m && metrics ? await m.serveMetrics(metrics, Number(opts.metricsPort)) : undefined;
      if (scrape) process.stderr.write(`peercam record: metrics at http://127.0.0.1:${scrape.port}/metrics\n`);
      // The recorder's own membership hears the cameras' motion events: it bridges them too.
      const ha = await startHomeAssistantMember(opts, async () => joined.channel, log);
      process.stderr.write(`peercam record: recording into ${settings.root}${settings.mode === 'events' ? ' (motion events only)' : ''}; Ctrl-C to stop\n`);
      await untilSignal();
      process.stderr.write('peercam record: stopping (finishing the open segments)\n');
      await scrape?.close();
      await ha?.close();
      await recorder.close();
    } finally {
      await joined.close();
    }
  });
}
