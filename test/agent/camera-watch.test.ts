import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { WatchReport } from '../../src/agent/watch.js';
import { startAedes, startMosquitto, type TestBroker } from '../helpers/brokers.js';
import { cliHome, runCli, spawnCli } from '../helpers/cli.js';
import { startCoturn } from '../helpers/coturn.js';

/** `peercam camera` and `peercam watch` as a user runs them, over each real broker. */
async function cameraRig(broker: TestBroker, source: string, extra: string[] = []) {
  const home = await cliHome();
  after(() => home.remove());
  const made = await runCli(['room', 'new', '--no-qr', '--broker', broker.url], home.env);
  assert.equal(made.code, 0, made.stderr);
  const camera = spawnCli(['camera', '--source', source, '--name', 'shelf', '--size', '640x360', '--gop', '1', ...extra], home.env);
  after(() => camera.kill());
  await camera.waitFor(/is live in room/);
  return { home, camera };
}

/** `diagnostics`: what else to show when the watch fails (the camera's output, a server's log). */
async function watchJson(env: NodeJS.ProcessEnv, extra: string[] = [], diagnostics?: () => Promise<string>): Promise<WatchReport> {
  const r = await runCli(['watch', 'shelf', '--seconds', '2', '--json', ...extra], env);
  if (r.code !== 0) assert.fail(`watch failed: ${r.stdout}\n${r.stderr}\n${diagnostics ? await diagnostics() : ''}`);
  return JSON.parse(r.stdout) as WatchReport;
}

/**
 * A relay-only `peercam camera` through a local coturn over one client leg (its UDP listener off unless `udp`), over
 * Mosquitto, with libdatachannel's verbose log on (shown only when a watch fails; it also logs each DTLS retransmission).
 */
async function relayCameraRig(transport: 'udp' | 'tcp' | 'tls') {
  const broker = await startMosquitto();
  after(() => broker.stop());
  const turn = await startCoturn({ relayIp: '127.0.0.2', udp: transport === 'udp', tls: transport === 'tls' });
  after(() => turn.stop());
  const url = turn.urls[transport] ?? assert.fail('no URL');
  const ice = url.replace(/^(turns?):/, `$1:${turn.username}:${turn.credential}@`);
  const home = await cliHome();
  after(() => home.remove());
  // The TLS client trusts the test server's self-signed certificate the way a user would: NODE_EXTRA_CA_CERTS.
  const env = { ...home.env, PEERCAM_WEBRTC_LOG: 'verbose', ...(turn.caFile ? { NODE_EXTRA_CA_CERTS: turn.caFile } : {}) };
  const made = await runCli(['room', 'new', '--no-qr', '--broker', broker.url], env);
  assert.equal(made.code, 0, made.stderr);
  const camera = spawnCli(['camera', '--source', 'demo', '--name', 'shelf', '--relay', '--ice-server', ice], env);
  after(() => camera.kill());
  await camera.waitFor(/is live in room/);
  return { turn, ice, env, camera };
}

describe('peercam camera + peercam watch', () => {
  it('testsrc over the embedded aedes broker: decodable H.264 640x360, viewer count printed', async () => {
    const broker = await startAedes();
    after(() => broker.stop());
    const { home, camera } = await cameraRig(broker, 'testsrc');
    const ls = await runCli(['ls', '--json', '--seconds', '1'], home.env);
    assert.deepEqual(
      (JSON.parse(ls.stdout) as { name: string; role: string; via: string }[]).map(({ name, role, via }) => ({ name, role, via })),
      [{ name: 'shelf', role: 'camera', via: 'mqtt' }],
    );
    const report = await watchJson(home.env);
    assert.equal(report.codec, 'H264');
    assert.equal(report.width, 640);
    assert.equal(report.height, 360);
    assert.ok(report.frames >= 40, `frames ${report.frames}`);
    assert.ok(report.keyframes >= 2, `keyframes ${report.keyframes} with a 1 s GOP over 2 s`);
    assert.equal(report.candidateType, 'host');
    await camera.waitFor(/joined; 1 watching/);
    await camera.waitFor(/left.*; 0 watching/);
  });

  it('testsrc encoded as VP8 (--codec vp8, the primary encode): decodable VP8 640x360', async () => {
    const broker = await startAedes();
    after(() => broker.stop());
    const { home } = await cameraRig(broker, 'testsrc', ['--codec', 'vp8']);
    const report = await watchJson(home.env);
    assert.equal(report.codec, 'VP8');
    assert.equal(report.width, 640);
    assert.equal(report.height, 360);
    // libvpx costs several times x264's CPU: on a loaded 2-core machine it may not hold 30 fps.
    assert.ok(report.frames >= 20, `frames ${report.frames}`);
    assert.ok(report.keyframes >= 2, `keyframes ${report.keyframes} with a 1 s GOP over 2 s`);
    const bad = await runCli(['camera', '--source', 'testsrc', '--codec', 'av1'], home.env);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /--codec av1: use h264 or vp8/);
  });

  it('the demo source over Mosquitto (no ffmpeg involved), two viewers at once', async () => {
    const broker = await startMosquitto();
    after(() => broker.stop());
    const { home } = await cameraRig(broker, 'demo');
    const [a, b] = await Promise.all([watchJson(home.env), watchJson(home.env)]);
    for (const r of [a, b]) {
      assert.ok(r.frames >= 40, `frames ${r.frames}`);
      assert.equal(r.width, 640);
      assert.ok(r.firstFrameMs !== undefined && r.connectedMs !== undefined && r.firstFrameMs - r.connectedMs < 1000, 'first frame soon after connecting (keyframe cache)');
    }
  });

  const clientLeg = { udp: 'TURN over UDP', tcp: 'TURN over TCP, its UDP listener off', tls: 'TURN over TLS, its UDP listener off' } as const;
  for (const transport of ['udp', 'tcp', 'tls'] as const) {
    it(`relay only on both sides, through a local coturn (${clientLeg[transport]})`, async () => {
      const { turn, ice, env, camera } = await relayCameraRig(transport);
      const report = await watchJson(env, ['--relay', '--ice-server', ice], async () => {
        const log = (await turn.log()).split('\n').slice(-60).join('\n');
        return `camera:\n${camera.output()}\ncoturn (last 60 lines):\n${log}`;
      });
      assert.equal(report.candidateType, 'relay');
      assert.ok(report.frames >= 40, `frames ${report.frames}`);
      process.stdout.write(`# ${clientLeg[transport]}: connected ${report.connectedMs} ms, first frame ${report.firstFrameMs} ms\n`);
    });
  }

  it('a relay-only camera (TURN over TCP) serves 20 watches in a row: none waits for a DTLS retransmit, none hangs', async () => {
    // The camera has a TURN server, so it answers as the DTLS client (src/media/ndc/connection.ts, answersActive). As the
    // server it got the watch's ClientHello before its own ICE check succeeded in ~1 session of 4 over a relay; then
    // libdatachannel 0.24 either resent it after 1 s or deadlocked, and the camera never connected anyone again.
    const { ice, env, camera } = await relayCameraRig('tcp');
    const retransmits = (text: string) => text.match(/DTLS retransmit done/g)?.length ?? 0;
    let watchRetransmits = 0;
    for (let i = 0; i < 20; i++) {
      const r = await runCli(['watch', 'shelf', '--seconds', '1', '--json', '--relay', '--ice-server', ice], env);
      const failure = r.stdout.split('\n').find((l) => l.startsWith('{')) ?? r.stderr.slice(-2000);
      assert.equal(r.code, 0, `watch ${i + 1} of 20 failed (a hung camera fails every one after it): ${failure}`);
      assert.equal((JSON.parse(r.stdout) as WatchReport).candidateType, 'relay');
      watchRetransmits += retransmits(r.stderr);
    }
    assert.equal(watchRetransmits + retransmits(camera.output()), 0, 'DTLS retransmissions in 20 relayed sessions');
  });

  it('says how to fix a missing ffmpeg, and watch exits non-zero naming a camera that is not there', async () => {
    const broker = await startAedes();
    after(() => broker.stop());
    const home = await cliHome();
    after(() => home.remove());
    await runCli(['room', 'new', '--no-qr', '--broker', broker.url], home.env);
    const r = await runCli(['camera', '--source', 'testsrc'], { ...home.env, PEERCAM_FFMPEG: '/nonexistent/ffmpeg' });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /ffmpeg was not found/);
    assert.match(r.stderr, /apt-get install ffmpeg|PEERCAM_FFMPEG/);
    const w = await runCli(['watch', 'nobody', '--seconds', '1'], home.env);
    assert.equal(w.code, 1);
    assert.match(w.stderr, /No camera named "nobody"/);
  });
});
