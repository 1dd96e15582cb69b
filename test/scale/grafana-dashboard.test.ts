import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { startEmbeddedBroker } from '../../src/hub/broker.js';
import { PeercamMetrics } from '../../src/metrics/index.js';
import { memoryRoom } from '../helpers/memory-room.js';

/** Grafana's datasource variable (a literal `${datasource}`, not a template string). */
const DATASOURCE = ['$', '{datasource}'].join('');
const DASHBOARD = join(import.meta.dirname, '..', '..', 'docs', 'grafana-dashboard.json');

interface Target {
  refId: string;
  expr: string;
  datasource?: { uid?: string };
}
interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { h: number; w: number; x: number; y: number };
  datasource?: { type?: string; uid?: string };
  targets?: Target[];
}

/** Every metric name a scrape of a hub, a camera and a recorder can show (histograms with their series suffixes). */
async function exportedNames(): Promise<Set<string>> {
  const metrics = new PeercamMetrics();
  const { channels } = await memoryRoom(['hub']);
  const broker = await startEmbeddedBroker({ port: 0 });
  try {
    metrics.watchRoom(channels[0]!);
    metrics.watchBroker(broker.aedes);
    metrics.watchDrops(channels[0]!);
    metrics.recorder();
    const names = new Set<string>();
    for (const m of await metrics.registry.getMetricsAsJSON()) {
      names.add(m.name);
      if (String(m.type) === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(`${m.name}${s}`);
    }
    return names;
  } finally {
    await Promise.all(channels.map((c) => c.close()));
    await broker.close();
  }
}

describe('docs/grafana-dashboard.json', () => {
  it('every expression names only metrics the code exports, and together they cover hub, camera, recorder and viewer', async () => {
    const dashboard = JSON.parse(await readFile(DASHBOARD, 'utf8')) as { uid: string; panels: Panel[]; templating: { list: { name: string }[] } };
    const exported = await exportedNames();
    const used = new Set<string>();
    const unknown: string[] = [];
    for (const p of dashboard.panels) {
      if (p.type === 'row') continue;
      assert.ok((p.targets?.length ?? 0) > 0, `panel "${p.title}" has a query`);
      for (const t of p.targets ?? [])
        for (const [name] of t.expr.matchAll(/\bpeercam_[a-z0-9_]+/g)) {
          used.add(name);
          if (!exported.has(name)) unknown.push(`${name} (panel "${p.title}")`);
        }
    }
    assert.deepEqual(unknown, [], 'metric names the code does not export');
    for (const family of ['peercam_room_members', 'peercam_broker_clients', 'peercam_camera_viewers', 'peercam_first_frame_seconds_bucket', 'peercam_sessions_failed_total', 'peercam_signaling_dropped_total', 'peercam_recorder_written_bytes_total', 'peercam_recorder_disk_free_bytes', 'peercam_recorder_segments_total', 'peercam_viewer_sessions_failed_total', 'peercam_camera_bitrate_bps', 'peercam_camera_fps', 'peercam_camera_encodes_running', 'peercam_ice_failures_total', 'peercam_viewer_ice_failures_total', 'peercam_signaling_reconnects_total', 'peercam_viewer_reconnects_total', 'peercam_motion_events_total', 'peercam_recorder_motion_events_total'])
      assert.ok(used.has(family), `the dashboard shows ${family}`);
  });

  it('is a well-formed dashboard: unique panel ids, on the 24-column grid, every query on the datasource variable; promtool parses every expression', async () => {
    const dashboard = JSON.parse(await readFile(DASHBOARD, 'utf8')) as { uid: string; panels: Panel[]; templating: { list: { name: string }[] } };
    assert.ok(dashboard.uid);
    assert.deepEqual(dashboard.templating.list.map((v) => v.name), ['datasource', 'job']);
    const ids = dashboard.panels.map((p) => p.id);
    assert.equal(new Set(ids).size, ids.length, 'unique panel ids');
    const exprs: string[] = [];
    for (const p of dashboard.panels) {
      assert.ok(p.gridPos.x >= 0 && p.gridPos.x + p.gridPos.w <= 24, `panel "${p.title}" inside the grid`);
      if (p.type === 'row') continue;
      assert.equal(p.datasource?.uid, DATASOURCE, `panel "${p.title}" uses the datasource variable`);
      const refs = (p.targets ?? []).map((t) => t.refId);
      assert.equal(new Set(refs).size, refs.length, `panel "${p.title}": unique refIds`);
      exprs.push(...(p.targets ?? []).map((t) => t.expr));
    }
    // promtool parses PromQL in recording rules; Grafana's $job becomes a regex matching any job.
    const dir = await mkdtemp(join(tmpdir(), 'peercam-dashboard-'));
    try {
      const rules = ['groups:', '  - name: dashboard', '    rules:', ...exprs.map((e, i) => `      - record: dashboard_expr_${i}\n        expr: ${JSON.stringify(e.replaceAll('$job', '.*'))}`)];
      await writeFile(join(dir, 'rules.yml'), `${rules.join('\n')}\n`);
      const { stdout } = await promisify(execFile)('/usr/bin/promtool', ['check', 'rules', join(dir, 'rules.yml')]);
      assert.match(stdout, new RegExp(`SUCCESS: ${exprs.length} rules found`));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
