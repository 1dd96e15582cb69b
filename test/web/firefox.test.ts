import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import type { Browser as Firefox, Page as FirefoxPage } from 'puppeteer-core';
import type { WatchReport } from '../../src/agent/watch.js';
import { encodeJpeg420 } from '../../src/events/jpeg.js';
import { EventLog } from '../../src/record/event-log.js';
import { type CliProcess, runCli, spawnCli } from '../helpers/cli.js';
import { firefoxNetwork, launchFirefox } from '../helpers/firefox.js';
import { childrenNamed } from '../helpers/procs.js';
import { device, launch } from './browser.js';
import { type HubProcess, startHubProcess } from './hub-process.js';
import { ARTIFACTS, decodedFrames, liveTile } from './pages.js';

/**
 * Tile facts as the grid shows them. Frames are the decoder's count (the tile's data-frames, from getStats): headless
 * Firefox paints nothing, so its video element's playback quality stays at zero frames.
 */
const TILES = `[...document.querySelectorAll('.tile')].map((t) => ({ name: t.querySelector('.name')?.textContent, state: t.dataset.state,
  codec: t.dataset.codec, frames: Number(t.dataset.frames ?? 0), text: t.textContent }))`;

interface TileFacts {
  name: string;
  state: string;
  codec: string | undefined;
  frames: number;
  text: string;
}

const tiles = (page: FirefoxPage) => page.evaluate(TILES) as Promise<TileFacts[]>;

/** Waits in Firefox until the named tile is live, shows its codec and has decoded more than `frames` frames. */
async function firefoxTile(page: FirefoxPage, name: string, frames: number, timeoutMs: number): Promise<TileFacts> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const all = await tiles(page);
    const t = all.find((x) => x.name === name);
    if (t && t.state === 'live' && t.codec && t.frames > frames) return t;
    if (Date.now() > deadline) throw new Error(`no live "${name}" tile in Firefox after ${timeoutMs} ms: ${JSON.stringify(all)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('Firefox (no H.264): viewer of Node cameras over VP8, camera page for Chromium and peercam watch', () => {
  let net: { remove(): Promise<void> };
  let hub: HubProcess;
  let chromium: Browser;
  let firefox: Firefox;
  let viewer: FirefoxPage;
  let desk: CliProcess;
  let recordings = '';

  before(async () => {
    await mkdir(ARTIFACTS, { recursive: true });
    net = await firefoxNetwork();
    recordings = await mkdtemp(join(tmpdir(), 'peercam-firefox-rec-'));
    hub = await startHubProcess({ args: ['--record', recordings, '--segment', '3s'] });
    // A testsrc camera of the hub's room: H.264 first, VP8 for viewers without H.264.
    desk = spawnCli(
      ['camera', '--source', 'testsrc', '--name', 'Desk', '--size', '320x180', '--fps', '15', '--gop', '1', '--broker', `mqtt://127.0.0.1:${hub.mqttPort}`],
      hub.env,
    );
    await desk.waitFor(/is live in room/, 30_000);
    [chromium, firefox] = await Promise.all([launch(), launchFirefox()]);
    viewer = await firefox.newPage();
  });
  after(async () => {
    await firefox?.close();
    await chromium?.close();
    await desk?.kill();
    await hub?.close();
    await net?.remove();
    if (recordings) await rm(recordings, { recursive: true, force: true });
  });

  it('plays the demo camera and a testsrc camera in Firefox, both over VP8', async () => {
    assert.equal(childrenNamed(desk.child.pid!, 'ffmpeg').length, 1, 'only the H.264 encode before a Firefox viewer');
    const t0 = Date.now();
    await viewer.goto(hub.link);
    const demo = await firefoxTile(viewer, 'Demo camera', 10, 30_000);
    const cam = await firefoxTile(viewer, 'Desk', 10, 30_000);
    process.stdout.write(`# Firefox: demo and testsrc tiles live ${Date.now() - t0} ms after opening the page\n`);
    assert.equal(demo.codec, 'VP8');
    assert.equal(cam.codec, 'VP8');
    assert.match(cam.text, /320×180/);
    const before = (await tiles(viewer)).find((t) => t.name === 'Desk')?.frames ?? 0;
    await firefoxTile(viewer, 'Desk', before + 10, 15_000);
    await desk.waitFor(/VP8 encode live/, 5000);
    await viewer.screenshot({ path: `${ARTIFACTS}/firefox-grid.png` });
  });

  it('a Chromium viewer and the Firefox viewer watch the testsrc camera at once: H.264 and VP8, one ffmpeg per codec', async () => {
    const chrome = await device(chromium);
    await chrome.page.goto(hub.link);
    await liveTile(chrome.page, 'Desk', 20_000);
    const tile = chrome.page.locator('.tile[data-state="live"]', { has: chrome.page.locator('.name', { hasText: 'Desk' }) });
    // The codec attribute arrives with the first stats after the tile goes live: wait for the Desk tile's own.
    await chrome.page.waitForFunction(
      (n) => [...document.querySelectorAll<HTMLElement>('.tile[data-codec]')].some((t) => t.querySelector('.name')?.textContent === n),
      'Desk',
      { timeout: 10_000 },
    );
    assert.equal(await tile.getAttribute('data-codec'), 'H264');
    const pid = desk.child.pid!;
    assert.equal(childrenNamed(pid, 'ffmpeg').length, 2, 'an H.264 and a VP8 encode');
    // Both keep playing at the same time.
    const [ff0, ch0] = [(await tiles(viewer)).find((t) => t.name === 'Desk')?.frames ?? 0, await decodedFrames(chrome.page, 'Desk')];
    await firefoxTile(viewer, 'Desk', ff0 + 10, 15_000);
    await chrome.page.waitForFunction(([n, f]) => {
      const t = [...document.querySelectorAll<HTMLElement>('.tile')].find((x) => x.querySelector('.name')?.textContent === n);
      return (t?.querySelector('video')?.getVideoPlaybackQuality().totalVideoFrames ?? 0) > (f as number) + 10;
    }, ['Desk', ch0] as const, { timeout: 15_000 });
    assert.equal(childrenNamed(pid, 'ffmpeg').length, 2);

    // The Firefox viewer leaves: the VP8 encode stops after its linger, H.264 plays on in Chromium.
    await viewer.goto('about:blank');
    await desk.waitFor(/VP8 encode stopped/, 40_000);
    await until(() => childrenNamed(pid, 'ffmpeg').length === 1, 10_000, 'the VP8 ffmpeg to exit');
    const ch1 = await decodedFrames(chrome.page, 'Desk');
    await chrome.page.waitForTimeout(1000);
    assert.ok((await decodedFrames(chrome.page, 'Desk')) > ch1, 'Chromium still plays H.264');
    await chrome.context.close();
  });

  it('a Firefox camera page is a live tile in Chromium and plays in peercam watch', async () => {
    const phone = await firefox.newPage();
    const url = new URL(hub.link);
    await phone.goto(`${url.origin}/camera?autostart=1${url.hash}`);
    const chrome = await device(chromium);
    await chrome.page.goto(hub.link);
    await liveTile(chrome.page, /^Firefox.* camera$/, 30_000);
    const frames = await chrome.page.evaluate(() =>
      [...document.querySelectorAll<HTMLElement>('.tile')].filter((t) => /^Firefox/.test(t.querySelector('.name')?.textContent ?? '')).map((t) => t.querySelector('.name')?.textContent),
    );
    assert.equal(frames.length, 1);
    const name = frames[0] ?? '';
    await chrome.page.screenshot({ path: `${ARTIFACTS}/firefox-camera-in-chromium.png` });
    const watched = await runCli(['watch', name, '--seconds', '2', '--json', '--broker', `mqtt://127.0.0.1:${hub.mqttPort}`], hub.env);
    assert.equal(watched.code, 0, `${watched.stdout}\n${watched.stderr}`);
    const report = JSON.parse(watched.stdout) as WatchReport;
    process.stdout.write(`# peercam watch of the Firefox camera page: ${watched.stdout}`);
    assert.equal(report.codec, 'VP8', 'Firefox without OpenH264 answers VP8');
    assert.ok(report.frames >= 10 && (report.width ?? 0) > 0, `frames ${report.frames}`);
    await phone.close();
    await chrome.context.close();
  });

  it("a Firefox page lists the recorder's past events with their stills; a recorded camera's tile offers Replay", async () => {
    // An event of Desk 10 s ago with its still, as the hub's recorder keeps it (testsrc has no motion of its own).
    const grey = new Uint8Array(160 * 96 * 1.5).fill(128).map((v, i) => (i < 160 * 96 ? (i % 160) + 40 : v));
    const log = new EventLog(recordings);
    log.start('Desk', 'FFEVENT1', Date.now() - 10_000, 0.05, Buffer.from(encodeJpeg420(160, 96, grey)).toString('base64'));
    log.end('Desk', 'FFEVENT1', Date.now() - 7000, 0.05);
    const page = await firefox.newPage();
    try {
      await page.goto(hub.link);
      await page.waitForFunction(() => (document.querySelector<HTMLImageElement>('li.event[data-event="FFEVENT1"] img.thumb')?.naturalWidth ?? 0) === 160, { timeout: 45_000 });
      const href = await page.evaluate(() => document.querySelector<HTMLAnchorElement>('li.event[data-event="FFEVENT1"] a.play')?.getAttribute('href') ?? '');
      assert.match(href, /^recordings\.html\?camera=Desk&t=\d+/);
      await page.waitForFunction(
        () => [...document.querySelectorAll<HTMLElement>('.tile')].some((t) => t.querySelector('.name')?.textContent === 'Desk' && t.querySelector<HTMLElement>('a.replay')?.hidden === false),
        { timeout: 20_000 },
      );
      await page.evaluate(() => document.querySelector('li.event[data-event="FFEVENT1"]')?.scrollIntoView());
      await page.screenshot({ path: `${ARTIFACTS}/firefox-events.png` });
    } finally {
      await page.close();
    }
  });
});
