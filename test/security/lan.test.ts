import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { Courier, type DropReason, type Envelope, newDeviceId, Room } from '../../src/protocol/index.js';
import { CameraEndpoint, ViewerSession } from '../../src/session/index.js';
import { SealedChannel } from '../../src/signaling/channel.js';
import { LanTransport } from '../../src/signaling/lan/index.js';
import { FakePeer } from '../helpers/fake-peer.js';
import { nextEvent, sleep, waitFor } from '../helpers/wait.js';
import { NO_ICE } from '../helpers/loopback.js';

/**
 * A stranger on the WiFi against the LAN WebSocket endpoint (loopback, mDNS off): the room id and device ids are
 * public (TXT records), so it can complete the hello; everything it sends after that must still be dropped by the
 * Channel, and silent connections must not keep a device from its members for long.
 */
const OFF = { PEERCAM_MDNS: 'off' };
const closers: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const close of closers.splice(0).reverse()) await close().catch(() => {});
});

async function lanCamera(room: Room) {
  const transport = new LanTransport({ role: 'camera', env: OFF });
  const channel = new SealedChannel(room, transport, { self: newDeviceId(), presence: { name: 'cam', role: 'camera' } });
  closers.push(() => channel.close());
  await channel.start();
  const drops: DropReason[] = [];
  const messages: Envelope[] = [];
  channel.on('dropped', (r) => drops.push(r));
  channel.on('message', (e) => messages.push(e));
  return { transport, channel, drops, messages, url: `ws://127.0.0.1:${transport.port}` };
}

async function stranger(url: string) {
  const ws = new WebSocket(url);
  closers.push(async () => ws.terminate());
  ws.on('error', () => {});
  const frames: { t: string }[] = [];
  ws.on('message', (data) => frames.push(JSON.parse(String(data)) as { t: string }));
  const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
  await new Promise((resolve) => ws.once('open', resolve));
  return { ws, frames, closed, send: (frame: object) => ws.send(JSON.stringify(frame)) };
}

/** A connection that never says a word, from `localAddress`; `opened` is false when the server refused it. */
function silentFrom(url: string, localAddress: string) {
  const ws = new WebSocket(url, { localAddress });
  closers.push(async () => ws.terminate());
  ws.on('error', () => {});
  const opened = new Promise<boolean>((resolve) => {
    ws.once('open', () => resolve(true));
    ws.once('close', () => resolve(false));
  });
  const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
  return { opened, closed };
}

describe('a stranger on the LAN against the WebSocket endpoint', () => {
  it('unsealed and foreign-room payloads after a valid hello are dropped by the Channel, never delivered', async () => {
    const room = await Room.create();
    const cam = await lanCamera(room);
    const s = await stranger(cam.url);
    const fake = newDeviceId();
    s.send({ t: 'hello', v: 1, r: room.id, id: fake });
    await sleep(200);
    const other = await Room.create();
    const foreign = await new Courier(other, fake).seal(cam.channel.self, 'offer', 'sid', { sdp: 'v=0', gen: 0 });
    const foreignPresence = await new Courier(other, fake).sealPresence({ name: 'evil', role: 'camera' });
    s.send({ t: 'msg', p: '{"v":1,"type":"offer","body":{"sdp":"v=0","gen":0}}' }); // plaintext JSON: not a box
    s.send({ t: 'msg', p: 'A'.repeat(4096) }); // base64 that fails authentication
    s.send({ t: 'msg', p: foreign.payload }); // sealed, but for another room
    s.send({ t: 'presence', p: foreignPresence.payload });
    await waitFor(() => cam.drops.length >= 4, { timeoutMs: 3000, what: 'four drops' });
    assert.deepEqual(cam.drops, ['malformed', 'bad-tag', 'bad-tag', 'bad-tag']);
    assert.equal(cam.messages.length, 0);
    assert.equal(cam.channel.peers.has(fake), false, 'the stranger never became a peer');
  });

  it("an impostor claiming a linked member's id cannot replace its link nor make it leave: the session keeps working", async () => {
    const room = await Room.create();
    const cam = await lanCamera(room);
    const endpoint = new CameraEndpoint({ channel: cam.channel, config: NO_ICE, peerFactory: () => new FakePeer() });
    closers.push(async () => endpoint.close());
    const viewer = new SealedChannel(room, new LanTransport({ role: 'viewer', env: OFF, peers: [cam.url] }), {
      self: newDeviceId(),
      presence: { name: 'member', role: 'viewer' },
    });
    closers.push(() => viewer.close());
    await viewer.start();
    await waitFor(() => cam.channel.peers.has(viewer.self) && viewer.peers.has(cam.channel.self), { timeoutMs: 3000, what: 'the member linked' });
    let viewerPeer: FakePeer | undefined;
    const session = new ViewerSession({ channel: viewer, camera: cam.channel.self, config: NO_ICE, peerFactory: () => (viewerPeer = new FakePeer()) });
    closers.push(async () => session.close());
    const connected = nextEvent<[{ ms: number }]>((l) => session.on('connected', l), { timeoutMs: 5000, what: 'the session to connect' });
    await session.start();
    await connected;
    assert.equal(endpoint.viewers, 1);
    const gone: string[] = [];
    cam.channel.on('gone', (id) => gone.push(id));

    // The stranger says hello with the member's public id, sends junk presence, then an empty one (a "leave").
    const impostor = await stranger(cam.url);
    impostor.send({ t: 'hello', v: 1, r: room.id, id: viewer.self });
    impostor.send({ t: 'presence', p: 'A'.repeat(200) });
    impostor.send({ t: 'presence' });
    impostor.send({ t: 'ping' });
    // A pong (or a close) means the camera has handled every frame before it.
    await Promise.race([waitFor(() => impostor.frames.some((f) => f.t === 'pong'), { timeoutMs: 3000, what: 'a pong' }), impostor.closed]);
    await sleep(100); // the Channel opens presence asynchronously
    assert.deepEqual(gone, [], 'the camera saw the member leave');
    assert.ok(cam.channel.peers.has(viewer.self), 'the camera still lists the member');
    assert.equal(endpoint.viewers, 1, 'the camera still serves the session');
    assert.equal(session.state, 'connected');

    // Messages still reach the member's own link both ways: an ICE restart renegotiates over it.
    const back = nextEvent<[{ ms: number }]>((l) => session.on('connected', l), { timeoutMs: 5000, what: 'the session to reconnect after an ICE restart' });
    viewerPeer?.fail();
    await back;
    const probe = nextEvent<[Envelope]>((l) => viewer.on('message', l), { timeoutMs: 3000, what: 'a message from the camera', filter: (e) => e.sid === 'probe' });
    await cam.channel.send(viewer.self, 'hangup', 'probe', { reason: 'still there?' });
    await probe;
    assert.equal(endpoint.viewers, 1);
    assert.deepEqual(gone, []);
  });

  it('a foreign-room hello is closed at once (4003); silent connections are closed at the hello deadline', async () => {
    const room = await Room.create();
    const cam = await lanCamera(room);
    const foreign = await stranger(cam.url);
    foreign.send({ t: 'hello', v: 1, r: (await Room.create()).id, id: newDeviceId() });
    assert.equal(await foreign.closed, 4003);
    const silent = await stranger(cam.url);
    const started = Date.now();
    assert.equal(await silent.closed, 4008);
    const waited = Date.now() - started;
    assert.ok(waited >= 1500 && waited < 4000, `closed after ${waited} ms`);
  });

  it('100 silent connections from one address do not keep a member at another address from linking within 1 s', async (t) => {
    const room = await Room.create();
    const cam = await lanCamera(room);
    // The slow-loris, from 127.0.0.2 (loopback is all of 127/8); the member dials from 127.0.0.1.
    const silent = Array.from({ length: 100 }, () => silentFrom(cam.url, '127.0.0.2'));
    const opened = await Promise.all(silent.map((s) => s.opened));
    const viewer = new SealedChannel(room, new LanTransport({ role: 'viewer', env: OFF, peers: [cam.url] }), {
      self: newDeviceId(),
      presence: { name: 'v', role: 'viewer' },
    });
    closers.push(() => viewer.close());
    const started = Date.now();
    await viewer.start();
    await waitFor(() => cam.channel.peers.has(viewer.self) && viewer.peers.has(cam.channel.self), { timeoutMs: 1000, what: 'the member linked within 1 s' });
    t.diagnostic(`member linked after ${Date.now() - started} ms`);
    const held = opened.filter(Boolean).length;
    assert.ok(held <= 4, `${held} silent connections from one address were let in`);
    // And the silent ones are all gone by the hello deadline.
    await Promise.all(silent.map((s) => s.closed));
    assert.ok(cam.transport.stats.rejected >= 100, `rejected ${cam.transport.stats.rejected}`);
  });
});
