import type { Page } from 'playwright-core';

export const ARTIFACTS = 'test-artifacts';

/** Waits for the tile of the camera whose name matches to be live (its video has shown a frame). */
export async function liveTile(page: Page, name: RegExp | string, timeoutMs: number): Promise<void> {
  await page
    .locator('.tile[data-state="live"]', { has: page.locator('.name', { hasText: name }) })
    .first()
    .waitFor({ timeout: timeoutMs });
}

/** Frames the tile's video element has decoded so far (it really plays, not just a connected session). */
export async function decodedFrames(page: Page, name: string): Promise<number> {
  return page.evaluate((n) => {
    const tile = [...document.querySelectorAll<HTMLElement>('.tile')].find((t) => t.querySelector('.name')?.textContent === n);
    const video = tile?.querySelector('video');
    return video ? video.getVideoPlaybackQuality().totalVideoFrames : -1;
  }, name);
}

/** The page's peercam performance marks (ms since navigation start). */
export async function marks(page: Page): Promise<Record<string, number>> {
  return page.evaluate(() => Object.fromEntries(performance.getEntriesByType('mark').map((m) => [m.name, Math.round(m.startTime)])));
}

/**
 * Waits until a camera page hears talk-back: one or more of its talker rows (one per viewer connection) with energy.
 * A failure lists the rows.
 */
export async function talkBackHeard(cameraPage: Page, timeoutMs: number): Promise<void> {
  await cameraPage
    .waitForFunction(() => [...document.querySelectorAll<HTMLElement>('.talker')].some((t) => Number(t.dataset.energy ?? 0) > 0), undefined, { timeout: timeoutMs })
    .catch(async (err: unknown) => {
      const rows = await cameraPage.locator('.talker').evaluateAll((ts) => ts.map((t) => JSON.stringify((t as HTMLElement).dataset)));
      throw new Error(`talk-back not heard by the camera page; talker rows: ${rows.join(' | ') || 'none'}`, { cause: err });
    });
}

/** Seconds recorded this day, as the Recordings page's summary says. */
export async function recordedSeconds(page: Page): Promise<number> {
  const summary = (await page.locator('#summary').textContent()) ?? '';
  return Number(/(\d+) s this day/.exec(summary)?.[1] ?? 0) + 60 * Number(/(\d+) min/.exec(summary)?.[1] ?? 0);
}

/**
 * Keeps every RTCPeerConnection the page makes in `window.peercamPeers` (installed before the page's own scripts),
 * for tests that read what its connections carry.
 */
export async function keepPeerConnections(page: Page): Promise<void> {
  await page.addInitScript(() => {
    const Native = window.RTCPeerConnection;
    const made: RTCPeerConnection[] = [];
    Object.assign(window, { peercamPeers: made });
    window.RTCPeerConnection = class extends Native {
      constructor(config?: RTCConfiguration) {
        super(config);
        made.push(this);
      }
    };
  });
}
