import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { type BrowserRig, browserRig, launchChromium } from '../helpers/browser.js';

/**
 * A session that replaces its peer (an ICE restart) while a candidate is still being applied to the old one used to
 * wait forever: Chromium never settles an operation of a closed RTCPeerConnection, and the session's inbox is a chain.
 */
describe('W3cPeer in Chromium: operations pending at close settle', () => {
  let rig: BrowserRig;
  let browser: Browser;
  let page: Page;
  before(async () => {
    rig = await browserRig();
    browser = await launchChromium();
    page = await rig.page(browser);
  });
  after(async () => {
    await browser?.close();
    await rig?.close();
  });

  it('an offer in flight rejects with "closed" and a candidate in flight resolves', async () => {
    const result = (await page.evaluate(`import('/fixtures/w3c-close.js').then((m) => m.closeMidOperation())`)) as { offer: string; candidate: string };
    assert.match(result.offer, /^rejected: closed /);
    assert.equal(result.candidate, 'resolved');
    const bare = (await page.evaluate(`import('/fixtures/w3c-close.js').then((m) => m.bareCloseMidOperation())`)) as string;
    process.stdout.write(`# the bare RTCPeerConnection's operation after close: ${bare}\n`);
  });
});
