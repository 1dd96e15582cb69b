import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { device, launch } from '../web/browser.js';
import { ARTIFACTS, marks, recordedSeconds } from '../web/pages.js';
import { listSegments } from '../../src/record/store.js';
import { EventLog } from '../../src/record/event-log.js';
import { encodeJpeg420 } from '../../src/events/jpeg.js';
import { waitFor } from '../helpers/wait.js';
import { decodeErrors, probe } from './probe.js';
import { type HubProcess, startHubProcess } from '../web/hub-process.js';
import { fileURLToPath } from 'node:url';
import { startStaticHost } from '../helpers/static-host.js';

/** `H:MM:SS` as seconds of the day. */
function seconds(label: string): number {
  const [h, m, s] = label.split(':').map(Number);
  return (h ?? 0) * 3600 + (m ?? 0) * 60 + (s ?? 0);
}

/**
 * The web app's Recordings view in Chromium, against `peercam up --demo --record` (a real hub recording its camera):
 * over the hub's HTTP API, and from a separate static host over a data channel with the recorder.
 */
describe('Recordings view in Chromium', () => {
  let hub: HubProcess;
  let browser: Browser;
  let site: Awaited<ReturnType<typeof startStaticHost>>;
  const dir = mkdtempSync(join(tmpdir(), 'peercam-playback-'));

  before(async () => {
    hub = await startHubProcess({ args: ['--record', dir, '--segment', '3s', '-v'] });
    site = await startStaticHost({ root: fileURLToPath(new URL('../../dist/', import.meta.url)), host: '127.0.0.1', port: 0 });
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
    await site?.close();
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
    // The clip to download, marked at the playhead: from 1 s into the clip to 4 s into it.
    const markAt = async (seconds: number, button: string) => {
      await page.evaluate((s) => {
        const v = document.querySelector<HTMLVideoElement>('#player')!;
        v.pause();
        v.currentTime = s;
      }, seconds);
      await page.waitForFunction((s) => {
        const v = document.querySelector<HTMLVideoElement>('#player')!;
        return !v.seeking && Math.abs(v.currentTime - s) < 0.05;
      }, seconds, { timeout: 10_000 });
      await page.locator(button).click();
    };
    await markAt(1, '#from-here');
    await markAt(4, '#to-here');
    const clipStart = Number(await page.locator('#player').getAttribute('data-clip-start'));
    const hhmmss = (ms: number) => new Date(ms).toTimeString().slice(0, 8);
    assert.equal(await page.locator('#from').inputValue(), hhmmss(clipStart + 1000));
    assert.equal(await page.locator('#to').inputValue(), hhmmss(clipStart + 4000));
    assert.match((await page.locator('#download').getAttribute('href')) ?? '', /&duration=3&/);
    await page.evaluate(() => document.querySelector<HTMLVideoElement>('#player')!.play());
    await page.locator('#speeds button', { hasText: '4×' }).click();
    assert.equal(await page.evaluate(() => document.querySelector<HTMLVideoElement>('#player')!.playbackRate), 4);
    assert.match((await page.locator('#at').textContent()) ?? '', /\d\d:\d\d:\d\d · 4×/);
    const href = await page.locator('#download').getAttribute('href');
    assert.match(href ?? '', /^\/api\/recordings\/get\?camera=Demo_camera&start=.*&download=1$/);
  });

  it('zooms the timeline to 10 minutes, plays from the moment clicked there, and drags along the day (desktop and phone)', async () => {
    const link = new URL(hub.link);
    mkdirSync(ARTIFACTS, { recursive: true });
    for (const size of [
      { name: 'desktop', width: 1280, height: 800 },
      { name: 'phone', width: 390, height: 844 },
    ]) {
      const context = await browser.newContext({ viewport: { width: size.width, height: size.height }, ...(size.name === 'phone' ? { isMobile: true, hasTouch: true, deviceScaleFactor: 2 } : {}) });
      const page = await context.newPage();
      await page.goto(`${link.origin}/recordings${link.hash}`);
      const span = page.locator('.timeline .span').first();
      await span.waitFor({ state: 'attached', timeout: 15_000 });
      assert.deepEqual(await page.locator('#hours span').allTextContents(), ['0:00', '6:00', '12:00', '18:00', '24:00']);
      const dayWidth = (await span.boundingBox())?.width ?? 0;
      // Play the span from its start, then zoom: the 10 minutes around the playhead.
      await page.locator('.span-link').first().click();
      await page.waitForFunction(() => document.querySelector<HTMLVideoElement>('#player')!.currentTime > 0.5, undefined, { timeout: 20_000 });
      await page.locator('#zooms button', { hasText: '10 min' }).click();
      assert.equal(await page.locator('#zooms button', { hasText: '10 min' }).getAttribute('aria-pressed'), 'true');
      // Labels at round times of the day, 2 minutes apart.
      const labels = (await page.locator('#hours span').allTextContents()).map((l) => seconds(`${l}:00`));
      assert.ok(labels.length >= 5 && labels.length <= 6, `labels ${labels.join(' ')}`);
      for (let i = 1; i < labels.length; i++) assert.equal(labels[i]! - labels[i - 1]!, 120);
      const box = await span.boundingBox();
      const bar = await page.locator('#timeline').boundingBox();
      // Its width is now its length's share of 10 minutes (over the day it was a sliver drawn at the least width).
      const expected = ((await recordedSeconds(page)) / 600) * (bar?.width ?? 0);
      assert.ok(box && bar && Math.abs(box.width - expected) <= 2 + expected * 0.15 && box.width > 5 * dayWidth, `the span is ${box?.width} px wide zoomed (${expected} expected), ${dayWidth} px over the day`);

      // The time under the pointer shows; a click there plays from that moment (the clip starts at the keyframe before).
      const under = async (x: number) => {
        await page.mouse.move(x, bar.y + 5);
        return seconds((await page.locator('.timeline .hover-time').textContent()) ?? '');
      };
      const x = box.x + box.width * 0.75;
      const wanted = await under(x);
      await page.mouse.click(x, box.y + box.height / 2);
      await page.waitForFunction((w) => {
        const v = document.querySelector<HTMLVideoElement>('#player')!;
        const at = new Date(Number(v.dataset.clipStart) + v.currentTime * 1000);
        const s = at.getHours() * 3600 + at.getMinutes() * 60 + at.getSeconds();
        return !v.seeking && v.currentTime > 0 && Math.abs(s - w) < 4;
      }, wanted, { timeout: 20_000 });

      // Keys: - and + step the zoom, space pauses and plays, the left arrow goes back (10 s, or to where the recording
      // starts), paused as it was.
      await page.keyboard.press('-');
      assert.equal(await page.locator('#zooms button', { hasText: '1 h' }).getAttribute('aria-pressed'), 'true');
      await page.keyboard.press('+');
      assert.equal(await page.locator('#zooms button', { hasText: '10 min' }).getAttribute('aria-pressed'), 'true');
      await page.keyboard.press(' ');
      assert.equal(await page.evaluate(() => document.querySelector<HTMLVideoElement>('#player')!.paused), true);
      const shownNow = () =>
        page.evaluate(() => {
          const v = document.querySelector<HTMLVideoElement>('#player')!;
          return v.seeking ? Number.NaN : Number(v.dataset.clipStart) + v.currentTime * 1000;
        });
      const paused = await shownNow();
      await page.keyboard.press('ArrowLeft');
      await page.waitForFunction((p) => {
        const v = document.querySelector<HTMLVideoElement>('#player')!;
        return !v.seeking && v.paused && Number(v.dataset.clipStart) + v.currentTime * 1000 < p - 500;
      }, paused, { timeout: 10_000 });
      await page.keyboard.press(' ');
      await page.waitForFunction(() => !document.querySelector<HTMLVideoElement>('#player')!.paused, undefined, { timeout: 5000 });
      assert.ok((await shownNow()) < paused, 'went back');

      // Drag the bar a quarter of its width: the window moves 2.5 minutes along the day (earlier, unless that is
      // before midnight), and the press that ended the drag plays nothing new.
      const clip = await page.locator('#player').getAttribute('data-clip-start');
      const middle = bar.x + bar.width / 2;
      const before = await under(middle);
      const direction = before < 1200 ? -1 : 1;
      await page.mouse.down();
      await page.mouse.move(middle + direction * bar.width * 0.25, bar.y + 5, { steps: 8 });
      await page.mouse.up();
      const moved = (await under(middle)) - before;
      assert.ok(Math.abs(moved + direction * 150) <= 2, `the time under the middle moved ${moved} s`);
      assert.equal(await page.locator('#player').getAttribute('data-clip-start'), clip);
      // Three quarters more: the playhead is out of view now, and playing on does not pull the view back to it.
      await page.mouse.down();
      await page.mouse.move(middle + direction * bar.width * 0.75, bar.y + 5, { steps: 8 });
      await page.mouse.up();
      await page.waitForTimeout(1500);
      assert.equal(await page.evaluate(() => document.querySelector<HTMLVideoElement>('#player')!.paused), false, 'still playing');
      const away = (await under(middle)) - before;
      assert.ok(Math.abs(away + direction * 600) <= 2, `the time under the middle is ${away} s from where it was`);
      await page.screenshot({ path: `${ARTIFACTS}/recordings-zoomed-${size.name}.png`, fullPage: true });

      // The day before (nothing recorded there), and back.
      const today = await page.locator('#day').inputValue();
      await page.locator('#day-before').click();
      await page.locator('#summary', { hasText: 'Nothing recorded this day.' }).waitFor({ timeout: 10_000 });
      const [y, m, d] = today.split('-').map(Number);
      const yesterday = new Date(y ?? 0, (m ?? 1) - 1, (d ?? 1) - 1);
      assert.equal(await page.locator('#day').inputValue(), `${yesterday.getFullYear()}-${String(yesterday.getMonth() + 1).padStart(2, '0')}-${String(yesterday.getDate()).padStart(2, '0')}`);
      assert.equal(await page.locator('.timeline .span').count(), 0);
      await page.locator('#day-after').click();
      await page.locator('#summary', { hasText: 'this day' }).waitFor({ timeout: 10_000 });
      assert.equal(await page.locator('#day').inputValue(), today);
      await context.close();
    }
  });

  it('a live tile of a recorded camera offers Replay: the Recordings page plays from 30 s before the tap (phone)', async () => {
    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
    const page = await context.newPage();
    await page.goto(hub.link);
    const tile = page.locator('.tile', { hasText: 'Demo camera' });
    await tile.locator('video').waitFor({ timeout: 20_000 });
    const replay = tile.locator('a.replay');
    await replay.waitFor({ state: 'visible', timeout: 20_000 });
    await tile.screenshot({ path: `${ARTIFACTS}/tile-replay-phone.png` });
    const clicked = Date.now();
    await replay.tap();
    // (The viewer keeps the room and drops the key from its address; the Recordings page finds the room stored.)
    await page.waitForURL(/\/recordings\.html\?camera=Demo_camera&t=\d+$/, { timeout: 10_000 });
    const t = Number(new URL(page.url()).searchParams.get('t'));
    assert.ok(Math.abs(clicked - 30_000 - t) < 2000, `asked for ${clicked - t} ms before the click`);
    // It plays from there, or from where the recording starts if that is later (the clip starts at the keyframe
    // before). Compared as seconds of the day, in the page's own time zone.
    await page.waitForFunction(() => {
      const v = document.querySelector<HTMLVideoElement>('#player')!;
      return v.dataset.clipStart !== undefined && v.currentTime > 0 && !v.seeking;
    }, undefined, { timeout: 20_000 });
    const seen = await page.evaluate((asked) => {
      // (No named functions in here: the test runner's transform would name them with a helper the page lacks.)
      const v = document.querySelector<HTMLVideoElement>('#player')!;
      const [h, m, s] = (document.querySelector('.span-link')?.textContent ?? '').slice(0, 8).split(':').map(Number);
      const spanStart = (h ?? 0) * 3600 + (m ?? 0) * 60 + (s ?? 0);
      const a = new Date(asked);
      const c = new Date(Number(v.dataset.clipStart));
      return {
        wanted: Math.max(a.getHours() * 3600 + a.getMinutes() * 60 + a.getSeconds(), spanStart),
        shown: c.getHours() * 3600 + c.getMinutes() * 60 + c.getSeconds(),
      };
    }, t);
    assert.ok(seen.shown >= seen.wanted - 4 && seen.shown <= seen.wanted + 1, `the clip starts at ${seen.shown}, asked for ${seen.wanted} (seconds of the day)`);
    assert.equal(await page.locator('#camera').inputValue(), 'Demo_camera');
    await context.close();
  });

  it('a browser camera page (Chromium, fake camera and microphone) is recorded with its sound', async () => {
    const { page } = await device(browser);
    const link = new URL(hub.link);
    // A Recordings page open before the camera exists: the camera must join its list without a reload.
    const { page: open } = await device(browser);
    await open.goto(`${link.origin}/recordings${link.hash}`);
    await open.locator('#camera option', { hasText: 'Demo camera' }).waitFor({ state: 'attached', timeout: 15_000 });
    assert.equal(await open.locator('#camera option', { hasText: 'Chrome on Linux camera' }).count(), 0);
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
    // Chromium encodes H.264, so the camera page sends it (src/session/camera-offer.ts): an MP4 that Safari plays too.
    assert.ok(codecs.some((c) => c === 'h264+opus'), `segments: ${codecs.join(', ')}`);
    for (const s of segs) assert.equal(await decodeErrors(s.path), '', s.path);
    process.stdout.write(`# camera page recorded: ${codecs.join(', ')}\n`);
    // Chromium sends RTCP sender reports: the recorder lines the page's sound up by them, not by arrival time.
    const lined = hub.output().split('\n').filter((l) => l.includes('audio lined up with video') && l.includes(camera));
    assert.ok(lined.some((l) => l.includes('"by":"sender-reports"')), `audio sync: ${lined.join(' | ') || 'nothing said'}`);
    await open.locator('#camera option', { hasText: 'Chrome on Linux camera' }).waitFor({ state: 'attached', timeout: 15_000 });
    assert.equal(await open.locator('#camera').inputValue(), 'Demo_camera', 'the camera being looked at stays selected');
    await open.close();
  });

  it('from a separate static host, lists and plays over a data channel with the recorder, and seeks', async () => {
    const { page } = await device(browser);
    // The hub's link opened on another origin, with the hub's WebSocket broker in it: no recordings API there.
    const fragment = new URLSearchParams(new URL(hub.link).hash.slice(1));
    fragment.set('b', `ws://127.0.0.1:${hub.port}/mqtt`);
    const t0 = Date.now();
    // ahead=2: fetch little ahead of the playhead, so that a seek far ahead must ask the recorder for that fragment.
    await page.goto(`http://127.0.0.1:${site.port}/web/recordings.html?ahead=2&camera=Demo_camera#${fragment.toString()}`);
    await page.locator('#camera option', { hasText: 'Demo camera' }).waitFor({ state: 'attached', timeout: 45_000 });
    assert.equal(await page.evaluate(() => document.body.dataset.via), 'data-channel');
    await page.locator('.timeline .span').first().waitFor({ state: 'attached', timeout: 15_000 });
    process.stdout.write(`# data channel: recordings listed ${Date.now() - t0} ms after the page opened\n`);
    assert.ok((await recordedSeconds(page)) >= 15, `only ${await recordedSeconds(page)} s recorded`);
    // The page asked the static host for the recordings API once (404), then never again: all else came over the channel.
    assert.deepEqual(site.requests.filter((r) => r.includes('/api/')), ['/api/recordings']);

    // The latest span: the one still growing, the longest there is.
    await page.locator('.span-link').last().click();
    await page.waitForFunction(() => document.querySelector<HTMLVideoElement>('#player')!.currentTime > 1, undefined, { timeout: 20_000 });
    const played = await page.evaluate(() => {
      const v = document.querySelector<HTMLVideoElement>('#player')!;
      return { width: v.videoWidth, duration: v.duration, requests: Number(v.dataset.requests), src: v.src };
    });
    assert.equal(played.width, 640);
    assert.match(played.src, /^blob:/, 'played through Media Source Extensions');
    assert.ok(played.duration >= 15, `clip of ${played.duration} s`);
    const m = await marks(page);
    const firstFrame = (m['rec-first-frame'] ?? Number.NaN) - (m['rec-play'] ?? Number.NaN);
    process.stdout.write(`# playback over the data channel: first frame ${Math.round(firstFrame)} ms after "play"\n`);
    assert.ok(firstFrame < 20_000, `first frame ${firstFrame} ms`);

    // Seek far ahead of what is buffered: the player asks the recorder for the fragment there and plays on from it.
    const target = await page.evaluate(() => {
      const v = document.querySelector<HTMLVideoElement>('#player')!;
      const t = v.duration - 4;
      const buffered = v.buffered.length ? v.buffered.end(v.buffered.length - 1) : 0;
      v.currentTime = t;
      return { t, buffered };
    });
    assert.ok(target.buffered < target.t, `already buffered up to ${target.buffered} s, seek to ${target.t} s`);
    await page.waitForFunction(
      (t) => {
        const v = document.querySelector<HTMLVideoElement>('#player')!;
        return !v.seeking && v.currentTime > t + 0.5;
      },
      target.t,
      { timeout: 20_000 },
    ).catch(async (err: unknown) => {
      const state = await page.evaluate(() => {
        const v = document.querySelector<HTMLVideoElement>('#player')!;
        const ranges = Array.from({ length: v.buffered.length }, (_, i) => `${v.buffered.start(i).toFixed(2)}-${v.buffered.end(i).toFixed(2)}`);
        return { t: v.currentTime, seeking: v.seeking, paused: v.paused, ready: v.readyState, ranges, ...v.dataset };
      });
      throw new Error(`the seek did not play on: ${JSON.stringify(state)}`, { cause: err });
    });
    const after = await page.evaluate(() => {
      const v = document.querySelector<HTMLVideoElement>('#player')!;
      return { requests: Number(v.dataset.requests), frames: v.getVideoPlaybackQuality().totalVideoFrames };
    });
    assert.ok(after.requests > played.requests, `the seek asked for a new fragment (${played.requests} -> ${after.requests} requests)`);
    assert.ok(after.frames >= 20, `frames ${after.frames}`);

    // Play again while the stream plays (held back by its credit): the page cancels the stream it replaces, so that
    // the recorder does not keep it waiting for credit that never comes.
    const cancelled = () => hub.output().split('\n').filter((l) => l.includes('clip stream ended') && l.includes('"cancelled":true')).length;
    await page.locator('.span-link').last().click();
    await page.waitForFunction(() => document.querySelector<HTMLVideoElement>('#player')!.currentTime > 0.5, undefined, { timeout: 20_000 });
    const before = cancelled();
    await page.locator('.span-link').last().click();
    await waitFor(() => cancelled() > before, { timeoutMs: 10_000, what: `the replaced stream cancelled at the recorder (${before} cancelled before; the recorder said: ${hub.output().split('\n').filter((l) => l.includes('recordings:')).slice(-6).join(' | ')})` });

    // The whole recording over the channel as a download: how many times faster than real time it comes.
    const from = await page.locator('#from').inputValue();
    await page.locator('#to').fill(clockPlus(from, 15));
    await page.locator('#to').dispatchEvent('change');
    await page.locator('#download').click();
    await page.waitForFunction(() => document.querySelector<HTMLElement>('#download')!.dataset.ms !== undefined, undefined, { timeout: 30_000 });
    const dl = await page.evaluate(() => ({ ...document.querySelector<HTMLElement>('#download')!.dataset }));
    const speed = Number(dl.clipSeconds) / (Number(dl.ms) / 1000);
    const streamMbps = (Number(dl.bytes) * 8) / ((Number(dl.ms) - Number(dl.firstByteMs)) * 1000);
    process.stdout.write(
      `# data channel download: ${dl.bytes} bytes, ${dl.clipSeconds} s of video in ${dl.ms} ms = ${speed.toFixed(1)}x real time ` +
        `(first byte after ${dl.firstByteMs} ms, then ${streamMbps.toFixed(1)} Mb/s: ${(streamMbps / 2).toFixed(1)}x a 2 Mb/s camera)\n`,
    );
    assert.ok(Number(dl.bytes) > 100_000, `downloaded ${dl.bytes} bytes`);
    assert.ok(speed > 1, `${speed}x real time`);
    await page.context().close();
  });

  it('from a separate static host, the viewer lists the recorder’s past events with their stills over a data channel; Play and Replay open the recordings there', async () => {
    // A motion event 20 s ago with the camera's still, as the hub's recorder would have kept it (the demo camera has no
    // motion of its own): written into the recordings folder the hub serves.
    const grey = new Uint8Array(160 * 96 * 1.5).fill(128).map((v, i) => (i < 160 * 96 ? (i % 160) + 40 : v));
    const still = Buffer.from(encodeJpeg420(160, 96, grey)).toString('base64');
    const at = Date.now() - 20_000;
    const log = new EventLog(dir);
    log.start('Demo camera', 'PASTEVENT1', at, 0.04, still);
    log.end('Demo camera', 'PASTEVENT1', at + 5000, 0.06);
    // And 55 before it, a minute apart: more than the list's first page (50) holds.
    for (let i = 0; i < 55; i++) {
      log.start('Demo camera', `OLD${i}`, at - (i + 1) * 60_000, 0.02);
      log.end('Demo camera', `OLD${i}`, at - (i + 1) * 60_000 + 2000, 0.02);
    }
    const fragment = new URLSearchParams(new URL(hub.link).hash.slice(1));
    fragment.set('b', `ws://127.0.0.1:${hub.port}/mqtt`);
    for (const size of ['desktop', 'phone'] as const) {
      const { page } = await device(browser, size);
      const asked = site.requests.length;
      const opened = Date.now();
      // The app in a sub-folder of the static host (dist/web under /web/): its links must be relative.
      await page.goto(`http://127.0.0.1:${site.port}/web/#${fragment.toString()}`);
      const item = page.locator('#events-list li.event[data-event="PASTEVENT1"][data-from="recorder"]');
      await item.locator('img.thumb').waitFor({ timeout: 45_000 });
      await page.waitForFunction(() => (document.querySelector<HTMLImageElement>('li.event[data-event="PASTEVENT1"] img.thumb')?.naturalWidth ?? 0) === 160, undefined, { timeout: 10_000 });
      process.stdout.write(`# ${size}: the recorder's events and stills listed ${Date.now() - opened} ms after the page opened (data channel)\n`);
      assert.match((await item.locator('img.thumb').getAttribute('src')) ?? '', /^data:image\/jpeg;base64,/, 'the still came over the channel');
      assert.match((await item.textContent()) ?? '', /Demo camera.*Today \d\d:\d\d:\d\d.*5 s/);
      await page.locator('.tile a.replay').first().waitFor({ state: 'visible', timeout: 10_000 });
      if (size === 'desktop') {
        // The first page is the newest 50; "Older events" brings the rest, the oldest included.
        const older = page.locator('#events-older');
        await older.waitFor({ state: 'visible', timeout: 10_000 });
        assert.equal(await page.locator('#events-list li[data-from="recorder"]').count(), 50);
        assert.equal(await page.locator('#events-list li[data-event="OLD54"]').count(), 0);
        await older.click();
        await page.locator('#events-list li[data-event="OLD54"]').waitFor({ state: 'attached', timeout: 20_000 });
        assert.ok((await page.locator('#events-list li[data-from="recorder"]').count()) >= 56);
        assert.equal(await older.isVisible(), false, 'nothing older left');
        // Play only where the recorder may still hold it: not for an event from before its oldest recording.
        assert.equal(await page.locator('#events-list li[data-event="OLD54"] a.play').count(), 0);
        assert.equal(await page.locator('#events-list li[data-event="PASTEVENT1"] a.play').count(), 1);
      }
      assert.deepEqual(site.requests.slice(asked).filter((r) => r.includes('/api/')), ['/api/recordings'], 'the static host was asked once (404); the rest came over the channel');
      await item.scrollIntoViewIfNeeded();
      await page.screenshot({ path: `${ARTIFACTS}/events-over-channel-${size}.png` });
      if (size === 'phone') {
        await item.locator('a.play').tap();
        await page.waitForURL(/\/web\/recordings\.html\?camera=Demo_camera&t=\d+/, { timeout: 10_000 });
        await page.waitForFunction(() => document.body.dataset.via === 'data-channel' && document.querySelector<HTMLVideoElement>('#player')!.currentTime > 0, undefined, { timeout: 45_000 });
      }
      await page.context().close();
    }
  });
});

/** `HH:MM:SS` plus some seconds. */
function clockPlus(text: string, seconds: number): string {
  const [h = 0, m = 0, s = 0] = text.split(':').map(Number);
  const t = h * 3600 + m * 60 + s + seconds;
  const p = (n: number) => String(Math.floor(n)).padStart(2, '0');
  return `${p(t / 3600)}:${p((t % 3600) / 60)}:${p(t % 60)}`;
}
