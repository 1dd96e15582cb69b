import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { spawnCli } from '../helpers/cli.js';
import { device, launch } from '../web/browser.js';
import { startHubProcess } from '../web/hub-process.js';
import { decodedFrames, liveTile } from '../web/pages.js';
import { sleep, startWatcher } from './rig.js';

const DOWN_MS = 3000;

/**
 * Issue 6: the hub (`peercam up`: web app + embedded broker + demo camera) restarted. A browser on its grid and a
 * headless `peercam watch` resume by themselves. A Pi-style `peercam camera` on the hub's broker stays up throughout:
 * its media never touches the hub, so the node viewer rides through; the hub's own demo camera restarts with it.
 */
describe('fault: hub restarted', { timeout: 120_000 }, () => {
  it('browser and node viewers resume the hub\'s demo camera; the outside camera\'s media rides through', async () => {
    const hub = await startHubProcess();
    after(() => hub.close());
    const env = { ...hub.env, PEERCAM_BROKER: `mqtt://127.0.0.1:${hub.mqttPort}` };
    const camera = spawnCli(['camera', '--source', 'demo', '--name', 'shelf'], env);
    after(() => camera.kill());
    await camera.waitFor(/is live in room/, 30_000);

    const browser = await launch();
    after(() => browser.close());
    const { page } = await device(browser);
    await page.goto(hub.link);
    await liveTile(page, 'Demo camera', 20_000);
    await liveTile(page, 'shelf', 20_000);
    const watcher = startWatcher(env, 'shelf', 25);
    const demoWatcher = startWatcher(env, 'Demo camera', 25);
    await camera.waitFor(/joined; 2 watching/, 20_000);
    await sleep(2000);

    const downAt = performance.now();
    await hub.stop();
    await sleep(DOWN_MS);
    await hub.restart(); // resolves once the banner is out and the web port listens again
    const backAt = performance.now();

    // Both tiles live again and really playing (decoded frames increase).
    const playing = async (name: string) => {
      await liveTile(page, name, 20_000);
      const before = await decodedFrames(page, name);
      for (;;) {
        if ((await decodedFrames(page, name)) > before) return Math.round(performance.now() - backAt);
        await sleep(50);
      }
    };
    const online = page
      .locator('#status[data-state="online"]')
      .waitFor({ timeout: 20_000 })
      .then(() => Math.round(performance.now() - backAt));
    const [demoMs, shelfMs, onlineMs] = await Promise.all([playing('Demo camera'), playing('shelf'), online]);
    const [report, demoReport] = await Promise.all([watcher.report, demoWatcher.report]);
    const awayMs = Math.round(backAt - downAt);
    process.stdout.write(
      `# hub away ${awayMs} ms (stop, ${DOWN_MS} ms down, start-up); browser back online ${onlineMs} ms and playing again after the hub's return: demo camera ${demoMs} ms, outside camera ${shelfMs} ms\n` +
        `# node viewer of the demo camera: frames again <= ${demoReport.stalledMs - awayMs} ms after the hub's return; ${JSON.stringify(demoReport)}\n# node viewer of the outside camera: ${JSON.stringify(report)}\n`,
    );
    assert.ok(demoReport.reconnects >= 1, 'the node viewer of the hub\'s demo camera set up a new session by itself');
    assert.ok(demoReport.frames >= (25 - awayMs / 1000 - 10) * 20, `and has frames again: ${demoReport.frames}`);
    assert.ok(report.frames >= 25 * 20, `the node viewer kept getting frames: ${report.frames}`);
    assert.ok(report.stalledMs < DOWN_MS, `the node viewer's media did not stop while the hub was down (longest gap ${report.stalledMs} ms)`);
  });
});
