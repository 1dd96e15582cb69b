import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { newDeviceId, PeercamError, Room } from '../../src/protocol/index.js';
import { SealedChannel } from '../../src/signaling/channel.js';
import { LanTransport, MAX_FRAME_BYTES } from '../../src/signaling/lan/index.js';
import type { TransportHandlers } from '../../src/signaling/transport.js';
import { waitFor } from '../helpers/wait.js';

/** Direct links on loopback with mDNS off (static peers): the link rules, no multicast involved. */
const OFF = { PEERCAM_MDNS: 'off' };

function recorder() {
  const presence: [string, string | Uint8Array | null][] = [];
  const inbox: (string | Uint8Array)[] = [];
  const handlers: TransportHandlers = { presence: (d, p) => presence.push([d, p]), inbox: (p) => inbox.push(p), state: () => {} };
  return { presence, inbox, handlers };
}

const closers: (() => Promise<void>)[] = [];
after(async () => {
  for (const close of closers.splice(0)) await close();
});

async function openTransport(room: string, options: Partial<ConstructorParameters<typeof LanTransport>[0]> = {}) {
  const transport = new LanTransport({ role: 'camera', env: OFF, ...options });
  const rec = recorder();
  const self = newDeviceId();
  await transport.open(room, self, rec.handlers);
  closers.push(() => transport.close());
  return { transport, self, ...rec };
}

/** A hand-driven WebSocket client, to speak bad frames at a transport. */
async function rawClient(port: number) {
  const ws = new WebSocket(`ws://127.0.0.1:${port}`);
  closers.push(async () => ws.terminate());
  const frames: { t: string }[] = [];
  ws.on('message', (data) => frames.push(JSON.parse(String(data)) as { t: string }));
  const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
  ws.on('error', () => {});
  await new Promise((resolve) => ws.once('open', resolve));
  return { ws, frames, closed };
}

describe('LAN links (loopback, static peers, PEERCAM_MDNS=off)', () => {
  it('two SealedChannels meet over a static peer: presence, a message, gone on close', async () => {
    const room = await Room.create();
    const camTransport = new LanTransport({ role: 'camera', env: OFF });
    const cam = new SealedChannel(room, camTransport, { self: newDeviceId(), presence: { name: 'cam', role: 'camera' } });
    closers.push(() => cam.close());
    await cam.start();
    const viewerTransport = new LanTransport({ role: 'viewer', env: OFF, peers: [`ws://127.0.0.1:${camTransport.port}`] });
    const viewer = new SealedChannel(room, viewerTransport, { self: newDeviceId(), presence: { name: 'viewer', role: 'viewer' } });
    closers.push(() => viewer.close());
    await viewer.start();
    await waitFor(() => viewer.peers.has(cam.self) && cam.peers.has(viewer.self), { timeoutMs: 3000, what: 'both see each other' });
    assert.equal(viewer.peers.get(cam.self)?.name, 'cam');
    assert.equal(viewer.peers.get(cam.self)?.via, 'lan');
    const got = new Promise<string>((resolve) => cam.on('message', (e) => resolve(JSON.stringify(e.body))));
    await viewer.send(cam.self, 'hangup', 's1', { reason: 'over the link' });
    assert.equal(await got, JSON.stringify({ reason: 'over the link' }));
    const gone = new Promise<string>((resolve) => viewer.on('gone', resolve));
    await cam.close();
    assert.equal(await gone, cam.self);
  });

  it('PEERCAM_MDNS=off wins over advertise/browse options', async () => {
    const { transport } = await openTransport((await Room.create()).id, { advertise: true, browse: true });
    assert.equal(transport.mdnsBinding(), undefined);
  });

  it('a connection that says nothing is closed after 5 s (slow-loris)', async () => {
    const { transport } = await openTransport((await Room.create()).id);
    const client = await rawClient(transport.port);
    const started = Date.now();
    assert.equal(await client.closed, 4008);
    assert.ok(Date.now() - started >= 4500);
    assert.equal(transport.stats.rejected, 1);
  });

  it('closes a link whose first frame is not a hello, and one from another room', async () => {
    const room = (await Room.create()).id;
    const { transport, presence } = await openTransport(room);
    const first = await rawClient(transport.port);
    first.ws.send(JSON.stringify({ t: 'presence', p: 'x' }));
    assert.equal(await first.closed, 1008);
    const foreign = await rawClient(transport.port);
    foreign.ws.send(JSON.stringify({ t: 'hello', v: 1, r: (await Room.create()).id, id: newDeviceId() }));
    foreign.ws.send(JSON.stringify({ t: 'presence', p: 'x' }));
    assert.equal(await foreign.closed, 4003);
    assert.deepEqual(presence, []);
    assert.deepEqual(transport.connected(), []);
  });

  it('closes a link on an unknown frame, a malformed one, and one over 64 KiB', async () => {
    const room = (await Room.create()).id;
    const { transport } = await openTransport(room);
    const hello = () => JSON.stringify({ t: 'hello', v: 1, r: room, id: newDeviceId() });
    for (const bad of [JSON.stringify({ t: 'shout', p: 'x' }), '{not json', JSON.stringify({ t: 'msg', p: 'x', extra: 1 })]) {
      const c = await rawClient(transport.port);
      c.ws.send(hello());
      c.ws.send(bad);
      assert.equal(await c.closed, 1008, bad);
    }
    const big = await rawClient(transport.port);
    big.ws.send(hello());
    big.ws.send(JSON.stringify({ t: 'msg', p: 'x'.repeat(MAX_FRAME_BYTES) }));
    assert.equal(await big.closed, 1009);
  });

  it('reports a device gone within 3 s when it stops answering heartbeats', async () => {
    const room = (await Room.create()).id;
    const { transport, presence } = await openTransport(room);
    const c = await rawClient(transport.port);
    const id = newDeviceId();
    c.ws.send(JSON.stringify({ t: 'hello', v: 1, r: room, id }));
    c.ws.send(JSON.stringify({ t: 'presence', p: 'sealed-presence' }));
    await waitFor(() => presence.length === 1, { timeoutMs: 2000, what: 'presence' });
    assert.deepEqual(presence[0], [id, 'sealed-presence']);
    const silentFrom = Date.now();
    await waitFor(() => presence.length === 2, { timeoutMs: 4000, what: 'presence cleared' });
    assert.deepEqual(presence[1], [id, null]);
    assert.ok(Date.now() - silentFrom <= 3000);
    assert.ok(c.frames.some((f) => f.t === 'hello') && c.frames.some((f) => f.t === 'ping'));
  });

  it('both ends dialing each other end up with one link each way, and messages flow', async () => {
    const room = (await Room.create()).id;
    const [pa, pb] = [await freePort(), await freePort()];
    const a = await openTransport(room, { port: pa, peers: [`ws://127.0.0.1:${pb}`] });
    const b = await openTransport(room, { port: pb, peers: [`ws://127.0.0.1:${pa}`] });
    await waitFor(() => a.transport.connected().length === 1 && b.transport.connected().length === 1, { timeoutMs: 3000, what: 'linked' });
    // Let a duplicate (if both dials got through) be retired, then check the survivor still carries messages.
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.deepEqual(a.transport.connected(), [b.self]);
    assert.deepEqual(b.transport.connected(), [a.self]);
    await b.transport.send(a.self, 'payload-1');
    await a.transport.send(b.self, 'payload-2');
    await waitFor(() => a.inbox.length === 1 && b.inbox.length === 1, { timeoutMs: 2000, what: 'messages' });
    assert.deepEqual([a.inbox, b.inbox], [['payload-1'], ['payload-2']]);
    await assert.rejects(b.transport.send(newDeviceId(), 'x'), (err) => err instanceof PeercamError && err.code === 'not-found');
  });

  it('a busy port and an unknown interface are clear configuration errors', async () => {
    const room = (await Room.create()).id;
    const { transport } = await openTransport(room);
    await assert.rejects(openTransport(room, { port: transport.port }), (err) => err instanceof PeercamError && err.code === 'bad-config' && /already in use/.test(err.message));
    await assert.rejects(openTransport(room, { interface: 'nosuch0@if7' }), (err) => err instanceof PeercamError && err.code === 'bad-config' && /nosuch0/.test(err.message));
  });
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (typeof address !== 'object' || address === null) throw new Error('no port');
  return address.port;
}
