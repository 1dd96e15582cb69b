import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { shutdownNdc } from '../../src/media/ndc/index.js';
import { cliHome, runCli } from '../helpers/cli.js';
import { waitFor } from '../helpers/wait.js';
import { startWhepHub, type WhepHub } from '../helpers/whep-hub.js';
import { device, launch } from './browser.js';
import { liveTile } from './pages.js';
import { stopChild } from '../helpers/procs.js';

/**
 * Debian's simple-whip-client (Meetecho, GStreamer webrtcbin) publishes a test pattern through the hub's WHIP door.
 * libnice gathers no loopback candidates, so this namespace gets a veth address and the door's peers bind there.
 * whip-client runs with scripts/gupnp-igd-stub.c in LD_LIBRARY_PATH: without it Debian 12's build aborts at start
 * (libsoup 2 and 3 in one process, docs/WHEP.md).
 */
const ADDRESS = '10.78.0.1';
const PATTERN =
  'videotestsrc is-live=true pattern=ball ! video/x-raw,width=640,height=360,framerate=30/1 ! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=60 ! ' +
  'rtph264pay config-interval=-1 pt=96 ! application/x-rtp,media=video,encoding-name=H264,payload=96';

describe('WHIP ingest: Debian simple-whip-client (GStreamer) becomes a camera of the room', () => {
  let rig: WhepHub;
  let browser: Browser;
  let stubDir: string;

  before(async () => {
    execFileSync('ip', ['link', 'add', 'pcgst0', 'type', 'veth', 'peer', 'name', 'pcgst1']);
    execFileSync('ip', ['addr', 'add', `${ADDRESS}/24`, 'dev', 'pcgst0']);
    execFileSync('ip', ['link', 'set', 'pcgst0', 'up']);
    execFileSync('ip', ['link', 'set', 'pcgst1', 'up']);
    stubDir = await mkdtemp(join(tmpdir(), 'peercam-gupnp-'));
    const stub = join(import.meta.dirname, '..', '..', 'scripts', 'gupnp-igd-stub.c');
    execFileSync('cc', ['-shared', '-fPIC', '-Wl,-soname,libgupnp-igd-1.0.so.4', '-o', join(stubDir, 'libgupnp-igd-1.0.so.4'), stub]);
    rig = await startWhepHub({ whipEngine: { bindAddress: ADDRESS } });
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
    await rig?.close();
    shutdownNdc();
    if (stubDir) await rm(stubDir, { recursive: true, force: true });
    execFileSync('ip', ['link', 'del', 'pcgst0']);
  });

  it('publishes an H.264 test pattern; `peercam watch` and a Chromium tile play it; Ctrl+C DELETEs it', async () => {
    const t0 = Date.now();
    const client = spawn('whip-client', ['-u', `${rig.origin}/whip/Pattern`, '-t', rig.token, '-V', PATTERN], {
      env: { ...process.env, LD_LIBRARY_PATH: stubDir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    client.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    client.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    try {
      await waitFor(() => /PeerConnection connected/.test(out) || client.exitCode !== null, { timeoutMs: 30_000, what: `whip-client to connect:\n${out}` });
      assert.equal(client.exitCode, null, `whip-client exited:\n${out}`);
      await waitFor(() => rig.door.gateway?.isLive('Pattern') === true, { timeoutMs: 10_000, what: 'the GStreamer publisher to appear as a camera' });
      process.stdout.write(`# whip-client start -> camera in the room: ${Date.now() - t0} ms\n`);

      const home = await cliHome();
      try {
        const link = await rig.room.link();
        const env = { ...home.env, PEERCAM_ICE_BIND: ADDRESS };
        const watch = await runCli(['watch', 'Pattern', '--room', link, '--broker', rig.hub.brokerUrl, '--seconds', '2', '--json'], env, 60_000);
        assert.equal(watch.code, 0, watch.stderr);
        const result = JSON.parse(watch.stdout.trim().split('\n').at(-1) ?? '{}') as { frames: number; codec: string; width: number; height: number };
        process.stdout.write(`# peercam watch of the GStreamer camera: ${JSON.stringify(result)}\n`);
        assert.ok(result.frames > 10, `frames: ${result.frames}`);
        assert.match(result.codec, /h264/i);
        assert.equal(result.width, 640);
        assert.equal(result.height, 360);
      } finally {
        await home.remove();
      }

      const viewer = await device(browser);
      await viewer.page.goto(await rig.room.link(`${rig.origin}/`));
      await liveTile(viewer.page, 'Pattern', 20_000);

      // whip-client DELETEs its resource on SIGINT (Ctrl+C): the camera leaves, its tile goes away.
      client.kill('SIGINT');
      await waitFor(() => rig.door.whip.size === 0 && rig.door.gateway?.isLive('Pattern') === false, {
        timeoutMs: 15_000,
        what: 'the GStreamer camera to leave after whip-client stopped',
      });
      await viewer.page.locator('.tile', { has: viewer.page.locator('.name', { hasText: 'Pattern' }) }).waitFor({ state: 'detached', timeout: 15_000 });
      await viewer.context.close();
    } finally {
      await stopChild(client, 'SIGINT');
    }
  });
});
