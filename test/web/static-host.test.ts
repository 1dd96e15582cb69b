import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { type Coturn, startCoturn } from '../helpers/coturn.js';
import { startStaticHost } from '../helpers/static-host.js';
import { device, launch } from './browser.js';
import { type HubProcess, startHubProcess } from './hub-process.js';
import { liveTile } from './pages.js';

/**
 * The built web app on a plain static host (no /hub.json, no /mqtt), in a sub-folder, joined with a link that names
 * the room's broker: it learns the owner's TURN from the hub's sealed presence alone, and says why when it cannot use it.
 */
describe('the web app from a static host: ICE servers lent by the hub, reasons in the tile', () => {
  let turn: Coturn;
  let browser: Browser;
  let site: Awaited<ReturnType<typeof startStaticHost>>;
  const hubs: HubProcess[] = [];
  before(async () => {
    turn = await startCoturn({ relayIp: '127.0.0.2' });
    site = await startStaticHost({ root: fileURLToPath(new URL('../../dist/', import.meta.url)), host: '127.0.0.1', port: 0 });
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
    for (const h of hubs) await h.close();
    await site?.close();
    await turn?.stop();
  });

  /** The hub's link, opened from the static host's /web/ folder with the hub's WebSocket broker in `b=`. */
  const staticLink = (hub: HubProcess) => {
    const fragment = new URLSearchParams(new URL(hub.link).hash.slice(1));
    fragment.set('b', `ws://127.0.0.1:${hub.port}/mqtt`);
    return `http://127.0.0.1:${site.port}/web/#${fragment.toString()}`;
  };

  it('plays the hub’s demo camera through the TURN relay the hub lends (relay-only), with no /hub.json', async () => {
    const ice = turn.urls.udp.replace('turn:', `turn:${turn.username}:${turn.credential}@`);
    const hub = await startHubProcess({ args: ['--relay', '--ice-server', ice] });
    hubs.push(hub);
    const { page } = await device(browser);
    await page.goto(staticLink(hub));
    await liveTile(page, 'Demo camera', 30_000).catch((err: unknown) => {
      throw new Error(`no live tile from the static host\n${hub.output().slice(-2000)}`, { cause: err });
    });
    const tile = page.locator('.tile[data-state="live"]', { has: page.locator('.name', { hasText: 'Demo camera' }) });
    assert.equal(await tile.getAttribute('data-path'), 'relay', 'only the lent TURN server can have carried it');
    assert.ok(site.requests.some((r) => r.startsWith('/web/assets/')), 'the app was served by the static host');
    // The pairing panel offers this static host's folder, not the origin's root.
    await page.locator('#pair').click();
    const link = await page.locator('input.link').first().inputValue();
    assert.match(link, new RegExp(`^http://127\\.0\\.0\\.1:${site.port}/web/#k=`));
    process.stdout.write(`# static host, relay through the lent TURN: first frame ${await tile.getAttribute('data-first-frame-ms')} ms\n`);
    await page.context().close();
    await hub.stop();
  });

  it('a lent TURN server that refuses the credentials: the tile says "TURN refused (credentials)" within the ICE timeout', async () => {
    const wrong = turn.urls.udp.replace('turn:', `turn:${turn.username}:not-the-password@`);
    const hub = await startHubProcess({ args: ['--relay', '--ice-server', wrong] });
    hubs.push(hub);
    const { page } = await device(browser);
    const t0 = Date.now();
    await page.goto(staticLink(hub));
    const tile = page.locator('.tile', { has: page.locator('.name', { hasText: 'Demo camera' }) });
    // 15 s of ICE timeout after the answer, plus the page's start and join on a loaded machine.
    await tile.locator('.stats', { hasText: 'TURN refused (credentials)' }).waitFor({ timeout: 25_000 });
    const text = (await tile.locator('.stats').textContent()) ?? '';
    assert.match(text, /TURN refused \(credentials\): turn:127\.0\.0\.1:\d+\?transport=udp answered 401/);
    assert.match(text, /this page gathered host 0, srflx 0, relay 0/);
    assert.equal(await tile.getAttribute('data-problem'), 'turn-refused');
    process.stdout.write(`# TURN refused shown ${Date.now() - t0} ms after the page opened\n`);
    await page.context().close();
  });
});
