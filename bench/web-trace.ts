/**
 * One viewer page open, traced (Chromium's devtools.timeline): what the page's main thread does from navigation to
 * the first frame, as the longest top-level tasks and a sum per kind. A diagnostic companion of bench:web (issue 15).
 *
 *   sudo node --import tsx bench/web-trace.ts [--camera demo|testsrc] [--cameras N] [--trials 3] [--settle MS] [--baseline DIR] [--quiet]
 *
 * `--cameras N`: N cameras, up to the first frame of the last tile (a grid). `--settle MS`: the new page waits before
 * it navigates (bench:web's `--settle`: the renderer's own start-up out of the trace's window).
 *
 * `--categories a,b` traces more categories (e.g. webrtc,mojom,media,gpu). `--kids N` lists the N longest events inside each long task (default 4), `--min-task MS` which tasks are long (15).
 * `--baseline DIR` alternates with another build (bench/web-baseline.ts); the last lines compare the main thread's
 * busy time up to the first frame (the sum of its tasks: less sensitive to a loaded machine than wall-clock time).
 */
import { fileURLToPath } from 'node:url';
import { launchChromium } from '../test/helpers/browser.js';
import { spawnCli } from '../test/helpers/cli.js';
import { sleep } from '../test/helpers/wait.js';
import { startHubProcess } from '../test/web/hub-process.js';
import { isolate, percentile } from './lib.js';
import { startBaselineFront } from './web-baseline.js';

isolate('bench:web-trace', fileURLToPath(import.meta.url));

const arg = (name: string, fallback: string) => {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? (process.argv[at + 1] ?? fallback) : fallback;
};
const hub = await startHubProcess({ demo: false });
const CAMERAS = Number(arg('cameras', '1'));
const cams = Array.from({ length: CAMERAS }, (_, i) =>
  spawnCli(['camera', '--broker', `mqtt://127.0.0.1:${hub.mqttPort}`, '--source', arg('camera', 'demo'), '--name', i === 0 ? 'probe' : `probe${i}`], hub.env),
);
for (const cam of cams) await cam.waitFor(/source live/, 30_000);
const browser = await launchChromium();
const baselineDir = arg('baseline', '');
const front = baselineDir ? await startBaselineFront(baselineDir, new URL(hub.link).origin) : undefined;
const builds: [string, string][] = [['current', hub.link], ...(front ? [['baseline', `${front.origin}/${new URL(hub.link).hash}`] as [string, string]] : [])];
const busy = new Map<string, { total: number[]; script: number[]; gc: number[]; render: number[] }>();
const quiet = process.argv.includes('--quiet');
interface TraceEvent {
  name: string;
  ph: string;
  ts: number;
  dur?: number;
  /** Thread (CPU) time, where the trace has it: what the page's work cost, whatever else the machine ran. */
  tdur?: number;
  pid: number;
  tid: number;
  args?: { data?: { url?: string; functionName?: string; frame?: string } };
}
try {
  for (let i = 0; i < Number(arg('trials', '3')); i++) for (const [build, link] of builds) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    await sleep(Number(arg('settle', '0')));
    const more = arg('categories', '').split(',').filter(Boolean);
    await browser.startTracing(page, { categories: ['toplevel', 'devtools.timeline', 'v8', 'blink.user_timing', 'loading', ...more] });
    await page.goto(link);
    await page.waitForFunction((n) => performance.getEntriesByType('mark').filter((m) => m.name.startsWith('peercam:frame')).length >= n, CAMERAS, { timeout: 30_000, polling: 50 });
    const marks = await page.evaluate(() => {
      const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming;
      const res = (performance.getEntriesByType('resource') as PerformanceResourceTiming[]).map((r) => `${r.name.replace(/^.*\//, '')} ${Math.round(r.startTime)}-${Math.round(r.responseEnd)}`);
      return {
        nav: { responseEnd: Math.round(nav.responseEnd), domInteractive: Math.round(nav.domInteractive), dcl: Math.round(nav.domContentLoadedEventEnd) },
        res,
        marks: performance.getEntriesByType('mark').map((m) => `${m.name.split(':').slice(0, 2).join(':')} ${Math.round(m.startTime)}`),
      };
    });
    const buf = await browser.stopTracing();
    await context.close();
    const events = (JSON.parse(buf.toString()) as { traceEvents: TraceEvent[] }).traceEvents;
    const nav = events.find((e) => e.name === 'navigationStart' && e.args?.data && 'documentLoaderURL' in (e.args.data as object) && String((e.args.data as { documentLoaderURL?: string }).documentLoaderURL).startsWith('http'));
    const t0 = nav?.ts ?? events[0]?.ts ?? 0;
    const main = events.filter((e) => e.pid === nav?.pid && e.tid === nav?.tid && e.ph === 'X' && (e.dur ?? 0) > 0);
    const tasks = main.filter((e) => e.name === 'RunTask' || e.name === 'ThreadControllerImpl::RunTask');
    const inside = (t: TraceEvent) => main.filter((e) => e !== t && e.ts >= t.ts && e.ts < t.ts + (t.dur ?? 0) && e.name !== 'RunTask');
    // The last tile's first frame (the only one with one camera).
    const frameAt = Math.max(...marks.marks.filter((m) => m.startsWith('peercam:frame')).map((m) => Number(m.split(' ')[1])));
    const before = (e: TraceEvent) => (e.ts - t0) / 1000 < frameAt;
    const sum = (list: TraceEvent[]) => Math.round(list.filter(before).reduce((a, e) => a + (e.tdur ?? e.dur ?? 0), 0) / 1000);
    const b = busy.get(build) ?? { total: [], script: [], gc: [], render: [] };
    b.total.push(sum(tasks));
    b.script.push(sum(main.filter((e) => e.name === 'v8.evaluateModule' || e.name === 'v8.compileModule' || e.name === 'FunctionCall' || e.name === 'v8.callFunction')));
    b.gc.push(sum(main.filter((e) => e.name === 'MinorGC' || e.name === 'MajorGC')));
    b.render.push(sum(main.filter((e) => ['UpdateLayoutTree', 'Layout', 'Paint', 'PrePaint'].includes(e.name))));
    busy.set(build, b);
    console.log(`${build} trial ${i + 1}: frame ${frameAt} ms, main thread CPU ${b.total.at(-1)} ms before it`);
    if (quiet) continue;
    console.log(JSON.stringify(marks));
    const long = tasks.filter((t) => (t.dur ?? 0) > Number(arg('min-task', '15')) * 1000).sort((a, b) => a.ts - b.ts);
    for (const t of long) {
      const kids = inside(t)
        .sort((a, b) => (b.dur ?? 0) - (a.dur ?? 0))
        .slice(0, Number(arg('kids', '4')))
        .map((e) => `${e.name}${e.args?.data?.url ? `(${e.args.data.url.replace(/^.*\//, '')})` : ''}${e.args?.data?.functionName ? `(${e.args.data.functionName})` : ''} ${Math.round((e.dur ?? 0) / 1000)}`);
      console.log(`  task @${Math.round((t.ts - t0) / 1000)} ${Math.round((t.dur ?? 0) / 1000)} ms (CPU ${Math.round((t.tdur ?? 0) / 1000)}): ${kids.join(', ')}`);
    }
    const byName = new Map<string, number>();
    for (const e of main) if (['EvaluateScript', 'v8.compile', 'v8.compileModule', 'v8.evaluateModule', 'FunctionCall', 'Layout', 'Paint', 'ParseHTML', 'UpdateLayoutTree', 'v8.parseOnBackground', 'MajorGC', 'MinorGC', 'V8.GCScavenger', 'EventDispatch', 'TimerFire', 'RunMicrotasks'].includes(e.name)) byName.set(e.name, (byName.get(e.name) ?? 0) + (e.dur ?? 0));
    console.log('  sums (ms):', [...byName].map(([k, v]) => `${k} ${Math.round(v / 1000)}`).join(', '));
  }
  for (const [build, b] of busy)
    console.log(
      `${build}: main-thread CPU ms before the first frame, p50 of ${b.total.length}: tasks ${percentile(b.total, 50)}, script (top level) ${percentile(b.script, 50)}, GC ${percentile(b.gc, 50)}, style/layout/paint ${percentile(b.render, 50)}`,
    );
} finally {
  await front?.close();
  await browser.close();
  for (const cam of cams) await cam.stop();
  await hub.close();
}
process.exit(0);
