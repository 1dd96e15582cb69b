/**
 * Recorder benchmark (issue 10): `peercam record` recording N demo cameras (the shipped 640x360 H.264 clip, no
 * ffmpeg, each camera its own `peercam camera` process) over the embedded broker, for 1 and 10 cameras:
 *  - the recorder process's CPU (% of one core, per camera) and RSS over a --window (default 20 s) after all connected;
 *  - bytes on disk / RTP bytes received (from the recorder's summary at exit);
 *  - RSS every 2 s over the window (flat or growing: `--window 3600` for the hour);
 *  - playback over the recorder's data channel (a member that reaches it only through the broker, as the web app away
 *    from home): time to open the channel, first clip byte after asking (p50 of 5), and the speed of a whole clip in
 *    multiples of real time (Mb/s over the channel / the clip's bitrate, and / 2 Mb/s);
 *  - the first frame of a recording after "play" in Chromium's Recordings page, over the hub's HTTP API and over the
 *    data channel (bench/record-play.ts; `--play-trials N`, default 10, 0 for none).
 * Runs in its own loopback-only network namespace (root). Ends with one JSON line.
 *
 *   npm run bench:record [-- --window 20 --warmup 3 --cameras 1,10 --cpu-prof DIR --perf --ab OTHER/dist/cli/main.js
 *                            --batch-ms N --ab-batch-ms N --play-trials N]
 */
import { CLK_TCK, cpuTicks, rssMb, threadTicks, threadWakeups, udpReceiveDrops } from './proc.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFileSync, spawn } from 'node:child_process';
import { startEmbeddedBroker } from '../src/hub/broker.js';
import { cliHome, runCli, spawnCli, spawnNode } from '../test/helpers/cli.js';
import { isolate } from './lib.js';
import { Room } from '../src/protocol/index.js';
import { shutdownNdc } from '../src/media/ndc/index.js';
import { openRemoteRecordings } from './record-remote.js';
import { recordingFirstFrames } from './record-play.js';

isolate('bench:record', fileURLToPath(import.meta.url));

const arg = (name: string, fallback: string) => {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? (process.argv[at + 1] ?? fallback) : fallback;
};
const WINDOW_S = Number(arg('window', '20'));
/** `--warmup S`: seconds between the last camera connecting and the window (the recorder's start-up work settling). */
const WARMUP_S = Number(arg('warmup', '3'));
const COUNTS = arg('cameras', '1,10').split(',').map(Number);
/** `--cpu-prof DIR`: the recorder writes a V8 CPU profile there at exit (open it in Chrome DevTools). */
const PROFILE_DIR = arg('cpu-prof', '');
/**
 * `--ab PATH`: a second recorder from another build (PATH = its dist/cli/main.js, e.g. main's) records the same
 * cameras at the same time; its CPU over the same window is printed beside (`ab`): a paired before/after that the
 * load of a shared machine moves alike.
 */
const AB = arg('ab', '');
/** `--batch-ms N` / `--ab-batch-ms N`: the recorder's (the second recorder's) `--batch-ms`; default: its own default. */
const BATCH = arg('batch-ms', '');
const AB_BATCH = arg('ab-batch-ms', '');
/** `--node-flags "..."`: V8/Node flags for the recorder's process (e.g. `--single-threaded-gc`; NODE_OPTIONS refuses some). */
const NODE_FLAGS = arg('node-flags', '').split(' ').filter(Boolean);
/** `--perf`: the recorder writes /tmp/perf-PID.map (JS symbols for `perf record -p PID`); its pid is printed. */
const PERF = process.argv.includes('--perf');
const PLAY_TRIALS = Number(arg('play-trials', '10'));
/**
 * `--hd`: the cameras loop a 1280x720 30 fps clip at 2 Mb/s (4 s GOP, encoded once by ffmpeg at start; no encoder runs
 * during the window) instead of the 640x360 demo clip at ~0.6 Mb/s: the "10 cameras at 720p30 2 Mb/s".
 */
const HD = process.argv.includes('--hd');
const say = (line: string) => process.stderr.write(`${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const broker = await startEmbeddedBroker({ host: '127.0.0.1', port: 0 });
const home = await cliHome();
await runCli(['room', 'new', '--no-qr', '--broker', `mqtt://127.0.0.1:${broker.port}`], home.env);
const shown = JSON.parse((await runCli(['room', 'show', '--json'], home.env)).stdout) as { link: string };
const room = await Room.fromLink(shown.link);
const result: Record<string, unknown> = { bench: 'record', windowS: WINDOW_S, warmupS: WARMUP_S };

const hdClip = HD ? await makeHdClip() : '';
const hdCamera = fileURLToPath(new URL('./hd-camera.ts', import.meta.url));
if (HD) result.cameraClip = '1280x720 30 fps H.264, 2 Mb/s, 4 s GOP';

for (const n of COUNTS) {
  const out = await mkdtemp(join(tmpdir(), 'peercam-bench-rec-'));
  const cameras = [];
  for (let i = 0; i < n; i++) {
    const c = HD
      ? spawnNode(hdCamera, [shown.link, `mqtt://127.0.0.1:${broker.port}`, `cam${i}`, hdClip], home.env, ['--import', 'tsx'])
      : spawnCli(['camera', '--source', 'demo', '--name', `cam${i}`], home.env);
    cameras.push(c);
    await c.waitFor(/is live in room/, 180_000);
  }
  const nodeArgs = [...(PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`] : []), ...(PERF ? ['--perf-basic-prof'] : []), ...NODE_FLAGS];
  const rec = spawnCli(['record', '--out', out, '--segment', '60s', ...(BATCH ? ['--batch-ms', BATCH] : [])], home.env, nodeArgs);
  const pid = rec.child.pid ?? 0;
  const outB = AB ? await mkdtemp(join(tmpdir(), 'peercam-bench-rec-ab-')) : '';
  const recB = AB ? spawn(process.execPath, [AB, 'record', '--out', outB, '--segment', '60s', ...(AB_BATCH ? ['--batch-ms', AB_BATCH] : [])], { env: home.env, stdio: ['ignore', 'pipe', 'pipe'] }) : undefined;
  let outputB = '';
  recB?.stdout?.on('data', (d: Buffer) => (outputB += d.toString()));
  recB?.stderr?.on('data', (d: Buffer) => (outputB += d.toString()));
  const pidB = recB?.pid ?? 0;
  const deadline = Date.now() + 180_000;
  const connected = (text: string) => text.match(/" connected/g)?.length ?? 0;
  while ((connected(rec.output()) < n || (recB && connected(outputB) < n)) && Date.now() < deadline) await sleep(200);
  await sleep(WARMUP_S * 1000);
  if (PERF) say(`${n} camera(s): recorder pid ${pid}, window of ${WINDOW_S} s starts`);
  const t0 = cpuTicks(pid);
  const threads0 = threadTicks(pid);
  const tB0 = pidB ? cpuTicks(pidB) : 0;
  const threadsB0 = pidB ? threadTicks(pidB) : new Map<string, number>();
  const wakes0 = threadWakeups(pid);
  const wakesB0 = pidB ? threadWakeups(pidB) : new Map<string, number>();
  const drops0 = udpReceiveDrops(pid);
  const w0 = performance.now();
  const rssSamples: number[] = [];
  const rssSamplesB: number[] = [];
  /** Long runs (the hour by hand): RSS at the start of the window and every 10 minutes, printed as it goes. */
  const rssEvery10Min: number[] = [rssMb(pid)];
  if (WINDOW_S >= 1200) say(`${n} camera(s): RSS ${rssEvery10Min[0]} MB at the start of the window`);
  while (performance.now() - w0 < WINDOW_S * 1000) {
    await sleep(2000);
    rssSamples.push(rssMb(pid));
    if (pidB) rssSamplesB.push(rssMb(pidB));
    if (WINDOW_S >= 1200 && rssSamples.length % 300 === 0) {
      rssEvery10Min.push(rssSamples.at(-1) ?? 0);
      say(`${n} camera(s): RSS ${rssSamples.at(-1)} MB after ${Math.round((performance.now() - w0) / 60_000)} min`);
    }
  }
  const windowS = (performance.now() - w0) / 1000;
  const cpu = ((cpuTicks(pid) - t0) / CLK_TCK / windowS) * 100;
  const cpuB = pidB ? ((cpuTicks(pidB) - tB0) / CLK_TCK / windowS) * 100 : 0;
  /** Wake-ups a second by thread (voluntary context switches: each is a sleep that a wake-up ended). */
  const wakeRates = (p: number, before: Map<string, number>) => {
    const rates: Record<string, number> = {};
    for (const [name, count] of threadWakeups(p)) {
      const rate = Math.round((count - (before.get(name) ?? 0)) / windowS);
      if (rate > 0) rates[name] = rate;
    }
    return rates;
  };
  const wakeups = wakeRates(pid, wakes0);
  const wakeupsB = pidB ? wakeRates(pidB, wakesB0) : {};
  const udpDrops = udpReceiveDrops(pid) - drops0;
  const byThreadB: Record<string, number> = {};
  if (pidB)
    for (const [name, ticks] of threadTicks(pidB)) {
      const pct = Math.round(((ticks - (threadsB0.get(name) ?? 0)) / CLK_TCK / windowS) * 1000) / 10;
      if (pct > 0) byThreadB[name] = pct;
    }
  if (recB) {
    recB.kill('SIGTERM');
    await new Promise((r) => recB.once('close', r));
    await rm(outB, { recursive: true, force: true });
  }
  // Where it went: the main thread (JavaScript: depacketizing, muxing, writing) and node-datachannel's threads.
  const byThread: Record<string, number> = {};
  for (const [name, ticks] of threadTicks(pid)) {
    const pct = Math.round(((ticks - (threads0.get(name) ?? 0)) / CLK_TCK / windowS) * 1000) / 10;
    if (pct > 0) byThread[name] = pct;
  }
  const rss = rssMb(pid);
  const remote = await remotePlayback();
  await rec.stop();
  let received = 0;
  let written = 0;
  let frames = 0;
  let packets = 0;
  for (const m of rec.output().matchAll(/(\d+) frames(?: \((\d+) RTP packets\))?, (\d+) RTP bytes received, (\d+) bytes written/g)) {
    frames += Number(m[1]);
    packets += Number(m[2] ?? 0);
    received += Number(m[3]);
    written += Number(m[4]);
  }
  // Both clips are 30 fps: the window saw 30 frames a second per camera, and packets in the run's proportion.
  const cpuUsPerFrame = (cpu / 100) * 1e6 / (30 * n);
  await Promise.all(cameras.map((c) => c.stop()));
  await rm(out, { recursive: true, force: true });
  const row = {
    cpuPct: Math.round(cpu * 10) / 10,
    cpuPctPerCamera: Math.round((cpu / n) * 100) / 100,
    cpuPctByThread: byThread,
    wakeupsPerSByThread: wakeups,
    udpReceiveDrops: udpDrops,
    cpuUsPerFrame: Math.round(cpuUsPerFrame),
    cpuUsPerPacket: packets ? Math.round((cpuUsPerFrame * frames) / packets) : null,
    rssMb: rss,
    rssFirstMb: rssSamples[0],
    rssSlopeMbPerMin: Math.round(slope(rssSamples, 2) * 60 * 100) / 100,
    ...(WINDOW_S >= 1200 ? { rssEvery10MinMb: rssEvery10Min } : {}),
    ...(pidB ? { ab: { cpuPct: Math.round(cpuB * 10) / 10, cpuPctPerCamera: Math.round((cpuB / n) * 100) / 100, cpuPctByThread: byThreadB, wakeupsPerSByThread: wakeupsB, rssMb: rssSamplesB.at(-1), rssFirstMb: rssSamplesB[0] } } : {}),
    ...remote,
    diskOverRtp: received ? Math.round((written / received) * 1000) / 1000 : null,
  };
  say(`${n} camera(s): ${JSON.stringify(row)}`);
  result[`cameras${n}`] = row;
}
await broker.close();
await home.remove();
if (hdClip) await rm(dirname(hdClip), { recursive: true, force: true });
if (PLAY_TRIALS > 0) {
  const play = await recordingFirstFrames(PLAY_TRIALS);
  say(`first frame after "play": ${JSON.stringify(play)}`);
  result.playFirstFrameMs = { http: { p50: play.http.p50, p95: play.http.p95, n: play.http.n }, dataChannel: { p50: play.dataChannel.p50, p95: play.dataChannel.p95, n: play.dataChannel.n } };
}
process.stdout.write(`${JSON.stringify(result)}\n`);
shutdownNdc();
process.exit(0);

/** `--hd`'s clip: 12 s of testsrc2 at 1280x720 30 fps, 2 Mb/s constant, a keyframe every 4 s, as Annex-B H.264. */
async function makeHdClip(): Promise<string> {
  const file = join(await mkdtemp(join(tmpdir(), 'peercam-bench-hd-')), 'hd.h264');
  const encode = ['-c:v', 'libx264', '-profile:v', 'baseline', '-pix_fmt', 'yuv420p', '-b:v', '2M', '-maxrate', '2M', '-bufsize', '1M', '-g', '120', '-bf', '0'];
  execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=30', '-t', '12', ...encode, '-f', 'h264', file]);
  return file;
}

/** Least-squares slope of samples taken every `everyS` seconds (per second). */
function slope(ys: readonly number[], everyS: number): number {
  const n = ys.length;
  if (n < 2) return 0;
  const mx = ((n - 1) * everyS) / 2;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  ys.forEach((y, i) => {
    num += (i * everyS - mx) * (y - my);
    den += (i * everyS - mx) ** 2;
  });
  return num / den;
}

/** The recorder's data channel, as a member away from home: open, first byte, whole-clip speed. */
async function remotePlayback(): Promise<Record<string, number>> {
  const remote = await openRemoteRecordings(room, `mqtt://127.0.0.1:${broker.port}`);
  try {
    const cams = (await remote.overview()).cameras;
    const camera = cams[0]?.camera ?? 'cam0';
    const span = (await remote.spans(camera)).at(-1);
    if (!span) return { dcOpenMs: Math.round(remote.openMs) };
    const start = Date.parse(span.start);
    const firsts: number[] = [];
    for (let i = 0; i < 5; i++) firsts.push((await remote.clip(camera, start + i * 2000, 4)).firstByteMs);
    const whole = await remote.clip(camera, start, span.duration);
    const mbps = (whole.bytes * 8) / (whole.totalMs * 1000);
    const clipMbps = (whole.bytes * 8) / (whole.header.durationMs * 1000);
    return {
      dcOpenMs: Math.round(remote.openMs),
      dcFirstByteP50Ms: Math.round(firsts.sort((a, b) => a - b)[2] ?? 0),
      dcClipSeconds: Math.round(whole.header.durationMs / 100) / 10,
      dcMbps: Math.round(mbps * 10) / 10,
      dcRealTimeX: Math.round((mbps / clipMbps) * 10) / 10,
      dcRealTimeXAt2Mbps: Math.round((mbps / 2) * 10) / 10,
    };
  } finally {
    await remote.close();
  }
}
