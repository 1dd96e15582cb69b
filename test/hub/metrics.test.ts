import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Room } from '../../src/protocol/index.js';
import { runCli, spawnCli } from '../helpers/cli.js';
import { waitFor } from '../helpers/wait.js';
import { type HubProcess, startHubProcess } from '../web/hub-process.js';

/** The value of one series in Prometheus text format (`name{a="b"} 3`); 0 when absent. */
function sample(text: string, series: string): number {
  for (const line of text.split('\n')) if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  return 0;
}

describe('Prometheus metrics: the hub /metrics (room HTTP token) and peercam camera --metrics-port', () => {
  let hub: HubProcess;
  let room: Room;
  let link: string;
  before(async () => {
    hub = await startHubProcess({ demo: true });
    room = await Room.fromLink(hub.link);
    link = await room.link();
  });
  after(() => hub?.close());

  const scrape = async (headers: Record<string, string> = { authorization: `Bearer ${room.credentials.httpToken}` }) => {
    const res = await fetch(`http://127.0.0.1:${hub.port}/metrics`, { headers });
    return { status: res.status, type: res.headers.get('content-type') ?? '', text: await res.text() };
  };
  const watch = async (camera: string) => {
    const r = await runCli(['watch', camera, '--seconds', '1', '--json', '--room', link, '--broker', `mqtt://127.0.0.1:${hub.mqttPort}`], hub.env);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
  };

  it('refuses a scrape without the room token', async () => {
    assert.equal((await scrape({})).status, 401);
    assert.equal((await scrape({ authorization: 'Bearer not-the-token' })).status, 401);
    const ok = await scrape();
    assert.equal(ok.status, 200);
    assert.match(ok.type, /^text\/plain; version=0\.0\.4/);
  });

  it('the numbers move when a viewer watches the demo camera', async () => {
    const cam = 'camera="Demo camera"';
    const t0 = (await scrape()).text;
    assert.equal(sample(t0, 'peercam_room_members{role="camera"}'), 1, t0);
    assert.equal(sample(t0, `peercam_sessions_started_total{${cam}}`), 0);
    await watch('Demo camera');
    // The session ends (the viewer hangs up) a moment after watch exits.
    let t1 = '';
    await waitFor(
      async () => {
        t1 = (await scrape()).text;
        return sample(t1, `peercam_sessions_ended_total{${cam},reason="hangup"}`) === 1;
      },
      { timeoutMs: 10_000, what: 'the ended session in the metrics' },
    );
    assert.equal(sample(t1, `peercam_sessions_started_total{${cam}}`), 1);
    assert.equal(sample(t1, `peercam_camera_viewers{${cam}}`), 0);
    assert.equal(sample(t1, `peercam_first_frame_seconds_count{${cam}}`), 1);
    assert.ok(sample(t1, `peercam_first_frame_seconds_sum{${cam}}`) > 0);
    assert.ok(sample(t1, `peercam_camera_sent_frames_total{${cam}}`) >= 10, t1);
    assert.ok(sample(t1, `peercam_camera_sent_bytes_total{${cam}}`) > sample(t1, `peercam_camera_sent_packets_total{${cam}}`));
    assert.ok(sample(t1, 'peercam_broker_messages_total') >= sample(t0, 'peercam_broker_messages_total') + 4, 'offer, answer, candidates went through the broker');
    assert.ok(sample(t1, 'peercam_broker_connections_total') > sample(t0, 'peercam_broker_connections_total'));
    assert.equal(sample(t1, `peercam_sessions_failed_total{${cam},reason="ice-failed"}`), 0);
  });

  it('peercam camera --metrics-port serves its own numbers on 127.0.0.1; the hub counts it as a member', async () => {
    const camera = spawnCli(['camera', '--source', 'demo', '--name', 'shelf', '--metrics-port', '0', '--room', link, '--broker', `mqtt://127.0.0.1:${hub.mqttPort}`], hub.env);
    after(() => camera.kill());
    await camera.waitFor(/is live in room/, 20_000);
    const url = /metrics at (http:\/\/127\.0\.0\.1:\d+\/metrics)/.exec(camera.output())?.[1];
    assert.ok(url, camera.output());
    await waitFor(async () => sample((await scrape()).text, 'peercam_room_members{role="camera"}') === 2, { timeoutMs: 10_000, what: 'the hub counting two cameras' });
    await watch('shelf');
    const text = await (await fetch(url)).text();
    assert.equal(sample(text, 'peercam_sessions_started_total{camera="shelf"}'), 1, text);
    assert.ok(sample(text, 'peercam_camera_sent_frames_total{camera="shelf"}') >= 10);
    assert.equal(sample(text, 'peercam_first_frame_seconds_count{camera="shelf"}'), 1);
  });
});
