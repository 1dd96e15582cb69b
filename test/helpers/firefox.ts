import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import puppeteer, { type Browser } from 'puppeteer-core';

const run = promisify(execFile);

/**
 * Debian's Firefox ESR, driven over WebDriver BiDi by puppeteer-core (which downloads nothing: it only drives the
 * browser it is given). Fake camera and microphone without a prompt, real host addresses in ICE candidates (no mDNS
 * names: nothing here could resolve them), loopback candidates, autoplay allowed. Firefox ESR from Debian has no
 * OpenH264 (it would fetch it from the internet), so it offers VP8/VP9/AV1 only: the test of the VP8 path.
 */
export const FIREFOX_PREFS: Record<string, unknown> = {
  'media.navigator.streams.fake': true,
  'media.navigator.permission.disabled': true,
  'media.peerconnection.ice.obfuscate_host_addresses': false,
  'media.peerconnection.ice.loopback': true,
  'media.autoplay.default': 0,
  'media.autoplay.blocking_policy': 0,
  'media.gmp-manager.updateEnabled': false,
  'media.gmp-gmpopenh264.enabled': false,
};

export function launchFirefox(): Promise<Browser> {
  return puppeteer.launch({
    browser: 'firefox',
    executablePath: '/usr/bin/firefox-esr',
    headless: true,
    extraPrefsFirefox: FIREFOX_PREFS,
  });
}

/** Addresses of the veth pair that gives Firefox a default route; both ends stay in this namespace. */
export const FIREFOX_NET = { a: '10.231.0.1', b: '10.231.0.2' } as const;

/**
 * Firefox gathers no ICE candidates at all in a namespace without a default route (DESIGN.md, environment rules).
 * This adds a veth pair with both ends inside the test's own namespace, an address on each and a default route via
 * the peer end, so nothing can leave it; `remove()` takes it away again. Refuses to run outside the isolated
 * namespace scripts/test.sh makes, so it never touches the machine's real network.
 */
export async function firefoxNetwork(): Promise<{ remove(): Promise<void> }> {
  if (!process.env.PEERCAM_ISOLATED) {
    throw new Error('firefoxNetwork() changes routes: run it only inside the test namespace (scripts/test.sh sets PEERCAM_ISOLATED)');
  }
  const name = `pcff${process.pid % 100000}`;
  const ip = (...args: string[]) => run('ip', args);
  await ip('link', 'add', `${name}a`, 'type', 'veth', 'peer', 'name', `${name}b`);
  try {
    await ip('addr', 'add', `${FIREFOX_NET.a}/30`, 'dev', `${name}a`);
    await ip('addr', 'add', `${FIREFOX_NET.b}/30`, 'dev', `${name}b`);
    await ip('link', 'set', `${name}a`, 'up');
    await ip('link', 'set', `${name}b`, 'up');
    await ip('route', 'add', 'default', 'via', FIREFOX_NET.b);
  } catch (err) {
    await ip('link', 'del', `${name}a`).catch(() => undefined);
    throw err;
  }
  return {
    // Deleting one end deletes its peer and the route through it.
    remove: async () => void (await ip('link', 'del', `${name}a`).catch(() => undefined)),
  };
}
