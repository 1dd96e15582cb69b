import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { device, launch } from '../web/browser.js';
import { marks } from '../web/pages.js';
import { listSegments } from '../../src/record/store.js';
import { waitFor } from '../helpers/wait.js';
import { decodeErrors, probe } from './probe.js';
import { type HubProcess, startHubProcess } from '../web/hub-process.js';

/** The web app's Recordings view in Chromium, against `peercam up --demo --record` (a real hub recording its camera). */
describe('Recordings view in Chromium', () => {
  let hub: HubProcess;
  let browser: Browser;
  const dir = mkdtempSync(join(tmpdir(), 'peercam-playback-'));

  before(async () => {
    hub = await startHubProcess({ args: ['--record', dir, '--segment', '3s', '-v'] });
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
    await hub?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('lists the camera, plays a recording from the timeline, scrubs, changes speed, offers a download', async () => {
    const { page } = await device(browser);
    const link = new URL(hub.link);
    await page.goto(`${link.origin}/recordings${link.hash}`);
    await page.locator('#camera option', { hasText: 'Demo camera' }).waitFor({ state: 'attached', timeout: 15_000 });
    // Wait for 8 s of recording; the view refreshes its spans by itself, reload to be quick.
    const deadline = Date.now() + 60_000;
    for (;;) {
      await page.locator('.timeline .span').first().waitFor({ state: 'attached', timeout: 15_000 });
      const summary = (await page.locator('#summary').textContent()) ?? '';
      const seconds = Number(/(\d+) s this day/.exec(summary)?.[1] ?? 0) + 60 * Number(/(\d+) min/.exec(summary)?.[1] ?? 0);
      if (seconds >= 8) break;
      assert.ok(Date.now() < deadline, `still only "${summary}"`);
      await new Promise((r) => setTimeout(r, 1000));
      await page.reload();
    }
    await page.locator('.span-link').first().click();
    await page.waitForFunction(() => document.querySelector<HTMLVideoElement>('#player')!.currentTime > 2, undefined, { timeout: 20_000 });
    const played = await page.evaluate(() => {
      const v = document.querySelector<HTMLVideoElement>('#player')!;
      return { frames: v.getVideoPlaybackQuality().totalVideoFrames, width: v.videoWidth, duration: v.duration };
    });
    assert.equal(played.width, 640);
    assert.ok(played.frames >= 30, `frames ${played.frames}`);
    assert.ok(played.duration >= 7, `clip of ${played.duration} s`);
    const m = await marks(page);
    const firstFrame = (m['rec-first-frame'] ?? Number.NaN) - (m['rec-play'] ?? Number.NaN);
    process.stdout.write(`# playback over HTTP: first frame ${Math.round(firstFrame)} ms after "play" (clip located in ${Math.round((m['rec-src'] ?? 0) - (m['rec-play'] ?? 0))} ms)\n`);
    assert.ok(firstFrame < 20_000, `first frame ${firstFrame} ms`);

    // Scrub back and forth in the clip (Range requests), then 4x.
    await page.evaluate(() => {
      document.querySelector<HTMLVideoElement>('#player')!.currentTime = 0.5;
    });
    await page.waitForFunction(() => {
      const v = document.querySelector<HTMLVideoElement>('#player')!;
      return !v.seeking && v.currentTime > 0.6 && v.currentTime < 2;
    }, undefined, { timeout: 10_000 });
    await page.evaluate(() => {
      const v = document.querySelector<HTMLVideoElement>('#player')!;
      v.currentTime = v.duration - 2;
    });
    await page.waitForFunction(() => {
      const v = document.querySelector<HTMLVideoElement>('#player')!;
      return !v.seeking && v.currentTime > v.duration - 1.9;
    }, undefined, { timeout: 10_000 });
    await page.locator('#speeds button', { hasText: '4×' }).click();
    assert.equal(await page.evaluate(() => document.querySelector<HTMLVideoElement>('#player')!.playbackRate), 4);
    assert.match((await page.locator('#at').textContent()) ?? '', /\d\d:\d\d:\d\d · 4×/);
    const href = await page.locator('#download').getAttribute('href');
    assert.match(href ?? '', /^\/api\/recordings\/get\?camera=Demo_camera&start=.*&download=1$/);
  });

  it('a browser camera page (Chromium, fake camera and microphone) is recorded with its sound', async () => {
    const { page } = await device(browser);
    const link = new URL(hub.link);
    await page.goto(`${link.origin}/camera?autostart=1${link.hash}`);
    const camera = 'Chrome on Linux camera';
    await new Promise((r) => setTimeout(r, 8000));
    const pageState = `${await page.locator('#status').textContent()} | ${(await page.locator('#notices').allTextContents()).join(' / ')}`;
    await waitFor(() => listSegments(dir, camera).filter((s) => !s.open).length >= 3, {
      timeoutMs: 60_000,
      what: `three finished segments of the camera page (${pageState}); folders ${readdirSync(dir).join(', ')}; hub: ${hub.output().split("\n").filter((l) => !l.includes(`"level":20`)).slice(-40).join("\n")}`,
      intervalMs: 250,
    });
    await page.close();
    const segs = listSegments(dir, camera).filter((s) => !s.open);
    const codecs = await Promise.all(segs.map(async (s) => (await probe(s.path)).streams.map((x) => x.codec).sort().join('+')));
    assert.ok(codecs.some((c) => /^(h264|vp8)\+opus$/.test(c)), `segments: ${codecs.join(', ')}`);
    for (const s of segs) assert.equal(await decodeErrors(s.path), '', s.path);
    process.stdout.write(`# camera page recorded: ${codecs.join(', ')}\n`);
  });
});
