import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { type Browser, chromium, type Page } from 'playwright-core';
import { CHROMIUM_ARGS } from '../helpers/chromium.js';
import { cliHome, spawnCli } from '../helpers/cli.js';
import { type HubProcess, startHubProcess } from '../web/hub-process.js';
import { ARTIFACTS } from '../web/pages.js';
import { type ClipSpec, makeMotionClip } from './clip.js';

/** The page starts analysing 3 s after its camera: the box comes later than in the Node test's clip. */
const PAGE_CLIP: ClipSpec = { seconds: 16, moveFrom: 6, moveTo: 9, lightsAt: 13 };

/**
 * The generated clip as a Chromium camera page's camera (Chromium's fake capture plays a Y4M file), analysed in the
 * page by the shared detector; a viewer page of the same hub shows the events.
 */
describe('motion events from a browser camera page', () => {
  let dir: string;
  let hub: HubProcess;
  let browser: Browser;
  let viewer: Page;
  let camera: Page;

  before(async () => {
    await mkdir(ARTIFACTS, { recursive: true });
    dir = await mkdtemp(join(tmpdir(), 'peercam-motion-page-'));
    const clip = await makeMotionClip(dir, PAGE_CLIP);
    const y4m = join(dir, 'motion.y4m');
    await promisify(execFile)('ffmpeg', ['-y', '-hide_banner', '-loglevel', 'error', '-i', clip, '-pix_fmt', 'yuv420p', y4m]);
    hub = await startHubProcess({ demo: false });
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: [...CHROMIUM_ARGS, '--use-fake-ui-for-media-stream', `--use-file-for-fake-video-capture=${y4m}`],
    });
    viewer = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    camera = await (await browser.newContext({ viewport: { width: 1000, height: 700 } })).newPage();
  });
  after(async () => {
    await browser?.close();
    await hub?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('the clip gives exactly one event (none for noise or the lights), listed with a thumbnail and a tile badge', async () => {
    await viewer.goto(hub.link);
    await viewer.locator('#events').waitFor({ timeout: 20_000 });
    const url = new URL(hub.link);
    const t0 = Date.now();
    await camera.goto(`${url.origin}/camera.html?autostart=1&motionQuiet=3${url.hash}`);
    // The badge shows while the box moves.
    await viewer.locator('.tile[data-motion="true"] .motion-badge').waitFor({ timeout: 30_000 });
    await viewer.locator('#events-list li.event[data-phase="end"]').waitFor({ timeout: 30_000 });
    await viewer.screenshot({ path: `${ARTIFACTS}/motion-events.png` });
    // Until the clip loops (then the lights switch back and the box comes again), exactly that one event.
    const loop = t0 + (PAGE_CLIP.seconds - 0.5) * 1000;
    await viewer.waitForTimeout(Math.max(0, loop - Date.now()));
    assert.equal(await viewer.locator('#events-list li.event').count(), 1);
    const thumb = await viewer.locator('#events-list li.event img.thumb').getAttribute('src');
    assert.match(thumb ?? '', /^data:image\/jpeg;base64,\/9j\//);
    assert.equal(await viewer.locator('.tile[data-motion="true"]').count(), 0, 'the badge goes once the event ends');
  });

  it('settings drawn in the viewer reach the camera page and are kept in its storage', async () => {
    await viewer.locator('#events-camera').selectOption({ index: 1 });
    await viewer.locator('#motion-settings').click();
    await viewer.locator('#motion-dialog[data-loaded="true"]').waitFor({ timeout: 10_000 });
    await viewer.locator('#motion-sensitivity').fill('70');
    const box = await viewer.locator('#motion-canvas').boundingBox();
    assert.ok(box);
    for (const [x, y] of [[0.1, 0.3], [0.9, 0.3], [0.9, 0.7], [0.1, 0.7]] as const) await viewer.mouse.click(box.x + x * box.width, box.y + y * box.height);
    await viewer.locator('#motion-finish').click();
    await viewer.screenshot({ path: `${ARTIFACTS}/motion-settings.png` });
    await viewer.locator('#motion-save').click();
    await viewer.locator('#motion-status', { hasText: 'sensitivity 70' }).waitFor({ timeout: 10_000 });
    const kept = await camera.evaluate(() => JSON.parse(localStorage.getItem('peercam.motion') ?? 'null') as { sensitivity: number; masks: unknown[] } | null);
    assert.equal(kept?.sensitivity, 70);
    assert.equal(kept?.masks.length, 1);
    await viewer.locator('#motion-dialog button', { hasText: 'Cancel' }).click();
  });

  it('settings from the viewer reach a Node camera, are kept in its home, and come back after it restarts', async () => {
    const home = await cliHome();
    const args = ['camera', '--source', 'demo', '--name', 'Shelf cam', '--room', hub.link, '--broker', `mqtt://127.0.0.1:${hub.mqttPort}`];
    let camera = spawnCli(args, home.env);
    /** Opens the viewer's settings of the Node camera and waits until the camera has answered with its own. */
    const openSettings = async () => {
      await viewer.locator('#events-camera option', { hasText: 'Shelf cam' }).waitFor({ state: 'attached', timeout: 20_000 });
      await viewer.locator('#events-camera').selectOption({ label: 'Shelf cam' });
      await viewer.locator('#motion-settings').click();
      await viewer.locator('#motion-dialog[data-loaded="true"]').waitFor({ timeout: 15_000 });
    };
    try {
      await camera.waitFor(/is live in room/, 30_000);
      await openSettings();
      await viewer.locator('#motion-sensitivity').fill('35');
      await viewer.locator('#motion-save').click();
      await viewer.locator('#motion-status', { hasText: 'sensitivity 35' }).waitFor({ timeout: 10_000 });
      const files = (await readdir(home.dir)).filter((f) => /^motion-.*\.json$/.test(f));
      assert.equal(files.length, 1, `one settings file in the camera's home (${files.join(', ')})`);
      const kept = JSON.parse(await readFile(join(home.dir, files[0] ?? ''), 'utf8')) as { sensitivity: number };
      assert.equal(kept.sensitivity, 35);
      await viewer.locator('#motion-dialog button', { hasText: 'Cancel' }).click();

      await camera.stop();
      camera = spawnCli(args, home.env);
      await camera.waitFor(/is live in room/, 30_000);
      await openSettings();
      assert.equal(await viewer.locator('#motion-sensitivity').inputValue(), '35', 'the restarted camera answers with the kept settings');
      await viewer.locator('#motion-dialog button', { hasText: 'Cancel' }).click();
    } finally {
      await camera.stop();
      await home.remove();
    }
  });
});
