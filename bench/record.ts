/**
 * Recorder benchmark (issue 10): `peercam record` recording N demo cameras (the shipped 640x360 H.264 clip, no
 * ffmpeg, each camera its own `peercam camera` process) over the embedded broker, for 1 and 10 cameras:
 *  - the recorder process's CPU (% of one core, per camera) and RSS over a --window (default 20 s) after all connected;
 *  - bytes on disk / RTP bytes received (from the recorder's summary at exit).
 * Runs in its own loopback-only network namespace (root). Ends with one JSON line.
 *
 *   npm run bench:record [-- --window 20 --cameras 1,10]
 */
import { CLK_TCK, cpuTicks, rssMb } from './proc.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startEmbeddedBroker } from '../src/hub/broker.js';
import { cliHome, runCli, spawnCli } from '../test/helpers/cli.js';
import { isolate } from './lib.js';

isolate('bench:record', fileURLToPath(import.meta.url));

const arg = (name: string, fallback: string) => {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? (process.argv[at + 1] ?? fallback) : fallback;
};
const WINDOW_S = Number(arg('window', '20'));
const COUNTS = arg('cameras', '1,10').split(',').map(Number);
const say = (line: string) => process.stderr.write(`${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));


const broker = await startEmbeddedBroker({ host: '127.0.0.1', port: 0 });
const home = await cliHome();
await runCli(['room', 'new', '--no-qr', '--broker', `mqtt://127.0.0.1:${broker.port}`], home.env);
const result: Record<string, unknown> = { bench: 'record', windowS: WINDOW_S };

for (const n of COUNTS) {
  const out = await mkdtemp(join(tmpdir(), 'peercam-bench-rec-'));
  const cameras = [];
  for (let i = 0; i < n; i++) {
    const c = spawnCli(['camera', '--source', 'demo', '--name', `cam${i}`], home.env);
    cameras.push(c);
    await c.waitFor(/is live in room/, 180_000);
  }
  const rec = spawnCli(['record', '--out', out, '--segment', '60s'], home.env);
  const pid = rec.child.pid ?? 0;
  const deadline = Date.now() + 180_000;
  while ((rec.output().match(/" connected/g)?.length ?? 0) < n && Date.now() < deadline) await sleep(200);
  await sleep(3000);
  const t0 = cpuTicks(pid);
  const w0 = performance.now();
  await sleep(WINDOW_S * 1000);
  const cpu = ((cpuTicks(pid) - t0) / CLK_TCK / ((performance.now() - w0) / 1000)) * 100;
  const rss = rssMb(pid);
  await rec.stop();
  let received = 0;
  let written = 0;
  for (const m of rec.output().matchAll(/(\d+) RTP bytes received, (\d+) bytes written/g)) {
    received += Number(m[1]);
    written += Number(m[2]);
  }
  await Promise.all(cameras.map((c) => c.stop()));
  await rm(out, { recursive: true, force: true });
  const row = {
    cpuPct: Math.round(cpu * 10) / 10,
    cpuPctPerCamera: Math.round((cpu / n) * 100) / 100,
    rssMb: rss,
    diskOverRtp: received ? Math.round((written / received) * 1000) / 1000 : null,
  };
  say(`${n} camera(s): ${JSON.stringify(row)}`);
  result[`cameras${n}`] = row;
}
await broker.close();
await home.remove();
process.stdout.write(`${JSON.stringify(result)}\n`);
process.exit(0);
