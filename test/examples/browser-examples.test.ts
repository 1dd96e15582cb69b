import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { build } from 'vite';
import { Room } from '../../src/protocol/index.js';
import { launchBrowser } from '../helpers/chromium.js';
import { startStaticHost } from '../helpers/static-host.js';
import { waitFor } from '../helpers/wait.js';
import { type HubProcess, startHubProcess } from '../web/hub-process.js';
import { type PackedProject, packedProject } from './package.js';
import { type Example, runExample } from './run-example.js';

describe('examples/browser* run from the packed package, bundled with Vite, in Chromium against a real hub', () => {
  let project: PackedProject;
  const running: Example[] = [];
  const env = { ...process.env, PEERCAM_ICE_BIND: '127.0.0.1', PEERCAM_MDNS: 'off' };
  before(async () => {
    project = await packedProject();
  });
  after(async () => {
    for (const e of running) await e.stop();
    await project?.remove();
  });

  describe('browser: the page of examples/browser, bundled with Vite, in Chromium against a real hub', () => {
    let hub: HubProcess;
    let browser: Browser;
    let site: Awaited<ReturnType<typeof startStaticHost>>;
    before(async () => {
      const root = join(project.dir, 'examples', 'browser');
      const chat = join(project.dir, 'examples', 'browser-chat');
      const built = Promise.all([
        build({ root, configFile: join(root, 'vite.config.js'), logLevel: 'silent', build: { outDir: join(project.dir, 'site'), emptyOutDir: true } }),
        build({ root: chat, configFile: join(chat, 'vite.config.js'), logLevel: 'silent', build: { outDir: join(project.dir, 'site', 'chat'), emptyOutDir: true } }),
      ]);
      [hub, browser] = await Promise.all([startHubProcess({ demo: true }), launchBrowser(), built]);
      site = await startStaticHost({ root: join(project.dir, 'site'), host: '127.0.0.1', port: 0 });
    });
    after(async () => {
      await browser?.close();
      await hub?.close();
      await site?.close();
    });

    it('shows every camera of the room playing (the hub\'s demo cameras and a Node camera)', async () => {
      const room = await Room.fromLink(hub.link);
      const mqttOverWs = `ws://127.0.0.1:${hub.port}/mqtt`;
      // A Node camera joins the hub's room too, over the hub's own broker.
      const hubCamera = runExample(project, 'camera.mjs', ['demo'], { ...env, PEERCAM_ROOM: await room.link('peercam://room', { broker: `mqtt://127.0.0.1:${hub.mqttPort}` }) });
      running.push(hubCamera);
      await waitFor(() => /camera "garden" is live/.test(hubCamera.output()), { timeoutMs: 30_000, what: `camera live:\n${hubCamera.output()}` });
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      await page.goto(await room.link(`http://127.0.0.1:${site.port}/`, { broker: mqttOverWs }));
      const playing = async () =>
        page.evaluate(() =>
          [...document.querySelectorAll('video')].filter((v) => v.videoWidth > 0 && (v.getVideoPlaybackQuality?.().totalVideoFrames ?? 0) > 5).length,
        );
      await waitFor(async () => (await playing()) >= 2, { timeoutMs: 45_000, what: `two playing videos (errors: ${errors.join('; ')}; hub: ${hub.output().slice(-500)})` });
      assert.deepEqual(errors, []);
      // A camera that leaves loses its tile.
      const before = await page.evaluate(() => document.querySelectorAll('video').length);
      await hubCamera.stop();
      await waitFor(async () => (await page.evaluate(() => document.querySelectorAll('video').length)) === before - 1, { timeoutMs: 20_000, what: 'the Node camera tile removed' });
      await page.close();
    });

    it('lets two browsers exchange messages (examples/browser-chat, 4 lines of peercam)', async () => {
      const room = await Room.fromLink(hub.link);
      const link = await room.link(`http://127.0.0.1:${site.port}/chat/`, { broker: `ws://127.0.0.1:${hub.port}/mqtt` });
      const pages = await Promise.all([browser.newPage(), browser.newPage()]);
      await Promise.all(pages.map((p) => p.goto(link)));
      for (const p of pages)
        await waitFor(async () => /hello from [a-z2-7]{16}/.test(await p.evaluate(() => document.getElementById('log')?.textContent ?? '')), {
          timeoutMs: 30_000,
          what: 'a hello from the other page',
        });
      await Promise.all(pages.map((p) => p.close()));
    });
  });
});
