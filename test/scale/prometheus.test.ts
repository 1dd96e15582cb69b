import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Room } from '../../src/protocol/index.js';
import { type CliProcess, spawnCli } from '../helpers/cli.js';
import { type PrometheusServer, startPrometheus } from '../helpers/prometheus.js';
import { eventually } from '../helpers/wait.js';
import { type HubProcess, startHubProcess } from '../web/hub-process.js';

/**
 * A real Prometheus (Debian's `prometheus` 2.42) scrapes, every second: the hub's /metrics with the room's HTTP token
 * (`authorization.credentials_file`, as docs/SCALE.md shows), the same without the token, a `peercam camera
 * --metrics-port` and a `peercam record --metrics-port`; the test reads the series back over Prometheus' HTTP API.
 */
describe('Prometheus scrapes a hub, a camera and a recorder', () => {
  let hub: HubProcess;
  let prom: PrometheusServer;
  let camera: CliProcess;
  let recorder: CliProcess;
  let out: string;
  before(async () => {
    hub = await startHubProcess({ demo: true });
    const room = await Room.fromLink(hub.link);
    const link = await room.link();
    const broker = ['--room', link, '--broker', `mqtt://127.0.0.1:${hub.mqttPort}`];
    camera = spawnCli(['camera', '--source', 'demo', '--name', 'shelf', '--metrics-port', '0', ...broker], hub.env);
    out = await mkdtemp(join(tmpdir(), 'peercam-prom-rec-'));
    recorder = spawnCli(['record', '--out', out, '--segment', '2s', '--metrics-port', '0', ...broker], hub.env);
    await camera.waitFor(/metrics at http:\/\/127\.0\.0\.1:\d+\/metrics/, 30_000);
    await recorder.waitFor(/metrics at http:\/\/127\.0\.0\.1:\d+\/metrics/, 30_000);
    const target = (p: CliProcess) => /metrics at http:\/\/(127\.0\.0\.1:\d+)\/metrics/.exec(p.output())?.[1] ?? '';
    prom = await startPrometheus(
      (dir) => `global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: peercam-hub
    authorization: { type: Bearer, credentials_file: ${join(dir, 'peercam-token')} }
    static_configs: [{ targets: ['127.0.0.1:${hub.port}'] }]
  - job_name: peercam-hub-without-token
    static_configs: [{ targets: ['127.0.0.1:${hub.port}'] }]
  - job_name: peercam-camera
    static_configs: [{ targets: ['${target(camera)}'] }]
  - job_name: peercam-record
    static_configs: [{ targets: ['${target(recorder)}'] }]
`,
      { 'peercam-token': room.credentials.httpToken },
    );
  });
  after(async () => {
    await prom?.stop();
    await recorder?.stop();
    await camera?.kill();
    await hub?.close();
    if (out) await rm(out, { recursive: true, force: true });
  });

  /** The value of one series (labels as PromQL matchers), once Prometheus has it and `ok` holds. */
  const value = (series: string, ok: (v: number) => boolean, what: string) =>
    eventually(
      async () => {
        const r = await prom.query(series);
        assert.equal(r.length, 1, `${series}: ${JSON.stringify(r)}`);
        const v = r[0]!.value;
        assert.ok(ok(v), `${series} = ${v}`);
        return v;
      },
      { timeoutMs: 30_000, intervalMs: 250, what },
    );

  it('scrapes the hub with the bearer token only, and the camera and the recorder on their metrics ports', async () => {
    for (const job of ['peercam-hub', 'peercam-camera', 'peercam-record']) await value(`up{job="${job}"}`, (v) => v === 1, `${job} up`);
    await value('up{job="peercam-hub-without-token"}', (v) => v === 0, 'the scrape without the token refused (401)');
  });

  it('returns the viewer count of each camera: the recorder watches both', async () => {
    await value('peercam_camera_viewers{job="peercam-hub",camera="Demo camera"}', (v) => v === 1, "the demo camera's viewer (the recorder)");
    await value('peercam_camera_viewers{job="peercam-camera",camera="shelf"}', (v) => v === 1, "shelf's viewer (the recorder)");
    await value('peercam_room_members{job="peercam-hub",role="camera"}', (v) => v === 2, 'two cameras in the room');
    await value('sum(peercam_sessions_started_total{job=~"peercam-hub|peercam-camera"})', (v) => v >= 2, 'sessions started');
    await value('peercam_signaling_dropped_total{job="peercam-camera",reason="bad-tag"}', (v) => v === 0, 'no drops (the series exists from the start)');
  });

  it('returns the recorder numbers: cameras, bytes, segments, disk', async () => {
    await value('peercam_recorder_cameras{job="peercam-record"}', (v) => v === 2, 'two cameras recorded');
    await value('peercam_viewer_sessions_connected_total{job="peercam-record",camera="shelf"}', (v) => v >= 1, "the recorder's session to shelf");
    await value('sum(rate(peercam_recorder_received_bytes_total{job="peercam-record"}[5s]))', (v) => v > 10_000, 'RTP flowing into the recorder');
    await value('sum(peercam_recorder_segments_total{job="peercam-record"})', (v) => v >= 1, 'a finished segment');
    await value('sum(peercam_recorder_written_bytes_total{job="peercam-record"})', (v) => v > 0, 'bytes written');
    await value('peercam_recorder_disk_free_bytes{job="peercam-record"}', (v) => v > 0, 'free disk');
    await value('peercam_recorder_disk_writable{job="peercam-record"}', (v) => v === 1, 'the disk writable');
    // No ICE trouble on either side of every session (a DTLS handshake that libdatachannel fails while it applies the
    // answer is started again without counting as ICE trouble).
    const troubled = await prom.query('peercam_ice_failures_total > 0 or peercam_viewer_ice_failures_total > 0');
    assert.deepEqual(troubled.map((t) => t.metric), []);
  });
});
