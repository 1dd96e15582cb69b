import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { device, launch } from '../web/browser.js';
import { type HubProcess, startHubProcess } from '../web/hub-process.js';
import { ARTIFACTS } from '../web/pages.js';

/**
 * The disk under the recordings goes away while the Recordings page is open (a USB disk pulled out: its folder is
 * gone, a file where it was) and comes back: the page says recording stopped, then that it records again, by itself.
 */
describe('the Recordings page follows the recorder’s state', () => {
  let hub: HubProcess;
  let browser: Browser;
  const parent = mkdtempSync(join(tmpdir(), 'peercam-stopped-'));
  const dir = join(parent, 'rec');

  before(async () => {
    hub = await startHubProcess({ args: ['--record', dir, '--segment', '2s'] });
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
    await hub?.close();
    rmSync(parent, { recursive: true, force: true });
  });

  it('says "Recording is stopped" while the recordings folder cannot be written, and no more once it can', async () => {
    const { page } = await device(browser, 'phone');
    const link = new URL(hub.link);
    await page.goto(`${link.origin}/recordings${link.hash}`);
    await page.locator('#camera option', { hasText: 'Demo camera' }).waitFor({ state: 'attached', timeout: 30_000 });
    const status = page.locator('#status');
    await page.waitForFunction(() => /^Recording 1 camera/.test(document.querySelector('#status')?.textContent ?? ''), undefined, { timeout: 10_000 });
    const box = page.locator('.notice.error', { hasText: 'Recording is stopped' });
    assert.equal(await box.count(), 0);

    renameSync(dir, `${dir}.away`);
    writeFileSync(dir, 'not a folder');
    await box.waitFor({ timeout: 30_000 }).catch((err: unknown) => {
      throw new Error(`no notice; the hub said:\n${hub.output().split('\n').slice(-15).join('\n')}`, { cause: err });
    });
    const said = (await box.textContent()) ?? '';
    assert.match(said, /Recording stopped: writing to .* failed \((ENOTDIR|ENOENT): [a-z]/);
    assert.match(said, /is the disk still there and mounted read-write\?/);
    // What was recorded stays listed meanwhile (the folder cannot be read).
    assert.equal(await page.locator('#camera').inputValue(), 'Demo_camera');
    assert.match((await status.textContent()) ?? '', /^Recording stopped \(/);
    assert.equal(await status.getAttribute('data-state'), 'offline');
    await page.screenshot({ path: join(ARTIFACTS, 'recordings-stopped-phone.png') });

    rmSync(dir);
    renameSync(`${dir}.away`, dir);
    await box.waitFor({ state: 'detached', timeout: 30_000 });
    await page.waitForFunction(() => /^Recording 1 camera/.test(document.querySelector('#status')?.textContent ?? ''), undefined, { timeout: 10_000 });
    await page.context().close();
  });
});
