import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { device, launch } from '../web/browser.js';
import { type HubProcess, startHubProcess } from '../web/hub-process.js';
import { ARTIFACTS } from '../web/pages.js';

/** The first tile, scrolled to the top of the page (the sticky header would cover a tile scrolled just into view). */
async function tileShot(page: Page, name: string): Promise<void> {
  await page.evaluate(() => window.scrollTo(0, 0));
  const box = await page.locator('article.tile').first().boundingBox();
  assert.ok(box, 'a tile');
  await page.screenshot({ path: join(ARTIFACTS, name), clip: box });
}

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

  it('says "Recording is stopped" while the recordings folder cannot be written, and no more once it can; the live tile says REC, then not recording', async () => {
    const live = (await device(browser)).page;
    await live.goto(hub.link);
    const rec = live.locator('article.tile .overlay .rec');
    await live.waitForFunction(() => document.querySelector('article.tile .rec')?.textContent === 'REC', undefined, { timeout: 30_000 });
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
    await live.waitForFunction(() => document.querySelector('article.tile .rec')?.textContent === 'not recording', undefined, { timeout: 10_000 });
    assert.equal(await rec.getAttribute('data-state'), 'stopped');
    await tileShot(live, 'tile-not-recording.png');

    rmSync(dir);
    renameSync(`${dir}.away`, dir);
    await box.waitFor({ state: 'detached', timeout: 30_000 });
    await page.waitForFunction(() => /^Recording 1 camera/.test(document.querySelector('#status')?.textContent ?? ''), undefined, { timeout: 10_000 });
    await live.waitForFunction(() => document.querySelector('article.tile .rec')?.textContent === 'REC', undefined, { timeout: 10_000 });
    await tileShot(live, 'tile-rec.png');
    await page.context().close();
    await live.context().close();
  });
});
