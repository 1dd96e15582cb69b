// npm run soak [-- --minutes 10 --cameras 10 --viewers 5 --interval 30 --warmup 120 --source demo|testsrc]
//
// Load held over time (issue 6): N `peercam camera` processes and V headless viewer devices (bench/soak-viewer.ts),
// every viewer watching every camera (so each camera serves V viewers), signaled through a local Mosquitto. Every
// --interval seconds it prints frames delivered vs expected, reconnects, the longest stall, and CPU, RSS, open fds
// and threads of every process; at the end it flags growth after warm-up and prints one JSON line on stdout.
// Runs inside its own loopback-only network namespace (bench/lib.ts isolate()).
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { isolate } from './lib.js';
import { ProcTrack, round1, spread } from './soak-proc.js';

isolate('soak', import.meta.filename);

const { values: args } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    cameras: { type: 'string', default: '10' },
    viewers: { type: 'string', default: '5' },
    interval: { type: 'string', default: '30' },
    warmup: { type: 'string' },
    source: { type: 'string', default: 'demo' },
  },
});
const minutes = Number(args.minutes);
const nCameras = Number(args.cameras);
const nViewers = Number(args.viewers);
const intervalS = Number(args.interval);
const durationS = minutes * 60;
const warmupS = args.warmup !== undefined ? Number(args.warmup) : Math.min(120, Math.round(durationS * 0.2));
for (const [k, v] of Object.entries({ minutes, cameras: nCameras, viewers: nViewers, interval: intervalS, warmup: warmupS }))
  if (!Number.isFinite(v) || v < 0 || (k !== 'warmup' && v === 0)) throw new RangeError(`--${k} must be a positive number`);
// demo: the shipped 640x360 30 fps clip, looped without ffmpeg. testsrc: ffmpeg x264 at 320x240 15 fps per camera.
const SOURCES: Record<string, { args: string[]; fps: number }> = {
  demo: { args: ['--source', 'demo'], fps: 30 },
  testsrc: { args: ['--source', 'testsrc', '--size', '320x240', '--fps', '15', '--bitrate', '300', '--gop', '2'], fps: 15 },
};
const source = SOURCES[args.source ?? 'demo'];
if (!source) throw new RangeError(`--source must be demo or testsrc, not "${args.source}"`);

const root = join(import.meta.dirname, '..');
const MAIN = join(root, 'dist', 'cli', 'main.js');
if (!existsSync(MAIN)) {
  console.error('soak: dist/cli/main.js is missing; run `npm run build` first.');
  process.exit(2);
}

const children: ChildProcess[] = [];
const say = (line: string) => process.stderr.write(`${line}\n`);
const dir = await mkdtemp(join(tmpdir(), 'peercam-soak-'));
const env = { ...process.env, PEERCAM_HOME: dir, PEERCAM_MDNS: 'off', PEERCAM_ICE_BIND: '127.0.0.1', PEERCAM_ICE_SERVERS: 'none' };

function start(argv: string[], opts: { stdin?: boolean; env?: NodeJS.ProcessEnv } = {}): { child: ChildProcess; out: () => string } {
  const child = spawn(argv[0] ?? '', argv.slice(1), { cwd: root, env: { ...env, ...opts.env }, stdio: [opts.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
  child.stderr?.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
  return { child, out: () => out };
}

async function until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`soak: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function cleanup(): Promise<void> {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await rm(dir, { recursive: true, force: true });
}
process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));

try {
  // The broker: Mosquitto on loopback, as DESIGN.md says for tests (no persistence, no queue limit).
  const port = 18_000 + Math.floor(Math.random() * 2000);
  await writeFile(join(dir, 'mosquitto.conf'), [`listener ${port} 127.0.0.1`, 'allow_anonymous true', 'persistence false', 'max_queued_messages 0', ''].join('\n'));
  const broker = start(['/usr/sbin/mosquitto', '-c', join(dir, 'mosquitto.conf')]);
  const brokerUrl = `mqtt://127.0.0.1:${port}`;
  await new Promise((r) => setTimeout(r, 500));
  const made = start([process.execPath, MAIN, 'room', 'new', '--no-qr', '--broker', brokerUrl]);
  await new Promise((r) => made.child.once('close', r));
  const link = made.out().split('\n').find((l) => l.includes('#k=')) ?? '';
  if (!link) throw new Error(`soak: room new failed: ${made.out()}`);

  const tracks: ProcTrack[] = [new ProcTrack('broker', 'mosquitto', broker.child.pid ?? -1)];
  const names = Array.from({ length: nCameras }, (_, i) => `cam${i + 1}`);
  say(`soak: ${nCameras} cameras (${args.source}, ${source.fps} fps) x ${nViewers} viewers for ${minutes} min, sample every ${intervalS} s, warm-up ${warmupS} s`);
  const cams = names.map((name) => ({ name, ...start([process.execPath, MAIN, 'camera', ...source.args, '--name', name]) }));
  for (const c of cams) {
    await until(() => c.out().includes('is live in room'), 60_000, `${c.name} live:\n${c.out()}`);
    tracks.push(new ProcTrack('camera', c.name, c.child.pid ?? -1));
  }
  const watchS = durationS + 120; // the viewers outlive the run; SIGTERM ends them
  const viewers = Array.from({ length: nViewers }, (_, i) => {
    const name = `viewer${i + 1}`;
    // The room link (the room's key) goes through the environment, not argv, which every user of the machine can read.
    const config = JSON.stringify({ link, broker: brokerUrl, name, cameras: names, seconds: watchS });
    const v = start([process.execPath, '--import', 'tsx', join(root, 'bench', 'soak-viewer.ts')], { stdin: true, env: { PEERCAM_SOAK_VIEWER: config } });
    v.child.stderr?.on('data', (d: Buffer) => {
      for (const line of d.toString().split('\n')) if (line.includes(' -> ')) say(`  ${line}`);
    });
    return { name, ...v };
  });
  for (const v of viewers) {
    await until(() => v.out().includes('"ready"'), 60_000, `${v.name} ready:\n${v.out()}`);
    tracks.push(new ProcTrack('viewer', v.name, v.child.pid ?? -1));
  }

  type Session = { camera: string; frames: number; watchingMs: number; reconnects: number; stalledMs: number; error?: string };
  const lines = viewers.map((v) => {
    const queue: ((s: Session[]) => void)[] = [];
    createInterface({ input: v.child.stdout! }).on('line', (line) => {
      if (line.includes('"stats"')) queue.shift()?.((JSON.parse(line) as { sessions: Session[] }).sessions);
    });
    return {
      ask: () =>
        new Promise<Session[]>((resolve) => {
          queue.push(resolve);
          v.child.stdin?.write('stats\n');
        }),
    };
  });

  const t0 = performance.now();
  const elapsed = () => (performance.now() - t0) / 1000;
  const timeline: object[] = [];
  let sessions: Session[] = [];
  /** Totals at the first sample after warm-up: the steady-state ratio leaves out each session's start-up burst. */
  let atWarmup: { delivered: number; expected: number } | undefined;
  const sample = async () => {
    const t = Math.round(elapsed());
    await Promise.all(tracks.map((p) => p.sample(t)));
    sessions = (await Promise.all(lines.map((l) => l.ask()))).flat();
    const delivered = sessions.reduce((n, s) => n + s.frames, 0);
    const expected = Math.round(sessions.reduce((n, s) => n + (s.watchingMs / 1000) * source.fps, 0));
    const reconnects = sessions.reduce((n, s) => n + s.reconnects, 0);
    const maxStallMs = Math.max(0, ...sessions.map((s) => s.stalledMs));
    const byRole = (role: ProcTrack['role']) => {
      const ps = tracks.filter((p) => p.role === role);
      const latest = ps.map((p) => p.latest()).filter((s) => s !== undefined);
      return {
        cpuPct: spread(ps.map((p) => p.cpuPct())),
        rssMB: spread(latest.map((s) => s.rssMB)),
        fds: spread(latest.map((s) => s.fds)),
        threads: spread(latest.map((s) => s.threads)),
      };
    };
    const row = { t, delivered, expected, ratio: expected ? round1((100 * delivered) / expected) : 0, reconnects, maxStallMs, camera: byRole('camera'), viewer: byRole('viewer'), broker: byRole('broker') };
    timeline.push(row);
    if (t >= warmupS && !atWarmup) atWarmup = { delivered, expected };
    const fmt = (r: ReturnType<typeof byRole>) => `cpu ${r.cpuPct.avg}%/${r.cpuPct.max}% rss ${r.rssMB.avg}/${r.rssMB.max} MB fds ${r.fds.avg}/${r.fds.max} thr ${r.threads.avg}/${r.threads.max}`;
    say(
      `t=${t}s frames ${delivered}/${expected} (${row.ratio}%) reconnects ${reconnects} stall ${maxStallMs} ms | cameras ${fmt(row.camera)} | viewers ${fmt(row.viewer)} | broker ${fmt(row.broker)}`,
    );
  };

  await sample();
  while (elapsed() < durationS) {
    await new Promise((r) => setTimeout(r, Math.min(intervalS, durationS - elapsed()) * 1000));
    await sample();
  }

  const growth = tracks.map((p) => ({ name: p.name, role: p.role, ...p.growth(warmupS) }));
  const flags = growth.flatMap((g) => g.flags);
  const delivered = sessions.reduce((n, s) => n + s.frames, 0);
  const expected = Math.round(sessions.reduce((n, s) => n + (s.watchingMs / 1000) * source.fps, 0));
  function steady() {
    if (!atWarmup) return undefined;
    const d = delivered - atWarmup.delivered;
    const e = expected - atWarmup.expected;
    return { delivered: d, expected: e, pct: e ? round1((100 * d) / e) : 0 };
  }
  const perRole = (role: ProcTrack['role']) => {
    const ps = tracks.filter((p) => p.role === role);
    return {
      cpuAvgPct: spread(ps.map((p) => p.cpuAvgPct(warmupS))),
      rssMB: spread(ps.map((p) => p.latest()?.rssMB ?? 0)),
      fds: spread(ps.map((p) => p.latest()?.fds ?? 0)),
      threads: spread(ps.map((p) => p.latest()?.threads ?? 0)),
      growthAfterWarmup: { rssMB: spread(growth.filter((g) => g.role === role).map((g) => g.rssMB)), fds: spread(growth.filter((g) => g.role === role).map((g) => g.fds)) },
    };
  };
  const summary = {
    bench: 'soak',
    minutes,
    seconds: Math.round(elapsed()),
    cameras: nCameras,
    viewers: nViewers,
    sessions: sessions.length,
    source: args.source,
    fps: source.fps,
    frames: { delivered, expected, pct: expected ? round1((100 * delivered) / expected) : 0 },
    framesAfterWarmup: steady(),
    reconnects: sessions.reduce((n, s) => n + s.reconnects, 0),
    maxStallMs: Math.max(0, ...sessions.map((s) => s.stalledMs)),
    sessionErrors: sessions.filter((s) => s.error).map((s) => `${s.camera}: ${s.error}`),
    warmupS,
    camera: perRole('camera'),
    viewer: perRole('viewer'),
    broker: perRole('broker'),
    growth: flags,
    ok: flags.length === 0 && sessions.every((s) => s.frames > 0) && (steady()?.pct ?? 0) >= 95,
    timeline,
  };
  for (const v of viewers) v.child.kill('SIGTERM');
  for (const c of cams) c.child.kill('SIGTERM');
  await Promise.all([...viewers, ...cams].map((p) => new Promise((r) => (p.child.exitCode !== null ? r(null) : p.child.once('close', r)))));
  broker.child.kill('SIGTERM');
  process.stdout.write(`${JSON.stringify(summary)}\n`);
} finally {
  await cleanup();
}
