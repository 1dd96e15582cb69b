import assert from 'node:assert/strict';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { generate } from 'selfsigned';
import { Room } from '../../src/protocol/index.js';
import { CLOUD, NatRig } from '../helpers/nat-rig.js';
import type { HostProcess } from '../helpers/netns.js';
import { talkBackHeard } from '../web/pages.js';

const TURN_SECRET = 'nat-rig-turn-rest-secret';
const BROKER_WSS = `wss://${CLOUD}:8443/mqtt`;
const BROKER_TCP = `mqtt://${CLOUD}:1883`;
const SITE = `https://${CLOUD}:8444/web/`;
const MAIN = 'dist/cli/main.js';

/**
 * The pet owner at the office watches home through two NAT routers (scripts/netns-rig.sh nat): a Mosquitto (TCP and
 * TLS WebSocket), a coturn (TURN REST secret) and a plain static HTTPS host with dist/ in the "cloud"; at home a hub
 * (`peercam up --broker wss://...`, lending the owner's ICE servers), a Node camera and a Chromium camera page;
 * Chromium at the office opens the static web app with the room link. One rig for the whole file.
 */
describe('away from home: Chromium at the office watches home through NAT routers', () => {
  let rig: NatRig;
  let room: Room;
  let fragment: string;
  let office: Browser;
  let homeBrowser: Browser;
  let cameraPage: Page;
  let hub: HostProcess | undefined;
  let camera: HostProcess | undefined;
  let turnProc: HostProcess | undefined;
  let caFile: string;
  const firstFrames: Record<string, number> = {};

  before(async () => {
    rig = await NatRig.up();
    const cloud = join(rig.dir, 'cloud');
    await mkdir(cloud, { recursive: true });
    await chmod(rig.dir, 0o755);
    await chmod(cloud, 0o755);
    const pems = await generate([{ name: 'commonName', value: CLOUD }], {
      keyType: 'ec',
      curve: 'P-256',
      algorithm: 'sha256',
      extensions: [{ name: 'subjectAltName', altNames: [{ type: 7, ip: CLOUD }] }],
    });
    caFile = join(cloud, 'cert.pem');
    const keyFile = join(cloud, 'key.pem');
    await writeFile(caFile, pems.cert, { mode: 0o644 });
    await writeFile(keyFile, pems.private, { mode: 0o644 });
    const conf = join(cloud, 'mosquitto.conf');
    await writeFile(
      conf,
      [
        'listener 1883 0.0.0.0',
        'allow_anonymous true',
        'persistence false',
        'max_queued_messages 0',
        'log_dest stderr',
        'log_type error',
        'listener 8443',
        'protocol websockets',
        `certfile ${caFile}`,
        `keyfile ${keyFile}`,
        '',
      ].join('\n'),
    );
    rig.spawn('cloud', ['/usr/sbin/mosquitto', '-c', conf]);
    turnProc = rig.spawn('cloud', [
      '/usr/bin/turnserver',
      '-n',
      `--listening-ip=${CLOUD}`,
      `--relay-ip=${CLOUD}`,
      '--listening-port=3478',
      '--min-port=49152',
      '--max-port=49352',
      '--use-auth-secret',
      `--static-auth-secret=${TURN_SECRET}`,
      '--realm=peercam.test',
      '--no-tls',
      '--no-dtls',
      '--no-cli',
      '--fingerprint',
      '--log-file=stdout',
      '--verbose',
    ]);
    rig.spawn('cloud', [process.execPath, '--import', 'tsx', 'test/fixtures/static-host-main.ts', 'dist', '0.0.0.0', '8444', caFile, keyFile]);
    await rig.untilListening('cloud', 1883);
    await rig.untilListening('cloud', 8443);
    await rig.untilListening('cloud', 8444);
    room = await Room.create({ broker: BROKER_WSS, name: 'Home' });
    fragment = new URL(await room.link('https://x/')).hash;
    office = await rig.browser('office');
    homeBrowser = await rig.browser('home');
    log('rig up');
  });
  after(async () => {
    process.stdout.write(`# first frame per NAT case (ms from opening the page): ${JSON.stringify(firstFrames)}\n`);
    await rig?.down();
  });

  /** A `peercam` command at home, with a data dir of its own and the cloud's certificate trusted. */
  const peercamAtHome = (name: string, args: readonly string[], env: NodeJS.ProcessEnv = {}) =>
    rig.spawn('home', [process.execPath, MAIN, ...args], { PEERCAM_HOME: join(rig.dir, name), NODE_EXTRA_CA_CERTS: caFile, ...env });

  const startHub = async (ice: readonly string[], turnSecret?: string) => {
    await hub?.kill('SIGTERM');
    hub = peercamAtHome('hub', ['up', '--no-mdns', '--no-qr', '--port', '8443', '--mqtt-port', '1883', '--room', await room.link(), '--broker', BROKER_WSS, ...ice.flatMap((s) => (s.startsWith('--') ? [s] : ['--ice-server', s])), ...(turnSecret ? ['--turn-secret', turnSecret] : [])]);
    await hub.until(() => (hub?.stdout.includes('peercam hub is up') ? true : undefined), 30_000, 'the hub up');
    log('hub up');
  };

  /** The office opens the static web app with the room link; resolves with the page and when it was opened. */
  const openOffice = async () => {
    const context = await office.newContext({ ignoreHTTPSErrors: true });
    const page = await context.newPage();
    const t0 = Date.now();
    await page.goto(`${SITE}${fragment}`);
    return { page, t0 };
  };

  const started = Date.now();
  const log = (what: string) => process.stdout.write(`# ${((Date.now() - started) / 1000).toFixed(1)} s: ${what}\n`);

  const tileOf = (page: Page, name: string) => page.locator('.tile', { has: page.locator('.name', { hasText: name }) });

  const live = async (page: Page, name: string, t0: number, label: string) => {
    await tileOf(page, name)
      .and(page.locator('[data-state="live"]'))
      .waitFor({ timeout: 30_000 })
      .catch(async (err: unknown) => {
        const tiles = await page.locator('.tile').evaluateAll((ts) => ts.map((t) => `${t.textContent} ${JSON.stringify((t as HTMLElement).dataset)}`));
        const turnLog = (turnProc?.stdout ?? '').split('\n').filter((l) => /error|denied|forbidden|peer|refused/i.test(l)).join('\n');
        throw new Error(`${label}: not live. tiles: ${tiles.join(' | ')}\nturn: ${turnLog.slice(-1500)}\ncamera: ${camera?.stderr.slice(-1500)}`, { cause: err });
      });
    firstFrames[label] = Date.now() - t0;
    process.stdout.write(`# ${label}: first frame ${firstFrames[label]} ms after opening the page (load average ${loadavg()[0]?.toFixed(1)})\n`);
    const tile = tileOf(page, name);
    // data-path turns from the candidate type into direct/relay once the tile has read its stats.
    await tile.and(page.locator('[data-path="direct"], [data-path="relay"]')).waitFor({ timeout: 5000 });
    return `${await tile.getAttribute('data-candidate')}/${await tile.getAttribute('data-path')}`;
  };

  it('no STUN/TURN server anywhere: the office tile says what is missing, within the ICE timeout', async () => {
    camera = peercamAtHome('camera', ['camera', '--source', 'demo', '--name', 'Home Node', '--room', await room.link(), '--broker', BROKER_TCP], {
      PEERCAM_ICE_SERVERS: 'none',
    });
    await camera.until(() => (camera?.stdout.includes('is live in room') ? true : undefined), 30_000, 'the camera live');
    const { page, t0 } = await openOffice();
    const stats = tileOf(page, 'Home Node').locator('.stats', { hasText: 'No STUN/TURN server known to this page' });
    // The 15 s ICE timeout runs from the answer; the page load, the WSS connect and the join come before it.
    await stats.waitFor({ timeout: 30_000 }).catch(async (err: unknown) => {
      const tiles = await page.locator('.tile').evaluateAll((ts) => ts.map((t) => `${t.textContent} ${JSON.stringify((t as HTMLElement).dataset)}`));
      throw new Error(`tiles: ${tiles.join(' | ')}\nbody: ${(await page.locator('body').textContent())?.slice(0, 800)}\ncamera: ${camera?.stdout}${camera?.stderr}`, { cause: err });
    });
    const text = (await stats.textContent()) ?? '';
    assert.match(text, /this page gathered host \d+, srflx 0, relay 0; the camera host \d+, srflx 0, relay 0/);
    assert.match(text, /--ice-server turn:/);
    assert.equal(await tileOf(page, 'Home Node').getAttribute('data-problem'), 'no-ice-servers');
    log('no ICE: said');
    process.stdout.write(`# no ICE servers: the tile said why ${Date.now() - t0} ms after the page opened\n`);
    await page.context().close();
  });

  it('cone NATs, the hub at home lends STUN: the Node camera and a camera page play at the office via srflx; talk-back heard at home', async () => {
    await startHub([`stun:${CLOUD}:3478`]);
    const homeContext = await homeBrowser.newContext({ ignoreHTTPSErrors: true });
    cameraPage = await homeContext.newPage();
    await cameraPage.goto(`${SITE}camera.html?autostart=1${fragment}`);
    const { page, t0 } = await openOffice();
    // The office's side of the pair is its STUN-learned mapping; nothing is relayed.
    assert.equal(await live(page, 'Home Node', t0, 'cone: Node camera'), 'srflx/direct');
    assert.equal(await live(page, 'Chrome on Linux camera', t0, 'cone: camera page'), 'srflx/direct');
    log('cone: both live');
    // Talk-back: hold the button on the camera page's tile at the office; the page at home hears it.
    await tileOf(page, 'Chrome on Linux camera').locator('button.talk').hover();
    await page.mouse.down();
    await talkBackHeard(cameraPage, 15_000);
    await page.mouse.up();
    await page.context().close();
  });

  it('symmetric NATs, the hub lends TURN with minted credentials (default "all" policy): both cameras play at the office through the relay', async () => {
    await rig.natMode('home', 'symmetric');
    await rig.natMode('office', 'symmetric');
    // No --relay: every side gathers host, srflx and relay candidates and ICE finds the relayed pair by itself.
    await startHub([`stun:${CLOUD}:3478`, `turn:${CLOUD}:3478?transport=udp`], TURN_SECRET);
    await cameraPage.reload();
    const { page, t0 } = await openOffice();
    // A relay on either end is enough (its permission is per IP address, RFC 8656 9); a direct pair cannot work
    // between two symmetric NATs, so the path must be relayed.
    const paths = [await live(page, 'Home Node', t0, 'symmetric: Node camera'), await live(page, 'Chrome on Linux camera', t0, 'symmetric: camera page')];
    for (const path of paths) assert.match(path, /\/relay$/);
    process.stdout.write(`# symmetric paths at the office (local candidate/path): ${paths.join(', ')}\n`);
    await page.context().close();
  });

  it("one room home and away: a camera on the hub's embedded broker plays at the office, which meets on the cloud broker", async () => {
    // The camera knows only the hub's broker (as a LAN device that found the hub does); the hub bridges the room.
    const lanCamera = peercamAtHome('lan-camera', ['camera', '--source', 'demo', '--name', 'Home LAN', '--room', await room.link(), '--broker', 'mqtt://127.0.0.1:1883']);
    try {
      await lanCamera.until(() => (lanCamera.stdout.includes('is live in room') ? true : undefined), 30_000, 'the LAN camera live');
      const { page, t0 } = await openOffice();
      assert.match(await live(page, 'Home LAN', t0, 'symmetric: LAN camera via the hub bridge'), /\/relay$/);
      // The office page is on the cloud broker only; the LAN camera reached it through the hub.
      assert.equal(await tileOf(page, 'Home Node').count(), 1);
      await page.context().close();
    } finally {
      await lanCamera.kill('SIGTERM');
    }
  });
});
