/**
 * Web benchmark (issue 15): what a person waits for, from opening the viewer page to the first decoded frame.
 * A real `peercam up` (embedded broker, the built web app) and Chromium; each trial is a fresh browser context (no
 * localStorage, no cache carried over) that opens the hub's pairing link and waits for the page's first-frame marks:
 *  (a) a Node camera (`peercam camera --source testsrc`, 720p30, 4 s keyframe interval),
 *  (b) a Chromium camera page (/camera?autostart=1) already live,
 *  (c) a grid of 9 Node cameras (`--source demo`, no ffmpeg), until all 9 tiles show a frame,
 *  (j) a reference on the same machine at the same moment: Janus's Streaming plugin with keyframe buffering and a
 *      minimal page (bench/web-janus.ts), fed the same encode as (a). Trials of (j) alternate with those of (a) when
 *      both run, so both see the same load (its ffmpeg runs beside (a)'s camera, so (a) then runs on a busier machine).
 * p50/p95 from navigation start, and per phase from the page's timeline marks (src/web/lib/timeline.ts): page loaded
 * (DOMContentLoaded), hub (/hub.json), broker online, presence received, offer sent, answer received, ICE connected,
 * first frame; in the grid each phase is that of the slowest tile. Runs in its own loopback-only network namespace
 * (root). Ends with one JSON line.
 *
 *   npm run bench:web [-- --trials 20 --only a|b|c|j] [--baseline DIR] [--returning] [--settle MS] [--threads]
 *
 * `--threads`: `cpuP50` also per thread of each process group (`renderer:main`, `renderer:ThreadPoolPrese`...).
 *
 * `--settle MS`: each trial's new page waits MS before it navigates, so the fresh renderer process's own start-up
 * (~1 s of CPU on the 2-core test machine) is over before the clock starts, as in a browser a person already has open
 * (a new tab, then the link); the CPU figures then count from the navigation too. Default 0: navigate at once.
 *
 * `--returning`: a browser that has been here before instead of a fresh one. One context per build and arm, opened
 * once with the pairing link (not counted); each trial is then a new page in it at the app's address without the
 * link (the room, the cameras seen and the HTTP and code caches are kept, as for a person who opens the app again).
 *
 * `--baseline DIR` (another build's dist/web, e.g. main's): every trial of the current build is followed by one of
 * that build, served in front of the same hub (bench/web-baseline.ts), so both see the same machine load; the JSON
 * line then has a `baseline` entry with the same figures for it.
 */
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium } from '../test/helpers/browser.js';
import { type CliProcess, spawnCli } from '../test/helpers/cli.js';
import { sleep } from '../test/helpers/wait.js';
import { startHubProcess } from '../test/web/hub-process.js';
import { isolate, percentile } from './lib.js';
import { CLK_TCK, descendantTicks } from './proc.js';
import { type BaselineFront, startBaselineFront } from './web-baseline.js';
import { type JanusReference, startJanusReference } from './web-janus.js';

isolate('bench:web', fileURLToPath(import.meta.url));

const arg = (name: string, fallback: string) => {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? (process.argv[at + 1] ?? fallback) : fallback;
};
const TRIALS = Number(arg('trials', '20'));
const ONLY = arg('only', 'abc');
const say = (line: string) => process.stderr.write(`${line}\n`);

/** The phases, in the order a page goes through them (cumulative ms from navigation start). */
const STEPS = ['loaded', 'start', 'hub', 'online', 'presence', 'offer', 'answer', 'ice', 'frame'] as const;
type Step = (typeof STEPS)[number];
type Timeline = Partial<Record<Step, number>>;

const hub = await startHubProcess({ demo: false });
const broker = `mqtt://127.0.0.1:${hub.mqttPort}`;
const browser: Browser = await launchChromium();
const origin = new URL(hub.link).origin;
const hash = new URL(hub.link).hash;
const BASELINE = arg('baseline', '');
const front: BaselineFront | undefined = BASELINE ? await startBaselineFront(BASELINE, origin) : undefined;

/**
 * CPU by process group, of everything this bench started (ticks): Chromium's renderers (the viewer page's, and in
 * (b) the camera page's), its browser process, GPU process and utility processes (network service, storage), and
 * the hub, the cameras, ffmpeg, Janus.
 */
function cpuNow(): Promise<Map<string, number>> {
  return descendantTicks(process.pid, (cmd) => {
    if (/chrom/.test(cmd)) {
      if (cmd.includes('--type=renderer')) return 'renderer';
      if (cmd.includes('--type=gpu-process')) return 'gpu';
      return cmd.includes('--type=') ? 'utility' : 'browser';
    }
    if (/main\.js up /.test(cmd)) return 'hub';
    if (/main\.js camera /.test(cmd)) return 'cameras';
    if (/^(\S*\/)?janus /.test(cmd)) return 'janus';
    if (/^(\S*\/)?ffmpeg /.test(cmd)) return 'ffmpeg';
    return undefined;
  }, THREADS);
}

/** Resolves once `cameras` tiles of the page have presented a frame (their timeline marks). */
function tilesPlaying(page: Page, cameras: number): Promise<unknown> {
  return page.waitForFunction((n) => performance.getEntriesByType('mark').filter((m) => m.name.startsWith('peercam:frame:')).length >= n, cameras, {
    timeout: 30_000,
    polling: 50,
  });
}

const RETURNING = process.argv.includes('--returning');
/** `--threads`: the CPU figures per thread too (`renderer:main`, `renderer:ThreadPoolForeg`, ...), in the JSON only. */
const THREADS = process.argv.includes('--threads');
const SETTLE_MS = Number(arg('settle', '0'));
/** With --returning: the browser of each build (by its link), kept across the trials of an arm. */
const returning = new Map<string, BrowserContext>();

/** The browser a trial opens its page in, and the address it opens: see --returning. */
async function browserFor(cameras: number, link: string): Promise<{ context: BrowserContext; url: string; keep: boolean }> {
  if (!RETURNING) return { context: await browser.newContext({ viewport: { width: 1280, height: 800 } }), url: link, keep: false };
  const url = link.replace(/#.*$/, '');
  let context = returning.get(link);
  if (!context) {
    context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    returning.set(link, context);
    const first = await context.newPage();
    await first.goto(link);
    await tilesPlaying(first, cameras);
    await first.close();
  }
  return { context, url, keep: true };
}

/** One viewer page: navigation start -> every one of `cameras` tiles has presented a frame; the CPU it took (ms). */
async function trial(cameras: number, link: string): Promise<{ t: Timeline; cpu: Record<string, number> }> {
  const { context, url, keep } = await browserFor(cameras, link);
  let cpuBefore = await cpuNow();
  const page = await context.newPage();
  if (SETTLE_MS > 0) {
    await sleep(SETTLE_MS);
    cpuBefore = await cpuNow();
  }
  try {
    const consoleLines: string[] = [];
    page.on('console', (m) => m.type() !== 'debug' && consoleLines.length < 40 && consoleLines.push(`${m.type()}: ${m.text()}`));
    await page.goto(url);
    try {
      await tilesPlaying(page, cameras);
    } catch (err) {
      const tiles = await page
        .evaluate(() => [...document.querySelectorAll<HTMLElement>('.tile')].map((t) => `${t.querySelector('.name')?.textContent}: ${t.dataset.state} ${t.querySelector('.stats')?.textContent}`))
        .catch(() => []);
      throw new Error(
        `not all ${cameras} tiles showed a frame within 30 s: ${tiles.join('; ')} (${String(err).split('\n')[0]}); console: ${consoleLines.join(' | ')}`,
      );
    }
    const cpuAfter = await cpuNow();
    const cpu = Object.fromEntries([...cpuAfter].map(([g, ticks]) => [g, Math.round(((ticks - (cpuBefore.get(g) ?? 0)) * 1000) / CLK_TCK)]));
    const { marks, loaded } = await page.evaluate(() => {
      const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming | undefined;
      return {
        marks: performance.getEntriesByType('mark').map((m) => [m.name, m.startTime] as const),
        loaded: nav?.domContentLoadedEventEnd ?? Number.NaN,
      };
    });
    const t: Timeline = { loaded: Math.round(loaded) };
    for (const [name, at] of marks) {
      const [, step] = name.split(':');
      if (!STEPS.includes(step as Step)) continue;
      // Per-camera steps: the slowest camera is what "all tiles playing" waits for.
      t[step as Step] = Math.max(t[step as Step] ?? 0, Math.round(at));
    }
    return { t, cpu };
  } finally {
    await (keep ? page.close() : context.close());
  }
}

interface Arm {
  p50: number;
  p95: number;
  /** Trials that did not reach their first frame(s) within 30 s (left out of the percentiles). */
  failed: number;
  /** p50 of each phase (ms from navigation start). */
  phasesP50: Timeline;
  phasesP95: Timeline;
  /** p50 of the CPU (ms) each process group took from opening the page to its first frame(s): see cpuNow. */
  cpuP50: Record<string, number>;
  all: number[];
}

/** The pages a trial of an arm opens in turn: this build, `--baseline`'s, the Janus reference's (by name). */
function pagesFor(reference?: string): Record<string, string> {
  return { current: hub.link, ...(front ? { baseline: `${front.origin}/${hash}` } : {}), ...(reference ? { janus: reference } : {}) };
}

async function arm(label: string, cameras: number, builds: Record<string, string>): Promise<Arm | Record<string, Arm>> {
  const several = Object.keys(builds).length > 1;
  const runs = new Map<string, { t: Timeline; cpu: Record<string, number> }[]>(Object.keys(builds).map((k) => [k, []]));
  const failures = new Map<string, number>(Object.keys(builds).map((k) => [k, 0]));
  for (let i = 0; i < TRIALS; i++) {
    for (const [build, link] of Object.entries(builds)) {
      // A random pause, so trials land at random points of the cameras' keyframe interval.
      await sleep(300 + Math.random() * 1700);
      const tag = several ? `${label} ${build}` : label;
      let r: { t: Timeline; cpu: Record<string, number> };
      try {
        r = await trial(cameras, link);
      } catch (err) {
        failures.set(build, (failures.get(build) ?? 0) + 1);
        say(`${tag} #${i + 1}: FAILED ${String(err).slice(0, 1500)}`);
        const hubSaid = hub.output().split('\n').filter((l) => /warn|error|refus|lost/i.test(l));
        say(`hub log (warnings, last 10): ${hubSaid.slice(-10).join('\n')}`);
        continue;
      }
      runs.get(build)?.push(r);
      const cpu = Object.entries(r.cpu).filter(([g]) => !g.includes(':')).map(([g, ms]) => `${g} ${ms}`).join(', ');
      say(`${tag} #${i + 1}: ${STEPS.map((s) => `${s} ${r.t[s] ?? '-'}`).join(', ')}; CPU ms: ${cpu}`);
    }
  }
  const summary = (list: { t: Timeline; cpu: Record<string, number> }[], failed: number): Arm => {
    const of = (s: Step) => list.map((r) => r.t[s]).filter((v): v is number => v !== undefined);
    const phasesP50: Timeline = {};
    const phasesP95: Timeline = {};
    for (const s of STEPS) {
      phasesP50[s] = percentile(of(s), 50);
      phasesP95[s] = percentile(of(s), 95);
    }
    const all = of('frame');
    const groups = [...new Set(list.flatMap((r) => Object.keys(r.cpu)))];
    const cpuP50 = Object.fromEntries(groups.map((g) => [g, percentile(list.map((r) => r.cpu[g] ?? 0), 50)]));
    return { p50: percentile(all, 50), p95: percentile(all, 95), failed, phasesP50, phasesP95, cpuP50, all };
  };
  for (const context of returning.values()) await context.close();
  returning.clear();
  const arms = Object.fromEntries(Object.keys(builds).map((b) => [b, summary(runs.get(b) ?? [], failures.get(b) ?? 0)]));
  const [only] = Object.values(arms);
  return several || !only ? arms : only;
}

async function camera(args: string[]): Promise<CliProcess> {
  const cam = spawnCli(['camera', '--broker', broker, ...args], hub.env);
  await cam.waitFor(/source live/, 30_000);
  return cam;
}

const results: Record<string, unknown> = { trials: TRIALS, ...(SETTLE_MS > 0 ? { settleMs: SETTLE_MS } : {}), loadavgBefore: loadavg().map((l) => Math.round(l * 100) / 100) };
const started: CliProcess[] = [];
let janus: JanusReference | undefined;
try {
  if (ONLY.includes('b')) {
    const phone = await browser.newContext();
    const page = await phone.newPage();
    await page.goto(`${origin}/camera?autostart=1${hash}`);
    await page.locator('body[data-live="true"]').waitFor({ timeout: 30_000 });
    await sleep(2000);
    results.browserCamera = await arm('(b) camera page', 1, pagesFor());
    await phone.close();
    await sleep(2000); // its presence is cleared before the next arm
  }
  janus = ONLY.includes('j') ? await startJanusReference() : undefined;
  if (janus && !ONLY.includes('a')) {
    await sleep(5000); // a full GOP through Janus, its keyframe buffered
    results.janus = await arm('(j) Janus reference', 1, { janus: janus.url });
  }
  if (ONLY.includes('a')) {
    const cam = await camera(['--source', 'testsrc', '--size', '1280x720', '--fps', '30', '--bitrate', '2000', '--gop', '4', '--name', 'node']);
    started.push(cam);
    await sleep(5000); // a full GOP in the keyframe cache
    results.nodeCamera = await arm('(a) Node camera', 1, pagesFor(janus?.url));
    await cam.stop();
    started.splice(started.indexOf(cam), 1);
    await sleep(2000);
  }
  await janus?.close(); // its encode would load the grid's trials
  janus = undefined;
  if (ONLY.includes('c')) {
    for (let i = 0; i < 9; i++) started.push(await camera(['--source', 'demo', '--name', `grid-${i + 1}`]));
    await sleep(3000);
    results.grid9 = await arm('(c) 9-camera grid', 9, pagesFor());
  }
  results.loadavgAfter = loadavg().map((l) => Math.round(l * 100) / 100);
} finally {
  for (const c of started) await c.stop();
  await janus?.close();
  await browser.close();
  await front?.close();
  await hub.close();
}
/** An arm's figures without the list of every trial; several builds' arms each so. */
const brief = (a: unknown): unknown => {
  if (!a || typeof a !== 'object' || Array.isArray(a)) return a;
  if (!('all' in a)) return Object.fromEntries(Object.entries(a).map(([k, v]) => [k, brief(v)]));
  const { all: _all, ...rest } = a as Arm;
  return rest;
};
process.stdout.write(`${JSON.stringify(brief(results))}\n`);
process.exit(0);
