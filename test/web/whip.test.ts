import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { shutdownNdc } from '../../src/media/ndc/index.js';
import { cliHome, runCli, spawnCli } from '../helpers/cli.js';
import { waitFor } from '../helpers/wait.js';
import { serveWhipWhepPages } from '../helpers/whip-whep-pages.js';
import { startWhepHub, type WhepHub } from '../helpers/whep-hub.js';
import { device, launch } from './browser.js';
import { liveTile } from './pages.js';

describe('WHIP ingest: a Chromium whip-whep WHIPClient becomes a camera of the room', () => {
  let rig: WhepHub;
  let pages: Awaited<ReturnType<typeof serveWhipWhepPages>>;
  let browser: Browser;

  before(async () => {
    rig = await startWhepHub();
    pages = await serveWhipWhepPages();
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
    await pages?.close();
    await rig?.close();
    shutdownNdc();
  });

  it('publishes its fake camera; `peercam watch` and a Chromium tile play it; DELETE removes the camera', async () => {
    const publisher = await device(browser);
    await publisher.page.goto(`${pages.origin}/publisher.html`);
    await publisher.page.waitForFunction(() => 'publish' in window);
    const t0 = Date.now();
    await publisher.page.evaluate(
      ([u, t]) => (window as unknown as { publish(u: string, t: string): Promise<void> }).publish(u, t),
      [`${rig.origin}/whip/${encodeURIComponent('Browser pub')}`, rig.token] as const,
    );
    await waitFor(() => rig.door.gateway?.isLive('Browser pub') === true, { timeoutMs: 10_000, what: 'the WHIP publisher to appear as a camera' });
    assert.equal(rig.door.whip.size, 1);
    process.stdout.write(`# WHIP POST -> camera in the room: ${Date.now() - t0} ms\n`);

    // A second publisher under the same name: 409.
    const again = await fetch(`${rig.origin}/whip/${encodeURIComponent('Browser pub')}`, {
      method: 'POST',
      body: 'v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=ice-ufrag:abcd\r\na=ice-pwd:abcdabcdabcdabcdabcdabcd\r\na=fingerprint:sha-256 AA:BB\r\na=sendonly\r\n',
      headers: { 'content-type': 'application/sdp', authorization: `Bearer ${rig.token}` },
    });
    assert.equal(again.status, 409);

    // peercam watch (the CLI, another process) over the hub's broker.
    const home = await cliHome();
    try {
      const link = await rig.room.link();
      const watch = await runCli(['watch', 'Browser pub', '--room', link, '--broker', rig.hub.brokerUrl, '--seconds', '2', '--json'], home.env, 60_000);
      assert.equal(watch.code, 0, watch.stderr);
      const result = JSON.parse(watch.stdout.trim().split('\n').at(-1) ?? '{}') as { frames: number; firstFrameMs: number; codec: string };
      process.stdout.write(`# peercam watch of the WHIP camera: ${JSON.stringify(result)}\n`);
      assert.ok(result.frames > 10, `frames: ${result.frames}`);
    } finally {
      await home.remove();
    }

    // A Chromium tile in the hub's viewer.
    const viewer = await device(browser);
    const link = await rig.room.link(`${rig.origin}/`);
    await viewer.page.goto(link);
    await liveTile(viewer.page, 'Browser pub', 20_000);

    await publisher.page.evaluate(() => (window as unknown as { client: { stop(): Promise<void> } }).client.stop());
    await waitFor(() => rig.door.whip.size === 0 && rig.door.gateway?.isLive('Browser pub') === false, {
      timeoutMs: 10_000,
      what: 'the WHIP camera to leave the room after DELETE',
    });
    await viewer.page.locator('.tile', { has: viewer.page.locator('.name', { hasText: 'Browser pub' }) }).waitFor({ state: 'detached', timeout: 15_000 });
    await viewer.context.close();
    await publisher.context.close();
  });

  it('`peercam camera --whip-out` publishes to the hub\'s WHIP door beside its P2P viewers; a tile plays both', async () => {
    const home = await cliHome();
    const link = await rig.room.link();
    const camera = spawnCli(
      ['camera', '--source', 'demo', '--name', 'Desk', '--room', link, '--broker', rig.hub.brokerUrl, '--whip-out', `${rig.origin}/whip/Relayed`, '--token', rig.token],
      home.env,
    );
    try {
      const t0 = Date.now();
      await camera.waitFor(/WHIP output live/, 20_000);
      await waitFor(() => rig.door.gateway?.isLive('Relayed') === true && rig.door.gateway.isLive('Desk'), { timeoutMs: 10_000, what: 'Desk and its WHIP copy Relayed in the room' });
      process.stdout.write(`# --whip-out: camera start -> WHIP copy in the room ${Date.now() - t0} ms\n`);
      const viewer = await device(browser);
      await viewer.page.goto(await rig.room.link(`${rig.origin}/`));
      await liveTile(viewer.page, 'Relayed', 20_000);
      await liveTile(viewer.page, 'Desk', 20_000);
      await camera.stop();
      await waitFor(() => rig.door.whip.size === 0, { timeoutMs: 10_000, what: 'the WHIP session DELETEd when the camera stops' });
      await viewer.context.close();
    } finally {
      await camera.kill();
      await home.remove();
    }
  });
});
