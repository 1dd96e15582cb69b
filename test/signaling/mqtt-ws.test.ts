import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { type WebSocket as ServerSocket, WebSocket, WebSocketServer } from 'ws';
import { type EmbeddedBroker, startEmbeddedBroker } from '../../src/hub/broker.js';
import { newDeviceId, PeercamError, Room, type RoomId, utf8 } from '../../src/protocol/index.js';
import { MqttTransport, type MqttTransportOptions } from '../../src/signaling/mqtt.js';
import type { ConnectMqtt, MqttClient, MqttConnectOptions } from '../../src/signaling/mqtt-client.js';
import { connectMqtt as browserConnect } from '../../src/signaling/mqtt-connect.browser.js';
import { classify, hungUp } from '../../src/signaling/mqtt-errors.js';
import { encodePublish, PacketReader } from '../../src/signaling/mqtt-packets.js';
import { preconnect, WsMqttClient } from '../../src/signaling/mqtt-ws.js';
import type { TransportHandlers } from '../../src/signaling/transport.js';
import { type MosquittoBroker, startMosquitto } from '../helpers/brokers.js';
import { waitFor } from '../helpers/wait.js';
import { closeServer } from '../helpers/http.js';

/**
 * Our small MQTT client (the web app's: src/signaling/mqtt-ws.ts) run in Node with the `ws` package's WebSocket,
 * against the hub's aedes over WebSocket (MQTT 3.1.1), Mosquitto's websockets listener (MQTT 5) and a fake broker
 * that sends what real ones do not.
 */
const wsClient: ConnectMqtt = (url, options) => new WsMqttClient(url, options, WebSocket);

function options(over: Partial<MqttConnectOptions> = {}): MqttConnectOptions {
  return { protocolVersion: 5, clean: true, clientId: `pctest${randomBytes(6).toString('hex')}`, keepalive: 20, connectTimeout: 5000, ...over };
}

/** A client and what it reported: errors, closes, messages. */
function watch(client: MqttClient) {
  const seen = { connects: 0, closes: 0, errors: [] as Error[], messages: [] as { topic: string; text: string }[] };
  client.on('connect', () => seen.connects++);
  client.on('close', () => seen.closes++);
  client.on('error', (err) => seen.errors.push(err));
  client.on('message', (topic, payload) => seen.messages.push({ topic, text: new TextDecoder().decode(payload) }));
  return seen;
}

async function connected(url: string, over: Partial<MqttConnectOptions> = {}) {
  const client = wsClient(url, options(over));
  const seen = watch(client);
  after(() => client.end(true));
  client.connect();
  await waitFor(() => seen.connects > 0 || seen.closes > 0, { timeoutMs: 10_000, what: 'a CONNACK' });
  assert.equal(seen.closes, 0, `connected: ${seen.errors.map((e) => e.message).join(', ')}`);
  return { client, seen };
}

function handlers() {
  const got = { inbox: [] as string[], presence: new Map<string, string | null>(), states: [] as string[] };
  const h: TransportHandlers = {
    inbox: (p) => got.inbox.push(typeof p === 'string' ? p : utf8.decode(p)),
    presence: (device, p) => got.presence.set(device, p === null ? null : typeof p === 'string' ? p : utf8.decode(p)),
    state: (_state, detail) => got.states.push(detail ?? ''),
  };
  return { got, h };
}

async function transport(room: RoomId, opts: MqttTransportOptions) {
  const t = new MqttTransport({ client: wsClient, reconnect: { nextDelayMs: () => null }, ...opts });
  after(() => t.close());
  const self = newDeviceId();
  const { got, h } = handlers();
  await t.open(room, self, h);
  return { t, self, got };
}

/** Two of our clients in one room: presence both ways, then an inbox message from one to the other. */
async function roomRoundTrip(url: string): Promise<string> {
  const room = (await Room.create()).id;
  const a = await transport(room, { url });
  await a.t.setPresence('presence-a');
  const b = await transport(room, { url });
  await b.t.setPresence('presence-b');
  await waitFor(() => b.got.presence.get(a.self) === 'presence-a' && a.got.presence.get(b.self) === 'presence-b', {
    timeoutMs: 5000,
    what: 'both presences, the first retained',
  });
  await a.t.send(b.self, 'hello b');
  await waitFor(() => b.got.inbox.includes('hello b'), { timeoutMs: 5000, what: 'the inbox message' });
  return a.got.states.at(-1) ?? '';
}

describe('our MQTT client against Mosquitto over WebSocket (MQTT 5)', () => {
  let broker: MosquittoBroker;
  let url: string;
  before(async () => {
    broker = await startMosquitto({ websockets: true });
    url = broker.wsUrl!;
  });
  after(() => broker.stop());

  it('connects with MQTT 5, subscribes, and round-trips QoS 1 and QoS 0 publishes (text and binary)', async () => {
    const { client, seen } = await connected(url);
    assert.equal(client.connected, true);
    const granted = await client.subscribeAsync({ 'pctest/a': { qos: 1 }, 'pctest/b': { qos: 1 } });
    assert.deepEqual(
      granted.map((g) => g.qos),
      [1, 1],
    );
    await client.publishAsync('pctest/a', 'hello', { qos: 1, properties: { messageExpiryInterval: 60 } });
    await client.publishAsync('pctest/b', 'zero', { qos: 0 });
    const big = 'x'.repeat(70_000); // a Remaining Length of three bytes
    await client.publishAsync('pctest/a', big, { qos: 1 });
    await waitFor(() => seen.messages.length === 3, { timeoutMs: 5000, what: 'our three messages back' });
    assert.deepEqual(
      seen.messages.map((m) => [m.topic, m.text.length]),
      [
        ['pctest/a', 5],
        ['pctest/b', 4],
        ['pctest/a', 70_000],
      ],
    );
    const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
    const received: Uint8Array[] = [];
    client.on('message', (_t, payload) => received.push(payload));
    await client.publishAsync('pctest/b', bytes, { qos: 1 });
    await waitFor(() => received.length === 1, { timeoutMs: 5000, what: 'the binary message' });
    assert.deepEqual(received[0], bytes);
  });

  it('keeps a retained message for later subscribers, and the broker publishes our will when the link drops without DISCONNECT', async () => {
    const topic = `pctest/presence/${randomBytes(4).toString('hex')}`;
    const { client: member } = await connected(url, { will: { topic, payload: '', qos: 1, retain: true } });
    await member.publishAsync(topic, 'here', { qos: 1, retain: true });
    const { client: watcher, seen } = await connected(url);
    await watcher.subscribeAsync({ [topic]: { qos: 1 } });
    await waitFor(() => seen.messages.some((m) => m.text === 'here'), { timeoutMs: 5000, what: 'the retained message' });
    member.destroy(); // the WebSocket closes, no MQTT DISCONNECT: the will goes out
    await waitFor(() => seen.messages.at(-1)?.text === '', { timeoutMs: 5000, what: 'the will (an empty presence)' });
    const { client: late, seen: lateSeen } = await connected(url);
    await late.subscribeAsync({ [topic]: { qos: 1 } });
    await late.publishAsync('pctest/marker', 'm', { qos: 1 }); // a round trip: anything retained came before its PUBACK
    assert.deepEqual(lateSeen.messages, [], 'the retained will (empty payload) cleared the retained message');
  });

  it('carries the transport: presence and inbox between two devices, MQTT 5', async () => {
    assert.match(await roomRoundTrip(url), /MQTT 5/);
  });

  it('with a 1 s keepalive, pings the broker and stays connected while idle', async () => {
    const { client, seen } = await connected(url, { keepalive: 1 });
    // Mosquitto drops a client silent for 1.5 x keepalive (MQTT 5 section 3.1.2.10): 4 s idle needs our pings.
    const until = Date.now() + 4000;
    await waitFor(() => Date.now() > until || seen.closes > 0, { timeoutMs: 6000, what: '4 s idle' });
    assert.equal(seen.closes, 0, `still connected: ${seen.errors.map((e) => e.message).join(', ')}`);
    assert.equal(client.connected, true);
  });
});

describe('our MQTT client against the hub broker (aedes over WebSocket, MQTT 3.1.1)', () => {
  let broker: EmbeddedBroker;
  let http: Server;
  let url: string;
  let room: Room;
  before(async () => {
    room = await Room.create();
    broker = await startEmbeddedBroker({ members: { room: room.id, credentials: room.credentials } });
    http = createServer();
    broker.attachWebSocket(http);
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    url = `ws://127.0.0.1:${(http.address() as AddressInfo).port}/mqtt`;
  });
  after(async () => {
    await broker.close();
    await closeServer(http);
  });

  it('gets MQTT 5 refused with the numeric code classify() reads as "try 3.1.1"', async () => {
    const client = wsClient(url, options({ username: room.credentials.brokerUsername, password: room.credentials.brokerPassword }));
    const seen = watch(client);
    client.connect();
    await waitFor(() => seen.closes > 0, { timeoutMs: 5000, what: 'the refusal' });
    const err = seen.errors[0];
    assert.ok(err && 'code' in err, 'the refusal carries a code');
    assert.equal(err.code, 1);
    assert.equal(classify(url, err, 5000), 'protocol');
    assert.equal(seen.connects, 0);
  });

  it('carries the transport with the room login: falls back to 3.1.1, presence and inbox', async () => {
    const join = async () => {
      const t = new MqttTransport({ url, client: wsClient, roomLogin: 'first', reconnect: { nextDelayMs: () => null } });
      t.useRoomCredentials(room.credentials);
      after(() => t.close());
      const self = newDeviceId();
      const { got, h } = handlers();
      await t.open(room.id, self, h);
      return { t, self, got };
    };
    const a = await join();
    await a.t.setPresence('pa');
    const b = await join();
    await waitFor(() => b.got.presence.get(a.self) === 'pa', { timeoutMs: 5000, what: "a's retained presence at b" });
    await b.t.send(a.self, 'hi a');
    await waitFor(() => a.got.inbox.includes('hi a'), { timeoutMs: 5000, what: 'the inbox message' });
    assert.match(a.got.states.at(-1) ?? '', /MQTT 3\.1\.1/);
  });

  it("takes the login from the URL's user info (ws://user:password@host), as MQTT.js does", async () => {
    const { brokerUsername: user, brokerPassword: pass } = room.credentials;
    const withLogin = url.replace('ws://', `ws://${encodeURIComponent(user)}:${encodeURIComponent(pass)}@`);
    const { got } = await transport(room.id, { url: withLogin });
    assert.match(got.states.at(-1) ?? '', /connected to ws:\/\/.*:\*\*\*@/);
  });

  it('a refused login reaches the user as broker-auth', async () => {
    const t = new MqttTransport({ url, client: wsClient, username: 'someone', password: 'wrong', reconnect: { nextDelayMs: () => null } });
    after(() => t.close());
    const { h } = handlers();
    await assert.rejects(t.open(room.id, newDeviceId(), h), (err: unknown) => err instanceof PeercamError && err.code === 'broker-auth');
  });
});

/** A WebSocket server that plays the broker: `script` gets each connection and the packets it receives. */
async function fakeBroker(script: (socket: ServerSocket, packet: Uint8Array) => void): Promise<{ url: string; protocols: string[] }> {
  const http = createServer();
  const protocols: string[] = [];
  const wss = new WebSocketServer({ server: http, handleProtocols: (p) => (p.has('mqtt') ? 'mqtt' : false) });
  wss.on('connection', (socket, req) => {
    protocols.push(req.headers['sec-websocket-protocol'] ?? '');
    socket.on('message', (data: Buffer) => script(socket, new Uint8Array(data)));
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  after(async () => {
    for (const c of wss.clients) c.terminate();
    wss.close();
    await closeServer(http);
  });
  return { url: `ws://127.0.0.1:${(http.address() as AddressInfo).port}/mqtt`, protocols };
}

const CONNACK_V5 = [0x20, 0x03, 0x00, 0x00, 0x00];
const type = (packet: Uint8Array) => packet[0]! >> 4;

describe('our MQTT client against a fake broker', () => {
  it('reads back the PUBLISH it encodes, fed a byte at a time, across the Remaining Length sizes (MQTT 5 section 1.5.5)', () => {
    for (const size of [0, 114, 115, 120, 121, 16_370, 16_371, 16_376, 16_377, 2_097_138, 2_097_139, 2_097_144, 2_097_145]) {
      for (const version of [4, 5] as const) {
        const payload = Uint8Array.from({ length: size }, (_, i) => i & 0xff);
        const packet = encodePublish(version, 'a/b', payload, { qos: 1, retain: false, id: 65535, expirySeconds: version === 5 ? 60 : undefined });
        const reader = new PacketReader(version, 3 * 1024 * 1024);
        const out = [];
        const head = Math.min(packet.length, 8);
        for (let i = 0; i < head; i++) out.push(...reader.push(packet.subarray(i, i + 1)));
        out.push(...reader.push(packet.subarray(head)));
        assert.equal(out.length, 1, `one packet of ${size} bytes`);
        const got = out[0];
        assert.ok(got?.type === 'publish');
        assert.equal(got.topic, 'a/b');
        assert.equal(got.id, 65535);
        assert.deepEqual(got.payload, payload);
      }
    }
  });

  it('reads a packet split over WebSocket messages and several packets in one, skipping MQTT 5 properties', async () => {
    const pubacks: number[] = [];
    const fake = await fakeBroker((socket, packet) => {
      if (type(packet) === 1) {
        // CONNACK with Retain Available 0 and a User Property, in two messages.
        const connack = [0x20, 0x0d, 0x01, 0x00, 0x0a, 0x25, 0x00, 0x26, 0x00, 0x01, 0x6b, 0x00, 0x02, 0x76, 0x76];
        socket.send(Uint8Array.from(connack.slice(0, 4)));
        socket.send(Uint8Array.from(connack.slice(4)));
      } else if (type(packet) === 8) {
        const id = [packet[2]!, packet[3]!];
        const suback = [0x90, 0x04, ...id, 0x00, 0x01];
        // QoS 1 PUBLISH "t" id 7, with a Message Expiry Interval and a Content Type; a QoS 0 one without properties.
        const publish1 = [0x32, 0x10, 0x00, 0x01, 0x74, 0x00, 0x07, 0x09, 0x02, 0, 0, 0, 60, 0x03, 0x00, 0x01, 0x78, 0x41];
        const publish0 = [0x30, 0x05, 0x00, 0x01, 0x74, 0x00, 0x42];
        socket.send(Uint8Array.from([...suback, ...publish1, ...publish0]));
      } else if (type(packet) === 4) pubacks.push((packet[2]! << 8) | packet[3]!);
    });
    let connack: { retainAvailable?: boolean } | undefined;
    const client = wsClient(fake.url, options());
    after(() => client.end(true));
    const seen = watch(client);
    client.on('connect', (c) => {
      connack = c.properties;
    });
    client.connect();
    await waitFor(() => seen.connects > 0, { timeoutMs: 5000, what: 'the split CONNACK' });
    assert.deepEqual(fake.protocols, ['mqtt']);
    assert.equal(connack?.retainAvailable, false);
    const granted = await client.subscribeAsync({ t: { qos: 1 } });
    assert.deepEqual(
      granted.map((g) => g.qos),
      [1],
    );
    await waitFor(() => seen.messages.length === 2 && pubacks.length === 1, { timeoutMs: 5000, what: 'both messages and our PUBACK' });
    assert.deepEqual(seen.messages, [
      { topic: 't', text: 'A' },
      { topic: 't', text: 'B' },
    ]);
    assert.deepEqual(pubacks, [7]);
  });

  for (const [what, bytes, message] of [
    ['a packet over the size limit', [0x30, 0xff, 0xff, 0x7f], /over our 1048576-byte limit/],
    ['a Remaining Length over 4 bytes', [0x30, 0xff, 0xff, 0xff, 0xff, 0x01], /Remaining Length runs over 4 bytes/],
    ['a packet type we never ask for (PUBREC)', [0x50, 0x02, 0x00, 0x01], /type 5/],
    ['a PUBLISH shorter than its topic', [0x30, 0x03, 0x00, 0x09, 0x61], /shorter than its fields/],
  ] as const) {
    it(`closes the link with a clear error on ${what}, pending requests rejected`, async () => {
      const fake = await fakeBroker((socket, packet) => {
        if (type(packet) === 1) socket.send(Uint8Array.from(CONNACK_V5));
        else if (type(packet) === 3) socket.send(Uint8Array.from(bytes)); // instead of a PUBACK
      });
      const client = wsClient(fake.url, options());
      after(() => client.end(true));
      const seen = watch(client);
      client.connect();
      await waitFor(() => seen.connects > 0, { timeoutMs: 5000, what: 'the CONNACK' });
      await assert.rejects(client.publishAsync('t', 'x', { qos: 1 }), /closed/);
      await waitFor(() => seen.closes === 1, { timeoutMs: 5000, what: 'the close' });
      assert.equal(client.connected, false);
      assert.equal(seen.errors.length, 1);
      assert.match(seen.errors[0]!.message, message);
      assert.equal(hungUp(seen.errors[0]), true, 'a plain Error without a code, as MQTT.js reports a parse error');
    });
  }

  it('sends the transport\'s SUBSCRIBE right behind its CONNECT, before the CONNACK (one round trip less)', async () => {
    const order: number[] = [];
    // This broker answers the CONNECT only once the SUBSCRIBE is here too: a client that waits for the CONNACK first
    // never gets online.
    const fake = await fakeBroker((socket, packet) => {
      order.push(type(packet));
      if (type(packet) !== 8) return;
      const id = [packet[2]!, packet[3]!];
      socket.send(Uint8Array.from([...CONNACK_V5, 0x90, 0x05, ...id, 0x00, 0x01, 0x01]));
    });
    const t = new MqttTransport({ url: fake.url, client: wsClient, connectTimeoutMs: 3000, reconnect: { nextDelayMs: () => null } });
    after(() => t.close());
    const { got, h } = handlers();
    await t.open((await Room.create()).id, newDeviceId(), h);
    assert.deepEqual(order.slice(0, 2), [1, 8], 'CONNECT, then SUBSCRIBE, before any answer');
    assert.match(got.states.at(-1) ?? '', /connected to ws:/);
  });

  /**
   * A fake broker that accepts every CONNECT, `before(broker)`, then a client that connects to it: resolves at its
   * first CONNACK.
   */
  async function connectAfter(before: (broker: { url: string; protocols: string[] }) => Promise<void>) {
    const fake = await fakeBroker((socket, packet) => {
      if (type(packet) === 1) socket.send(Uint8Array.from(CONNACK_V5));
    });
    await before(fake);
    const client = wsClient(fake.url, options());
    after(() => client.end(true));
    const seen = watch(client);
    client.connect();
    await waitFor(() => seen.connects > 0 || seen.closes > 0, { timeoutMs: 5000, what: 'a CONNACK' });
    assert.equal(seen.connects, 1);
    return { fake, client, seen };
  }

  it('takes the WebSocket preconnect() opened to its URL: one connection, the CONNECT on it once open', async () => {
    const { fake, client, seen } = await connectAfter(async (broker) => {
      preconnect(broker.url, WebSocket);
      await waitFor(() => broker.protocols.length === 1, { timeoutMs: 5000, what: 'the WebSocket opened ahead' });
      await new Promise((resolve) => setTimeout(resolve, 100)); // open before its client exists
    });
    assert.equal(fake.protocols.length, 1, 'no second WebSocket');
    // Taken once: the next connection is a new socket.
    client.reconnect();
    await waitFor(() => seen.connects > 1, { timeoutMs: 5000, what: 'the second CONNACK' });
    assert.equal(fake.protocols.length, 2);
  });

  it('a socket handed to preconnect() that closed before its client came is dropped: the client opens its own', async () => {
    const { fake } = await connectAfter(async (broker) => {
      // As the viewer page's inline script hands its socket over (src/web/lib/early-broker.ts), here one already closed.
      const early = new WebSocket(broker.url, 'mqtt');
      await new Promise<void>((resolve) => early.addEventListener('open', () => resolve()));
      early.close();
      await new Promise<void>((resolve) => early.addEventListener('close', () => resolve()));
      preconnect(broker.url, WebSocket, early);
    });
    assert.equal(fake.protocols.length, 2, 'a WebSocket of its own');
  });

  it('says "connack timeout" when the broker never answers the CONNECT', async () => {
    const fake = await fakeBroker(() => {});
    const client = wsClient(fake.url, options({ connectTimeout: 300 }));
    after(() => client.end(true));
    const seen = watch(client);
    client.connect();
    await waitFor(() => seen.closes > 0, { timeoutMs: 5000, what: 'the timeout' });
    const failure = classify(fake.url, seen.errors[0], 300);
    assert.ok(failure instanceof PeercamError && /no answer within 0.3 s/.test(failure.message), String(failure));
  });

  it('pings after keepalive seconds of silence, and closes when a PINGREQ goes unanswered', async () => {
    let pings = 0;
    const fake = await fakeBroker((socket, packet) => {
      if (type(packet) === 1) socket.send(Uint8Array.from(CONNACK_V5));
      if (type(packet) === 12) pings++; // never a PINGRESP
    });
    const client = wsClient(fake.url, options({ keepalive: 1 }));
    after(() => client.end(true));
    const seen = watch(client);
    client.connect();
    await waitFor(() => seen.closes > 0, { timeoutMs: 6000, what: 'the keepalive failure' });
    assert.equal(pings, 1);
    assert.match(seen.errors[0]?.message ?? '', /Keepalive timeout/);
  });

  it('in a browser, refuses an mqtt:// URL with a config error', () => {
    assert.throws(
      () => browserConnect('mqtt://127.0.0.1:1883', options()),
      (err: unknown) => err instanceof PeercamError && err.code === 'bad-config' && /ws:\/\/host\/mqtt/.test(err.message),
    );
  });
});
