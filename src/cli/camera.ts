import type { Command } from 'commander';
import { WhipOut } from '../agent/whip-out.js';
import { openSource } from '../media/sources/index.js';
import { Speaker } from '../media/speaker/index.js';
import { PeercamError } from '../protocol/index.js';
import { addNetOptions, engineOptions, logger, peerConfig, presenceOf } from './context.js';
import { deviceId } from './home.js';
import { addLanOptions, joinRoom, type LanCliOptions } from './lan.js';
import { addMotionOptions, analysisOption, type MotionCliOptions, startMotion } from './motion.js';

interface CameraOptions extends LanCliOptions, MotionCliOptions {
  source: string;
  name?: string;
  gop?: string;
  size?: string;
  fps?: string;
  bitrate?: string;
  cache: boolean;
  maxViewers?: string;
  codec: string;
  metricsPort?: string;
  /** true for `--speaker` alone (the default output). */
  speaker?: string | true;
  mic?: string;
  whipOut?: string;
  token?: string;
}

export function registerCamera(program: Command): void {
  addMotionOptions(addLanOptions(addNetOptions(
    program
      .command('camera')
      .description('make this machine a camera of the room')
      .option('--source <spec>', 'demo | testsrc | file:PATH | v4l2:/dev/videoN | rtsp://...', 'demo')
      .option('--name <name>', 'name shown to viewers (default: the source and host name)')
      .option('--gop <seconds>', 'keyframe interval of encoded sources', '4')
      .option('--size <WxH>', 'encoded size', '1280x720')
      .option('--fps <n>', 'encoded frame rate', '30')
      .option('--bitrate <kbps>', 'encoded bitrate', '2000')
      .option('--codec <h264|vp8>', 'preferred video codec (the encode always running); viewers without it get the other from a second encode', 'h264')
      .option('--no-cache', 'do not start new viewers from the cached keyframe (for measurements)')
      .option('--max-viewers <n>', 'viewers served at once', '64')
      .option('--metrics-port <n>', 'serve Prometheus metrics at http://127.0.0.1:N/metrics')
      .option('--speaker [device]', "play viewers' talk-back here: default, hw:1,0, plughw:1,0, alsa:NAME, pulse, pulse:SINK (default: ALSA default)")
      .option('--mic <device>', 'send this microphone with testsrc or v4l2 video: default, plughw:1,0, alsa:NAME, pulse, pulse:SOURCE')
      .option('--whip-out <url>', 'also publish to this WHIP server (an SFU, media server, CDN, a hub\'s /whip/<name>) beside the P2P viewers')
      .option('--token <token>', 'bearer token for --whip-out'),
  ))).action(async (opts: CameraOptions) => {
    const log = logger(opts);
    const name = opts.name ?? `${opts.source.split(/[:/]/).filter(Boolean).pop() ?? 'camera'}@${(await import('node:os')).hostname()}`;
    const id = await deviceId(`camera:${name}`);
    const [w, h] = (opts.size ?? '1280x720').split('x').map(Number);
    const say = (line: string) => process.stdout.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);
    const codec = opts.codec.toLowerCase();
    if (codec !== 'h264' && codec !== 'vp8') throw PeercamError.config(`--codec ${opts.codec}: use h264 or vp8.`);
    // The source first: once our presence is out, viewers offer at once, and the answer needs the source.
    const sourceOptions = {
      codec: codec === 'vp8' ? ('VP8' as const) : ('H264' as const),
      ...(w && h ? { width: w, height: h } : {}),
      fps: Number(opts.fps),
      bitrate: Number(opts.bitrate) * 1000,
      gopSeconds: Number(opts.gop),
      ...(opts.mic !== undefined ? { mic: opts.mic } : {}),
    };
    const source = await openSource(opts.source, { ...sourceOptions, ...analysisOption(opts), logger: log });
    const speaker = opts.speaker === undefined ? undefined : openSpeaker(opts.speaker === true ? 'default' : opts.speaker, log, say);
    const joined = await joinRoom(opts, { id, presence: presenceOf(name, 'camera'), mdnsName: name }, log).catch(async (err: unknown) => {
      await speaker?.stop();
      await source.stop();
      throw err;
    });
    const { channel, broker, room, node } = joined;
    speaker?.on('talk', (viewer, change) => say(`talk-back from ${node.devices.get(viewer)?.name ?? viewer} ${change}`));
    // The library's publish: the CameraAgent it starts is closed by leaving the room (joined.close()).
    const agent = await node.publish(source, {
      sourceOptions,
      name,
      keyframeCache: opts.cache,
      maxViewers: Number(opts.maxViewers ?? 64),
      ...(speaker ? { speaker } : {}),
      on: {
        viewer: (e) => say(`viewer ${e.viewer} ${e.change}${e.reason ? ` (${e.reason})` : ''}; ${e.viewers} watching`),
        source: (state, reason) => say(`source ${state}${reason ? `: ${reason}` : ''}`),
        encode: (codec, state, reason) => say(`${codec} encode ${state}${reason ? `: ${reason}` : ''}`),
      },
    });
    // prom-client is loaded only when asked for.
    const m = opts.metricsPort !== undefined ? await import('../metrics/index.js') : undefined;
    const metrics = m ? new m.PeercamMetrics() : undefined;
    metrics?.watchCamera(agent, name);
    metrics?.watchDrops(channel);
    metrics?.watchLink(channel);
    const motion = await startMotion(opts, { channel, source, name, id }, log, say);
    if (motion) metrics?.watchMotion(motion.watch, name);
    const scrape = m && metrics ? await m.serveMetrics(metrics, Number(opts.metricsPort)) : undefined;
    if (scrape) say(`metrics at http://127.0.0.1:${scrape.port}/metrics`);
    const whipOut = opts.whipOut
      ? new WhipOut({ url: opts.whipOut, ...(opts.token ? { token: opts.token } : {}), camera: agent, config: peerConfig(opts, broker), engine: engineOptions(opts), log })
      : undefined;
    whipOut?.on('state', (state, detail) => say(`WHIP output ${state}${detail ? `: ${detail}` : ''}`));
    whipOut?.start();
    say(`camera "${name}" (${id}) is live in room ${room.id} via ${joined.describe()}, source ${opts.source}`);
    joined.lan?.on('broker', (url, change, detail) => say(`broker ${url} ${change}${detail ? `: ${detail}` : ''}`));
    node.on('state', (state, detail) => say(`${joined.lan ? 'signaling' : 'broker'} ${state}${detail ? `: ${detail}` : ''}`));
    await untilSignal();
    say('stopping');
    await scrape?.close();
    await whipOut?.close();
    motion?.close();
    // Leaving closes the camera (its viewers hang up) and clears its presence; the source and speaker are ours.
    await joined.close();
    await speaker?.stop();
    await source.stop();
  });
}

/**
 * The talk-back player for `--speaker`. A player that cannot run (no ffmpeg) or cannot open its device is reported
 * and the camera goes on without it: video matters more than the speaker.
 */
function openSpeaker(device: string, log: ReturnType<typeof logger>, say: (line: string) => void): Speaker | undefined {
  let speaker: Speaker;
  try {
    speaker = Speaker.open(device, { logger: log });
  } catch (err) {
    if (err instanceof PeercamError && err.code === 'bad-config') throw err;
    say(`speaker off: ${(err as Error).message} The camera runs without talk-back.`);
    return undefined;
  }
  const where = device === 'default' ? 'the default output (ALSA default)' : device;
  speaker.on('state', (state, reason) => {
    if (state === 'ready') say(`speaker ready: viewers' talk-back plays on ${where}`);
    else if (state === 'restarting' || state === 'failed')
      say(`speaker ${state}: ${reason ?? 'unknown reason'}. The camera keeps running; check --speaker (e.g. pactl list short sinks, aplay -L).`);
  });
  return speaker;
}

/** Resolves on SIGINT or SIGTERM, so the camera can hang up and clear its presence. */
export function untilSignal(): Promise<void> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
}
