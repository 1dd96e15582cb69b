import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import type { WatchReport } from '../../src/agent/watch.js';
import { runCli } from '../helpers/cli.js';
import { type Coturn, startCoturn } from '../helpers/coturn.js';
import { device, launch } from './browser.js';
import { type HubProcess, startHubProcess } from './hub-process.js';
import { liveTile } from './pages.js';

/**
 * A phone on a network that lets only TCP out: the hub hands every page a TURN server over TCP and the relay-only
 * policy, and the coturn here has its UDP listener off, so a live tile proves TURN over TCP carried the media.
 */
describe('the hub through TURN over TCP only: browser camera page and the Node demo camera to the browser grid', () => {
  let turn: Coturn;
  let hub: HubProcess;
  let browser: Browser;
  let ice: string;
  before(async () => {
    turn = await startCoturn({ relayIp: '127.0.0.2', udp: false });
    ice = `turn:${turn.username}:${turn.credential}@${turn.urls.tcp.slice('turn:'.length)}`;
    hub = await startHubProcess({ args: ['--relay', '--ice-server', ice] });
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
    await hub?.close();
    await turn?.stop();
  });

  it('the camera page and the demo camera play in the grid on relay paths; peercam watch plays the camera page', async () => {
    const viewer = (await device(browser)).page;
    await viewer.goto(hub.link);
    // The demo camera is Node (libjuice through peercam's TURN bridge): Chromium's TCP-relayed checks reach it mended.
    await liveTile(viewer, 'Demo camera', 20_000).catch(async (err: unknown) => {
      throw new Error(`the demo camera did not play through TURN/TCP\n${hub.output().slice(-3000)}`, { cause: err });
    });
    const demo = viewer.locator('.tile[data-state="live"]', { has: viewer.locator('.name', { hasText: 'Demo camera' }) });
    // The path comes with the tile's first stats, a moment after it goes live.
    await viewer.locator('.tile[data-path]', { has: viewer.locator('.name', { hasText: 'Demo camera' }) }).waitFor({ timeout: 10_000 });
    assert.equal(await demo.getAttribute('data-path'), 'relay');
    const phone = await device(browser);
    const url = new URL(hub.link);
    await phone.page.goto(`${url.origin}/camera?autostart=1${url.hash}`);
    await liveTile(viewer, 'Chrome on Linux camera', 20_000).catch(async (err: unknown) => {
      throw new Error(`no live tile through TURN/TCP\n${(await turn.log()).slice(-3000)}`, { cause: err });
    });
    const tile = viewer.locator('.tile[data-state="live"]', { has: viewer.locator('.name', { hasText: 'Chrome on Linux camera' }) });
    assert.equal(await tile.getAttribute('data-path'), 'relay');
    const first = async (name: string) =>
      viewer.locator('.tile', { has: viewer.locator('.name', { hasText: name }) }).getAttribute('data-first-frame-ms');
    process.stdout.write(`# first frame through TURN/TCP (ms from session start): demo ${await first('Demo camera')}, camera page ${await first('Chrome on Linux camera')}\n`);

    // The other way round: `peercam watch` (Node, offering, so Chromium is the controlled side and its checks carry
    // ICE-CONTROLLED = 0) watches the browser camera through the same TCP-only relay.
    const watched = await runCli(
      ['watch', 'Chrome on Linux camera', '--seconds', '2', '--json', '--relay', '--ice-server', ice, '--broker', `mqtt://127.0.0.1:${hub.mqttPort}`],
      hub.env,
    );
    assert.equal(watched.code, 0, `${watched.stdout}\n${watched.stderr}`);
    const report = JSON.parse(watched.stdout) as WatchReport;
    assert.equal(report.candidateType, 'relay');
    assert.ok(report.frames >= 20, `frames ${report.frames}`);
    process.stdout.write(`# peercam watch of the camera page through TURN/TCP: first frame ${report.firstFrameMs} ms\n`);
  });
});
