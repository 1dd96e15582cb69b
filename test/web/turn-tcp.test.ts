import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { type Coturn, startCoturn } from '../helpers/coturn.js';
import { device, launch } from './browser.js';
import { type HubProcess, startHubProcess } from './hub-process.js';
import { liveTile } from './pages.js';

/**
 * A phone on a network that lets only TCP out: the hub hands every page a TURN server over TCP and the relay-only
 * policy, and the coturn here has its UDP listener off, so a live tile proves TURN over TCP carried the media.
 */
describe('browser camera page to browser viewer through TURN over TCP only', () => {
  let turn: Coturn;
  let hub: HubProcess;
  let browser: Browser;
  before(async () => {
    turn = await startCoturn({ relayIp: '127.0.0.2', udp: false });
    const ice = `turn:${turn.username}:${turn.credential}@${turn.urls.tcp.slice('turn:'.length)}`;
    hub = await startHubProcess({ demo: false, args: ['--relay', '--ice-server', ice] });
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
    await hub?.close();
    await turn?.stop();
  });

  it('the camera page plays in the grid on a relay path', async () => {
    const viewer = (await device(browser)).page;
    await viewer.goto(hub.link);
    const phone = await device(browser);
    const url = new URL(hub.link);
    await phone.page.goto(`${url.origin}/camera?autostart=1${url.hash}`);
    await liveTile(viewer, 'Chrome on Linux camera', 20_000).catch(async (err: unknown) => {
      throw new Error(`no live tile through TURN/TCP\n${(await turn.log()).slice(-3000)}`, { cause: err });
    });
    const tile = viewer.locator('.tile[data-state="live"]', { has: viewer.locator('.name', { hasText: 'Chrome on Linux camera' }) });
    assert.equal(await tile.getAttribute('data-path'), 'relay');
    const pair = await viewer.evaluate(() => document.querySelector<HTMLElement>('.tile')?.dataset.firstFrameMs);
    process.stdout.write(`# first frame through TURN/TCP: ${pair} ms from session start\n`);
  });
});
