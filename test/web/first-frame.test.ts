import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { device, launch } from './browser.js';
import { type HubProcess, startHubProcess } from './hub-process.js';
import { spawnCli } from '../helpers/cli.js';
import { keepPeerConnections, liveTile, marks } from './pages.js';

/**
 * Issue 15: the path from opening the viewer to the first frame, in a fresh browser (nothing remembered). The hub
 * tells its pages which MQTT its broker speaks, so the page connects once (no refused MQTT 5 attempt); the page
 * records its timeline (performance marks, what `npm run bench:web` reads) in order.
 */
describe('first frame from page open (Chromium, peercam up --demo)', () => {
  let hub: HubProcess;
  let browser: Browser;

  before(async () => {
    hub = await startHubProcess();
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
    await hub?.close();
  });

  it('the hub puts its broker MQTT version in its pages, and that it lends no ICE servers', async () => {
    const origin = new URL(hub.link).origin;
    for (const path of ['/', '/camera']) {
      const html = await (await fetch(`${origin}${path}`)).text();
      assert.match(html, /<head><meta name="peercam-mqtt-version" content="4" \/>/, `${path} carries the hint`);
      // `peercam up` on loopback/LAN has no STUN/TURN for its members: the page need not wait for /hub.json.
      assert.match(html, /<meta name="peercam-ice" content="none" \/>/, `${path} says there are no ICE servers to fetch`);
      // The entry runs before the first render (the broker's WebSocket opens while the page paints).
      assert.match(html, /<script type="module" crossorigin src="[^"]+" blocking="render"><\/script>/, `${path}: entry script render-blocking`);
      assert.doesNotMatch(html, /pairing|events|recordings-/, `${path} preloads nothing the first frame does not need`);
    }
  });

  it('with no ICE servers to lend, nothing waits for /hub.json and the later parts load after the first frame', async () => {
    const { context, page } = await device(browser);
    try {
      const asked: number[] = [];
      await page.route('**/hub.json', async (route) => {
        asked.push(Date.now());
        await route.continue();
      });
      await page.goto(hub.link);
      await liveTile(page, 'Demo camera', 20_000);
      const id = await page.locator('.tile').first().getAttribute('data-camera');
      await page.waitForFunction((c) => performance.getEntriesByName(`peercam:frame:${c}`).length === 1, id, { timeout: 10_000 });
      await page.locator('body[data-ready="true"]').waitFor({ timeout: 20_000 });
      assert.equal(asked.length, 0, 'the page did not ask /hub.json: the hub said it lends no ICE servers, and nobody opened pairing');
      const m = await marks(page);
      const chunks = await page.evaluate(() =>
        (performance.getEntriesByType('resource') as PerformanceResourceTiming[]).map((r) => ({ path: new URL(r.name).pathname, at: r.startTime })),
      );
      const frame = m[`peercam:frame:${id}`] ?? Infinity;
      for (const part of ['events', 'find-index', 'remote', 'call']) {
        const chunk = chunks.find((c) => new RegExp(`/${part}-[^/]+\\.js$`).test(c.path));
        assert.ok(chunk, `the ${part} chunk was loaded: ${JSON.stringify(chunks)}`);
        assert.ok(chunk.at >= frame, `the ${part} chunk was asked after the first frame (${Math.round(chunk.at)} vs ${Math.round(frame)} ms)`);
      }
      // The pairing panel (QR encoder) is fetched on the first click only, and asks /hub.json for the LAN addresses.
      assert.ok(!chunks.some((c) => /\/pairing-/.test(c.path)), 'no pairing chunk before the click');
      await page.locator('#pair').click();
      await page.locator('dialog.pairing[open]').waitFor({ timeout: 10_000 });
      assert.equal(asked.length, 1, 'the pairing panel asked /hub.json once');
      assert.ok(await page.evaluate(() => performance.getEntriesByType('resource').some((r) => /\/pairing-/.test(new URL(r.name).pathname))), 'the pairing chunk after the click');
    } finally {
      await context.close();
    }
  });

  it("the broker's WebSocket is opened by the page's first lines, before its module, and joining uses that one", async () => {
    const { context, page } = await device(browser);
    try {
      // Who opened each WebSocket: a classic inline script (document.currentScript, no src) or a module (null).
      await page.addInitScript(() => {
        const Base = window.WebSocket;
        const opened: { url: string; inline: boolean; at: number }[] = [];
        (window as unknown as { peercamSockets: typeof opened }).peercamSockets = opened;
        window.WebSocket = class extends Base {
          constructor(url: string | URL, protocols?: string | string[]) {
            super(url, protocols);
            const script = document.currentScript;
            opened.push({ url: String(url), inline: script instanceof HTMLScriptElement && !script.src, at: performance.now() });
          }
        };
      });
      await page.goto(hub.link);
      await liveTile(page, 'Demo camera', 20_000);
      const m = await marks(page);
      const opened = await page.evaluate(() => (window as unknown as { peercamSockets: { url: string; inline: boolean; at: number }[] }).peercamSockets);
      const origin = new URL(hub.link).host;
      assert.deepEqual(
        opened.map((o) => ({ url: o.url, inline: o.inline })),
        [{ url: `ws://${origin}/mqtt`, inline: true }],
        `one WebSocket, to the hub's broker, opened by the inline script: ${JSON.stringify(opened)}`,
      );
      const start = m['peercam:start'] ?? 0;
      assert.ok((opened[0]?.at ?? Infinity) < start, `opened at ${Math.round(opened[0]?.at ?? Number.NaN)} ms, before the module's first line (${start} ms)`);
      assert.ok((m['peercam:online'] ?? 0) > 0, 'and the page went online on it');
      // Nobody left to take the socket: the page's script took it.
      assert.equal(await page.evaluate(() => '__peercamEarlyBroker' in window && (window as unknown as Record<string, unknown>).__peercamEarlyBroker !== undefined), false);
    } finally {
      await context.close();
    }
  });

  it("a page makes its tiles' connections while it joins (spares), and a camera's session takes one", async () => {
    const { context, page } = await device(browser);
    try {
      // Counts the page's RTCPeerConnections and when each made its offer, against the page's own timeline.
      await page.addInitScript(() => {
        const Base = window.RTCPeerConnection;
        const made: { at: number; offerAt?: number }[] = [];
        (window as unknown as { peercamMade: typeof made }).peercamMade = made;
        window.RTCPeerConnection = class extends Base {
          constructor(config?: RTCConfiguration) {
            super(config);
            const entry: { at: number; offerAt?: number } = { at: performance.now() };
            made.push(entry);
            const createOffer = this.createOffer.bind(this) as (o?: RTCOfferOptions) => Promise<RTCSessionDescriptionInit>;
            this.createOffer = ((o?: RTCOfferOptions) => {
              entry.offerAt ??= performance.now();
              return createOffer(o);
            }) as RTCPeerConnection['createOffer'];
          }
        };
      });
      await page.goto(hub.link);
      await liveTile(page, 'Demo camera', 20_000);
      const id = await page.locator('.tile').first().getAttribute('data-camera');
      await page.waitForFunction((c) => performance.getEntriesByName(`peercam:frame:${c}`).length === 1, id, { timeout: 10_000 });
      const m = await marks(page);
      const made = await page.evaluate(() => (window as unknown as { peercamMade: { at: number; offerAt?: number }[] }).peercamMade);
      // A fresh browser remembers no camera: one spare, made (with its offer) before the link was up; the demo
      // camera's session took it instead of making a connection of its own.
      assert.equal(made.length, 1, `one RTCPeerConnection before the first frame: ${JSON.stringify(made)}`);
      assert.ok((made[0]!.offerAt ?? Infinity) < (m['peercam:online'] ?? 0), `its offer was made before the link was up: ${JSON.stringify({ made, m })}`);
      assert.ok((made[0]!.offerAt ?? Infinity) < (m[`peercam:presence:${id}`] ?? 0), 'and before the camera was known');
      // The next visit prepares one per camera seen.
      assert.equal(await page.evaluate(() => localStorage.getItem('peercam.cameras')), '1');
    } finally {
      await context.close();
    }
  });

  it('a fresh page joins with one MQTT connection and records its timeline in order', async () => {
    const { context, page } = await device(browser);
    try {
      const sockets: string[] = [];
      page.on('websocket', (ws) => sockets.push(ws.url()));
      await page.goto(hub.link);
      await liveTile(page, 'Demo camera', 20_000);
      const id = await page.locator('.tile').first().getAttribute('data-camera');
      await page.waitForFunction((c) => performance.getEntriesByName(`peercam:frame:${c}`).length === 1, id, { timeout: 10_000 });
      const m = await marks(page);
      process.stdout.write(`# timeline (ms from navigation): ${JSON.stringify(m)}\n`);
      assert.deepEqual(
        sockets.map((u) => new URL(u).pathname),
        ['/mqtt'],
        'one WebSocket to the broker: the page spoke 3.1.1 at once instead of trying MQTT 5 first',
      );
      const at = (step: string) => {
        const v = m[`peercam:${step}`];
        assert.ok(v !== undefined && Number.isFinite(v), `mark peercam:${step} recorded`);
        return v;
      };
      // The offer waits for nothing but the link and the camera's presence (not the page's own presence, nor /hub.json,
      // which this page never asks: see above); the rest follows the negotiation. `ice` (the session's "connected",
      // an event that goes through the page's event loop) and the first frame both follow the answer in either order:
      // a frame can be shown before the state change is handled (a full run saw frame at 373 ms, ice at 389 ms).
      const chains = [
        ['start', 'online', `offer:${id}`],
        ['start', `presence:${id}`, `offer:${id}`, `answer:${id}`, `ice:${id}`],
        [`answer:${id}`, `frame:${id}`],
      ];
      for (const chain of chains) for (let i = 1; i < chain.length; i++) assert.ok(at(chain[i]!) >= at(chain[i - 1]!), `${chain[i]} after ${chain[i - 1]}`);
    } finally {
      await context.close();
    }
  });
  it('a tile of a camera with no sound and no talk-back connects without an audio transceiver', async () => {
    // A second Node camera: one tile takes the page's spare (made before a camera was known, so with the talk-back
    // audio transceiver), the other makes its connection knowing the camera's presence (no audio, talkBack false).
    const porch = spawnCli(['camera', '--broker', `mqtt://127.0.0.1:${hub.mqttPort}`, '--source', 'demo', '--name', 'Porch'], hub.env);
    const { context, page } = await device(browser);
    try {
      await porch.waitFor(/is live in room/, 20_000);
      await keepPeerConnections(page);
      await page.goto(hub.link);
      await liveTile(page, 'Demo camera', 20_000);
      await liveTile(page, 'Porch', 20_000);
      const kinds = await page.evaluate(() =>
        (window as unknown as { peercamPeers: RTCPeerConnection[] }).peercamPeers
          .filter((pc) => pc.connectionState === 'connected')
          .map((pc) => pc.getTransceivers().map((t) => t.receiver.track.kind).join('+'))
          .sort(),
      );
      assert.deepEqual(kinds, ['video', 'video+audio'], 'the spare has the audio transceiver, the connection made for the silent camera has none');
      // Both tiles play.
      assert.equal(await page.locator('.tile[data-state="live"]').count(), 2);
    } finally {
      await context.close();
      await porch.stop();
    }
  });
});
