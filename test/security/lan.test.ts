import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { Courier, type DropReason, type Envelope, newDeviceId, Room } from '../../src/protocol/index.js';
import { SealedChannel } from '../../src/signaling/channel.js';
import { LanTransport } from '../../src/signaling/lan/index.js';
import { sleep, waitFor } from '../helpers/wait.js';

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
  const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
  await new Promise((resolve) => ws.once('open', resolve));
  return { ws, closed, send: (frame: object) => ws.send(JSON.stringify(frame)) };
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

  it('a foreign-room hello is closed at once (4003); silent connections are closed at the hello deadline', async () => {
    const room = await Room.create();
    const cam = await lanCamera(room);
    const foreign = await stranger(cam.url);
    foreign.send({ t: 'hello', v: 1, r: (await Room.create()).id, id: newDeviceId() });
    assert.equal(await foreign.closed, 4003);
    // Slow-loris: 100 connections that never say hello. The transport caps pending ones and closes them all.
    const silent = await Promise.all(Array.from({ length: 100 }, () => stranger(cam.url).catch(() => undefined)));
    const codes = await Promise.all(silent.map((s) => s?.closed ?? Promise.resolve(-1)));
    assert.equal(codes.length, 100);
    assert.ok(cam.transport.stats.rejected >= 100, `rejected ${cam.transport.stats.rejected}`);
    // Once they are gone, a member links as usual.
    const viewer = new SealedChannel(room, new LanTransport({ role: 'viewer', env: OFF, peers: [cam.url] }), {
      self: newDeviceId(),
      presence: { name: 'v', role: 'viewer' },
    });
    closers.push(() => viewer.close());
    await viewer.start();
    await waitFor(() => cam.channel.peers.has(viewer.self) && viewer.peers.has(cam.channel.self), { timeoutMs: 5000, what: 'the member linked' });
  });
});
