import type { Browser, BrowserContext, Page } from 'playwright-core';

export { launchBrowser as launch } from '../helpers/chromium.js';

/** A new device: a context of its own (storage, permissions) and one page. */
export async function device(browser: Browser): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  return { context, page };
}
