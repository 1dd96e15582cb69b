import assert from 'node:assert/strict';
import { connect, createServer } from 'node:net';
import { after, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { newDeviceId, PeercamError, Room } from '../../src/protocol/index.js';
import { SealedChannel } from '../../src/signaling/channel.js';
import { HELLO_TIMEOUT_MS, LINK_LIMITS, LanTransport, MAX_FRAME_BYTES, SERVER_LIMITS } from '../../src/signaling/lan/index.js';
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
async function rawClient(port: number, localAddress = '127.0.0.1', answerPings = false) {
  const ws = new WebSocket(`ws://127.0.0.1:${port}`, { localAddress });
  closers.push(async () => ws.terminate());
  const frames: { t: string }[] = [];
  ws.on('message', (data) => frames.push(JSON.parse(String(data)) as { t: string }));
  const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
  ws.on('error', () => {});
  await new Promise((resolve) => ws.once('open', resolve));
  const send = (frame: object) => ws.send(JSON.stringify(frame));
  if (answerPings) ws.on('message', (data) => String(data) === '{"t":"ping"}' && send({ t: 'pong' }));
  /** Sends a ping and waits for its pong: the transport has handled every frame sent before. */
  const sync = async () => {
    const pongs = frames.filter((f) => f.t === 'pong').length;
    send({ t: 'ping' });
    await waitFor(() => frames.filter((f) => f.t === 'pong').length > pongs, { timeoutMs: 2000, what: 'a pong' });
  };
  return { ws, frames, closed, send, sync };
}

/** A transport whose handlers stand in for the Channel: payloads starting with `good` are "authentic". */
async function judgedTransport(room: string) {
  const rec = recorder();
  const transport = new LanTransport({ role: 'camera', env: OFF });
  const self = newDeviceId();
  await transport.open(room, self, {
    ...rec.handlers,
    presence: (d, p) => {
      rec.presence.push([d, p]);
      if (typeof p === 'string') transport.presenceChecked(d, p, p.startsWith('good'));
    },
  });
  closers.push(() => transport.close());
  return { transport, self, ...rec };
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

  it('a connection that says nothing is closed after 2 s (slow-loris), at the WebSocket and at the HTTP stage', async () => {
    assert.equal(HELLO_TIMEOUT_MS, 2000);
    const { transport } = await openTransport((await Room.create()).id);
    const client = await rawClient(transport.port);
    const started = Date.now();
    // A bare TCP connection that never sends its upgrade request is closed by the same deadline.
    const tcp = connect(transport.port, '127.0.0.1');
    closers.push(async () => void tcp.destroy());
    const tcpClosed = new Promise<number>((resolve) => tcp.once('close', () => resolve(Date.now() - started)));
    assert.equal(await client.closed, 4008);
    assert.ok(Date.now() - started >= 1500);
    assert.equal(transport.stats.rejected, 1);
    const tcpAfter = await tcpClosed;
    assert.ok(tcpAfter >= 1500 && tcpAfter < 4000, `bare TCP connection closed after ${tcpAfter} ms`);
    // A plain HTTP request is answered and closed, not kept.
    const res = await fetch(`http://127.0.0.1:${transport.port}/`);
    assert.equal(res.status, 426);
    await res.text();
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

  it("a second link claiming a linked device's id never replaces it, and its presence frames are ignored", async () => {
    const room = (await Room.create()).id;
    const { transport, presence, inbox } = await judgedTransport(room);
    const id = newDeviceId();
    const member = await rawClient(transport.port);
    member.send({ t: 'hello', v: 1, r: room, id });
    member.send({ t: 'presence', p: 'good-1' });
    await member.sync();
    assert.deepEqual(presence, [[id, 'good-1']]);
    const impostor = await rawClient(transport.port);
    impostor.send({ t: 'hello', v: 1, r: room, id });
    impostor.send({ t: 'presence', p: 'junk' });
    impostor.send({ t: 'presence' });
    impostor.send({ t: 'msg', p: 'from-the-impostor' });
    await impostor.sync();
    assert.deepEqual(presence, [[id, 'good-1']], 'nothing from the impostor reached the Channel but its message');
    assert.deepEqual(inbox, ['from-the-impostor'], 'messages from any link go up (the Channel authenticates them)');
    // Our messages to that device go to the member's link only.
    await transport.send(id, 'for-the-member');
    await member.sync();
    assert.ok(member.frames.some((f) => f.t === 'msg'));
    assert.ok(!impostor.frames.some((f) => f.t === 'msg'));
    // The member's own clear, and its link closing, do count.
    member.send({ t: 'presence' });
    await member.sync();
    assert.deepEqual(presence.at(-1), [id, null]);
    member.send({ t: 'presence', p: 'good-2' });
    await member.sync();
    assert.deepEqual(presence.at(-1), [id, 'good-2']);
    member.ws.terminate();
    await waitFor(() => presence.length === 4, { timeoutMs: 2000, what: 'the member gone' });
    assert.deepEqual(presence.at(-1), [id, null]);
    assert.deepEqual(transport.connected(), [id], 'the impostor link stays, holding nothing');
  });

  it("a device's duplicate links carrying the same presence: losing one does not make it leave", async () => {
    const room = (await Room.create()).id;
    const { transport, presence } = await judgedTransport(room);
    const id = newDeviceId();
    const [one, two] = [await rawClient(transport.port), await rawClient(transport.port)];
    for (const c of [one, two]) {
      c.send({ t: 'hello', v: 1, r: room, id });
      c.send({ t: 'presence', p: 'good-same' });
      await c.sync();
    }
    assert.deepEqual(presence, [[id, 'good-same']]);
    one.ws.terminate();
    await one.closed;
    await two.sync();
    assert.deepEqual(presence, [[id, 'good-same']]);
    two.send({ t: 'presence' });
    await two.sync();
    assert.deepEqual(presence.at(-1), [id, null]);
  });

  it('limits links: per device id, per address, and in all', async () => {
    const room = (await Room.create()).id;
    const { transport } = await openTransport(room);
    const linked = async (id: string, from: string) => {
      const c = await rawClient(transport.port, from, true); // alive: it answers heartbeats
      c.send({ t: 'hello', v: 1, r: room, id });
      await Promise.race([waitFor(() => c.frames.some((f) => f.t === 'ping'), { timeoutMs: 2000, what: 'a ping' }), c.closed]);
      return c;
    };
    const id = newDeviceId();
    for (let i = 0; i < LINK_LIMITS.perDevice; i++) await linked(id, '127.0.0.1');
    assert.equal(await (await linked(id, '127.0.0.1')).closed, 4029, 'one more link to the same id');
    // TCP connections per address: the first 32 (the 4 links above included) stay, the next is dropped at once.
    const tcp = Array.from({ length: SERVER_LIMITS.connectionsPerAddress - LINK_LIMITS.perDevice + 1 }, () => {
      const socket = connect({ port: transport.port, host: '127.0.0.1', localAddress: '127.0.0.1' });
      closers.push(async () => void socket.destroy());
      socket.on('error', () => {});
      return new Promise<boolean>((resolve) => {
        socket.once('close', () => resolve(false));
        setTimeout(() => resolve(!socket.destroyed), 300);
      });
    });
    assert.equal((await Promise.all(tcp)).filter((open) => open).length, SERVER_LIMITS.connectionsPerAddress - LINK_LIMITS.perDevice);
    // Links in all: fill up from other addresses, one id each.
    let n = transport.connected().length === 1 ? LINK_LIMITS.perDevice : 0;
    for (let host = 2; n < LINK_LIMITS.total; host++)
      for (let i = 0; i < SERVER_LIMITS.connectionsPerAddress && n < LINK_LIMITS.total; i++, n++) await linked(newDeviceId(), `127.0.0.${host}`);
    assert.equal(transport.connected().length, LINK_LIMITS.total - LINK_LIMITS.perDevice + 1);
    assert.equal(await (await linked(newDeviceId(), '127.0.0.9')).closed, 4029, 'one link over the total');
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
