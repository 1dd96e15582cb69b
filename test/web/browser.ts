import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

/** DESIGN.md's flags for Debian's Chromium in tests (fake camera and microphone, no background traffic). */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--allow-loopback-in-peer-connection',
  '--use-fake-device-for-media-stream',
  '--disable-features=WebRtcHideLocalIpsWithMdns',
  // A camera page started without a tap (autostart, kiosks) must still play talk-back.
  '--autoplay-policy=no-user-gesture-required',
];

export interface BrowserOptions {
  /** Grant camera/microphone without asking (the fake UI); false leaves permissions to the test. Default true. */
  readonly fakeUi?: boolean;
}

/** A Chromium (playwright gives each launch a fresh temporary user-data-dir); contexts are separate devices. */
export async function launch(options: BrowserOptions = {}): Promise<Browser> {
  const args = [...CHROMIUM_ARGS, ...(options.fakeUi === false ? [] : ['--use-fake-ui-for-media-stream'])];
  return chromium.launch({ executablePath: CHROMIUM, args });
}

/** A new device: a context of its own (storage, permissions) and one page. */
export async function device(browser: Browser): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  return { context, page };
}
