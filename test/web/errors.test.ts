import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { newDeviceId, type PresenceBody, Room } from '../../src/protocol/index.js';
import { SealedChannel } from '../../src/signaling/channel.js';
import { MqttTransport } from '../../src/signaling/mqtt.js';
import { freePort } from '../helpers/brokers.js';
import { device, launch } from './browser.js';
import { type HubProcess, startHubProcess } from './hub-process.js';
import { ARTIFACTS } from './pages.js';

/** Records each system notification the page raises ("title: body") in `window.__notified`. */
const NOTIFICATIONS_SEEN = `
  window.__notified = [];
  const Real = window.Notification;
  window.Notification = class extends Real {
    constructor(title, options) { super(title, options); window.__notified.push(title + ': ' + ((options && options.body) || '')); }
  };
`;

/** The text of the page's error notices. */
async function errorText(page: Page): Promise<string> {
  await page.locator('.notice.error').first().waitFor({ timeout: 10_000 });
  return (await page.locator('.notice.error').allTextContents()).join('\n');
}

describe('bad input in the web app gives a clear message, never a blank page', () => {
  let hub: HubProcess;
  let browser: Browser;
  let origin: string;
  /** A Node member of the hub's room over its broker (not started). */
  const member = async (self: string, presence: PresenceBody) =>
    new SealedChannel(await Room.fromLink(hub.link), new MqttTransport({ url: `mqtt://127.0.0.1:${hub.mqttPort}`, roomLogin: 'first' }), { self, presence });

  before(async () => {
    await mkdir(ARTIFACTS, { recursive: true });
    hub = await startHubProcess({ demo: false });
    browser = await launch();
    origin = new URL(hub.link).origin;
  });
  after(async () => {
    await browser?.close();
    await hub?.close();
  });

  it('a browser with no room explains how to get one', async () => {
    const { page } = await device(browser);
    await page.goto(`${origin}/`);
    const panel = page.locator('.no-room[data-kind="none"]');
    await panel.waitFor({ timeout: 5000 });
    assert.match((await panel.textContent()) ?? '', /not in a room yet.*peercam up.*Scan the QR code/s);
    await page.goto(`${origin}/camera`);
    await page.locator('.no-room').waitFor({ timeout: 5000 });
    await page.close();
  });

  it('a wrong link says the key is unusable', async () => {
    const { page } = await device(browser);
    await page.goto(`${origin}/#k=this-is-not-a-room-key`);
    assert.match(await errorText(page), /pairing link is not usable: .*(truncated|too short|damaged)/);
    assert.equal(await page.locator('.no-room').count(), 1, 'the page also shows how to get a good link');
    await page.close();
  });

  it('a truncated link says it is truncated; a damaged one says so', async () => {
    const { page } = await device(browser);
    const hash = new URL(hub.link).hash;
    await page.goto(`${origin}/${hash.slice(0, hash.length - 10)}`);
    assert.match(await errorText(page), /truncated/);
    await page.screenshot({ path: `${ARTIFACTS}/bad-link.png` });
    const key = hash.slice(3);
    const flipped = `${key[0] === 'A' ? 'B' : 'A'}${key.slice(1)}`;
    await page.goto(`${origin}/camera#k=${flipped}`);
    assert.match(await errorText(page), /damaged/);
    await page.close();
  });

  it('a broker that is down: the page says it cannot reach it and keeps retrying', async () => {
    const room = await Room.fromLink(hub.link);
    const dead = await freePort();
    const { page } = await device(browser);
    await page.goto(await room.link(`${origin}/`, { broker: `ws://127.0.0.1:${dead}/mqtt` }));
    const text = await errorText(page);
    assert.match(text, /Cannot reach the room’s broker/);
    assert.match(text, new RegExp(`ws://127\\.0\\.0\\.1:${dead}/mqtt`));
    assert.equal(await page.locator('#status').getAttribute('data-state'), 'offline');
    await page.screenshot({ path: `${ARTIFACTS}/broker-down.png` });
    await page.close();
  });

  it('a room on a plain MQTT broker explains that a browser needs ws:// or wss://', async () => {
    const room = await Room.fromLink(hub.link);
    const { page } = await device(browser);
    await page.goto(await room.link(`${origin}/`, { broker: 'mqtt://broker.example:1883' }));
    assert.match(await errorText(page), /mqtt:\/\/broker\.example:1883, which a browser cannot reach.*ws:\/\/ or wss:\/\//);
    await page.close();
  });

  it('"Notify me" chosen for a camera by an older page (keyed by its device id) moves to the camera\'s name', async () => {
    const id = newDeviceId();
    const camera = await member(id, { name: 'Back door', role: 'camera' });
    await camera.start();
    try {
      const { page } = await device(browser);
      await page.addInitScript({ content: `localStorage.setItem('peercam.notify', 'SOMEOTHERCAMERA1,${id}')` });
      await page.goto(hub.link);
      await page.locator('#events-camera option', { hasText: 'Back door' }).waitFor({ state: 'attached', timeout: 20_000 });
      await page.waitForFunction(() => localStorage.getItem('peercam.notify') === 'SOMEOTHERCAMERA1,Back_door', undefined, { timeout: 5000 }).catch(async (err: unknown) => {
        throw new Error(`stored: ${await page.evaluate(() => localStorage.getItem('peercam.notify'))}`, { cause: err });
      });
      await page.locator('#events-camera').selectOption('Back_door');
      assert.equal(await page.locator('#events-notify').isChecked(), true, 'the camera still has "Notify me"');
      await page.context().close();
    } finally {
      await camera.close();
    }
  });

  it('a recorder that stops writing (disk full) is said on the live page at once, and no more once it writes again', async () => {
    // A member with a recorder's presence (the real recorder's side: test/record/disk-full.test.ts).
    const presence: PresenceBody = { name: 'Shelf recorder', role: 'viewer', sources: [{ id: 'recordings', name: 'Recordings', kinds: [] }] };
    const full: PresenceBody = { ...presence, recording: { state: 'full', error: 'Recording stopped: the disk holding /srv/rec is full (ENOSPC). Free space there.' } };
    const id = newDeviceId();
    const recorder = await member(id, presence);
    await recorder.start();
    try {
      const { page } = await device(browser, 'phone');
      // "Notify me" on for every camera, notifications allowed: the page also raises a system notification.
      await page.context().grantPermissions(['notifications'], { origin: new URL(hub.link).origin });
      await page.addInitScript({ content: NOTIFICATIONS_SEEN });
      await page.goto(hub.link);
      await page.evaluate(() => localStorage.setItem('peercam.notify', '*'));
      await page.waitForFunction(() => document.body.dataset.ready === 'true', undefined, { timeout: 20_000 });
      const box = page.locator('.notice.error', { hasText: 'Recording is stopped' });
      assert.equal(await box.count(), 0, 'nothing said while the recorder writes');
      await recorder.setPresence(full);
      await box.waitFor({ timeout: 10_000 });
      assert.match((await box.textContent()) ?? '', /the disk holding \/srv\/rec is full \(ENOSPC\)/);
      assert.equal(await box.locator('button', { hasText: 'Recordings' }).count(), 1);
      await page.screenshot({ path: `${ARTIFACTS}/recording-stopped-phone.png` });
      assert.deepEqual(await page.evaluate(() => (window as unknown as { __notified: string[] }).__notified), ['Recording is stopped: Recording stopped: the disk holding /srv/rec is full (ENOSPC). Free space there.']);
      await recorder.setPresence({ ...presence, recording: { state: 'ok' } });
      await box.waitFor({ state: 'detached', timeout: 10_000 });
      // A page opened while it is stopped says so from the start; the recorder leaving takes the notice away.
      await recorder.setPresence(full);
      const later = (await device(browser)).page;
      await later.goto(hub.link);
      const again = later.locator('.notice.error', { hasText: 'Recording is stopped' });
      await again.waitFor({ timeout: 20_000 });
      assert.equal(await again.count(), 1);
      await recorder.close();
      await again.waitFor({ state: 'detached', timeout: 10_000 });
      // Its leaving is said: nothing is recorded now.
      const offline = later.locator('.notice.warn', { hasText: 'Recorder offline' });
      await offline.waitFor({ timeout: 10_000 });
      assert.match((await offline.textContent()) ?? '', /Shelf recorder left the room: nothing is recorded until it is back/);
      const back = await member(id, presence);
      await back.start();
      await offline.waitFor({ state: 'detached', timeout: 10_000 });
      await back.close();
      await page.context().close();
      await later.context().close();
    } finally {
      await recorder.close();
    }
  });
});

describe('camera permission denied', () => {
  it('the camera page says the permission was denied and how to allow it', async (t) => {
    const hub = await startHubProcess({ demo: false });
    t.after(() => hub.close());
    const browser = await launch({ fakeUi: false });
    t.after(() => browser.close());
    const context = await browser.newContext();
    await context.clearPermissions();
    const page = await context.newPage();
    const url = new URL(hub.link);
    await page.goto(`${url.origin}/camera?autostart=1${url.hash}`);
    const text = await errorText(page);
    assert.match(text, /Camera permission denied/);
    assert.match(text, /Allow it for this site/);
    assert.equal(await page.locator('body').getAttribute('data-capture-error'), 'denied');
    await page.screenshot({ path: `${ARTIFACTS}/permission-denied.png` });
  });
});
