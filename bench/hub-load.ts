/**
 * Load on one hub (issue 13): a real `peercam up` (embedded broker + web server + its metrics) with
 *  A. 50 cameras x 2 viewers (each viewer watches every camera: 100 sessions), and
 *  B. 1 camera x 100 headless viewers (100 sessions on one camera),
 * Cameras play the pre-encoded demo clip (no encoder: the fan-out is what grows with viewers); cameras and viewers
 * each run in one process of their own (bench/hub-load-member.ts), every device with its own MQTT client.
 * Reports the time until every session plays, frames per second per session, and CPU (% of one core) and RSS of
 * each process over a window; plus the hub's broker traffic from its /metrics. Runs in a loopback-only network
 * namespace (root). Ends with one JSON line.
 *
 *   npm run bench:hub [-- --window 10 --only A|B]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { CLK_TCK, cpuTicks, rssMb } from './proc.js';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Room } from '../src/protocol/index.js';
import { freePort } from '../test/helpers/brokers.js';
import { cliHome, spawnCli } from '../test/helpers/cli.js';
import { isolate, percentile } from './lib.js';

isolate('bench:hub', fileURLToPath(import.meta.url));

const arg = (name: string) => {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? process.argv[at + 1] : undefined;
};
const WINDOW_S = Number(arg('window') ?? 10);
const ONLY = arg('only');
const say = (line: string) => process.stderr.write(`${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const MEMBER = fileURLToPath(new URL('./hub-load-member.ts', import.meta.url));


interface Member {
  readonly child: ChildProcess;
  stats(): Promise<Record<string, unknown>>;
  stop(): Promise<void>;
}

async function member(config: object): Promise<Member> {
  const child = spawn(process.execPath, ['--import', 'tsx', MEMBER], {
    env: { ...process.env, PEERCAM_LOAD: JSON.stringify(config) },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines: ((line: string) => void)[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => lines.shift()?.(line));
  const next = (ms: number) =>
    new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`load member: no answer in ${ms} ms`)), ms);
      lines.push((line) => {
        clearTimeout(timer);
        resolve(line);
      });
    });
  if ((await next(180_000)) !== 'ready') throw new Error('load member did not start');
  return {
    child,
    async stats() {
      const answer = next(30_000);
      child.stdin!.write('stats\n');
      return JSON.parse(await answer) as Record<string, unknown>;
    },
    async stop() {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

const home = await cliHome();
const port = await freePort();
const mqttPort = await freePort();
const hub = spawnCli(['up', '--no-mdns', '--no-qr', '--port', String(port), '--mqtt-port', String(mqttPort)], home.env);
await hub.waitFor(/Watch on this computer:\s+(\S+)/, 60_000);
const link = /Watch on this computer:\s+(\S+)/.exec(hub.output())![1]!;
const room = await Room.fromLink(link);
const broker = `mqtt://127.0.0.1:${mqttPort}`;
const hubPid = hub.child.pid!;

async function brokerCounters(): Promise<{ messages: number; clients: number }> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { authorization: `Bearer ${room.credentials.httpToken}` } });
  const text = await res.text();
  const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN);
  return { messages: value('peercam_broker_messages_total'), clients: value('peercam_broker_clients') };
}

interface Figures {
  scenario: string;
  sessions: number;
  playing: number;
  allPlayingS: number | null;
  firstFrameP50Ms: number;
  firstFrameP95Ms: number;
  fpsPerSession: number;
  reconnects: number;
  brokerMessages: number;
  brokerClients: number;
  cpuPct: { hub: number; cameras: number; viewers: number };
  rssMb: { hub: number; cameras: number; viewers: number };
}

async function scenario(label: string, cameras: number, viewers: number): Promise<Figures> {
  const names = Array.from({ length: cameras }, (_, i) => `cam-${i}`);
  const b0 = await brokerCounters();
  const cams = await member({ role: 'cameras', link, broker, count: cameras, maxViewers: Math.max(64, viewers) });
  const t0 = performance.now();
  const views = await member({ role: 'viewers', link, broker, count: viewers, cameras: names });
  const sessions = cameras * viewers;
  let s = await views.stats();
  let allPlayingS: number | null = null;
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    s = await views.stats();
    if (s.playing === sessions) {
      allPlayingS = Math.round((performance.now() - t0) / 100) / 10;
      break;
    }
    await sleep(500);
  }
  say(`${label}: ${s.playing}/${sessions} sessions playing${allPlayingS !== null ? ` after ${allPlayingS} s` : ' after 120 s (gave up waiting)'}`);
  await sleep(2000);
  const pids = { hub: hubPid, cameras: cams.child.pid!, viewers: views.child.pid! };
  const ticks0 = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuTicks(pid)]));
  const frames0 = Number((await views.stats()).frames);
  const w0 = performance.now();
  await sleep(WINDOW_S * 1000);
  const end = await views.stats();
  const seconds = (performance.now() - w0) / 1000;
  const cpu = (k: keyof typeof pids) => Math.round(((cpuTicks(pids[k]) - ticks0[k]!) / CLK_TCK / seconds) * 1000) / 10;
  const firstFrames = (end.firstFrameMs as number[]) ?? [];
  const b1 = await brokerCounters();
  const figures: Figures = {
    scenario: label,
    sessions,
    playing: Number(end.playing),
    allPlayingS,
    firstFrameP50Ms: Math.round(percentile(firstFrames, 50)),
    firstFrameP95Ms: Math.round(percentile(firstFrames, 95)),
    fpsPerSession: Math.round(((Number(end.frames) - frames0) / seconds / sessions) * 10) / 10,
    reconnects: Number(end.reconnects),
    brokerMessages: b1.messages - b0.messages,
    brokerClients: b1.clients,
    cpuPct: { hub: cpu('hub'), cameras: cpu('cameras'), viewers: cpu('viewers') },
    rssMb: { hub: Math.round(rssMb(pids.hub)), cameras: Math.round(rssMb(pids.cameras)), viewers: Math.round(rssMb(pids.viewers)) },
  };
  say(
    `${label}: ${figures.fpsPerSession} fps per session, first frame p50/p95 ${figures.firstFrameP50Ms}/${figures.firstFrameP95Ms} ms, ` +
      `${figures.reconnects} reconnects, broker ${figures.brokerMessages} messages / ${figures.brokerClients} clients; ` +
      `CPU % of a core hub/cameras/viewers ${figures.cpuPct.hub}/${figures.cpuPct.cameras}/${figures.cpuPct.viewers}, ` +
      `RSS MB ${figures.rssMb.hub}/${figures.rssMb.cameras}/${figures.rssMb.viewers}` +
      (Array.isArray(end.errors) && end.errors.length > 0 ? `; errors: ${end.errors.slice(0, 3).join(' | ')}` : ''),
  );
  await views.stop();
  await cams.stop();
  return figures;
}

const results: Figures[] = [];
try {
  say(`load average before: ${readFileSync('/proc/loadavg', 'utf8').trim()}`);
  if (ONLY !== 'B') results.push(await scenario('A: 50 cameras x 2 viewers', 50, 2));
  if (ONLY !== 'A') results.push(await scenario('B: 1 camera x 100 viewers', 1, 100));
  say(`load average after: ${readFileSync('/proc/loadavg', 'utf8').trim()}`);
  process.stdout.write(`${JSON.stringify(results)}\n`);
} finally {
  await hub.stop();
  await home.remove();
}
