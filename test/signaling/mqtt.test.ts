import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { promisify } from 'node:util';
import mqtt from 'mqtt';
import { generate } from 'selfsigned';
import { WebSocketServer } from 'ws';
import { startEmbeddedBroker } from '../../src/hub/broker.js';
import { type DeviceId, newDeviceId, PeercamError, Room, topics } from '../../src/protocol/index.js';
import type { ReconnectPolicy } from '../../src/signaling/backoff.js';
import { SealedChannel } from '../../src/signaling/channel.js';
import { MqttTransport, type MqttTransportOptions } from '../../src/signaling/mqtt.js';
import type { LinkState } from '../../src/signaling/transport.js';
import { freePort, startAedes, startMosquitto, untilListening } from '../helpers/brokers.js';
import { sleep, waitFor } from '../helpers/wait.js';
import { closeServer } from '../helpers/http.js';

const ROOM = 'abcdefghijklmnopqrst';

/** A transport opened with recording handlers. */
async function openRaw(t: TestContext, options: MqttTransportOptions, self: DeviceId = newDeviceId()) {
  const transport = new MqttTransport(options);
  t.after(() => transport.close());
  const got = { inbox: [] as Uint8Array[], presence: [] as [DeviceId, number | null][], states: [] as [LinkState, string | undefined][] };
  await transport.open(ROOM, self, {
    inbox: (p) => got.inbox.push(typeof p === 'string' ? new TextEncoder().encode(p) : p),
    presence: (d, p) => got.presence.push([d, p === null ? null : p.length]),
    state: (s, detail) => got.states.push([s, detail]),
  });
  return { transport, self, got };
}

const noHandlers = { inbox() {}, presence() {}, state() {} };
const isError = (code: string, message: RegExp) => (e: unknown) => e instanceof PeercamError && e.code === code && message.test(e.message);

describe('MqttTransport: opening', () => {
  it('rejects an unreachable broker with what to do, and does not keep trying', async () => {
    const port = await freePort();
    const url = `mqtt://127.0.0.1:${port}`;
    const t0 = performance.now();
    await assert.rejects(
      new MqttTransport({ url }).open(ROOM, newDeviceId(), noHandlers),
      isError('broker-unreachable', new RegExp(`Cannot reach the MQTT broker at ${url}: connection refused\\. Is it running\\? Check --broker or PEERCAM_BROKER\\.`)),
    );
    assert.ok(performance.now() - t0 < 5000);
    // Something appears on that port afterwards: the rejected transport must not be knocking.
    let knocks = 0;
    const server = createServer((s) => {
      knocks++;
      s.destroy();
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    await sleep(1500);
    await new Promise<void>((resolve) => server.close(() => resolve()));
    assert.equal(knocks, 0);
  });

  it('rejects a broker that never answers within connectTimeoutMs', async (t) => {
    const sockets = new Set<Socket>();
    const server = createServer((s) => sockets.add(s));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    t.after(() => {
      for (const s of sockets) s.destroy();
      server.close();
    });
    const { port } = server.address() as { port: number };
    const t0 = performance.now();
    await assert.rejects(new MqttTransport({ url: `mqtt://127.0.0.1:${port}`, connectTimeoutMs: 400 }).open(ROOM, newDeviceId(), noHandlers), isError('broker-unreachable', /no answer within 0\.4 s/));
    assert.ok(performance.now() - t0 < 2000);
  });

  it('rejects bad credentials as broker-auth: Mosquitto (MQTT 5) and aedes (3.1.1)', async (t) => {
    // mosquitto_passwd hashes the password into a file; read it back to hand to the broker.
    const dir = await mkdtemp(join(tmpdir(), 'peercam-auth-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    await writeFile(join(dir, 'passwd'), '');
    await promisify(execFile)('/usr/bin/mosquitto_passwd', ['-b', join(dir, 'passwd'), 'cam', 'right']);
    const mosquitto = await startMosquitto({
      files: { passwd: await readFile(join(dir, 'passwd'), 'utf8') },
      extraConfig: (own) => `password_file ${join(own, 'passwd')}\nallow_anonymous false`,
    });
    t.after(() => mosquitto.stop());
    const aedes = await startEmbeddedBroker();
    t.after(() => aedes.close());
    aedes.aedes.authenticate = (_client, username, password, done) => {
      if (username === 'cam' && password?.toString() === 'right') return done(null, true);
      done(Object.assign(new Error('bad credentials'), { returnCode: 4 as const }), null);
    };
    for (const url of [mosquitto.url, aedes.url]) {
      await assert.rejects(
        new MqttTransport({ url, username: 'cam', password: 'wrong' }).open(ROOM, newDeviceId(), noHandlers),
        isError('broker-auth', new RegExp(`The broker at ${url} rejected the username/password`)),
      );
      const { got } = await openRaw(t, { url, username: 'cam', password: 'right' });
      assert.equal(got.states.at(-1)?.[0], 'online');
    }
  });

  it('rejects a broker whose ACL refuses the inbox subscription as broker-auth', async (t) => {
    // Mosquitto's acl_file grants every SUBACK and filters at delivery; aedes can refuse (SUBACK 0x80) instead.
    const broker = await startEmbeddedBroker();
    t.after(() => broker.close());
    broker.aedes.authorizeSubscribe = (_client, sub, done) => done(null, sub.topic.includes('/to/') ? null : sub);
    const self = newDeviceId();
    await assert.rejects(
      new MqttTransport({ url: broker.url }).open(ROOM, self, noHandlers),
      isError('broker-auth', new RegExp(`does not let this device subscribe to ${topics.inbox(ROOM, self)}.*ACL must let a device subscribe`)),
    );
  });

  it('explains an unusable URL, and close() during connect rejects open()', async (t) => {
    assert.throws(() => new MqttTransport({ url: 'http://broker:1883' }), isError('bad-config', /mqtt:\/\/host:1883/));
    const server = createServer(() => {});
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    t.after(() => server.close());
    const { port } = server.address() as { port: number };
    const transport = new MqttTransport({ url: `mqtt://127.0.0.1:${port}` });
    const opening = transport.open(ROOM, newDeviceId(), noHandlers);
    await transport.close();
    await assert.rejects(opening, isError('closed', /closed before it came up/));
  });

  it('hides the password of a URL in its messages', async () => {
    const port = await freePort();
    await assert.rejects(new MqttTransport({ url: `mqtt://cam:s3cret@127.0.0.1:${port}` }).open(ROOM, newDeviceId(), noHandlers), (e: unknown) => {
      assert.ok(e instanceof PeercamError);
      assert.doesNotMatch(e.message, /s3cret/);
      assert.match(e.message, /cam:\*\*\*@127\.0\.0\.1/);
      return true;
    });
  });
});

describe('MqttTransport: traffic', () => {
  it('speaks MQTT 5 with Mosquitto (inbox messages expire after 60 s) and 3.1.1 with aedes', async (t) => {
    const mosquitto = await startMosquitto();
    t.after(() => mosquitto.stop());
    const aedes = await startAedes();
    t.after(() => aedes.stop());
    const spy = await mqtt.connectAsync(mosquitto.url, { protocolVersion: 5, reconnectPeriod: 0 });
    t.after(() => spy.endAsync(true));
    const expiry: (number | undefined)[] = [];
    spy.on('message', (_topic, _payload, packet) => expiry.push(packet.properties?.messageExpiryInterval));
    await spy.subscribeAsync(topics.inbox(ROOM, 'bbbbbbbbbbbbbbbb'), { qos: 1 });
    const v5 = await openRaw(t, { url: mosquitto.url });
    assert.match(v5.got.states.at(-1)?.[1] ?? '', /MQTT 5/);
    await v5.transport.send('bbbbbbbbbbbbbbbb', 'sealed');
    await waitFor(() => expiry.length === 1, { timeoutMs: 2000, what: 'the spy receiving the inbox message' });
    assert.ok(expiry[0] !== undefined && expiry[0] > 55 && expiry[0] <= 60, `expiry ${expiry[0]}`);
    const v4 = await openRaw(t, { url: aedes.url });
    assert.match(v4.got.states.at(-1)?.[1] ?? '', /MQTT 3\.1\.1/);
  });

  it('carries 64 KiB payloads, hands anything bigger up without crashing, and counts messages', async (t) => {
    const broker = await startMosquitto();
    t.after(() => broker.stop());
    const a = await openRaw(t, { url: broker.url });
    const b = await openRaw(t, { url: broker.url });
    await a.transport.send(b.self, 'x'.repeat(64 * 1024));
    await a.transport.send(b.self, 'y'.repeat(100 * 1024));
    await waitFor(() => b.got.inbox.length === 2, { timeoutMs: 2000, what: 'both payloads' });
    assert.deepEqual(
      b.got.inbox.map((p) => p.length),
      [64 * 1024, 100 * 1024],
    );
    assert.equal(a.transport.stats.published, 2);
    assert.equal(b.transport.stats.received, 2);
  });

  it('publishes its presence again when someone else clears it; members do not see it leave', async (t) => {
    const broker = await startMosquitto();
    t.after(() => broker.stop());
    const room = await Room.create();
    const join = async (name: string) => {
      const channel = new SealedChannel(room, new MqttTransport({ url: broker.url }), { self: newDeviceId(), presence: { name, role: 'camera' } });
      t.after(() => channel.close());
      await channel.start();
      return channel;
    };
    const [a, b] = [await join('a'), await join('b')];
    await waitFor(() => b.peers.has(a.self), { timeoutMs: 1000, what: 'b seeing a' });
    const gone: DeviceId[] = [];
    b.on('gone', (id) => gone.push(id));
    const vandal = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0 });
    t.after(() => vandal.endAsync(true));
    await vandal.publishAsync(topics.presence(room.id, a.self), '', { qos: 1, retain: true });
    // The clear is held 750 ms; a's identical presence comes back well within it, so b never sees a leave.
    const retained = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0 });
    t.after(() => retained.endAsync(true));
    const back = new Promise<void>((resolve) => retained.on('message', (_topic, payload) => payload.length > 0 && resolve()));
    await retained.subscribeAsync(topics.presence(room.id, a.self), { qos: 1 });
    await back;
    await sleep(1000);
    assert.deepEqual(gone, [], 'b saw a leave');
    assert.ok(b.peers.has(a.self));
    const c = await join('c');
    await waitFor(() => c.peers.has(a.self), { timeoutMs: 1000, what: 'a newcomer seeing a (retained again)' });
  });

  it('publishes its presence again when an outsider overwrites it with junk: a member joining later sees it within 1 s', async (t) => {
    const broker = await startMosquitto();
    t.after(() => broker.stop());
    const room = await Room.create();
    const join = async (name: string) => {
      const channel = new SealedChannel(room, new MqttTransport({ url: broker.url }), { self: newDeviceId(), presence: { name, role: 'camera' } });
      t.after(() => channel.close());
      await channel.start();
      return channel;
    };
    const cam = await join('cam');
    const vandal = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0 });
    t.after(() => vandal.endAsync(true));
    const junk = 'A'.repeat(200); // base64 of the right shape, fails authentication
    await vandal.publishAsync(topics.presence(room.id, cam.self), junk, { qos: 1, retain: true });
    const member = await join('member');
    await waitFor(() => member.peers.has(cam.self), { timeoutMs: 1000, what: 'the new member seeing the camera' });
    // What the broker keeps is the camera's own presence again, not the junk.
    const reader = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0 });
    t.after(() => reader.endAsync(true));
    const retained = new Promise<string>((resolve) => reader.on('message', (_topic, payload) => resolve(payload.toString())));
    await reader.subscribeAsync(topics.presence(room.id, cam.self), { qos: 1 });
    assert.notEqual(await retained, junk);
  });

  it('two transports fighting over one device id re-publish at most about once a second each', async (t) => {
    const broker = await startMosquitto();
    t.after(() => broker.stop());
    const self = newDeviceId();
    const a = await openRaw(t, { url: broker.url }, self);
    const b = await openRaw(t, { url: broker.url }, self);
    await a.transport.setPresence('presence-of-a');
    await b.transport.setPresence('presence-of-b');
    await sleep(3000);
    const published = a.transport.stats.published + b.transport.stats.published;
    // 2 initial publishes plus at most one re-publish per second per transport (4 in 3 s, one more for slack).
    // Without the limit each would re-publish on every echo of the other's, thousands of times.
    assert.ok(published >= 3, `they did react to each other (${published} publishes)`);
    assert.ok(published <= 2 + 2 * 5, `${published} publishes in 3 s`);
    t.diagnostic(`publishes in 3 s: ${published}`);
  });

  it('follows an injected reconnect policy and reports giving up', async (t) => {
    const broker = await startAedes();
    t.after(() => broker.stop());
    const asked: number[] = [];
    const policy: ReconnectPolicy = {
      nextDelayMs(n) {
        asked.push(n);
        return n < 2 ? 50 : null;
      },
    };
    const { got } = await openRaw(t, { url: broker.url, reconnect: policy });
    await broker.stop();
    await waitFor(() => /Gave up/.test(got.states.at(-1)?.[1] ?? ''), { timeoutMs: 3000, what: 'giving up' });
    assert.deepEqual(asked, [0, 1, 2]);
    assert.equal(got.states.at(-1)?.[0], 'offline');
    assert.deepEqual(
      got.states.map(([s]) => s),
      ['connecting', 'online', 'offline', 'connecting', 'offline', 'connecting', 'offline'],
    );
  });

  it('connects over mqtts with a private CA and explains an untrusted certificate', async (t) => {
    const pem = await generate([{ name: 'commonName', value: '127.0.0.1' }], {
      keyType: 'ec',
      curve: 'P-256',
      extensions: [
        { name: 'basicConstraints', cA: true },
        { name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] },
      ],
    });
    const tlsPort = await freePort();
    const broker = await startMosquitto({
      files: { 'cert.pem': pem.cert, 'key.pem': pem.private },
      extraConfig: (own) => `listener ${tlsPort} 127.0.0.1\ncertfile ${join(own, 'cert.pem')}\nkeyfile ${join(own, 'key.pem')}`,
    });
    t.after(() => broker.stop());
    await untilListening(tlsPort, 5000);
    const url = `mqtts://127.0.0.1:${tlsPort}`;
    await assert.rejects(new MqttTransport({ url }).open(ROOM, newDeviceId(), noHandlers), isError('broker-unreachable', /TLS certificate is not trusted.*CA certificate/));
    const { got } = await openRaw(t, { url, ca: pem.cert });
    assert.equal(got.states.at(-1)?.[0], 'online');
  });

  it('works over WebSocket: Mosquitto listener and aedes on an HTTP server path', async (t) => {
    const mosquitto = await startMosquitto({ websockets: true });
    t.after(() => mosquitto.stop());
    const aedes = await startEmbeddedBroker();
    t.after(() => aedes.close());
    const http = createHttpServer((_req, res) => res.end('hub'));
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    t.after(() => closeServer(http));
    aedes.attachWebSocket(http, '/mqtt');
    const { port } = http.address() as { port: number };
    for (const url of [mosquitto.wsUrl!, `ws://127.0.0.1:${port}/mqtt`]) {
      const a = await openRaw(t, { url });
      const b = await openRaw(t, { url });
      await a.transport.setPresence('sealed-presence');
      await a.transport.send(b.self, 'sealed-offer');
      await waitFor(() => b.got.inbox.length === 1 && b.got.presence.some(([d, n]) => d === a.self && n === 15), { timeoutMs: 2000, what: `traffic over ${url}` });
    }
  });
});

describe('startEmbeddedBroker', () => {
  it('reports a busy port as bad-config with what to do', async (t) => {
    const first = await startEmbeddedBroker();
    t.after(() => first.close());
    await assert.rejects(
      startEmbeddedBroker({ port: first.port }),
      isError('bad-config', new RegExp(`^Port ${first.port} is already in use on 127\\.0\\.0\\.1; pick another with --port or stop the other process\\.$`)),
    );
  });

  it('leaves other WebSocket paths to their own handlers', async (t) => {
    const broker = await startEmbeddedBroker();
    t.after(() => broker.close());
    const http = createHttpServer();
    const other = new WebSocketServer({ noServer: true });
    http.on('upgrade', (req, socket, head) => {
      if (req.url === '/lan') other.handleUpgrade(req, socket, head, (ws) => ws.send('lan here'));
    });
    broker.attachWebSocket(http);
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    t.after(() => {
      other.close();
      return closeServer(http);
    });
    const { port } = http.address() as { port: number };
    const { WebSocket } = await import('ws');
    const ws = new WebSocket(`ws://127.0.0.1:${port}/lan`);
    const text = await new Promise<string>((resolve, reject) => {
      ws.once('message', (data) => resolve(String(data)));
      ws.once('error', reject);
    });
    ws.close();
    assert.equal(text, 'lan here');
    const client = await mqtt.connectAsync(`ws://127.0.0.1:${port}/mqtt`, { reconnectPeriod: 0 });
    assert.equal(client.connected, true);
    await client.endAsync();
  });
});
