/**
 * Media benchmark (issue "camera agent"): one `peercam camera` process with a 720p30 2 Mb/s testsrc, 4 s keyframe
 * interval, measured side by side in one run:
 *  - time to first decoded frame in Chromium, with and without the keyframe cache (p50/p95 over --trials, default 12),
 *    for an H.264 viewer and, with the cache, for a VP8-only viewer of the running VP8 second encode (plus the first
 *    frame of the very first VP8 viewer, which starts that encode);
 *  - the camera's CPU per viewer of an already running VP8 encode (1 and 21 headless VP8 viewers);
 *  - the camera process's CPU (% of one core, ffmpeg excluded: it is one encode whatever the viewer count) and RSS at
 *    0, 1, 10 and 50 concurrent headless viewers (node-datachannel, in this process);
 *  - RSS growth of the camera over 100 viewer connect/disconnect cycles (after 10 warm-up cycles).
 * Runs in its own loopback-only network namespace (root). Ends with one JSON line.
 *
 *   npm run bench:media [-- --trials 12 --window 10]
 */
import { CLK_TCK, cpuTicks, rssMb } from './proc.js';
import { fileURLToPath } from 'node:url';
import { FrameCounter } from '../src/agent/frame-counter.js';
import { createViewerPeer, shutdownNdc } from '../src/media/ndc/index.js';
import { newDeviceId, Room } from '../src/protocol/index.js';
import { ViewerSession } from '../src/session/index.js';
import { SealedChannel } from '../src/signaling/channel.js';
import { MqttTransport } from '../src/signaling/mqtt.js';
import { browserRig, launchChromium, watchInBrowser } from '../test/helpers/browser.js';
import { cliHome, runCli, spawnCli } from '../test/helpers/cli.js';
import { childrenNamed } from '../test/helpers/procs.js';
import { isolate, percentile } from './lib.js';
import { NO_ICE } from '../test/helpers/loopback.js';

isolate('bench:media', fileURLToPath(import.meta.url));

const arg = (name: string, fallback: number) => {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? Number(process.argv[at + 1]) : fallback;
};
const TRIALS = arg('trials', 12);
const WINDOW_S = arg('window', 10);
const CYCLES = arg('cycles', 100);
/** `--ttff-only`: just the two Chromium arms (skips the load and connect/disconnect parts). */
const TTFF_ONLY = process.argv.includes('--ttff-only');
/** `--vp8-only`: just the VP8 arms (first frames and CPU per VP8 viewer). */
const VP8_ONLY = process.argv.includes('--vp8-only');
const say = (line: string) => process.stderr.write(`${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function cpuPct(pid: number, seconds: number): Promise<number> {
  const t0 = cpuTicks(pid);
  const w0 = performance.now();
  await sleep(seconds * 1000);
  return Math.round(((cpuTicks(pid) - t0) / CLK_TCK / ((performance.now() - w0) / 1000)) * 1000) / 10;
}

const rig = await browserRig();
const browser = await launchChromium();
const home = await cliHome();
const made = await runCli(['room', 'new', '--no-qr', '--broker', rig.broker.url], home.env);
const link = made.stdout.trim();
const room = await Room.fromLink(link);
const encode = ['--source', 'testsrc', '--size', '1280x720', '--fps', '30', '--bitrate', '2000', '--gop', '4'];

async function startCamera(name: string, extra: string[] = []) {
  const cam = spawnCli(['camera', ...encode, '--name', name, ...extra], home.env);
  await cam.waitFor(/source live/, 30_000);
  await sleep(5000); // let the encoder settle and the cache hold a full GOP
  return cam;
}

async function ttff(camera: string, codec: 'H264' | 'VP8' = 'H264'): Promise<number[]> {
  const page = await rig.page(browser);
  const trials = await watchInBrowser(page, {
    link,
    broker: rig.wsBroker,
    camera,
    trials: TRIALS,
    playMs: 300,
    spreadMs: 4000,
    ...(codec === 'VP8' ? { codecs: ['VP8'] } : {}),
  });
  await page.close();
  const bad = trials.filter((t) => !Number.isFinite(t.ttffMs) || t.framesDecoded === 0);
  if (bad.length) throw new Error(`${bad.length} Chromium trials decoded nothing`);
  const wrong = trials.filter((t) => t.codec !== codec);
  if (wrong.length) throw new Error(`${wrong.length} Chromium trials got ${wrong[0]?.codec}, not ${codec}`);
  return trials.map((t) => t.ttffMs);
}

/** ffmpeg processes the camera runs (one per codec encoded). */
function encoders(pid: number): number {
  return childrenNamed(pid, 'ffmpeg').length;
}

/** N headless viewers, each its own device (channel); resolves once every one has decoded a frame. */
async function headless(cameraName: string, n: number, codec: 'H264' | 'VP8' = 'H264') {
  const channels = Array.from(
    { length: n },
    (_, i) =>
      new SealedChannel(room, new MqttTransport({ url: rig.broker.url }), {
        self: newDeviceId(),
        presence: { name: `bench-viewer-${i}`, role: 'viewer' },
      }),
  );
  // One after another: dozens of MQTT connects at once to the in-process broker time out on a loaded machine.
  for (const c of channels) await c.start();
  const counters: FrameCounter[] = [];
  const why: string[] = [];
  const sessions = await Promise.all(
    channels.map(async (channel) => {
      let target: string | undefined;
      while (!target) {
        target = [...channel.peers.values()].find((p) => p.name === cameraName)?.id;
        if (!target) await sleep(20);
      }
      const counter = new FrameCounter(() => codec);
      counters.push(counter);
      const session = new ViewerSession({
        channel,
        camera: target,
        config: NO_ICE,
        peerFactory: (config) =>
          createViewerPeer(config, { bindAddress: '127.0.0.1', videoCodecs: [codec], onRtp: (p, kind) => kind === 'video' && counter.push(p) }),
      });
      session.on('closed', (reason, message) => why.push(`${reason}: ${message}`));
      await session.start();
      return session;
    }),
  );
  const deadline = Date.now() + 30_000;
  while (counters.length < n || counters.some((c) => c.stats.frames === 0)) {
    if (Date.now() > deadline)
      throw new Error(`only ${counters.filter((c) => c.stats.frames > 0).length}/${n} viewers got a frame; ${why.join('; ')}`);
    await sleep(20);
  }
  return {
    counters,
    async close() {
      for (const s of sessions) s.close();
      await Promise.all(sessions.map((s) => s.drain()));
      await Promise.all(channels.map((c) => c.close()));
    },
  };
}

const results: Record<string, unknown> = {};
try {
  say(`camera: ${encode.join(' ')}; ${TRIALS} Chromium trials per arm; CPU windows of ${WINDOW_S} s`);
  const cached = await startCamera('cache');
  const pid = cached.child.pid!;
  const ttffCache = VP8_ONLY ? [] : await ttff('cache');
  if (!VP8_ONLY) say(`ttff with cache: ${ttffCache.join(' ')} ms`);

  // VP8: the first VP8 viewer starts the second encode; it stays connected, so the Chromium trials and the load
  // measure viewers of an already running VP8 encode.
  if (encoders(pid) !== 1) throw new Error(`${encoders(pid)} encoders before any VP8 viewer`);
  const holder = await headless('cache', 1, 'VP8');
  const vp8ColdFirstFrameMs = Math.round(holder.counters[0]!.stats.firstFrameMs ?? Number.NaN);
  const encodersWithVp8 = encoders(pid);
  say(`first VP8 viewer (starts the VP8 encode): first frame ${vp8ColdFirstFrameMs} ms after its session started; ${encodersWithVp8} ffmpeg processes`);
  await sleep(3000);
  const ttffVp8 = await ttff('cache', 'VP8');
  say(`ttff VP8 with cache (encode running): ${ttffVp8.join(' ')} ms`);
  const vp8Load: Record<number, number> = {};
  let cpuPerVp8Viewer = Number.NaN;
  if (!TTFF_ONLY) {
    vp8Load[1] = await cpuPct(pid, WINDOW_S);
    say(` 1 VP8 viewer: camera ${vp8Load[1]}% of a core (ffmpeg excluded)`);
    const more = await headless('cache', 20, 'VP8');
    await sleep(1000);
    vp8Load[21] = await cpuPct(pid, WINDOW_S);
    const fps = more.counters.reduce((s, c) => s + c.stats.frames, 0) / 20;
    say(`21 VP8 viewers: camera ${vp8Load[21]}% of a core (${Math.round(fps)} frames per viewer so far); ${encoders(pid)} ffmpeg processes`);
    await more.close();
    cpuPerVp8Viewer = Math.round(((vp8Load[21]! - vp8Load[1]!) / 20) * 100) / 100;
  }
  await holder.close();
  if (VP8_ONLY) {
    await cached.stop();
    process.stdout.write(
      `${JSON.stringify({ ttffVp8P50Ms: percentile(ttffVp8, 50), ttffVp8P95Ms: percentile(ttffVp8, 95), vp8ColdFirstFrameMs, encodersWithVp8, cpuPctVp8: vp8Load, cpuPctPerVp8Viewer: cpuPerVp8Viewer })}\n`,
    );
    await browser.close();
    await rig.close();
    await home.remove();
    shutdownNdc();
    process.exit(0);
  }

  const load: Record<number, { cpuPct: number; rssMb: number }> = {};
  let cpuPerViewer = Number.NaN;
  let warm = 0;
  let after = 0;
  const cycleFailures: string[] = [];
  if (!TTFF_ONLY) {
    load[0] = { cpuPct: await cpuPct(pid, WINDOW_S), rssMb: rssMb(pid) };
    say(` 0 viewers: camera ${load[0].cpuPct}% of a core, RSS ${load[0].rssMb} MB`);
    for (const n of [1, 10, 50]) {
      const v = await headless('cache', n);
      await sleep(1000);
      load[n] = { cpuPct: await cpuPct(pid, WINDOW_S), rssMb: rssMb(pid) };
      const fps = v.counters.reduce((s, c) => s + c.stats.frames, 0) / n;
      say(`${String(n).padStart(2)} viewers: camera ${load[n].cpuPct}% of a core, RSS ${load[n].rssMb} MB (${Math.round(fps)} frames per viewer so far)`);
      await v.close();
      await sleep(2000);
    }
    cpuPerViewer = Math.round(((load[50]!.cpuPct - load[0]!.cpuPct) / 50) * 100) / 100;

    for (let i = 0; i < CYCLES + 10; i++) {
      try {
        const v = await headless('cache', 1);
        await v.close();
      } catch (err) {
        cycleFailures.push(String(err));
      }
      if (i === 9) {
        await sleep(1000);
        warm = rssMb(pid);
      }
    }
    await sleep(2000);
    after = rssMb(pid);
    say(`RSS after 10 warm-up cycles ${warm} MB, after ${CYCLES} more ${after} MB; ${cycleFailures.length} failed cycles`);
    for (const f of new Set(cycleFailures)) say(`  failed cycle: ${f}`);
  }
  await cached.stop();

  const plain = await startCamera('nocache', ['--no-cache']);
  const ttffNoCache = await ttff('nocache');
  say(`ttff without cache: ${ttffNoCache.join(' ')} ms`);
  await plain.stop();

  Object.assign(results, {
    trials: TRIALS,
    ttffCacheP50Ms: percentile(ttffCache, 50),
    ttffCacheP95Ms: percentile(ttffCache, 95),
    ttffNoCacheP50Ms: percentile(ttffNoCache, 50),
    ttffNoCacheP95Ms: percentile(ttffNoCache, 95),
    ttffVp8P50Ms: percentile(ttffVp8, 50),
    ttffVp8P95Ms: percentile(ttffVp8, 95),
    vp8ColdFirstFrameMs,
    encodersWithVp8,
    cpuPctVp8At1: vp8Load[1],
    cpuPctVp8At21: vp8Load[21],
    cpuPctPerVp8Viewer: cpuPerVp8Viewer,
    cpuPctIdle: load[0]?.cpuPct,
    cpuPct1: load[1]?.cpuPct,
    cpuPct10: load[10]?.cpuPct,
    cpuPct50: load[50]?.cpuPct,
    cpuPctPerViewer: cpuPerViewer,
    rssMb0: load[0]?.rssMb,
    rssMb50: load[50]?.rssMb,
    rssGrowthMb: TTFF_ONLY ? null : Math.round((after - warm) * 10) / 10,
    cycles: TTFF_ONLY ? 0 : CYCLES,
    failedCycles: cycleFailures.length,
  });
} finally {
  await browser.close();
  await rig.close();
  await home.remove();
  shutdownNdc();
}
process.stdout.write(`${JSON.stringify(results)}\n`);
process.exit(0);
