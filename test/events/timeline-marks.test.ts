import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { Room } from '../../src/protocol/index.js';
import type { RecordingsEvent } from '../../src/protocol/recordings-wire.js';
import { type CliProcess, spawnCli } from '../helpers/cli.js';
import { waitFor } from '../helpers/wait.js';
import { launch } from '../web/browser.js';
import { type HubProcess, startHubProcess } from '../web/hub-process.js';
import { ARTIFACTS } from '../web/pages.js';
import { makeMotionClip } from './clip.js';

/**
 * `peercam up --record` hears a camera's motion events and keeps them beside the recordings; the Recordings page
 * marks them on its timeline and lists them, and a click plays the recording from just before the motion.
 */
describe('motion events on the recordings timeline', () => {
  const dir = mkdtempSync(join(tmpdir(), 'peercam-marks-'));
  let hub: HubProcess;
  let camera: CliProcess;
  let browser: Browser;
  let token = '';
  let event: RecordingsEvent | undefined;

  before(async () => {
    const clip = await makeMotionClip(dir);
    hub = await startHubProcess({ demo: false, args: ['--record', join(dir, 'rec'), '--segment', '3s', '--keep-events', '30d'] });
    const room = await Room.fromLink(hub.link);
    token = room.credentials.httpToken;
    camera = spawnCli(
      ['camera', '--source', `file:${clip}`, '--name', 'yard', '--size', '320x180', '--bitrate', '300', '--motion-quiet', '1', '--room', await room.link(), '--broker', `mqtt://127.0.0.1:${hub.mqttPort}`],
      hub.env,
    );
    await camera.waitFor(/is live in room/, 30_000);
    browser = await launch();
    mkdirSync(ARTIFACTS, { recursive: true });
  });
  after(async () => {
    await browser?.close();
    await camera?.kill();
    await hub?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const api = async (path: string, auth = true) => {
    const res = await fetch(`http://127.0.0.1:${hub.port}${path}`, auth ? { headers: { authorization: `Bearer ${token}` } } : {});
    return { status: res.status, json: res.ok ? ((await res.json()) as unknown) : undefined };
  };

  it('the recorder keeps each event it hears (members only), and the recording around it', async () => {
    await waitFor(
      async () => {
        const list = (await api('/api/recordings/events?camera=yard')).json as RecordingsEvent[] | undefined;
        event = list?.find((e) => e.duration !== null);
        return event !== undefined;
      },
      { timeoutMs: 40_000, what: 'a finished motion event in /api/recordings/events' },
    );
    assert.equal((await api('/api/recordings/events?camera=yard', false)).status, 401);
    const e = event!;
    // Every camera's events at once (the list under the grid), each with its camera and whether its still is kept.
    const all = (await api('/api/recordings/events?limit=5')).json as RecordingsEvent[];
    const same = all.find((x) => x.event === e.event);
    assert.deepEqual([same?.camera, same?.snapshot], ['yard', true], JSON.stringify(all));
    assert.equal((await api('/api/recordings/events?limit=0')).status, 400);
    // The camera's still of it: members only.
    const still = `http://127.0.0.1:${hub.port}/api/recordings/snapshot?camera=yard&event=${e.event}`;
    const jpeg = await fetch(still, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(jpeg.headers.get('content-type'), 'image/jpeg');
    assert.deepEqual([...new Uint8Array(await jpeg.arrayBuffer()).subarray(0, 2)], [0xff, 0xd8]);
    assert.equal((await fetch(still)).status, 401);
    assert.equal((await fetch(`${still}&access_token=${token.slice(1)}x`)).status, 401);
    assert.equal((await fetch(`${still}X&access_token=${token}`)).status, 404);
    assert.ok(e.score > 0 && e.score <= 1, JSON.stringify(e));
    assert.ok(e.duration !== null && e.duration >= 1 && e.duration < 10, `${e.duration} s`);
    assert.ok(e.box && e.box.w > 0.3, 'the box the object crossed');
    // Recorded past the event's end (segments of 3 s are finished a little later).
    const end = Date.parse(e.start) + (e.duration ?? 0) * 1000;
    await waitFor(
      async () => {
        const spans = ((await api('/api/recordings/list?camera=yard')).json as { start: string; duration: number }[] | undefined) ?? [];
        return spans.some((s) => Date.parse(s.start) < end && Date.parse(s.start) + s.duration * 1000 > end + 1000);
      },
      { timeoutMs: 30_000, what: 'the recording past the event' },
    );
  });

  /** The wall time the player shows, once it plays. */
  const shownAt = async (page: Page) => {
    await page.waitForFunction(() => {
      const v = document.querySelector<HTMLVideoElement>('#player')!;
      return v.dataset.clipStart !== undefined && v.currentTime > 0 && !v.seeking;
    }, undefined, { timeout: 20_000 });
    return page.evaluate(() => {
      const v = document.querySelector<HTMLVideoElement>('#player')!;
      return Number(v.dataset.clipStart) + v.currentTime * 1000;
    });
  };

  it('marks and lists the events on the timeline; a click on the mark or the list plays from just before the motion (desktop and phone)', async () => {
    const e = event!;
    const start = Date.parse(e.start);
    const link = new URL(hub.link);
    for (const size of [
      { name: 'desktop', width: 1280, height: 800 },
      { name: 'phone', width: 390, height: 844 },
    ]) {
      const context = await browser.newContext({ viewport: { width: size.width, height: size.height }, ...(size.name === 'phone' ? { isMobile: true, hasTouch: true, deviceScaleFactor: 2 } : {}) });
      const page = await context.newPage();
      await page.goto(`${link.origin}/recordings?camera=yard${link.hash}`);
      const mark = page.locator('.timeline .event-mark').first();
      await mark.waitFor({ state: 'attached', timeout: 20_000 });
      assert.equal(Number(await mark.getAttribute('data-start')), start);
      assert.match((await page.locator('#events li').first().textContent()) ?? '', /^Motion \d\d:\d\d:\d\d \d+ s · \d+\.\d % moved$/);
      assert.match((await page.locator('#event-count').textContent()) ?? '', /^ · \d+ motion events?$/);
      // Each listed event shows the camera's still of it.
      await page.waitForFunction((id) => (document.querySelector<HTMLImageElement>(`#events li[data-event="${id}"] img.still`)?.naturalWidth ?? 0) > 0, e.event, { timeout: 10_000 });
      // The mark sits on the timeline where the event is (its left edge at the event's share of the day).
      const box = await page.locator('#timeline').boundingBox();
      const at = await mark.boundingBox();
      assert.ok(box && at && at.width >= 4 && at.x >= box.x - 3 && at.x <= box.x + box.width);
      if (size.name === 'desktop') {
        // The pointer on the mark shows the camera's still of the event above it.
        await mark.hover();
        await page.waitForFunction(() => {
          const still = document.querySelector<HTMLImageElement>('.timeline-still');
          return still !== null && !still.hidden && still.naturalWidth > 0;
        }, undefined, { timeout: 10_000 });
        const still = await page.locator('.timeline-still').boundingBox();
        const on = await mark.boundingBox();
        assert.ok(still && on && still.y + still.height <= on.y && Math.abs(still.x + still.width / 2 - (on.x + on.width / 2)) < 90, `the still above its mark: ${JSON.stringify({ still, on })}`);
        await page.screenshot({ path: `${ARTIFACTS}/recordings-event-still-hover.png` });
        await mark.click();
      }
      else await page.locator('#events .event-link').first().click();
      const shown = await shownAt(page);
      // It opens 3 s before the event's start (or where the recording begins, if later).
      assert.ok(shown >= start - 3000 - 1500 && shown <= start + 1000, `shows ${shown - start} ms from the event's start`);
      process.stdout.write(`# ${size.name}: the event mark opened the recording ${Math.round(shown - start)} ms from the event's start\n`);
      await page.waitForFunction(() => document.querySelector<HTMLVideoElement>('#player')!.videoWidth > 0, undefined, { timeout: 20_000 });
      await page.evaluate(() => window.scrollTo(0, 0));
      await page.screenshot({ path: `${ARTIFACTS}/recordings-event-marks-${size.name}.png`, fullPage: true });
      await context.close();
    }
  });

  it('a viewer page opened after the event lists it from the recorder, with its still and Play (desktop and phone)', async () => {
    const e = event!;
    for (const size of [
      { name: 'desktop', width: 1280, height: 800 },
      { name: 'phone', width: 390, height: 844 },
    ]) {
      const context = await browser.newContext({ viewport: { width: size.width, height: size.height }, ...(size.name === 'phone' ? { isMobile: true, hasTouch: true, deviceScaleFactor: 2 } : {}) });
      const page = await context.newPage();
      const overviews: string[] = [];
      page.on('request', (r) => {
        if (new URL(r.url()).pathname === '/api/recordings') overviews.push(r.url());
      });
      const opened = Date.now();
      await page.goto(hub.link);
      const item = page.locator(`#events-list li.event[data-event="${e.event}"]`);
      await item.locator('img.thumb').waitFor({ timeout: 30_000 });
      // How the page found the hub's recordings is also the overview the events list starts from: asked once.
      assert.equal(overviews.length, 1, `the overview asked ${overviews.length} times`);
      // The hub's recorder says in its presence that it records the camera: its tile says REC.
      const rec = page.locator('article.tile .overlay .rec');
      await rec.waitFor({ timeout: 10_000 });
      assert.equal(await rec.textContent(), 'REC');
      assert.equal(await rec.getAttribute('data-state'), 'rec');
      process.stdout.write(`# ${size.name}: the recorder's event listed ${Date.now() - opened} ms after the page opened (HTTP)\n`);
      assert.equal(await item.getAttribute('data-camera'), 'yard');
      assert.equal(await item.getAttribute('data-phase'), 'end');
      await page.waitForFunction((id) => (document.querySelector<HTMLImageElement>(`li.event[data-event="${id}"] img.thumb`)?.naturalWidth ?? 0) > 0, e.event, { timeout: 10_000 });
      const play = item.locator('a.play');
      await play.waitFor({ timeout: 10_000 });
      assert.equal(new URL((await play.getAttribute('href')) ?? '', 'http://x/').searchParams.get('camera'), 'yard');
      await item.scrollIntoViewIfNeeded();
      await page.screenshot({ path: `${ARTIFACTS}/events-from-recorder-${size.name}.png` });
      if (size.name === 'phone') {
        // The still plays it too, like Play.
        assert.equal(await item.locator('a.thumb-link').getAttribute('href'), await play.getAttribute('href'));
        await item.locator('a.thumb-link').tap();
        const shown = await shownAt(page);
        const start = Date.parse(e.start);
        assert.ok(shown >= start - 3000 - 1500 && shown <= start + 1000, `Play shows ${shown - start} ms from the event's start`);
      }
      await context.close();
    }
  });
});
