import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import mqtt from 'mqtt';
import { type EmbeddedBroker, startEmbeddedBroker } from '../../src/hub/broker.js';
import { type CloudBridge, startCloudBridge } from '../../src/hub/cloud-bridge.js';
import { type DeviceId, type Envelope, newDeviceId, newSessionId, Room, topics } from '../../src/protocol/index.js';
import { SealedChannel } from '../../src/signaling/channel.js';
import { MqttTransport } from '../../src/signaling/mqtt.js';
import { type MosquittoBroker, startAedes, startMosquitto } from '../helpers/brokers.js';
import { eventually, waitFor } from '../helpers/wait.js';

/**
 * `peercam up --broker`: the hub bridges its room between the embedded broker (the LAN) and a cloud broker (Mosquitto
 * here), sealed messages passed as opaque bytes. A device on each side sees the other, signals to it both ways, and
 * sees it leave; a device on both brokers by itself is left alone.
 */
describe('cloud bridge: one room on the hub broker and the cloud broker', () => {
  let room: Room;
  let lanBroker: EmbeddedBroker;
  let cloud: MosquittoBroker;
  let bridge: CloudBridge;
  const channels: SealedChannel[] = [];

  before(async () => {
    room = await Room.create({ name: 'Home' });
    lanBroker = await startEmbeddedBroker({ port: 0, members: { room: room.id, credentials: room.credentials } });
    cloud = await startMosquitto();
    bridge = startCloudBridge({ aedes: lanBroker.aedes, room, url: cloud.url, self: newDeviceId() });
  });
  after(async () => {
    for (const c of channels) await c.close().catch(() => {});
    await bridge?.close();
    await lanBroker?.close();
    await cloud?.stop();
  });

  const join = async (where: 'lan' | 'cloud', name: string, role: 'camera' | 'viewer', id: DeviceId = newDeviceId()) => {
    const transport =
      where === 'lan' ? new MqttTransport({ url: lanBroker.url, roomLogin: 'first', keepaliveSeconds: 2 }) : new MqttTransport({ url: cloud.url, keepaliveSeconds: 2 });
    const channel = new SealedChannel(room, transport, { self: id, presence: { name, role } });
    channels.push(channel);
    await channel.start();
    return channel;
  };

  const names = (c: SealedChannel) => [...c.peers.values()].map((p) => p.name).sort();

  it('a LAN camera and a cloud viewer see each other and exchange sealed messages both ways', async () => {
    const camera = await join('lan', 'Porch', 'camera');
    const viewer = await join('cloud', 'Office', 'viewer');
    await waitFor(() => viewer.peers.has(camera.self), { timeoutMs: 15_000, what: 'the cloud viewer to see the LAN camera' });
    await waitFor(() => camera.peers.has(viewer.self), { timeoutMs: 15_000, what: 'the LAN camera to see the cloud viewer' });
    const atCamera = new Promise<Envelope>((resolve) => camera.on('message', resolve));
    await viewer.send(camera.self, 'hangup', newSessionId(), { reason: 'from the office' });
    const got = await atCamera;
    assert.equal(got.from, viewer.self);
    assert.deepEqual(got.body, { reason: 'from the office' });
    const atViewer = new Promise<Envelope>((resolve) => viewer.on('message', resolve));
    await camera.send(viewer.self, 'hangup', newSessionId(), { reason: 'from home' });
    assert.deepEqual((await atViewer).body, { reason: 'from home' });
    assert.ok(bridge.stats.toCloud > 0 && bridge.stats.fromCloud > 0);
  });

  it('nothing readable crosses: the cloud carries the same sealed bytes, on the room topics only', async () => {
    const seen: string[] = [];
    const spy = await mqtt.connectAsync(cloud.url, { protocolVersion: 5 });
    spy.on('message', (topic, payload) => seen.push(`${topic} ${payload.toString()}`));
    await spy.subscribeAsync('#');
    await join('lan', 'Secret Garden Camera', 'camera');
    await waitFor(() => seen.some((s) => s.includes('/presence/')), { timeoutMs: 10_000, what: 'a presence on the cloud' });
    await spy.endAsync();
    assert.ok(seen.every((s) => s.startsWith(`${topics.root(room.id)}/`)));
    assert.ok(!seen.some((s) => s.includes('Secret Garden')));
  });

  it('a LAN device that leaves leaves the cloud too; a cloud member that leaves leaves the LAN', async () => {
    const camera = await join('lan', 'Kitchen', 'camera');
    const viewer = await join('cloud', 'Phone', 'viewer');
    await waitFor(() => viewer.peers.has(camera.self) && camera.peers.has(viewer.self), { timeoutMs: 15_000, what: 'both to see each other' });
    const lanWatcher = await join('lan', 'Tablet', 'viewer');
    await waitFor(() => lanWatcher.peers.has(viewer.self), { timeoutMs: 15_000, what: 'a LAN member joining later to see the cloud viewer (retained)' });
    await camera.close();
    await waitFor(() => !viewer.peers.has(camera.self), { timeoutMs: 15_000, what: 'the camera gone on the cloud' });
    await viewer.close();
    await waitFor(() => !lanWatcher.peers.has(viewer.self), { timeoutMs: 15_000, what: 'the viewer gone on the LAN' });
  });

  it('the cloud broker restarts: the LAN camera is back on it and the cloud members back on the LAN', async () => {
    const camera = await join('lan', 'Garage', 'camera');
    const watcher = await join('lan', 'Laptop', 'viewer');
    await cloud.restart();
    const viewer = await join('cloud', 'Train', 'viewer');
    await waitFor(() => viewer.peers.has(camera.self), { timeoutMs: 20_000, what: 'the cloud viewer to see the LAN camera after the restart' });
    await waitFor(() => watcher.peers.has(viewer.self), { timeoutMs: 20_000, what: 'the LAN to see the new cloud member' });
    const atCamera = new Promise<Envelope>((resolve) => camera.on('message', resolve));
    await viewer.send(camera.self, 'hangup', newSessionId(), { reason: 'after the restart' });
    assert.deepEqual((await atCamera).body, { reason: 'after the restart' });
  });

  it('a device on both brokers by itself is not bridged: its presence is not fought over', async () => {
    const id = newDeviceId();
    const onLan = await join('lan', 'Both', 'camera', id);
    const onCloud = await join('cloud', 'Both', 'camera', id);
    const cloudViewer = await join('cloud', 'Observer', 'viewer');
    await waitFor(() => cloudViewer.peers.has(id), { timeoutMs: 15_000, what: 'the observer to see the device' });
    // Count the device's presence publishes on the cloud over a while: a bridge fighting its own copy would add one a second.
    let publishes = 0;
    const spy = await mqtt.connectAsync(cloud.url, { protocolVersion: 5 });
    spy.on('message', () => publishes++);
    await spy.subscribeAsync(topics.presence(room.id, id), { qos: 1 });
    await new Promise((r) => setTimeout(r, 4000));
    await spy.endAsync();
    assert.ok(publishes <= 2, `${publishes} presence publishes in 4 s`);
    await eventually(() => assert.ok(names(cloudViewer).includes('Both')), { timeoutMs: 5000, what: 'the device still listed' });
    void onLan;
    void onCloud;
  });
});

describe('cloud bridge to an MQTT 3.1.1 broker (another aedes)', () => {
  it('falls back to 3.1.1: the LAN camera is seen on the cloud and signaling crosses', async () => {
    const room = await Room.create({ name: 'Shop' });
    const lanBroker = await startEmbeddedBroker({ port: 0, members: { room: room.id, credentials: room.credentials } });
    const cloud = await startAedes();
    const bridge = startCloudBridge({ aedes: lanBroker.aedes, room, url: cloud.url, self: newDeviceId() });
    const camera = new SealedChannel(room, new MqttTransport({ url: lanBroker.url, roomLogin: 'first' }), { self: newDeviceId(), presence: { name: 'Till', role: 'camera' } });
    const viewer = new SealedChannel(room, new MqttTransport({ url: cloud.url }), { self: newDeviceId(), presence: { name: 'Owner', role: 'viewer' } });
    try {
      await camera.start();
      await viewer.start();
      await waitFor(() => viewer.peers.has(camera.self) && camera.peers.has(viewer.self), { timeoutMs: 15_000, what: 'both to see each other over 3.1.1' });
      const atCamera = new Promise<Envelope>((resolve) => camera.on('message', resolve));
      await viewer.send(camera.self, 'hangup', newSessionId(), { reason: 'over 3.1.1' });
      assert.deepEqual((await atCamera).body, { reason: 'over 3.1.1' });
    } finally {
      await viewer.close();
      await camera.close();
      await bridge.close();
      await lanBroker.close();
      await cloud.stop();
    }
  });
});
