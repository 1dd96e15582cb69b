/**
 * bench:record's browser arm (issue 10): the first frame of a recording after "play" in Chromium's Recordings page,
 * over the hub's HTTP API and over a data channel with the recorder (the page on a separate static host, the hub's
 * broker in its link, as away from home). `peercam up --demo --record` records its demo camera; each trial clears the
 * page's marks, clicks the recording and waits for its first frame (`rec-play` -> `rec-first-frame`).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { startStaticHost } from '../test/helpers/static-host.js';
import { device, launch } from '../test/web/browser.js';
import { startHubProcess } from '../test/web/hub-process.js';
import { marks } from '../test/web/pages.js';
import { percentile } from './lib.js';

export interface PlayFigures {
  readonly n: number;
  readonly p50: number;
  readonly p95: number;
  readonly ms: readonly number[];
}

/** `trials` plays over each path; the demo camera records `recordS` seconds first. */
export async function recordingFirstFrames(trials: number, recordS = 10): Promise<{ http: PlayFigures; dataChannel: PlayFigures }> {
  const dir = await mkdtemp(join(tmpdir(), 'peercam-bench-play-'));
  const hub = await startHubProcess({ args: ['--record', dir, '--segment', '60s'] });
  const site = await startStaticHost({ root: fileURLToPath(new URL('../dist/', import.meta.url)), host: '127.0.0.1', port: 0 });
  const browser = await launch();
  try {
    await new Promise((r) => setTimeout(r, recordS * 1000));
    const link = new URL(hub.link);
    const http = await device(browser);
    await http.page.goto(`${link.origin}/recordings${link.hash}`);
    const fragment = new URLSearchParams(link.hash.slice(1));
    fragment.set('b', `ws://127.0.0.1:${hub.port}/mqtt`);
    const away = await device(browser);
    await away.page.goto(`http://127.0.0.1:${site.port}/web/recordings.html?camera=Demo_camera#${fragment.toString()}`);
    return { http: await plays(http.page, trials), dataChannel: await plays(away.page, trials) };
  } finally {
    await browser.close();
    await site.close();
    await hub.close();
    await rm(dir, { recursive: true, force: true });
  }
}

async function plays(page: Page, trials: number): Promise<PlayFigures> {
  await page.locator('.span-link').first().waitFor({ state: 'attached', timeout: 60_000 });
  const ms: number[] = [];
  for (let i = 0; i < trials; i++) {
    await page.evaluate(() => performance.clearMarks());
    await page.locator('.span-link').first().click();
    await page.waitForFunction(() => performance.getEntriesByName('rec-first-frame').length > 0, undefined, { timeout: 20_000 });
    const m = await marks(page);
    ms.push((m['rec-first-frame'] ?? Number.NaN) - (m['rec-play'] ?? Number.NaN));
    // Let it play a moment, as a person would before clicking again.
    await new Promise((r) => setTimeout(r, 500));
  }
  return { n: ms.length, p50: percentile(ms, 50), p95: percentile(ms, 95), ms };
}
