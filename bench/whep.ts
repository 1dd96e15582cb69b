/**
 * WHEP/WHIP benchmark (issue 12), in its own loopback-only network namespace (root):
 *  - WHEP POST -> first decoded frame in Chromium (Medooze's whip-whep WHEPClient) for a Node camera (the demo clip,
 *    keyframe cache on) through the hub's WHEP gateway, p50/p95 over --trials (default 12), and the POST round trip;
 *  - WHIP publisher (a Chromium whip-whep WHIPClient, fake camera) -> the camera in the room, and -> first frame at a
 *    headless `peercam watch`, p50/p95 over --whip-trials (default 5).
 * Ends with one JSON line.
 *
 *   npm run bench:whep [-- --trials 12 --whip-trials 5]
 */
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { shutdownNdc } from '../src/media/ndc/index.js';
import { launchBrowser } from '../test/helpers/chromium.js';
import { cliHome, runCli } from '../test/helpers/cli.js';
import { waitFor } from '../test/helpers/wait.js';
import { startWhepHub } from '../test/helpers/whep-hub.js';
import { serveWhipWhepPages } from '../test/helpers/whip-whep-pages.js';
import { isolate, percentile } from './lib.js';

isolate('bench:whep', fileURLToPath(import.meta.url));

const arg = (name: string, fallback: number) => {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? Number(process.argv[at + 1]) : fallback;
};
const TRIALS = arg('trials', 12);
const WHIP_TRIALS = arg('whip-trials', 5);

interface PlayerWindow {
  play(url: string, token: string): Promise<void>;
  firstFrame(): Promise<number>;
  client: { stop(): Promise<void> };
  requests: { method: string; status: number; ms?: number }[];
}
interface PublisherWindow {
  publish(url: string, token: string): Promise<void>;
  client: { stop(): Promise<void> };
}

const stats = (xs: number[]) => ({ p50: Math.round(percentile(xs, 50)), p95: Math.round(percentile(xs, 95)), n: xs.length });

const rig = await startWhepHub();
const pages = await serveWhipWhepPages();
const browser = await launchBrowser();
const home = await cliHome();
try {
  const firstFrames: number[] = [];
  const posts: number[] = [];
  for (let i = 0; i < TRIALS; i++) {
    const context = await browser.newContext();
    const page: Page = await context.newPage();
    await page.goto(`${pages.origin}/player.html`);
    await page.waitForFunction(() => 'play' in window);
    await page.evaluate(([u, t]) => (window as unknown as PlayerWindow).play(u, t), [`${rig.origin}/whep/Node%20cam`, rig.token] as const);
    firstFrames.push(await page.evaluate(() => (window as unknown as PlayerWindow).firstFrame()));
    const post = (await page.evaluate(() => (window as unknown as PlayerWindow).requests)).find((r) => r.method === 'POST');
    if (post?.ms !== undefined) posts.push(post.ms);
    await page.evaluate(() => (window as unknown as PlayerWindow).client.stop());
    await context.close();
    await waitFor(() => rig.camera.viewers === 0, { timeoutMs: 10_000, what: 'the camera to free the WHEP session' });
  }

  const joined: number[] = [];
  const watchFirst: number[] = [];
  const link = await rig.room.link();
  for (let i = 0; i < WHIP_TRIALS; i++) {
    const name = `Pub ${i}`;
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${pages.origin}/publisher.html`);
    await page.waitForFunction(() => 'publish' in window);
    // A first getUserMedia warms the fake camera up; publish() asks again (its ~tens of ms are in the figure).
    await page.evaluate(() => navigator.mediaDevices.getUserMedia({ video: true }).then((s) => {
      for (const t of s.getTracks()) t.stop();
    }));
    const t0 = performance.now();
    await page.evaluate(([u, t]) => (window as unknown as PublisherWindow).publish(u, t), [`${rig.origin}/whip/${encodeURIComponent(name)}`, rig.token] as const);
    await waitFor(() => rig.door.gateway?.isLive(name) === true, { timeoutMs: 15_000, what: `${name} in the room` });
    joined.push(performance.now() - t0);
    const watch = await runCli(['watch', name, '--room', link, '--broker', rig.hub.brokerUrl, '--seconds', '1', '--json'], home.env, 60_000);
    const result = JSON.parse(watch.stdout.trim().split('\n').at(-1) ?? '{}') as { firstFrameMs?: number };
    if (typeof result.firstFrameMs === 'number') watchFirst.push(result.firstFrameMs);
    await page.evaluate(() => (window as unknown as PublisherWindow).client.stop());
    await context.close();
    await waitFor(() => rig.door.whip.size === 0, { timeoutMs: 10_000, what: 'the WHIP session to end' });
  }

  const out = {
    whepFirstFrameMs: stats(firstFrames),
    whepPostMs: stats(posts),
    whipToCameraInRoomMs: stats(joined),
    whipWatchFirstFrameMs: stats(watchFirst),
  };
  console.log(`WHEP POST -> first decoded frame in Chromium: p50 ${out.whepFirstFrameMs.p50} ms, p95 ${out.whepFirstFrameMs.p95} ms (POST round trip p50 ${out.whepPostMs.p50} ms)`);
  console.log(`WHIP POST -> camera in the room: p50 ${out.whipToCameraInRoomMs.p50} ms; peercam watch offer -> first frame: p50 ${out.whipWatchFirstFrameMs.p50} ms, p95 ${out.whipWatchFirstFrameMs.p95} ms`);
  console.log(JSON.stringify(out));
} finally {
  await browser.close();
  await pages.close();
  await rig.close();
  await home.remove();
  shutdownNdc();
}
