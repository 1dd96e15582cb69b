import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { shutdownNdc } from '../../src/media/ndc/index.js';
import { waitFor } from '../helpers/wait.js';
import { serveWhipWhepPages } from '../helpers/whip-whep-pages.js';
import { startWhepHub, type WhepHub } from '../helpers/whep-hub.js';
import { device, launch } from './browser.js';

interface Req {
  method: string;
  status: number;
  etag: string | null;
}

describe('WHEP: the whip-whep WHEPClient in Chromium plays cameras through the hub', () => {
  let rig: WhepHub;
  let player: Awaited<ReturnType<typeof serveWhipWhepPages>>;
  let browser: Browser;
  const firstFrames: Record<string, number> = {};

  before(async () => {
    rig = await startWhepHub();
    player = await serveWhipWhepPages();
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
    await player?.close();
    await rig?.close();
    shutdownNdc();
    process.stdout.write(`# WHEP POST -> first decoded frame (ms): ${JSON.stringify(firstFrames)}\n`);
  });

  const open = async (): Promise<Page> => {
    const { page } = await device(browser);
    await page.goto(`${player.origin}/player.html`);
    await page.waitForFunction(() => 'play' in window);
    return page;
  };
  const play = async (page: Page, camera: string) => {
    await page.evaluate(([u, t]) => (window as unknown as { play(u: string, t: string): Promise<void> }).play(u, t), [`${rig.origin}/whep/${encodeURIComponent(camera)}`, rig.token] as const);
    return page.evaluate(() => (window as unknown as { firstFrame(): Promise<number> }).firstFrame());
  };
  const frames = (page: Page) => page.evaluate(() => (window as unknown as { frames(): number }).frames());
  const requests = (page: Page) => page.evaluate(() => (window as unknown as { requests: Req[] }).requests);
  const playing = async (page: Page, what: string) => {
    const n = await frames(page);
    await waitFor(async () => (await frames(page)) > n + 10, { timeoutMs: 10_000, what });
  };

  it('a Node camera: plays with trickled candidates; ICE restart refused (422) and it keeps playing on its ICE path; DELETE frees the camera', async () => {
    const page = await open();
    firstFrames.nodeCamera = Math.round(await play(page, 'Node cam'));
    assert.equal(rig.camera.viewers, 1);
    await waitFor(async () => (await requests(page)).some((r) => r.method === 'PATCH' && r.status === 204), { timeoutMs: 5000, what: 'a trickle PATCH answered 204' });
    assert.equal((await requests(page))[0]?.status, 201);
    await playing(page, 'the Node camera to keep playing');
    const restart = await page.evaluate(() => (window as unknown as { client: { restart(): Promise<void> } }).client.restart().then(() => 'ok', (e: Error) => e.message));
    assert.match(restart, /422/, 'libdatachannel cannot restart ICE in place: the door says so');
    // RFC 9725 section 4.3.2: a refused restart keeps the existing ICE session; the picture goes on.
    assert.equal(rig.door.gateway?.size, 1, 'the session survives the refused restart');
    await playing(page, 'the Node camera to keep playing after the refused ICE restart');
    await page.evaluate(() => (window as unknown as { client: { stop(): Promise<void> } }).client.stop());
    assert.equal((await requests(page)).at(-1)?.method, 'DELETE');
    assert.equal((await requests(page)).at(-1)?.status, 200);
    await waitFor(() => rig.camera.viewers === 0, { timeoutMs: 10_000, what: "the Node camera's viewer count back to 0" });
    await page.context().close();
  });

  it('a browser camera page: plays, restarts ICE (200 + sdpfrag, new ETag) and keeps playing; DELETE frees the camera', async () => {
    const phone = await device(browser);
    const link = await rig.room.link(`${rig.origin}/`);
    await phone.page.goto(`${rig.origin}/camera?autostart=1${new URL(link).hash}`);
    await waitFor(() => rig.door.gateway?.isLive('Chrome on Linux camera') === true, { timeoutMs: 15_000, what: 'the camera page to join the room' });
    const page = await open();
    firstFrames.cameraPage = Math.round(await play(page, 'Chrome on Linux camera'));
    await phone.page.locator('#viewers[data-count="1"]').waitFor({ timeout: 10_000 });
    await playing(page, 'the camera page to play');
    const before = await page.evaluate(() => (window as unknown as { ufrag(): string }).ufrag());
    await page.evaluate(() => (window as unknown as { client: { restart(): Promise<void> } }).client.restart());
    const restart = (await requests(page)).filter((r) => r.method === 'PATCH' && r.status === 200);
    assert.equal(restart.length, 1, 'the ICE restart PATCH got 200');
    assert.match(restart[0]?.etag ?? '', /^"/);
    assert.notEqual(await page.evaluate(() => (window as unknown as { ufrag(): string }).ufrag()), before, 'new ICE credentials');
    await waitFor(() => page.evaluate(() => (window as unknown as { pc: RTCPeerConnection }).pc.iceConnectionState === 'connected' || (window as unknown as { pc: RTCPeerConnection }).pc.iceConnectionState === 'completed'), {
      timeoutMs: 10_000,
      what: 'ICE connected after the restart',
    });
    await playing(page, 'the camera page to keep playing after the ICE restart');
    await page.evaluate(() => (window as unknown as { client: { stop(): Promise<void> } }).client.stop());
    await phone.page.locator('#viewers[data-count="0"]').waitFor({ timeout: 10_000 });
    assert.equal(rig.door.gateway?.size, 0);
    await page.context().close();
    await phone.context.close();
  });
});
