import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  BROADCAST,
  Courier,
  type DeviceId,
  fromBase64Url,
  MAX_SEALED_BYTES,
  newDeviceId,
  type Opened,
  Room,
  toBase64Url,
  topics,
  utf8,
} from '../../src/protocol/index.js';

const body = { sdp: 'v=0\r\n', gen: 0 };

async function pair() {
  const room = await Room.create();
  const [a, b] = [newDeviceId(), newDeviceId()];
  return { room, a, b, alice: new Courier(room, a), bob: new Courier(room, b) };
}

/** Seals an arbitrary plaintext envelope at `address` with the room key, as a member with a patched client could. */
async function sealRaw(room: Room, address: string, envelope: unknown): Promise<string> {
  return room.key.seal(utf8.encode(JSON.stringify(envelope)), address);
}

function dropped(opened: Opened, reason: string): void {
  assert.equal(opened.ok, false, 'expected a drop');
  if (!opened.ok) assert.equal(opened.reason, reason, opened.detail);
}

describe('Courier', () => {
  it('round-trips every field of a message to its recipient', async () => {
    const { room, a, b, alice, bob } = await pair();
    const { address, payload } = await alice.seal(b, 'offer', 'sid1', body);
    assert.equal(address, topics.inbox(room.id, b));
    assert.match(payload, /^[A-Za-z0-9_-]+$/);
    const opened = await bob.open(payload);
    assert.ok(opened.ok);
    assert.equal(opened.envelope.type, 'offer');
    assert.equal(opened.envelope.from, a);
    assert.equal(opened.envelope.to, b);
    assert.equal(opened.envelope.sid, 'sid1');
    assert.deepEqual(opened.envelope.body, body);
  });

  it('round-trips presence and exempts it from replay (it is retained and re-read)', async () => {
    const { a, alice, bob } = await pair();
    const { payload } = await alice.sealPresence({ name: 'porch', role: 'camera' });
    for (let i = 0; i < 2; i++) {
      const opened = await bob.openPresence(a, payload);
      assert.ok(opened.ok);
      assert.equal(opened.envelope.body.name, 'porch');
      assert.equal(opened.envelope.to, BROADCAST);
    }
  });

  it('numbers messages upwards so a receiver can tell them apart', async () => {
    const { b, alice, bob } = await pair();
    const seqs: number[] = [];
    for (let i = 0; i < 3; i++) {
      const opened = await bob.open((await alice.seal(b, 'hangup', 's', { reason: `${i}` })).payload);
      assert.ok(opened.ok);
      seqs.push(opened.envelope.seq);
    }
    assert.ok(seqs[0]! < seqs[1]! && seqs[1]! < seqs[2]!);
  });

  it('drops a message whose envelope names another recipient', async () => {
    const { room, a, b, bob } = await pair();
    const c = newDeviceId();
    // Sealed at b's inbox (so authentication passes) but addressed to c inside.
    const payload = await sealRaw(room, topics.inbox(room.id, b), { v: 1, type: 'hangup', from: a, to: c, sid: 's', seq: 1, ts: Date.now(), body: { reason: 'x' } });
    dropped(await bob.open(payload), 'wrong-recipient');
  });

  it('drops a replay, and keeps accepting new messages from the same sender', async () => {
    const { b, alice, bob } = await pair();
    const first = (await alice.seal(b, 'hangup', 's', { reason: 'x' })).payload;
    assert.ok((await bob.open(first)).ok);
    dropped(await bob.open(first), 'replay');
    assert.ok((await bob.open((await alice.seal(b, 'hangup', 's', { reason: 'y' })).payload)).ok);
  });

  it('drops a message more than 60 s off the receiver clock, either way', async () => {
    const { room, a, b } = await pair();
    const now = Date.now();
    const bob = new Courier(room, b, { now: () => now });
    for (const skew of [-61_000, 61_000]) {
      const sender = new Courier(room, a, { now: () => now + skew });
      dropped(await bob.open((await sender.seal(b, 'hangup', 's', { reason: 'x' })).payload), 'stale');
    }
    const close = new Courier(room, a, { now: () => now - 59_000 });
    assert.ok((await bob.open((await close.seal(b, 'hangup', 's', { reason: 'x' })).payload)).ok, '59 s is within the window');
  });

  it('drops an unknown protocol version', async () => {
    const { room, a, b, bob } = await pair();
    const payload = await sealRaw(room, topics.inbox(room.id, b), { v: 2, type: 'hangup', from: a, to: b, sid: 's', seq: 1, ts: Date.now(), body: { reason: 'x' } });
    dropped(await bob.open(payload), 'unknown-version');
  });

  it('drops malformed payloads: not base64url, too short, not UTF-8, not JSON, wrong schema, presence in an inbox', async () => {
    const { room, a, b, bob } = await pair();
    const inbox = topics.inbox(room.id, b);
    dropped(await bob.open('not base64!'), 'malformed');
    dropped(await bob.open('AAAA'), 'malformed');
    dropped(await bob.open(new Uint8Array([0xff, 0xfe, 0xfd])), 'malformed');
    dropped(await bob.open(await room.key.seal(utf8.encode('{"v":1,'), inbox)), 'malformed');
    const header = { v: 1, from: a, to: b, sid: 's', seq: 1, ts: Date.now() };
    dropped(await bob.open(await sealRaw(room, inbox, { ...header, type: 'offer', body: { sdp: 42 } })), 'malformed');
    dropped(await bob.open(await sealRaw(room, inbox, { ...header, type: 'teleport', body: {} })), 'malformed');
    dropped(await bob.open(await sealRaw(room, inbox, { ...header, from: 'NOT-AN-ID', type: 'hangup', body: { reason: 'x' } })), 'malformed');
    dropped(await bob.open(await sealRaw(room, inbox, { ...header, type: 'presence', body: { name: 'x', role: 'camera' } })), 'malformed');
  });

  it('drops anything over 64 KiB before trying to open it', async () => {
    const { bob } = await pair();
    dropped(await bob.open('A'.repeat(MAX_SEALED_BYTES + 1)), 'oversize');
  });

  it('drops a forgery (another room key) and a tampered payload as bad-tag', async () => {
    const { a, b, alice, bob } = await pair();
    const stranger = new Courier(await Room.create(), a);
    dropped(await bob.open((await stranger.seal(b, 'hangup', 's', { reason: 'x' })).payload), 'bad-tag');
    const good = (await alice.seal(b, 'hangup', 's', { reason: 'x' })).payload;
    for (const at of [0, 12, -1]) {
      const bytes = fromBase64Url(good)!;
      const i = at < 0 ? bytes.length + at : at;
      bytes[i] = bytes[i]! ^ 0x80;
      dropped(await bob.open(toBase64Url(bytes)), 'bad-tag');
    }
  });

  it('binds a message to its address: moved to another inbox or presence slot, it fails authentication', async () => {
    const { room, a, b, alice } = await pair();
    const c = newDeviceId();
    const carol = new Courier(room, c);
    const toBob = (await alice.seal(b, 'hangup', 's', { reason: 'x' })).payload;
    dropped(await carol.open(toBob), 'bad-tag');
    const presence = (await alice.sealPresence({ name: 'alice', role: 'camera' })).payload;
    dropped(await carol.openPresence(b, presence), 'bad-tag');
    dropped(await carol.open(presence), 'bad-tag');
    assert.ok((await carol.openPresence(a, presence)).ok);
  });

  it("rejects a presence that names another device than its slot's", async () => {
    const { room, a, bob } = await pair();
    const impostor: DeviceId = newDeviceId();
    // Sealed at a's slot with the room key, claiming to be someone else.
    const payload = await sealRaw(room, topics.presence(room.id, a), {
      v: 1,
      type: 'presence',
      from: impostor,
      to: BROADCAST,
      sid: '',
      seq: 1,
      ts: Date.now(),
      body: { name: 'x', role: 'camera' },
    });
    dropped(await bob.openPresence(a, payload), 'malformed');
    const notBroadcast = await sealRaw(room, topics.presence(room.id, a), {
      v: 1,
      type: 'presence',
      from: a,
      to: impostor,
      sid: '',
      seq: 1,
      ts: Date.now(),
      body: { name: 'x', role: 'camera' },
    });
    dropped(await bob.openPresence(a, notBroadcast), 'malformed');
  });

  it('refuses to seal a message that would be over the limit', async () => {
    const { b, alice } = await pair();
    // 48 KiB of SDP passes the schema but not the 64 KiB sealed limit once base64url adds a third.
    await assert.rejects(alice.seal(b, 'offer', 's', { sdp: 'x'.repeat(48 * 1024), gen: 0 }), RangeError);
    await alice.seal(b, 'offer', 's', { sdp: 'x'.repeat(40 * 1024), gen: 0 });
  });
});
