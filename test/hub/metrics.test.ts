import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Room } from '../../src/protocol/index.js';
import { type CliProcess, runCli, spawnCli } from '../helpers/cli.js';
import { waitFor } from '../helpers/wait.js';
import { type HubProcess, startHubProcess } from '../web/hub-process.js';
import { makeMotionClip } from '../events/clip.js';

/** The value of one series in Prometheus text format (`name{a="b"} 3`); 0 when absent. */
function sample(text: string, series: string): number {
  for (const line of text.split('\n')) if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  return 0;
}

/** The series of metric `name` whose labels include `having` (`camera="yard"`), as `labels -> value`. */
function series(text: string, name: string, having = ''): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = new RegExp(`^${name}\\{([^}]*)\\} (\\S+)$`).exec(line);
    if (m?.[1]?.includes(having)) out.set(m[1], Number(m[2]));
  }
  return out;
}
const total = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
const metricsUrl = (p: CliProcess) => /metrics at (http:\/\/127\.0\.0\.1:\d+\/metrics)/.exec(p.output())?.[1] ?? '';

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

  describe('a camera with motion and a recorder: bitrate, fps, encodes, motion events, ICE failures, reconnects', () => {
    let dir: string;
    let camera: CliProcess;
    let recorder: CliProcess;
    const cameraArgs = () => ['camera', '--source', `file:${join(dir, 'motion.mp4')}`, '--name', 'yard', '--size', '320x180', '--bitrate', '300', '--motion-quiet', '1', '--metrics-port', '0', '--room', link, '--broker', `mqtt://127.0.0.1:${hub.mqttPort}`];
    const text = async (p: CliProcess) => (await fetch(metricsUrl(p))).text();
    // Started by the first test, not a before(): a nested suite's hook could run while the tests above still do.
    const setUp = async () => {
      dir = await mkdtemp(join(tmpdir(), 'peercam-metrics-'));
      await makeMotionClip(dir);
      camera = spawnCli(cameraArgs(), hub.env);
      recorder = spawnCli(['record', '--out', join(dir, 'rec'), '--metrics-port', '0', '--room', link, '--broker', `mqtt://127.0.0.1:${hub.mqttPort}`], hub.env);
      await camera.waitFor(/is live in room/, 30_000);
      await recorder.waitFor(/metrics at http/, 30_000);
    };
    after(async () => {
      await camera?.kill();
      await recorder?.kill();
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it('source bitrate and fps, the encodes running per codec, motion events from the detector and at the recorder, ICE failures by problem', async () => {
      await setUp();
      // A camera and a second recorder that gather no candidates (no PEERCAM_ICE_BIND in this loopback-only
      // namespace): each side counts its ICE trouble once per session, with the diagnosis.
      const bare = { ...hub.env };
      delete bare.PEERCAM_ICE_BIND;
      const broker = ['--room', link, '--broker', `mqtt://127.0.0.1:${hub.mqttPort}`];
      const icy = spawnCli(['camera', '--source', 'demo', '--name', 'icy', '--no-motion', '--metrics-port', '0', ...broker], bare);
      after(() => icy.kill());
      const stuck = spawnCli(['record', '--out', join(dir, 'rec2'), '--cameras', 'icy', '--metrics-port', '0', ...broker], bare);
      after(() => stuck.kill());
      const t0 = await text(camera);
      // None on the healthy camera. A DTLS handshake that fails after ICE connected (libdatachannel checking the
      // certificate while it still applies the answer) is set up again without counting as ICE trouble.
      assert.equal(total(series(t0, 'peercam_ice_failures_total', 'camera="yard"')), 0, t0);
      assert.equal(sample(t0, 'peercam_camera_encodes_running{camera="yard",codec="vp8"}'), 0, t0);
      // A VP8-only viewer: a second encode runs while it watches (and 10 s after).
      const r = await runCli(['watch', 'yard', '--codec', 'vp8', '--seconds', '1', '--json', '--room', link, '--broker', `mqtt://127.0.0.1:${hub.mqttPort}`], hub.env);
      assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
      const t1 = await text(camera);
      assert.equal(sample(t1, 'peercam_camera_encodes_running{camera="yard",codec="h264"}'), 1, t1);
      assert.equal(sample(t1, 'peercam_camera_encodes_running{camera="yard",codec="vp8"}'), 1, 'the VP8 encode lingers after its viewer');
      assert.equal(sample(t1, 'peercam_camera_second_encodes_started_total{camera="yard",codec="vp8"}'), 1);
      // What the source produces, watched or not: 30 fps, a few hundred kb/s.
      const fps = sample(t1, 'peercam_camera_fps{camera="yard"}');
      assert.ok(fps >= 10 && fps <= 40, `fps ${fps}`);
      const bps = sample(t1, 'peercam_camera_bitrate_bps{camera="yard"}');
      assert.ok(bps >= 30_000 && bps <= 3_000_000, `bitrate ${bps}`);
      assert.ok(sample(t1, 'peercam_camera_source_frames_total{camera="yard"}') > sample(t0, 'peercam_camera_source_frames_total{camera="yard"}'));
      assert.ok(sample(t1, 'peercam_camera_source_bytes_total{camera="yard"}') > sample(t0, 'peercam_camera_source_bytes_total{camera="yard"}'));
      assert.equal(sample(t1, 'peercam_signaling_links{state="online"}'), 1);
      // The clip's moving box (2-5 s of every 14 s loop): an event from the camera's detector, heard by the recorder.
      let cam = '';
      await waitFor(
        async () => {
          cam = await text(camera);
          return sample(cam, 'peercam_motion_events_total{camera="yard"}') >= 1;
        },
        { timeoutMs: 30_000, what: 'a motion event in the camera metrics' },
      );
      assert.ok(sample(cam, 'peercam_motion_analysis_seconds_total{camera="yard"}') > 0);
      await waitFor(async () => sample(await text(recorder), 'peercam_recorder_motion_events_total{camera="yard"}') >= 1, {
        timeoutMs: 10_000,
        what: 'the motion event in the recorder metrics',
      });
      // The event ends a second after the box stops.
      await waitFor(async () => sample(await text(camera), 'peercam_motion_active{camera="yard"}') === 0, { timeoutMs: 15_000, what: 'the event over' });
      await icy.waitFor(/metrics at http/, 30_000);
      await stuck.waitFor(/metrics at http/, 30_000);
      let ice = new Map<string, number>();
      await waitFor(
        async () => {
          ice = series(await text(icy), 'peercam_ice_failures_total', 'camera="icy"');
          return total(ice) >= 1;
        },
        { timeoutMs: 30_000, what: "the camera counting the recorder's session as an ICE failure" },
      );
      let viewerIce = new Map<string, number>();
      await waitFor(
        async () => {
          viewerIce = series(await text(stuck), 'peercam_viewer_ice_failures_total', 'camera="icy"');
          return total(viewerIce) >= 1;
        },
        { timeoutMs: 45_000, what: 'the recorder without candidates counting its session to icy as an ICE failure' },
      );
      await stuck.kill();
      await icy.kill();
      process.stdout.write(`# metrics: fps ${fps}, ${bps} b/s; ICE failures at the camera ${JSON.stringify(Object.fromEntries(ice))}, at the recorder ${JSON.stringify(Object.fromEntries(viewerIce))}\n`);
      for (const labels of [...ice.keys(), ...viewerIce.keys()]) assert.match(labels, /problem="no-local-candidates"/, 'nothing gathered');
      const yard = series(await text(camera), 'peercam_ice_failures_total', 'camera="yard"');
      assert.equal(total(yard), 0, `none where ICE works: ${JSON.stringify(Object.fromEntries(yard))}`);
    });

    it('reconnects: the recorder connecting again to a restarted camera; signaling links coming back after the broker restarts', async () => {
      assert.equal(sample(await text(recorder), 'peercam_viewer_reconnects_total{camera="yard"}'), 0);
      await camera.stop();
      camera = spawnCli(cameraArgs(), hub.env);
      await camera.waitFor(/is live in room/, 30_000);
      await waitFor(async () => sample(await text(recorder), 'peercam_viewer_reconnects_total{camera="yard"}') >= 1, {
        timeoutMs: 30_000,
        what: 'the recorder connected again to the restarted camera',
      });
      assert.equal(sample(await text(camera), 'peercam_signaling_reconnects_total'), 0);
      await hub.restart();
      for (const p of [camera, recorder])
        await waitFor(async () => sample(await text(p), 'peercam_signaling_reconnects_total') >= 1, { timeoutMs: 30_000, what: 'the link back after the hub restarted' });
      await waitFor(async () => sample(await text(camera), 'peercam_signaling_links{state="online"}') === 1, { timeoutMs: 10_000, what: 'the link online' });
    });
  });
});
