import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { Room } from '../../src/protocol/index.js';
import { CLOUD, NatRig } from '../helpers/nat-rig.js';
import type { HostProcess } from '../helpers/netns.js';
import { waitFor } from '../helpers/wait.js';

const ROOT = join(import.meta.dirname, '..', '..');
const HUB = `https://${CLOUD}:8443`;
/** The player page's own origin, served by the browser context itself (nothing to reach in the rig). */
const PLAYER = 'http://player.test';

/**
 * The hub's WHEP relay with real parts (docs/WHEP.md): a hub in the "cloud" (`peercam up --whep-relay auto`), a Node
 * camera at home behind its NAT router (joined over the hub's broker), and Chromium at the office behind another
 * router with Medooze's whip-whep WHEPClient. The office reaches the hub, never the camera (no STUN/TURN anywhere,
 * two NATs): `auto` must relay, and the client's ICE peer must be the hub. Runs the built CLI (dist/, as nat.test.ts).
 */
describe('WHEP relay: a client that cannot reach the camera plays it through the hub', () => {
  let rig: NatRig;
  let room: Room;
  let hub: HostProcess;
  let camera: HostProcess;
  let office: Browser;
  let context: BrowserContext;

  const peercam = (place: 'home' | 'cloud', name: string, args: readonly string[]) =>
    rig.spawn(place, [process.execPath, 'dist/cli/main.js', ...args], { PEERCAM_HOME: join(rig.dir, name), PEERCAM_ICE_SERVERS: 'none', PEERCAM_LOG: 'info' });

  before(async () => {
    rig = await NatRig.up();
    room = await Room.create({ name: 'Relay' });
    // Chromium first: its start loads this 2-core machine for seconds, and a camera starved meanwhile answers late.
    office = await rig.browser('office');
    context = await office.newContext({ ignoreHTTPSErrors: true });
    hub = peercam('cloud', 'hub', ['up', '--no-mdns', '--no-qr', '--port', '8443', '--mqtt-port', '1883', '--room', await room.link(), '--whep-relay', 'auto']);
    await hub.until(() => (hub.stdout.includes('peercam hub is up') ? true : undefined), 60_000, 'the hub up');
    camera = peercam('home', 'camera', ['camera', '--source', 'demo', '--name', 'Home Node', '--room', await room.link(), '--broker', `mqtt://${CLOUD}:1883`]);
    await camera.until(() => (camera.stdout.includes('is live in room') ? true : undefined), 60_000, 'the camera live');
    const files: Record<string, string> = {
      '/player.html': join(ROOT, 'test', 'fixtures', 'whep', 'player.html'),
      '/whip-whep/whep.js': join(ROOT, 'node_modules', 'whip-whep', 'whep.js'),
    };
    await context.route(`${PLAYER}/**`, async (route) => {
      const file = files[new URL(route.request().url()).pathname];
      if (!file) return route.fulfill({ status: 404 });
      return route.fulfill({ status: 200, contentType: file.endsWith('.js') ? 'text/javascript' : 'text/html', body: await readFile(file, 'utf8') });
    });
  });
  after(async () => {
    // What the hub decided and how long each step took (ms), for the record and for a failure's diagnosis.
    for (const line of hub?.stderr.split('\n') ?? []) if (/"msg":"(WHEP [^"]*|the camera sees[^"]*)"/.test(line)) process.stdout.write(`# hub: ${line.slice(0, 300)}\n`);
    process.stdout.write(`# camera: ${camera?.stdout.split('\n').join(' | ').slice(0, 1500)}\n`);
    await context?.close();
    await rig?.down();
  });

  const open = async (): Promise<Page> => {
    const page = await context.newPage();
    await page.goto(`${PLAYER}/player.html`);
    await page.waitForFunction(() => 'play' in window);
    return page;
  };
  /** Video frames Chromium decoded (inbound-rtp framesDecoded): rendering of a page in the background may pause. */
  const frames = (page: Page) =>
    page.evaluate(async () => {
      const stats = await (window as unknown as { pc: RTCPeerConnection }).pc.getStats();
      let decoded = 0;
      stats.forEach((s: { type: string; kind?: string; framesDecoded?: number }) => {
        if (s.type === 'inbound-rtp' && s.kind === 'video') decoded += s.framesDecoded ?? 0;
      });
      return decoded;
    });
  /** The address of the ICE peer Chromium's selected candidate pair talks to. */
  const remotePeer = (page: Page) =>
    page.evaluate(async () => {
      const pc = (window as unknown as { pc: RTCPeerConnection }).pc;
      const stats = await pc.getStats();
      let pairId: string | undefined;
      stats.forEach((s: { type: string; selectedCandidatePairId?: string }) => {
        if (s.type === 'transport' && s.selectedCandidatePairId) pairId = s.selectedCandidatePairId;
      });
      const pair = pairId ? (stats.get(pairId) as { remoteCandidateId: string } | undefined) : undefined;
      return pair ? (stats.get(pair.remoteCandidateId) as { address?: string } | undefined)?.address : undefined;
    });
  /**
   * Whether the hub's WHEP door knows the camera at `url` (HEAD 200), asked from `page`. A fetch that fails outright
   * (the office's route to the hub not up yet; seen once in a full run) is waited out like a 404.
   */
  const seen = (page: Page, url: string) =>
    page.evaluate(
      async ([u, t]) => (await fetch(u, { method: 'HEAD', headers: { authorization: `Bearer ${t}` } }).then((r) => r.status, () => 0)) === 200,
      [url, room.credentials.httpToken] as const,
    );
  const relaysOpened = () => hub.stderr.split('\n').filter((l) => l.includes('"WHEP relay opened"')).length;

  it('auto relays a Node camera the office cannot reach; a second client shares the upstream; both DELETE', async () => {
    const url = `${HUB}/whep/${encodeURIComponent('Home Node')}`;
    const first = await open();
    // The gateway hears of the camera through its broker's retained presence: HEAD says when (200).
    await waitFor(() => seen(first, url), {
      timeoutMs: 30_000,
      what: 'the hub to see the camera',
    });
    const t0 = Date.now();
    await first.evaluate(([u, t]) => (window as unknown as { play(u: string, t: string): Promise<void> }).play(u, t), [url, room.credentials.httpToken] as const);
    await waitFor(async () => (await frames(first)) > 10, { timeoutMs: 30_000, what: 'frames decoded at the office through the relay' });
    process.stdout.write(`# relayed Node camera: POST -> 10 frames decoded in ${Date.now() - t0} ms\n`);
    assert.equal(await remotePeer(first), CLOUD, "the client's ICE peer is the hub, not the camera");
    assert.match(hub.stderr, /"path":"relay"/, 'auto chose the relay');
    assert.equal(relaysOpened(), 1);

    const second = await open();
    await second.evaluate(([u, t]) => (window as unknown as { play(u: string, t: string): Promise<void> }).play(u, t), [url, room.credentials.httpToken] as const);
    await waitFor(async () => (await frames(second)) > 10, { timeoutMs: 30_000, what: 'the second client to play' });
    assert.equal(await remotePeer(second), CLOUD);
    assert.equal(relaysOpened(), 1, 'one upstream session serves both clients');
    const n = await frames(first);
    await waitFor(async () => (await frames(first)) > n + 10, { timeoutMs: 15_000, what: `the first client to keep playing (${n} frames decoded before)` });

    for (const page of [first, second]) {
      await page.evaluate(() => (window as unknown as { client: { stop(): Promise<void> } }).client.stop());
      await page.close();
    }
    // The relay hanging up its camera session after its last client (5 s here) is checked on loopback with a short
    // linger (test/hub/whep.test.ts); the DELETEs above must simply succeed.
    const deleted = () => hub.stderr.split('\n').filter((l) => l.includes('"The WHEP client ended the session (DELETE)."')).length;
    await hub.until(() => (deleted() === 2 ? true : undefined), 10_000, 'the hub to end both relayed sessions');
  });

  it('auto relays a browser camera page at home the same way', async () => {
    const home = await rig.browser('home');
    const phone = await home.newContext({ ignoreHTTPSErrors: true });
    const cameraPage = await phone.newPage();
    await cameraPage.goto(`${HUB}/camera?autostart=1${new URL(await room.link('https://x/')).hash}`);
    const url = `${HUB}/whep/${encodeURIComponent('Chrome on Linux camera')}`;
    const page = await open();
    await waitFor(() => seen(page, url), {
      timeoutMs: 30_000,
      what: 'the hub to see the camera page',
    });
    const opened = relaysOpened();
    await page.evaluate(([u, t]) => (window as unknown as { play(u: string, t: string): Promise<void> }).play(u, t), [url, room.credentials.httpToken] as const);
    await waitFor(async () => (await frames(page)) > 10, { timeoutMs: 30_000, what: 'the camera page to play at the office through the relay' });
    assert.equal(await remotePeer(page), CLOUD, "the client's ICE peer is the hub");
    assert.equal(relaysOpened(), opened + 1);
    // One viewer at the camera page: the relay (the direct session auto tried first was hung up).
    await cameraPage.locator('#viewers[data-count="1"]').waitFor({ timeout: 10_000 });
    await page.close();
    await phone.close();
  });
});
