import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { device, launch } from '../web/browser.js';
import { ARTIFACTS, recordedSeconds } from '../web/pages.js';
import { startStaticHost } from '../helpers/static-host.js';
import { type HubProcess, startHubProcess } from '../web/hub-process.js';

/**
 * Safari on an iPhone has no MediaSource: since iOS 17.1 it has WebKit's ManagedMediaSource (a MediaSource whose
 * browser says when to fetch, `streaming`, and may drop buffered media), before that no MSE at all. No browser here
 * has either shape, so Chromium is given them: MediaSource taken away, and for the first an ManagedMediaSource that is
 * Chromium's real MediaSource under that name, with `streaming` false throughout (the browser never asks for more).
 */
const IPHONE_MSE = `
  const Real = window.MediaSource;
  class ManagedMediaSource extends Real {
    constructor() { super(); window.__managed = (window.__managed || 0) + 1; window.__source = this; }
    get streaming() { return false; }
    addSourceBuffer(type) { const b = super.addSourceBuffer(type); window.__buffer = b; return b; }
  }
  Object.defineProperty(window, 'ManagedMediaSource', { value: ManagedMediaSource, configurable: true, writable: true });
  delete window.MediaSource;
  // What the player did, for a failure's message.
  window.__events = [];
  for (const type of ['waiting', 'seeking', 'pause', 'ended', 'emptied', 'error'])
    document.addEventListener(type, (e) => {
      if (e.target instanceof HTMLVideoElement) window.__events.push(type + '@' + e.target.currentTime.toFixed(2));
    }, true);
`;
const NO_MSE = 'delete window.MediaSource;';

interface Rig {
  hub: HubProcess;
  site: Awaited<ReturnType<typeof startStaticHost>>;
}

/** The Recordings page from a static host (the hub's broker in its link), so it plays over the data channel. */
async function openAway(page: Page, rig: Rig): Promise<void> {
  const fragment = new URLSearchParams(new URL(rig.hub.link).hash.slice(1));
  fragment.set('b', `ws://127.0.0.1:${rig.hub.port}/mqtt`);
  await page.goto(`http://127.0.0.1:${rig.site.port}/web/recordings.html?camera=Demo_camera#${fragment.toString()}`);
  await page.locator('.timeline .span').first().waitFor({ state: 'attached', timeout: 45_000 });
  assert.equal(await page.evaluate(() => document.body.dataset.via), 'data-channel');
}

describe('Recordings over the data channel in a browser without MediaSource (Safari on iPhone)', () => {
  let rig: Rig;
  let browser: Browser;
  const dir = mkdtempSync(join(tmpdir(), 'peercam-managed-'));

  before(async () => {
    const hub = await startHubProcess({ args: ['--record', dir, '--segment', '3s'] });
    const site = await startStaticHost({ root: fileURLToPath(new URL('../../dist/', import.meta.url)), host: '127.0.0.1', port: 0 });
    rig = { hub, site };
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
    await rig?.site.close();
    await rig?.hub.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('plays through ManagedMediaSource, keeps fetching though the browser never asks, and asks again for media the browser dropped', async () => {
    const { page } = await device(browser, 'phone');
    await page.addInitScript({ content: IPHONE_MSE });
    await openAway(page, rig);
    // 16 s recorded at least, so that the clip outlasts what the first credit brings (~3 s of the demo clip).
    const deadline = Date.now() + 60_000;
    while ((await recordedSeconds(page)) < 16) {
      assert.ok(Date.now() < deadline, `only ${await recordedSeconds(page)} s recorded`);
      await new Promise((r) => setTimeout(r, 2000));
      await page.reload();
      await page.locator('.span-link').first().waitFor({ state: 'attached', timeout: 45_000 });
    }
    await page.locator('.span-link').last().click();
    await page.waitForFunction(() => document.querySelector<HTMLVideoElement>('#player')!.currentTime > 2, undefined, { timeout: 20_000 });
    const state = await page.evaluate(() => {
      const v = document.querySelector<HTMLVideoElement>('#player')!;
      const w = window as unknown as { __managed?: number };
      return { managed: w.__managed ?? 0, remote: v.disableRemotePlayback, src: v.src, width: v.videoWidth, duration: v.duration };
    });
    assert.ok(state.managed >= 1, 'the player made a ManagedMediaSource');
    assert.equal(state.remote, true, 'a managed source opens only with remote playback (AirPlay) off');
    assert.match(state.src, /^blob:/);
    assert.equal(state.width, 640);
    assert.ok(state.duration >= 12, `clip of ${state.duration} s`);
    await page.screenshot({ path: join(ARTIFACTS, 'recordings-managed-phone.png') });

    // The browser drops media just ahead of the playhead, as a managed source may under memory pressure: playback
    // reaches the hole, and the player asks the recorder again from there instead of waiting for ever.
    const hole = await page.evaluate(async () => {
      const v = document.querySelector<HTMLVideoElement>('#player')!;
      const b = (window as unknown as { __buffer: SourceBuffer }).__buffer;
      while (b.updating) await new Promise((r) => b.addEventListener('updateend', r, { once: true }));
      const from = v.currentTime + 1;
      const to = from + 3;
      b.remove(from, to);
      await new Promise((r) => b.addEventListener('updateend', r, { once: true }));
      // Past the hole on this clip's timeline (the page goes on to the next clip when this one ends, with another
      // start: that would not count).
      const w = window as unknown as { __passed?: boolean };
      const clip = v.dataset.clipStart;
      v.addEventListener('timeupdate', () => {
        if (v.dataset.clipStart === clip && v.currentTime > to + 0.5) w.__passed = true;
      });
      return { from, to, requests: Number(v.dataset.requests) };
    });
    await page
      .waitForFunction(() => (window as unknown as { __passed?: boolean }).__passed === true, undefined, { timeout: 30_000 })
      .catch(async (err: unknown) => {
        const s = await page.evaluate(() => {
          const v = document.querySelector<HTMLVideoElement>('#player')!;
          const ranges = Array.from({ length: v.buffered.length }, (_, i) => `${v.buffered.start(i).toFixed(2)}-${v.buffered.end(i).toFixed(2)}`);
          const w = window as unknown as { __source?: MediaSource; __events?: string[] };
          return { t: v.currentTime, paused: v.paused, ready: v.readyState, ranges, source: w.__source?.readyState, error: v.error?.message, events: w.__events?.slice(-20), ...v.dataset };
        });
        throw new Error(`playback did not pass the dropped media (${hole.from.toFixed(2)}-${hole.to.toFixed(2)} s): ${JSON.stringify(s)}`, { cause: err });
      });
    const requests = await page.evaluate(() => Number(document.querySelector<HTMLVideoElement>('#player')!.dataset.requests));
    assert.ok(requests > hole.requests, `the player asked again (${hole.requests} -> ${requests} requests)`);
    // Chromium now and then refuses the first media after such a re-ask; the player then starts a new source on the
    // same timeline (said on the element, and here).
    const recovered = await page.locator('#player').getAttribute('data-recovered');
    if (recovered) process.stdout.write(`# the element failed and the player recovered: ${recovered}\n`);

    await page.context().close();
  });

  it('with no Media Source Extensions at all, says so on the page instead of a script error', async () => {
    const { page } = await device(browser, 'phone');
    await page.addInitScript({ content: NO_MSE });
    await openAway(page, rig);
    // A short phone screen scrolled down to the list: the player is out of sight when a recording is picked there.
    await page.setViewportSize({ width: 390, height: 560 });
    await page.evaluate(() => window.scrollTo(0, document.body.scrollHeight));
    const hidden = await page.evaluate(() => document.querySelector('#player')!.getBoundingClientRect().top);
    await page.locator('.span-link').last().click();
    const box = page.locator('.notice.error', { hasText: 'Cannot play here' });
    await box.waitFor({ state: 'attached', timeout: 20_000 });
    assert.match((await box.textContent()) ?? '', /no Media Source Extensions.*iOS 17\.1.*Downloads still work/s);
    // Said under the player too, and the player is brought into view below the header.
    assert.match((await page.locator('#at').textContent()) ?? '', /^Cannot play here: .*no Media Source Extensions/);
    await page.waitForFunction(() => {
      const header = document.querySelector('header')!.getBoundingClientRect().bottom;
      const r = document.querySelector('.rec-player')!.getBoundingClientRect();
      return r.top >= header - 1 && r.bottom <= window.innerHeight + 1;
    }, undefined, { timeout: 5000 }).catch((err: unknown) => {
      throw new Error(`the player stayed out of sight (its top at ${hidden} px before the click)`, { cause: err });
    });
    assert.ok(hidden < 80, `the player was in sight before the click (top at ${hidden} px): the test shows nothing`);
    await page.screenshot({ path: join(ARTIFACTS, 'recordings-no-mse-phone.png') });
    // Asked again: still one notice, and no "Something went wrong".
    await page.locator('.span-link').first().click();
    await page.waitForTimeout(500);
    assert.equal(await box.count(), 1);
    assert.equal(await page.locator('.notice', { hasText: 'Something went wrong' }).count(), 0);
    // The download does not need MSE: it is offered over the channel as before.
    assert.equal(await page.locator('#download').getAttribute('href'), '#download');
    await page.context().close();
  });
});
