/**
 * bench:motion (docs/EVENTS.md): one JSON line with
 * - nodeCpuPctPerCamera: the detector's CPU at 5 fps on 178x100 frames, % of one core (analysis only: the frames come
 *   from the camera's own ffmpeg, whose extra scale is not counted);
 * - browserMsPerFrame: a Chromium camera page's analysis time per frame (canvas draw + read-back + detector);
 * - latencyMs p50/p95: from the first RTP packet of the moving box leaving a file camera to the sealed event at a
 *   viewer of the room (memory broker), over every pass of the box;
 * - falseEventsPerHour on an hour of the noise clip with lights changes (analysed at 5 fps, faster than real time);
 * - detections found / expected on the moving-object clip.
 * Runs in its own loopback-only network namespace (root).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';
import { MotionWatch } from '../src/agent/motion.js';
import { MotionDetector } from '../src/events/detector.js';
import { openSource } from '../src/media/sources/index.js';
import { CHROMIUM_ARGS } from '../test/helpers/chromium.js';
import { memoryRoom } from '../test/helpers/memory-room.js';
import { startHubProcess } from '../test/web/hub-process.js';
import { makeMotionClip } from '../test/events/clip.js';
import { isolate, percentile } from './lib.js';

isolate('bench:motion', fileURLToPath(import.meta.url));

const say = (line: string) => process.stderr.write(`# ${line}\n`);
const W = 178;
const H = 100;
const run = promisify(execFile);
/** Passes of the box measured for latency (one per 8 s loop of the clip). */
const PASSES = Number(process.env.MOTION_PASSES ?? 8);

const dir = await mkdtemp(join(tmpdir(), 'peercam-bench-motion-'));
try {
  // An 8 s loop: the box moves from 1 s to 3 s; quiet time 2 s, so each pass is one event.
  const loop = { seconds: 8, moveFrom: 1, moveTo: 3, lightsAt: 6 };
  const moving = await makeMotionClip(dir, loop, 'moving.mp4');
  const noise = await makeMotionClip(dir, { seconds: 30, moveFrom: 99, moveTo: 100, lightsAt: 12 }, 'noise.mp4');

  // CPU and false events: the detector alone on decoded frames.
  const frames = async (file: string) => {
    const { stdout } = await run('ffmpeg', ['-loglevel', 'error', '-i', file, '-vf', `fps=5,scale=${W}:${H},format=gray`, '-f', 'rawvideo', 'pipe:1'], {
      encoding: 'buffer',
      maxBuffer: 1 << 28,
    });
    const out: Uint8Array[] = [];
    for (let o = 0; o + W * H <= stdout.length; o += W * H) out.push(new Uint8Array(stdout.subarray(o, o + W * H)));
    return out;
  };
  const noiseFrames = await frames(noise);
  const hour = 3600 * 5;
  const detector = new MotionDetector({ width: W, height: H, timing: { quietMs: 10_000 } });
  let falseEvents = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < hour; i++) if (detector.push(noiseFrames[i % noiseFrames.length]!, i * 200).transition?.phase === 'start') falseEvents++;
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const cpuMsPerFrame = (cpu.user + cpu.system) / 1000 / hour;
  const nodeCpuPctPerCamera = (cpuMsPerFrame * 5) / 10; // 5 frames per 1000 ms, in % of a core
  say(`detector: ${cpuMsPerFrame.toFixed(3)} ms CPU per frame (${(wallMs / hour).toFixed(3)} ms wall), ${falseEvents} false events in an hour of noise`);

  const movingFrames = await frames(moving);
  const offline = new MotionDetector({ width: W, height: H, timing: { quietMs: 2000 } });
  let found = 0;
  const loops = 20;
  for (let i = 0; i < loops * movingFrames.length; i++) if (offline.push(movingFrames[i % movingFrames.length]!, i * 200).transition?.phase === 'start') found++;
  say(`moving clip: ${found} events for ${loops} passes`);

  // Latency through a real file camera and a room.
  const { channels } = await memoryRoom(['camera', 'viewer']);
  const [camera, viewer] = channels as [(typeof channels)[0], (typeof channels)[0]];
  const source = await openSource(`file:${moving}`, { width: 320, height: 180, fps: 30, gopSeconds: 1, audio: false, analysis: {} });
  const watch = await MotionWatch.start({ channel: camera, source, name: 'bench', timing: { quietMs: 2000 } });
  /** When the first packet of each pass of the box left the source. */
  const boxAt: number[] = [];
  let ts0: number | undefined;
  let lastLoop = -1;
  source.on('packet', (p, kind) => {
    if (kind !== 'video') return;
    ts0 ??= p.timestamp;
    const clipSeconds = (((p.timestamp - ts0) >>> 0) / 90000) % loop.seconds;
    const n = Math.floor(((p.timestamp - ts0) >>> 0) / 90000 / loop.seconds);
    if (clipSeconds >= loop.moveFrom && n !== lastLoop) {
      lastLoop = n;
      boxAt.push(Date.now());
    }
  });
  const latencies: number[] = [];
  viewer.on('message', (e) => {
    if (e.type !== 'motion' || e.body.phase !== 'start') return;
    const at = boxAt.at(-1);
    if (at !== undefined) latencies.push(Date.now() - at);
  });
  const until = Date.now() + PASSES * loop.seconds * 1000 + 3000;
  while (Date.now() < until && latencies.length < PASSES) await new Promise((r) => setTimeout(r, 200));
  watch.close();
  await source.stop();
  await Promise.all(channels.map((c) => c.close()));
  say(`latency over ${latencies.length} passes: ${JSON.stringify(latencies)}`);

  // A Chromium camera page analysing the same clip.
  const y4m = join(dir, 'moving.y4m');
  await run('ffmpeg', ['-y', '-loglevel', 'error', '-i', moving, '-pix_fmt', 'yuv420p', y4m]);
  const hub = await startHubProcess({ demo: false });
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: [...CHROMIUM_ARGS, '--use-fake-ui-for-media-stream', `--use-file-for-fake-video-capture=${y4m}`] });
  let browserMsPerFrame = Number.NaN;
  try {
    const page = await browser.newPage();
    const url = new URL(hub.link);
    await page.goto(`${url.origin}/camera.html?autostart=1${url.hash}`);
    await page.waitForFunction(() => Number(document.body.dataset.motionMsPerFrame ?? 0) > 0 && performance.now() > 15_000, undefined, { timeout: 60_000 });
    browserMsPerFrame = Number(await page.evaluate(() => document.body.dataset.motionMsPerFrame));
  } finally {
    await browser.close();
    await hub.close();
  }

  const load = (await import('node:os')).loadavg()[0] ?? 0;
  process.stdout.write(
    `${JSON.stringify({
      bench: 'motion',
      analysis: `${W}x${H} @ 5 fps`,
      nodeCpuPctPerCamera: Number(nodeCpuPctPerCamera.toFixed(3)),
      nodeMsPerFrame: Number(cpuMsPerFrame.toFixed(3)),
      browserMsPerFrame,
      latencyMs: { p50: percentile(latencies, 50), p95: percentile(latencies, 95), n: latencies.length },
      falseEventsPerHour: falseEvents,
      detections: { found, expected: loops },
      loadAverage: Number(load.toFixed(1)),
    })}\n`,
  );
} finally {
  await rm(dir, { recursive: true, force: true });
}
