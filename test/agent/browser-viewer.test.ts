import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { browserRig, type BrowserRig, launchChromium, watchInBrowser } from '../helpers/browser.js';
import { cliHome, runCli, spawnCli } from '../helpers/cli.js';
import { startCoturn } from '../helpers/coturn.js';

describe('Chromium watches a `peercam camera` (testsrc) over MQTT', () => {
  let rig: BrowserRig;
  let browser: Browser;
  let link: string;
  let home: Awaited<ReturnType<typeof cliHome>>;
  const cleanups: (() => Promise<unknown>)[] = [];
  before(async () => {
    rig = await browserRig();
    browser = await launchChromium();
    home = await cliHome();
    const dir = home;
    cleanups.push(() => dir.remove());
    const made = await runCli(['room', 'new', '--no-qr', '--broker', rig.broker.url], home.env);
    assert.equal(made.code, 0, made.stderr);
    link = made.stdout.trim();
    const camera = spawnCli(['camera', '--source', 'testsrc', '--name', 'desk', '--size', '640x360', '--gop', '2'], home.env);
    cleanups.push(() => camera.kill());
    await camera.waitFor(/source live/, 20_000);
  });
  after(async () => {
    for (const c of cleanups.reverse()) await c();
    await browser?.close();
    await rig?.close();
  });

  it('decodes 640x360 video on a direct path, first frame from the keyframe cache', async () => {
    const page = await rig.page(browser);
    const [trial] = await watchInBrowser(page, { link, broker: rig.wsBroker, camera: 'desk', trials: 1, playMs: 1500 });
    assert.ok(trial);
    assert.equal(trial.width, 640);
    assert.equal(trial.height, 360);
    assert.ok(trial.framesDecoded >= 20, `framesDecoded ${trial.framesDecoded}`);
    assert.equal(trial.candidateType, 'host');
    assert.ok(Number.isFinite(trial.ttffMs), 'a frame was presented');
    await page.close();
  });

  it('decodes VP8 from a camera encoding VP8 (--codec vp8)', async () => {
    const camera = spawnCli(['camera', '--source', 'testsrc', '--name', 'vp8-desk', '--size', '640x360', '--gop', '2', '--codec', 'vp8'], home.env);
    after(() => camera.kill());
    await camera.waitFor(/is live in room/, 20_000);
    const page = await rig.page(browser);
    const [trial] = await watchInBrowser(page, { link, broker: rig.wsBroker, camera: 'vp8-desk', trials: 1, playMs: 1500 });
    assert.ok(trial);
    assert.equal(trial.width, 640);
    assert.equal(trial.height, 360);
    assert.ok(trial.framesDecoded >= 20, `framesDecoded ${trial.framesDecoded}`);
    process.stdout.write(`# Chromium VP8: first frame ${Math.round(trial.ttffMs)} ms\n`);
    await page.close();
  });

  // The camera knows the same TURN server as the viewer, as `peercam up --ice-server` arranges for pages and cameras.
  // Over TCP, Chromium's checks reach the camera's relay through peercam's TURN bridge, which mends their zero
  // tie-breaker for libjuice (docs/TURN.md); coturn's UDP listener is off, so the client legs can only be TCP.
  for (const transport of ['udp', 'tcp'] as const) {
    it(`decodes through a local coturn with iceTransportPolicy relay (TURN over ${transport.toUpperCase()})`, async () => {
      const turn = await startCoturn({ relayIp: '127.0.0.2', udp: transport === 'udp' });
      after(() => turn.stop());
      const ice = turn.urls[transport].replace(/^turn:/, `turn:${turn.username}:${turn.credential}@`);
      const name = `porch-${transport}`;
      // -v: what the camera's sessions did, printed if the page fails.
      const camera = spawnCli(['camera', '-v', '--source', 'testsrc', '--name', name, '--size', '640x360', '--gop', '2', '--ice-server', ice], home.env);
      after(() => camera.kill());
      await camera.waitFor(/is live in room/, 20_000);
      const page = await rig.page(browser);
      const [trial] = await watchInBrowser(page, {
        link,
        broker: rig.wsBroker,
        camera: name,
        trials: 1,
        playMs: 1500,
        relay: true,
        iceServers: [{ urls: turn.urls[transport], username: turn.username, credential: turn.credential }],
      }).catch((err: unknown) => {
        throw new Error(`${String(err)}\ncamera said:\n${camera.output().slice(-3000)}`, { cause: err });
      });
      assert.ok(trial);
      assert.equal(trial.candidateType, 'relay');
      assert.ok(trial.framesDecoded >= 20, `framesDecoded ${trial.framesDecoded}`);
      process.stdout.write(`# Chromium through TURN/${transport.toUpperCase()}: first frame ${Math.round(trial.ttffMs)} ms\n`);
      await page.close();
    });
  }
});
