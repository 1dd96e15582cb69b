import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { after, afterEach, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { device, launch } from './browser.js';
import { type HubProcess, startHubProcess } from './hub-process.js';
import { ARTIFACTS, decodedFrames, liveTile, marks, talkBackHeard } from './pages.js';

describe('peercam up: the viewer grid in Chromium', () => {
  let hub: HubProcess;
  let browser: Browser;
  let viewer: Page;
  const firstFrames: Record<string, number> = {};

  before(async () => {
    await mkdir(ARTIFACTS, { recursive: true });
    hub = await startHubProcess();
    browser = await launch();
    viewer = (await device(browser)).page;
  });
  /** Devices a test opened: closed after it even when it failed, so the next test starts from the same grid. */
  const opened: BrowserContext[] = [];
  const open = async () => {
    const d = await device(browser);
    opened.push(d.context);
    return d;
  };
  afterEach(async () => {
    for (const c of opened.splice(0)) await c.close().catch(() => {});
  });
  after(async () => {
    await browser?.close();
    await hub?.close();
    process.stdout.write(`# first frame (ms from session start): ${JSON.stringify(firstFrames)}\n`);
  });

  it('the banner link opens the viewer in the room and the demo camera plays', async () => {
    assert.match(hub.link, /^http:\/\/127\.0\.0\.1:\d+\/#k=[A-Za-z0-9_-]+$/);
    const t0 = Date.now();
    await viewer.goto(hub.link);
    await liveTile(viewer, 'Demo camera', 15_000);
    const ms = Date.now() - t0;
    const frames = await decodedFrames(viewer, 'Demo camera');
    await viewer.waitForTimeout(500);
    assert.ok((await decodedFrames(viewer, 'Demo camera')) > frames, 'the demo video keeps playing');
    const tile = viewer.locator('.tile', { has: viewer.locator('.name', { hasText: 'Demo camera' }) });
    assert.equal(await tile.locator('button.talk').isVisible(), false, 'the demo camera plays no talk-back: no talk button');
    firstFrames.demo = Number(await tile.getAttribute('data-first-frame-ms'));
    process.stdout.write(`# demo camera live ${ms} ms after opening the page\n`);
    assert.equal(new URL(viewer.url()).hash, '', 'the room key leaves the address bar once stored');
    await viewer.waitForFunction(() => /b\/s/.test(document.querySelector('.tile .stats')?.textContent ?? ''), undefined, { timeout: 10_000 });
    const stats = await tile.locator('.stats').textContent();
    assert.match(stats ?? '', /640×360 · \d+ fps · .*(kb|Mb)\/s · RTT \d+ ms · direct/);

    // The pairing panel: a QR code and the room link for more devices.
    await viewer.locator('#pair').click();
    const dialog = viewer.locator('dialog.pairing');
    await dialog.locator('.qr svg').waitFor({ timeout: 5000 });
    assert.equal(await dialog.locator('input.link').inputValue(), hub.link);
    await viewer.screenshot({ path: `${ARTIFACTS}/pairing.png` });
    await dialog.getByRole('button', { name: 'Close' }).click();
  });

  it('a camera page (/camera?autostart=1) appears as a playing tile; closing it removes the tile', async () => {
    const phone = await open();
    const url = new URL(hub.link);
    const t0 = Date.now();
    await phone.page.goto(`${url.origin}/camera?autostart=1${url.hash}`);
    // How fast is measured (printed here, targets in `npm run bench:web`), not asserted: a loaded machine is slow.
    await liveTile(viewer, 'Chrome on Linux camera', 15_000);
    process.stdout.write(`# camera page live in the grid ${Date.now() - t0} ms after opening it; page marks ${JSON.stringify(await marks(phone.page))}\n`);
    const tile = viewer.locator('.tile[data-state="live"]', { has: viewer.locator('.name', { hasText: 'Chrome on Linux camera' }) });
    firstFrames.cameraPage = Number(await tile.getAttribute('data-first-frame-ms'));
    // Its encoder starts at 1 Mb/s (x-google-start-bitrate), not Chromium's 300 kb/s, with which WebRTC drops the
    // first frames of a 720p capture and starts at 640x360: the first picture is the capture's own size.
    await viewer.locator('.tile[data-first-frame-size]', { has: viewer.locator('.name', { hasText: 'Chrome on Linux camera' }) }).waitFor({ timeout: 5000 });
    assert.equal(await tile.getAttribute('data-first-frame-size'), '1280x720', 'the first frame at full size');
    // A camera page that can encode H.264 sends it (its encoder starts ~100 ms sooner than VP8's, src/session/camera-offer.ts).
    await viewer.locator('.tile[data-codec]', { has: viewer.locator('.name', { hasText: 'Chrome on Linux camera' }) }).waitFor({ timeout: 10_000 });
    assert.equal(await tile.getAttribute('data-codec'), 'H264');
    await phone.page.locator('#viewers[data-count="1"]').waitFor({ timeout: 10_000 });
    await viewer.screenshot({ path: `${ARTIFACTS}/grid-two-cameras.png` });
    await phone.page.screenshot({ path: `${ARTIFACTS}/camera-page.png` });
    assert.equal(await viewer.locator('.tile').count(), 2);

    // Talk-back: hold the button on the phone's tile; the phone hears it (audio packets with energy).
    const talk = tile.locator('button.talk');
    await talk.hover();
    await viewer.mouse.down();
    const talker = phone.page.locator('.talker');
    await talkBackHeard(phone.page, 10_000);
    await viewer.mouse.up();
    assert.ok(Number(await talker.getAttribute('data-packets')) > 0);
    await phone.page.screenshot({ path: `${ARTIFACTS}/camera-page-talk-back.png` });

    await phone.context.close();
    await viewer.locator('.tile', { has: viewer.locator('.name', { hasText: 'Chrome on Linux camera' }) }).waitFor({ state: 'detached', timeout: 10_000 });
    assert.equal(await viewer.locator('.tile').count(), 1);
  });

  it('a camera page takes its camera again when it comes back from background, and viewers keep playing', async () => {
    const phone = await open();
    const url = new URL(hub.link);
    await phone.page.goto(`${url.origin}/camera?autostart=1${url.hash}`);
    await liveTile(viewer, 'Chrome on Linux camera', 15_000);
    // What a phone does in background: the camera track ends. Back in front, the page must capture again.
    await phone.page.evaluate(() => {
      const stream = document.querySelector<HTMLVideoElement>('#preview')?.srcObject;
      if (stream instanceof MediaStream) for (const t of stream.getVideoTracks()) t.stop();
      document.dispatchEvent(new Event('visibilitychange'));
    });
    await phone.page.waitForFunction(
      () => ((document.querySelector<HTMLVideoElement>('#preview')?.srcObject as MediaStream | null)?.getVideoTracks()[0]?.readyState ?? '') === 'live',
      undefined,
      { timeout: 10_000 },
    );
    const before = await decodedFrames(viewer, 'Chrome on Linux camera');
    await viewer.waitForFunction(
      ([n, f]) => {
        const tile = [...document.querySelectorAll<HTMLElement>('.tile')].find((t) => t.querySelector('.name')?.textContent === n);
        return (tile?.querySelector('video')?.getVideoPlaybackQuality().totalVideoFrames ?? 0) > (f as number) + 10;
      },
      ['Chrome on Linux camera', before] as const,
      { timeout: 10_000 },
    );
    await phone.context.close();
    await viewer.waitForFunction(() => document.querySelectorAll('.tile').length === 1, undefined, { timeout: 15_000 });
  });

  it('two browsers on / that both share their camera see each other (a call)', async () => {
    const a = await open();
    const b = await open();
    // The pages' debug logs, for the failure message: this test has failed now and then without a clear cause.
    const logs: string[] = [];
    for (const [tag, d] of [['a', a], ['b', b]] as const) {
      await d.context.addInitScript(() => localStorage.setItem('peercam.debug', '1'));
      d.page.on('console', (m) => logs.push(`${new Date().toISOString().slice(11, 23)} ${tag} ${m.text()}`));
    }
    await a.page.goto(hub.link);
    await b.page.goto(hub.link);
    await a.page.locator('#share').click();
    await b.page.locator('#share').click();
    const dump = async (err: unknown) => {
      const tiles = async (p: Page) => p.evaluate(() => [...document.querySelectorAll<HTMLElement>('.tile')].map((t) => ({ ...t.dataset, text: t.textContent })));
      throw new Error(`call tiles: a ${JSON.stringify(await tiles(a.page))} b ${JSON.stringify(await tiles(b.page))}\n${logs.join('\n')}`, { cause: err });
    };
    const t0 = Date.now();
    await liveTile(a.page, /^Chrome on Linux$/, 30_000).catch(dump);
    await liveTile(b.page, /^Chrome on Linux$/, 30_000).catch(dump);
    process.stdout.write(`# call: both sides live ${Date.now() - t0} ms after sharing\n`);
    await viewer.waitForFunction(() => document.querySelectorAll('.tile[data-state="live"]').length === 3, undefined, { timeout: 15_000 });
    assert.equal(await viewer.locator('.tile[data-state="live"]').count(), 3, 'the third browser sees both callers and the demo');
    await a.page.screenshot({ path: `${ARTIFACTS}/call.png` });
    await a.context.close();
    await b.context.close();
    await viewer.waitForFunction(() => document.querySelectorAll('.tile').length === 1, undefined, { timeout: 15_000 });
  });

  it('survives a hub restart and resumes by itself', async () => {
    await hub.stop();
    await viewer.locator('#status[data-state="offline"], #status[data-state="connecting"]').waitFor({ timeout: 10_000 });
    await viewer.screenshot({ path: `${ARTIFACTS}/grid-hub-down.png` });
    await hub.restart();
    await viewer.locator('#status[data-state="online"]').waitFor({ timeout: 15_000 });
    await liveTile(viewer, 'Demo camera', 45_000).catch(async (err: unknown) => {
      const tiles = await viewer.evaluate(() => [...document.querySelectorAll<HTMLElement>('.tile')].map((t) => ({ ...t.dataset, text: t.textContent })));
      throw new Error(`no live demo tile after the restart: ${JSON.stringify(tiles)}\n${hub.output().slice(-3000)}`, { cause: err });
    });
    const frames = await decodedFrames(viewer, 'Demo camera');
    await viewer.waitForTimeout(500);
    assert.ok((await decodedFrames(viewer, 'Demo camera')) > frames, 'video plays again after the restart');
    await viewer.screenshot({ path: `${ARTIFACTS}/grid-after-restart.png` });
  });
});
