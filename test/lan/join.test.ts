import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { newDeviceId, Room } from '../../src/protocol/index.js';
import { SealedChannel } from '../../src/signaling/channel.js';
import { toService } from '../../src/signaling/lan/browser.js';
import { exponentialBackoff } from '../../src/signaling/backoff.js';
import { hubBrokerUrl, LanRoom } from '../../src/signaling/lan/join.js';
import { MqttTransport } from '../../src/signaling/mqtt.js';
import { freePort, startAedes } from '../helpers/brokers.js';
import { waitFor } from '../helpers/wait.js';

const closers: (() => Promise<void>)[] = [];
after(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

describe('a hub in TXT b=', () => {
  const base = { instance: 'hub._peercam._tcp.local', host: 'peercam-hub.local', address: '10.77.0.3', port: 4242 };
  const txt = { v: '1', id: newDeviceId(), r: 'abcdefghijklmnopqrst', role: 'hub' };

  it('is read from the TXT record when it is a broker URL, and ignored otherwise', () => {
    assert.equal(toService({ ...base, txt: { ...txt, b: 'mqtt://10.0.0.9:1883' } })?.broker, 'mqtt://10.0.0.9:1883');
    assert.equal(toService({ ...base, txt: { ...txt, b: 'http://10.0.0.9/' } })?.broker, undefined);
    assert.equal(toService({ ...base, txt: { ...txt, b: '' } })?.broker, undefined);
    assert.equal(toService({ ...base, txt })?.broker, undefined);
  });

  it('is dialed at the address the hub was resolved at, with its scheme and port', () => {
    assert.equal(hubBrokerUrl({ broker: 'mqtt://192.168.1.20:1883', address: '10.77.0.3' }), 'mqtt://10.77.0.3:1883');
    assert.equal(hubBrokerUrl({ broker: 'ws://0.0.0.0:8443/mqtt', address: '10.77.0.3' }), 'ws://10.77.0.3:8443/mqtt');
    assert.equal(hubBrokerUrl({ address: '10.77.0.3' }), undefined);
  });
});

/** LanRooms on loopback with mDNS off: LAN links by static peer, brokers by URL. */
describe('LanRoom: the LAN plus a configured broker behind one channel', () => {
  const env = { PEERCAM_MDNS: 'off' };

  async function join(room: Room, name: string, options: Partial<Parameters<typeof LanRoom.join>[0]> = {}) {
    const lan = await LanRoom.join({
      room,
      self: newDeviceId(),
      presence: { name, role: 'camera' },
      role: 'camera',
      env,
      interface: '127.0.0.1',
      brokerTimeoutMs: 1000,
      retry: exponentialBackoff({ initialMs: 50, maxMs: 200, jitter: 'equal' }),
      ...options,
    });
    closers.push(() => lan.close());
    return lan;
  }

  it('shows a camera on the LAN and on the broker as lan+mqtt, and to an MQTT-only viewer as mqtt', async () => {
    const broker = await startAedes();
    closers.push(() => broker.stop());
    const room = await Room.create();
    const camera = await join(room, 'porch', { broker: broker.url });
    assert.deepEqual(camera.brokers(), [broker.url]);
    const viewer = await join(room, 'viewer', { broker: broker.url, peers: [`ws://127.0.0.1:${camera.lan.port}`] });
    const mqttOnly = new SealedChannel(room, new MqttTransport({ url: broker.url }), { self: newDeviceId(), presence: { name: 'page', role: 'viewer' } });
    closers.push(() => mqttOnly.close());
    await mqttOnly.start();
    await waitFor(() => viewer.channel.peers.get(camera.channel.self)?.via === 'lan+mqtt', { timeoutMs: 3000, what: 'porch via lan+mqtt' });
    await waitFor(() => mqttOnly.peers.get(camera.channel.self)?.via === 'mqtt', { timeoutMs: 3000, what: 'porch seen on the broker' });
    // A message over the merged channel arrives once.
    const got: string[] = [];
    camera.channel.on('message', (e) => got.push(e.type));
    await viewer.channel.send(camera.channel.self, 'hangup', 's', { reason: 'hi' });
    await waitFor(() => got.length === 1, { timeoutMs: 2000, what: 'the message' });
  });

  it('stays on the LAN when the configured broker is down, and joins it once it is up', async () => {
    const port = await freePort();
    const room = await Room.create();
    const camera = await join(room, 'porch', { broker: `mqtt://127.0.0.1:${port}` });
    assert.deepEqual(camera.brokers(), [], 'LAN only for now');
    assert.equal(camera.channel.state, 'online');
    const joined = new Promise<string>((resolve) => camera.on('broker', (url, change) => change === 'joined' && resolve(url)));
    const broker = await startAedes({ port });
    closers.push(() => broker.stop());
    assert.equal(await joined, `mqtt://127.0.0.1:${port}`);
    assert.deepEqual(
      camera.channel.channels.map((c) => c.kind),
      ['lan', 'mqtt'],
    );
  });
});
