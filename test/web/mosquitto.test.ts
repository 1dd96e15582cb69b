import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { Room } from '../../src/protocol/index.js';
import { type MosquittoBroker, startMosquitto } from '../helpers/brokers.js';
import { type CliProcess, spawnCli } from '../helpers/cli.js';
import { device, launch } from './browser.js';
import { decodedFrames, liveTile } from './pages.js';
import { type HubProcess, startHubProcess } from './hub-process.js';

describe('the same viewer page over Mosquitto (its WebSocket listener) instead of the embedded broker', () => {
  let mosquitto: MosquittoBroker;
  let hub: HubProcess;
  let camera: CliProcess | undefined;
  let browser: Browser;

  before(async () => {
    mosquitto = await startMosquitto({ websockets: true });
    hub = await startHubProcess({ demo: false }); // only serves the page here
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
    await camera?.stop();
    await hub?.close();
    await mosquitto?.stop();
  });

  it('shows a node camera and a browser camera that meet on Mosquitto', async () => {
    assert.ok(mosquitto.wsUrl);
    const room = await Room.fromLink(hub.link);
    const origin = new URL(hub.link).origin;
    const link = await room.link(`${origin}/`, { broker: `${mosquitto.wsUrl}/mqtt` });
    camera = spawnCli(['camera', '--source', 'demo', '--name', 'Pi camera', '--room', link, '--broker', mosquitto.url], hub.env);
    await camera.waitFor(/is live in room/, 20_000);

    const { page: viewer } = await device(browser);
    await viewer.goto(link);
    await liveTile(viewer, 'Pi camera', 10_000);

    const phone = await device(browser);
    await phone.page.goto(`${origin}/camera?autostart=1${new URL(link).hash}`);
    await liveTile(viewer, 'Chrome on Linux camera', 15_000);
    const frames = await decodedFrames(viewer, 'Pi camera');
    // The node camera keeps playing while the camera page joins (a wait for more frames, not a fixed 500 ms).
    await viewer.waitForFunction(
      ([n, f]) => {
        const tile = [...document.querySelectorAll<HTMLElement>('.tile')].find((t) => t.querySelector('.name')?.textContent === n);
        return (tile?.querySelector('video')?.getVideoPlaybackQuality().totalVideoFrames ?? 0) > (f as number);
      },
      ['Pi camera', frames] as const,
      { timeout: 10_000 },
    );
    assert.equal(await viewer.locator('.tile[data-state="live"]').count(), 2);
    await viewer.screenshot({ path: 'test-artifacts/grid-mosquitto.png' });
    assert.doesNotMatch(hub.output(), /viewer .* joined/, 'nothing went through the hub’s own broker');
  });
});
