import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import mqtt, { type MqttClient } from 'mqtt';
import { Courier, type DropReason, fromBase64Url, newDeviceId, Room, toBase64Url, topics } from '../../src/protocol/index.js';
import { CameraEndpoint, ViewerSession } from '../../src/session/index.js';
import { SealedChannel } from '../../src/signaling/channel.js';
import { MqttTransport } from '../../src/signaling/mqtt.js';
import { type MosquittoBroker, startMosquitto } from '../helpers/brokers.js';
import { cliHome, runCli, spawnCli } from '../helpers/cli.js';
import { FakePeer } from '../helpers/fake-peer.js';
import { nextEvent, sleep, waitFor } from '../helpers/wait.js';
import { NO_ICE } from '../helpers/loopback.js';

/**
 * An outsider on the same Mosquitto, without the room link: it cannot list the room's devices, inject offers, replay
 * captured ones, or harm the camera with oversized or malformed payloads. (Reading names/SDP, forged, tampered and
 * stale single messages are covered by test/signaling/security.test.ts.)
 */

describe('an outsider on the broker (Mosquitto, no room link)', () => {
  let broker: MosquittoBroker;
  const closers: (() => Promise<unknown>)[] = [];
  before(async () => {
    broker = await startMosquitto();
  });
  after(async () => {
    for (const close of closers.splice(0).reverse()) await close().catch(() => {});
    await broker.stop();
  });

  const outsider = async (): Promise<{ client: MqttClient; seen: { topic: string; payload: Buffer }[] }> => {
    const client = await mqtt.connectAsync(broker.url, { protocolVersion: 5, reconnectPeriod: 0 });
    closers.push(() => client.endAsync(true));
    const seen: { topic: string; payload: Buffer }[] = [];
    client.on('message', (topic, payload) => seen.push({ topic, payload }));
    await client.subscribeAsync('#', { qos: 1 });
    return { client, seen };
  };

  /** A camera: its channel, an endpoint answering with FakePeers, and every drop with its reason. */
  const camera = async (room: Room, self = newDeviceId(), now?: () => number) => {
    const channel = new SealedChannel(room, new MqttTransport({ url: broker.url }), { self, presence: { name: 'cam', role: 'camera' }, ...(now ? { now } : {}) });
    closers.push(() => channel.close());
    await channel.start();
    const endpoint = new CameraEndpoint({ channel, config: NO_ICE, peerFactory: () => new FakePeer() });
    closers.push(async () => endpoint.close());
    let sessions = 0;
    endpoint.on('session', () => sessions++);
    const drops: DropReason[] = [];
    channel.on('dropped', (r) => drops.push(r));
    const states: string[] = [];
    channel.on('state', (s) => states.push(s));
    return { channel, endpoint, drops, states, sessions: () => sessions };
  };

  it('cannot list the devices: it sees opaque ids only, and `peercam ls` with another room shows nothing', async () => {
    const spy = await outsider();
    const [mine, theirs] = [await cliHome(), await cliHome()];
    closers.push(mine.remove, theirs.remove);
    for (const home of [mine, theirs]) assert.equal((await runCli(['room', 'new', '--no-qr', '--broker', broker.url], home.env)).code, 0);
    const cam = spawnCli(['camera', '--source', 'demo', '--name', 'Front Door'], mine.env);
    closers.push(() => cam.kill());
    await cam.waitFor(/is live in room/);
    const ls = async (env: NodeJS.ProcessEnv) => JSON.parse((await runCli(['ls', '--json', '--seconds', '1'], env)).stdout) as { name: string }[];
    assert.deepEqual((await ls(mine.env)).map((d) => d.name), ['Front Door'], 'a member lists the camera');
    assert.deepEqual(await ls(theirs.env), [], 'a device of another room lists nothing');
    // The raw broker view: a topic with two random ids and an opaque payload no other room's key opens.
    const presence = spy.seen.find((m) => m.topic.includes('/presence/') && m.payload.length > 0);
    assert.ok(presence, 'the retained presence reached the outsider');
    const [, roomId, device] = /^peercam\/v1\/([a-z2-7]{20})\/presence\/([a-z2-7]{16})$/.exec(presence.topic) ?? [];
    assert.ok(roomId && device, `topic ${presence.topic}`);
    assert.ok(!presence.payload.toString().includes('Front Door'));
    const guess = new Courier(await Room.create(), newDeviceId());
    const opened = await guess.openPresence(device, presence.payload);
    assert.equal(opened.ok, false);
  });

  it('cannot inject offers, nor replay a captured one (replay now; stale once 60 s have passed)', async () => {
    const room = await Room.create();
    const spy = await outsider();
    const cam = await camera(room);
    const viewer = new SealedChannel(room, new MqttTransport({ url: broker.url }), { self: newDeviceId(), presence: { name: 'v', role: 'viewer' } });
    closers.push(() => viewer.close());
    await viewer.start();
    await waitFor(() => viewer.peers.has(cam.channel.self), { timeoutMs: 3000, what: 'the camera present' });

    // A real session, captured on the wire by the outsider, then hung up.
    const session = new ViewerSession({ channel: viewer, camera: cam.channel.self, config: NO_ICE, peerFactory: () => new FakePeer() });
    const connected = nextEvent((l) => session.on('connected', l), { timeoutMs: 5000, what: 'the real session' });
    await session.start();
    await connected;
    session.close();
    await waitFor(() => cam.endpoint.viewers === 0, { timeoutMs: 3000, what: 'the camera to end the session' });
    const camInbox = topics.inbox(room.id, cam.channel.self);
    const viewerInbox = topics.inbox(room.id, viewer.self);
    const captured = spy.seen.find((m) => m.topic === camInbox)?.payload.toString();
    const capturedAnswer = spy.seen.find((m) => m.topic === viewerInbox)?.payload.toString();
    assert.ok(captured && capturedAnswer);
    const sessionsBefore = cam.sessions();
    const answersBefore = spy.seen.filter((m) => m.topic === viewerInbox).length;

    const other = await Room.create();
    const forged = (await new Courier(other, viewer.self).seal(cam.channel.self, 'offer', 'sid', { sdp: 'v=0', gen: 0 })).payload;
    const tampered = fromBase64Url(captured)!;
    tampered[20]! ^= 0x40;
    const attempts: [string, string, DropReason][] = [
      ['the captured offer, replayed', captured, 'replay'],
      ["an offer sealed with another room's key, claiming to be the viewer", forged, 'bad-tag'],
      ['the captured answer, moved into the camera inbox', capturedAnswer, 'bad-tag'],
      ['the captured offer, one bit flipped', toBase64Url(tampered), 'bad-tag'],
    ];
    for (const [what, payload, reason] of attempts) {
      const dropped = nextEvent<[DropReason]>((l) => cam.channel.on('dropped', l), { timeoutMs: 3000, what });
      await spy.client.publishAsync(camInbox, payload, { qos: 1 });
      assert.equal((await dropped)[0], reason, what);
    }
    await sleep(300);
    assert.equal(cam.sessions(), sessionsBefore, 'no session was created');
    assert.equal(spy.seen.filter((m) => m.topic === viewerInbox).length, answersBefore, 'the camera answered nothing');

    // The camera restarts (its replay memory is gone) and 61 s have passed: the captured offer is now stale.
    await cam.endpoint.close();
    await cam.channel.close();
    const later = await camera(room, cam.channel.self, () => Date.now() + 61_000);
    const stale = nextEvent<[DropReason]>((l) => later.channel.on('dropped', l), { timeoutMs: 3000, what: 'the stale replay' });
    await spy.client.publishAsync(camInbox, captured, { qos: 1 });
    assert.equal((await stale)[0], 'stale');
    await sleep(300);
    assert.equal(later.sessions(), 0);
    assert.equal(spy.seen.filter((m) => m.topic === viewerInbox).length, answersBefore);
  });

  it('oversized (1 MiB) and malformed MQTT payloads are dropped; the camera stays online and still serves', async () => {
    const room = await Room.create();
    const spy = await outsider();
    const cam = await camera(room);
    const inbox = topics.inbox(room.id, cam.channel.self);
    const payloads: (string | Buffer)[] = [
      Buffer.alloc(1024 * 1024, 'A'), // over the transport's MQTT 5 maximum packet size: the broker never delivers it
      Buffer.alloc(100 * 1024, 'A'), // delivered, dropped as oversize before any crypto
      Buffer.alloc(64 * 1024, 'A'), // exactly the limit: a full AES-GCM pass, then bad-tag
      '',
      Buffer.from([0xff, 0xfe, 0xfd, 0x00]),
      '{"v":1,"type":"offer","from":"aaaaaaaaaaaaaaaa","to":"*","sid":"","seq":0,"ts":0,"body":{}}',
      'AAAA',
    ];
    for (const qos of [0, 1] as const) for (const p of payloads) await spy.client.publishAsync(inbox, p, { qos });
    // Presence slots too, retained: a 1 MiB one and junk in the name of devices that do not exist.
    await spy.client.publishAsync(topics.presence(room.id, newDeviceId()), Buffer.alloc(1024 * 1024, 'B'), { qos: 1, retain: true });
    await spy.client.publishAsync(topics.presence(room.id, newDeviceId()), 'junk', { qos: 1, retain: true });
    await spy.client.publishAsync(`${topics.root(room.id)}/presence/not/a/device`, 'junk', { qos: 1 });
    // Each payload the broker delivered (all but the 1 MiB ones) is dropped: 6 per QoS in the inbox, 1 presence.
    await waitFor(() => cam.drops.length >= 13, { timeoutMs: 5000, what: 'the drops' });
    await sleep(300);
    assert.equal(cam.drops.length, 13, `drops: ${cam.drops.join(', ')}`);
    assert.equal(cam.drops.filter((r) => r === 'oversize').length, 2);
    assert.deepEqual(cam.states.filter((s) => s !== 'online'), [], 'the camera never lost the broker');
    assert.equal(cam.channel.state, 'online');
    assert.equal(cam.sessions(), 0);

    // And it still serves a member.
    const viewer = new SealedChannel(room, new MqttTransport({ url: broker.url }), { self: newDeviceId(), presence: { name: 'v', role: 'viewer' } });
    closers.push(() => viewer.close());
    await viewer.start();
    await waitFor(() => viewer.peers.has(cam.channel.self), { timeoutMs: 3000, what: 'the camera present' });
    const session = new ViewerSession({ channel: viewer, camera: cam.channel.self, config: NO_ICE, peerFactory: () => new FakePeer() });
    closers.push(async () => session.close());
    const connected = nextEvent((l) => session.on('connected', l), { timeoutMs: 5000, what: 'a session after the junk' });
    await session.start();
    await connected;
  });
});
