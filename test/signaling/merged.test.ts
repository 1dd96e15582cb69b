import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { Courier, type DeviceId, type Envelope, newDeviceId, newSessionId, type PresenceBody, Room } from '../../src/protocol/index.js';
import { CameraEndpoint } from '../../src/session/index.js';
import { type PeerInfo, SealedChannel } from '../../src/signaling/channel.js';
import { MemoryBroker } from '../../src/signaling/memory.js';
import { MergedChannel } from '../../src/signaling/merged.js';
import type { LinkState, Transport, TransportHandlers, TransportKind } from '../../src/signaling/transport.js';
import { FakePeer } from '../helpers/fake-peer.js';
import { sleep, waitFor } from '../helpers/wait.js';
import { NO_ICE } from '../helpers/loopback.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A memory transport that says it is `kind`, can be told to fail sends, and can report a link state. */
function transport(broker: MemoryBroker, kind: TransportKind) {
  const inner = broker.transport();
  let handlers: TransportHandlers | undefined;
  const control = { failSends: false, setState: (s: LinkState) => handlers?.state(s, 'test') };
  const t: Transport = {
    kind,
    open: (room, self, h) => {
      handlers = h;
      return inner.open(room, self, h);
    },
    setPresence: (p) => inner.setPresence(p),
    send: async (to, payload) => {
      if (control.failSends) throw new Error(`${kind} link down`);
      return inner.send(to, payload);
    },
    close: () => inner.close(),
  };
  return { t, control };
}

/** Two brokers standing for the LAN and an MQTT broker, one room. */
async function world() {
  const lan = new MemoryBroker();
  const mqtt = new MemoryBroker();
  const room = await Room.create();
  /** A device on the given transports, merged, started. */
  const device = async (name: string, on: ('lan' | 'mqtt')[], role: PresenceBody['role'] = 'camera') => {
    const self = newDeviceId();
    const presence: PresenceBody = { name, role };
    const courier = new Courier(room, self);
    const parts = on.map((k) => transport(k === 'lan' ? lan : mqtt, k));
    const channels = parts.map((p) => new SealedChannel(room, p.t, { self, presence, courier }));
    const merged = new MergedChannel(channels, { presence });
    await merged.start();
    cleanups.push(() => merged.close());
    return { merged, channels, controls: parts.map((p) => p.control), self };
  };
  return { lan, mqtt, room, device };
}

const inboxSends = (broker: MemoryBroker, to: DeviceId) => broker.wire.filter((w) => w.address.endsWith(`/to/${to}`)).length;

describe('MergedChannel over two transports', () => {
  it('merges peers by device id with via lan, mqtt or lan+mqtt', async () => {
    const w = await world();
    const observer = await w.device('observer', ['lan', 'mqtt'], 'viewer');
    const both = await w.device('both', ['lan', 'mqtt']);
    const lanOnly = await w.device('lan-only', ['lan']);
    const mqttOnly = await w.device('mqtt-only', ['mqtt']);
    await waitFor(() => observer.merged.peers.size === 3, { timeoutMs: 1000, what: 'three peers' });
    const via = (id: DeviceId) => observer.merged.peers.get(id)?.via;
    await waitFor(() => via(both.self) === 'lan+mqtt', { timeoutMs: 1000, what: 'both seen on both' });
    assert.equal(via(lanOnly.self), 'lan');
    assert.equal(via(mqttOnly.self), 'mqtt');
    assert.equal(observer.merged.peers.get(both.self)?.name, 'both');
    assert.equal(observer.merged.state, 'online');
  });

  it('reports gone only once a device is gone from every transport', async () => {
    const w = await world();
    const observer = await w.device('observer', ['lan', 'mqtt'], 'viewer');
    const cam = await w.device('cam', ['lan', 'mqtt']);
    await waitFor(() => observer.merged.peers.get(cam.self)?.via === 'lan+mqtt', { timeoutMs: 1000, what: 'cam on both' });
    const gone: DeviceId[] = [];
    const updates: PeerInfo[] = [];
    observer.merged.on('gone', (id) => gone.push(id));
    observer.merged.on('peer', (p) => updates.push(p));
    w.lan.kill(cam.self);
    await waitFor(() => observer.merged.peers.get(cam.self)?.via === 'mqtt', { timeoutMs: 1000, what: 'cam left on mqtt only' });
    await sleep(20);
    assert.deepEqual(gone, [], 'still present through the broker');
    assert.equal(updates.at(-1)?.via, 'mqtt');
    w.mqtt.kill(cam.self);
    await waitFor(() => gone.length === 1, { timeoutMs: 1000, what: 'gone from both' });
    assert.deepEqual(gone, [cam.self]);
    assert.equal(observer.merged.peers.has(cam.self), false);
  });

  it('sends over the LAN when the peer is reachable there, else over the broker', async () => {
    const w = await world();
    const viewer = await w.device('viewer', ['lan', 'mqtt'], 'viewer');
    const both = await w.device('both', ['lan', 'mqtt']);
    const mqttOnly = await w.device('mqtt-only', ['mqtt']);
    await waitFor(() => viewer.merged.peers.get(both.self)?.via === 'lan+mqtt' && viewer.merged.peers.has(mqttOnly.self), {
      timeoutMs: 1000,
      what: 'peers seen',
    });
    const got: Envelope[] = [];
    both.merged.on('message', (e) => got.push(e));
    mqttOnly.merged.on('message', (e) => got.push(e));
    await viewer.merged.send(both.self, 'hangup', newSessionId(), { reason: 'to both' });
    await viewer.merged.send(mqttOnly.self, 'hangup', newSessionId(), { reason: 'to mqtt-only' });
    await waitFor(() => got.length === 2, { timeoutMs: 1000, what: 'both messages delivered' });
    assert.equal(inboxSends(w.lan, both.self), 1);
    assert.equal(inboxSends(w.mqtt, both.self), 0);
    assert.equal(inboxSends(w.mqtt, mqttOnly.self), 1);
    // The LAN link fails under a send: the broker carries it instead.
    viewer.controls[0]!.failSends = true;
    await viewer.merged.send(both.self, 'hangup', newSessionId(), { reason: 'fallback' });
    await waitFor(() => got.length === 3, { timeoutMs: 1000, what: 'fallback delivered' });
    assert.equal(inboxSends(w.mqtt, both.self), 1);
  });

  it('fails a send clearly when the recipient is reachable nowhere and there is no broker', async () => {
    const w = await world();
    const lanOnly = await w.device('lan-only', ['lan'], 'viewer');
    await assert.rejects(lanOnly.merged.send(newDeviceId(), 'hangup', newSessionId(), { reason: 'x' }), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'not-found');
      assert.match(err.message, /not reachable/);
      return true;
    });
  });

  it('passes an envelope that arrives by both transports on once, and the camera starts one session', async () => {
    const w = await world();
    const cam = await w.device('cam', ['lan', 'mqtt']);
    const peers: FakePeer[] = [];
    const endpoint = new CameraEndpoint({
      channel: cam.merged,
      config: NO_ICE,
      peerFactory: () => {
        const p = new FakePeer();
        peers.push(p);
        return p;
      },
    });
    cleanups.push(() => endpoint.close());
    const sessions: unknown[] = [];
    endpoint.on('session', (s) => sessions.push(s));
    const messages: Envelope[] = [];
    const dropped: string[] = [];
    cam.merged.on('message', (e) => messages.push(e));
    cam.merged.on('dropped', (reason) => dropped.push(reason));
    // A viewer (its own courier) seals one offer; it reaches the camera through both transports.
    const viewerId = newDeviceId();
    const offerSdp = await new FakePeer().createOffer({ iceRestart: false });
    const { payload } = await new Courier(w.room, viewerId).seal(cam.self, 'offer', newSessionId(), { sdp: offerSdp, gen: 0 });
    w.lan.inject(cam.self, payload);
    w.mqtt.inject(cam.self, payload);
    await waitFor(() => messages.length === 1 && dropped.length === 1, { timeoutMs: 1000, what: 'one message, one drop' });
    await sleep(50);
    assert.equal(messages.length, 1);
    assert.deepEqual(dropped, ['replay']);
    assert.equal(sessions.length, 1);
    assert.equal(peers.length, 1);
  });

  it('drops a repeated (from, seq) even when the transports do not share a courier', async () => {
    const w = await world();
    const self = newDeviceId();
    const presence: PresenceBody = { name: 'cam', role: 'camera' };
    const channels = [transport(w.lan, 'lan'), transport(w.mqtt, 'mqtt')].map((p) => new SealedChannel(w.room, p.t, { self, presence }));
    const merged = new MergedChannel(channels);
    await merged.start();
    cleanups.push(() => merged.close());
    const got: Envelope[] = [];
    merged.on('message', (e) => got.push(e));
    const sender = new Courier(w.room, newDeviceId());
    const first = await sender.seal(self, 'hangup', 's1', { reason: 'one' });
    const second = await sender.seal(self, 'hangup', 's1', { reason: 'two' });
    w.lan.inject(self, first.payload);
    w.mqtt.inject(self, first.payload);
    w.mqtt.inject(self, second.payload);
    await waitFor(() => got.length === 2, { timeoutMs: 1000, what: 'two distinct messages' });
    await sleep(20);
    assert.deepEqual(
      got.map((e) => e.body),
      [{ reason: 'one' }, { reason: 'two' }],
    );
  });

  it('sets presence on every transport; online while any transport is', async () => {
    const w = await world();
    const cam = await w.device('cam', ['lan', 'mqtt']);
    const lanView = await w.device('lan-view', ['lan'], 'viewer');
    const mqttView = await w.device('mqtt-view', ['mqtt'], 'viewer');
    await cam.merged.setPresence({ name: 'renamed', role: 'camera' });
    await waitFor(() => lanView.merged.peers.get(cam.self)?.name === 'renamed' && mqttView.merged.peers.get(cam.self)?.name === 'renamed', {
      timeoutMs: 1000,
      what: 'new presence on both',
    });
    const states: LinkState[] = [];
    cam.merged.on('state', (s) => states.push(s));
    cam.controls[0]!.setState('offline');
    assert.equal(cam.merged.state, 'online', 'the broker is still up');
    cam.controls[1]!.setState('connecting');
    assert.equal(cam.merged.state, 'connecting');
    cam.controls[1]!.setState('offline');
    assert.equal(cam.merged.state, 'offline');
    cam.controls[0]!.setState('online');
    assert.equal(cam.merged.state, 'online');
    assert.deepEqual(states, ['connecting', 'offline', 'online']);
  });

  it('gains a broker at runtime with the current presence, and loses its peers when it is removed', async () => {
    const w = await world();
    const cam = await w.device('cam', ['lan']);
    await cam.merged.setPresence({ name: 'porch', role: 'camera' });
    const browserViewer = await w.device('browser', ['mqtt'], 'viewer');
    const brokerChannel = new SealedChannel(w.room, transport(w.mqtt, 'mqtt').t, { self: cam.self, presence: { name: 'stale', role: 'camera' } });
    await cam.merged.add(brokerChannel);
    await waitFor(() => browserViewer.merged.peers.get(cam.self)?.name === 'porch', { timeoutMs: 1000, what: 'the camera seen on the broker' });
    await waitFor(() => cam.merged.peers.get(browserViewer.self)?.via === 'mqtt', { timeoutMs: 1000, what: 'the browser seen' });
    assert.deepEqual(
      cam.merged.channels.map((c) => c.kind),
      ['lan', 'mqtt'],
    );
    const gone: DeviceId[] = [];
    cam.merged.on('gone', (id) => gone.push(id));
    await cam.merged.remove(brokerChannel);
    assert.deepEqual(gone, [browserViewer.self]);
    await waitFor(() => !browserViewer.merged.peers.has(cam.self), { timeoutMs: 1000, what: 'the camera left the broker' });
  });

  it('refuses a channel of another room or device', async () => {
    const w = await world();
    const cam = await w.device('cam', ['lan']);
    const other = new SealedChannel(await Room.create(), transport(w.mqtt, 'mqtt').t, { self: cam.self, presence: { name: 'x', role: 'camera' } });
    await assert.rejects(cam.merged.add(other), /own room and device/);
  });
});
