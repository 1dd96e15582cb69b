import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';
import { startEmbeddedBroker } from '../../src/hub/broker.js';
import { newDeviceId, utf8 } from '../../src/protocol/index.js';
import { MqttTransport } from '../../src/signaling/mqtt.js';
import { launchBrowser } from '../helpers/chromium.js';
import { waitFor } from '../helpers/wait.js';
import { browserMqtt } from '../../vite.config.js';
import { closeServer } from '../helpers/http.js';

const ENTRY = fileURLToPath(new URL('../../src/signaling/mqtt.ts', import.meta.url));
const ROOM = 'abcdefghijklmnopqrst';

describe('MqttTransport in a browser', () => {
  it('bundles without Node built-ins or MQTT.js (our WebSocket client, as the web build) and talks to the hub broker from Chromium', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'peercam-bundle-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    await build({
      configFile: false,
      logLevel: 'silent',
      resolve: { alias: [browserMqtt] },
      build: { outDir: dir, lib: { entry: ENTRY, formats: ['es'], fileName: () => 'mqtt.mjs' }, minify: false, emptyOutDir: true },
    });
    const bundle = await readFile(join(dir, 'mqtt.mjs'), 'utf8');
    assert.doesNotMatch(bundle, /\bfrom\s*["']node:|require\(["'](node:)?(net|tls|fs)["']\)/, 'the browser bundle imports no Node built-in');
    assert.match(bundle, /WsMqttClient/);
    assert.doesNotMatch(bundle, /node_modules\/mqtt\/|punycode/, 'MQTT.js is not in the bundle');

    const broker = await startEmbeddedBroker();
    t.after(() => broker.close());
    const http = createServer((req, res) => {
      res.setHeader('content-type', req.url === '/mqtt.mjs' ? 'text/javascript' : 'text/html');
      res.end(req.url === '/mqtt.mjs' ? bundle : '<!doctype html><title>peercam</title>');
    });
    broker.attachWebSocket(http);
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    t.after(() => closeServer(http));
    const { port } = http.address() as { port: number };

    const node = new MqttTransport({ url: broker.url });
    t.after(() => node.close());
    const nodeId = newDeviceId();
    const inbox: string[] = [];
    const presence: (number | null)[] = [];
    await node.open(ROOM, nodeId, {
      inbox: (p) => inbox.push(typeof p === 'string' ? p : utf8.decode(p)),
      presence: (_d, p) => presence.push(p === null ? null : p.length),
      state() {},
    });

    const browser = await launchBrowser();
    t.after(() => browser.close());
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${port}/`);
    // A string, not a function: tsx would inject helpers the page does not have.
    const states = await page.evaluate(`(async () => {
      const { MqttTransport } = await import('/mqtt.mjs');
      const t = new MqttTransport({ url: 'ws://127.0.0.1:${port}/mqtt' });
      const states = [];
      await t.open('${ROOM}', 'bbbbbbbbbbbbbbbb', { inbox() {}, presence() {}, state: (s) => states.push(s) });
      await t.setPresence('browser-presence');
      await t.send('${nodeId}', 'hello from the browser');
      await t.close();
      return states;
    })()`);
    assert.deepEqual(states, ['connecting', 'online']);
    await waitFor(() => inbox.length === 1 && presence.at(-1) === null, { timeoutMs: 2000, what: 'the browser message and its presence cleared' });
    assert.deepEqual(inbox, ['hello from the browser']);
    assert.deepEqual(presence, [16, null]);
  });
});
