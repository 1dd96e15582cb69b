import type { Browser, BrowserContext, Page } from 'playwright-core';

export { launchBrowser as launch } from '../helpers/chromium.js';

/** A new device: a context of its own (storage, permissions) and one page, a desktop window (1280x800) or a phone (390x844, touch, 2x). */
export async function device(browser: Browser, size: 'desktop' | 'phone' = 'desktop'): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext(
    size === 'desktop' ? { viewport: { width: 1280, height: 800 } } : { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 },
  );
  const page = await context.newPage();
  return { context, page };
}
