/**
 * One viewer page open, traced (Chromium's devtools.timeline): what the page's main thread does from navigation to
 * the first frame, as the longest top-level tasks and a sum per kind. A diagnostic companion of bench:web (issue 15).
 *
 *   sudo node --import tsx bench/web-trace.ts [--camera demo|testsrc] [--trials 3]
 */
import { fileURLToPath } from 'node:url';
import { launchChromium } from '../test/helpers/browser.js';
import { spawnCli } from '../test/helpers/cli.js';
import { startHubProcess } from '../test/web/hub-process.js';
import { isolate } from './lib.js';

isolate('bench:web-trace', fileURLToPath(import.meta.url));

const arg = (name: string, fallback: string) => {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? (process.argv[at + 1] ?? fallback) : fallback;
};
const hub = await startHubProcess({ demo: false });
const cam = spawnCli(['camera', '--broker', `mqtt://127.0.0.1:${hub.mqttPort}`, '--source', arg('camera', 'demo'), '--name', 'probe'], hub.env);
await cam.waitFor(/source live/, 30_000);
const browser = await launchChromium();
interface TraceEvent {
  name: string;
  ph: string;
  ts: number;
  dur?: number;
  pid: number;
  tid: number;
  args?: { data?: { url?: string; functionName?: string; frame?: string } };
}
try {
  for (let i = 0; i < Number(arg('trials', '3')); i++) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    await browser.startTracing(page, { categories: ['toplevel', 'devtools.timeline', 'v8', 'blink.user_timing', 'loading'] });
    await page.goto(hub.link);
    await page.waitForFunction(() => performance.getEntriesByName('peercam:frame', 'mark').length > 0 || performance.getEntriesByType('mark').some((m) => m.name.startsWith('peercam:frame:')), null, { timeout: 30_000, polling: 50 });
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
    console.log(`trial ${i + 1}:`, JSON.stringify(marks));
    const long = tasks.filter((t) => (t.dur ?? 0) > Number(arg('min-task', '15')) * 1000).sort((a, b) => a.ts - b.ts);
    for (const t of long) {
      const kids = inside(t)
        .sort((a, b) => (b.dur ?? 0) - (a.dur ?? 0))
        .slice(0, 4)
        .map((e) => `${e.name}${e.args?.data?.url ? `(${e.args.data.url.replace(/^.*\//, '')})` : ''}${e.args?.data?.functionName ? `(${e.args.data.functionName})` : ''} ${Math.round((e.dur ?? 0) / 1000)}`);
      console.log(`  task @${Math.round((t.ts - t0) / 1000)} ${Math.round((t.dur ?? 0) / 1000)} ms: ${kids.join(', ')}`);
    }
    const byName = new Map<string, number>();
    for (const e of main) if (['EvaluateScript', 'v8.compile', 'v8.compileModule', 'v8.evaluateModule', 'FunctionCall', 'Layout', 'Paint', 'ParseHTML', 'UpdateLayoutTree', 'v8.parseOnBackground', 'MajorGC', 'MinorGC', 'V8.GCScavenger', 'EventDispatch', 'TimerFire', 'RunMicrotasks'].includes(e.name)) byName.set(e.name, (byName.get(e.name) ?? 0) + (e.dur ?? 0));
    console.log('  sums (ms):', [...byName].map(([k, v]) => `${k} ${Math.round(v / 1000)}`).join(', '));
  }
} finally {
  await browser.close();
  await cam.stop();
  await hub.close();
}
process.exit(0);
