import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import mqtt from 'mqtt';
import {
  Courier,
  type DropReason,
  type Envelope,
  fromBase64Url,
  newDeviceId,
  newSessionId,
  Room,
  toBase64Url,
  topics,
} from '../../src/protocol/index.js';
import { SealedChannel } from '../../src/signaling/channel.js';
import { MqttTransport } from '../../src/signaling/mqtt.js';
import { type MosquittoBroker, startMosquitto } from '../helpers/brokers.js';
import { nextEvent, waitFor } from '../helpers/wait.js';

const SDP = [
  'v=0',
  'o=- 4611731400430051336 2 IN IP4 127.0.0.1',
  's=-',
  't=0 0',
  'a=group:BUNDLE 0 1',
  'm=video 9 UDP/TLS/RTP/SAVPF 96 97',
  'c=IN IP4 0.0.0.0',
  'a=ice-ufrag:Xq7c',
  'a=ice-pwd:4xk3Nfx9qg0LdWdGSEvkm1Pj',
  'a=fingerprint:sha-256 7B:8B:F0:65:5F:78:E2:51:3B:AC:6F:F3:3F:46:1B:35:DC:B8:5F:64:1A:24:C2:43:F0:A1:58:D0:A1:2C:19:08',
  'a=setup:actpass',
  'a=mid:0',
  'a=recvonly',
  'a=rtpmap:96 H264/90000',
  'a=fmtp:96 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f',
  'a=candidate:1467250027 1 udp 2122260223 192.168.1.23 54321 typ host generation 0',
  '',
].join('\r\n');
const CAMERA_NAME = 'Kitchen Window Cam';
const VIEWER_NAME = 'Grandma iPad';
const ROOM_NAME = 'Grandmas House';

interface Captured {
  topic: string;
  payload: Buffer;
}

describe('security against a broker eavesdropper and injector (Mosquitto)', () => {
  let broker: MosquittoBroker;
  before(async () => {
    broker = await startMosquitto();
  });
  after(() => broker.stop());

  it('leaks nothing readable and drops forged, tampered, replayed, stale, oversized and malformed messages', async (t) => {
    const room = await Room.create({ name: ROOM_NAME });
    const outsider = await mqtt.connectAsync(broker.url, { protocolVersion: 5, reconnectPeriod: 0 });
    t.after(() => outsider.endAsync(true));
    const captured: Captured[] = [];
    outsider.on('message', (topic, payload) => captured.push({ topic, payload }));
    await outsider.subscribeAsync('#', { qos: 1 });

    const member = async (name: string, role: 'camera' | 'viewer') => {
      const channel = new SealedChannel(room, new MqttTransport({ url: broker.url }), { self: newDeviceId(), presence: { name, role } });
      t.after(() => channel.close());
      await channel.start();
      return channel;
    };
    const a = await member(CAMERA_NAME, 'camera');
    const b = await member(VIEWER_NAME, 'viewer');
    const received: Envelope[] = [];
    const dropped: { reason: DropReason; detail: string }[] = [];
    b.on('message', (m) => received.push(m));
    b.on('dropped', (reason, detail) => dropped.push({ reason, detail }));
    await waitFor(() => a.peers.has(b.self) && b.peers.has(a.self), { timeoutMs: 2000, what: 'a and b present' });

    const sid = newSessionId();
    await a.send(b.self, 'offer', sid, { sdp: SDP, gen: 0, source: 'kitchen' });
    await a.send(b.self, 'candidates', sid, {
      gen: 0,
      ufrag: 'Xq7c',
      candidates: [{ candidate: 'candidate:842163049 1 udp 1677729535 203.0.113.7 61000 typ srflx raddr 0.0.0.0 rport 0', mid: '0' }],
      done: true,
    });
    await waitFor(() => received.length === 2, { timeoutMs: 2000, what: 'b receiving offer and candidates' });
    const inboxB = topics.inbox(room.id, b.self);
    await waitFor(() => captured.filter((c) => c.topic === inboxB).length === 2, { timeoutMs: 2000, what: 'the outsider capturing both' });
    assert.equal(received[0]?.type === 'offer' && received[0].body.sdp, SDP, 'the SDP arrives intact');

    // What the broker (or anyone subscribed to #) learns: topic ids and opaque base64url, nothing else.
    const snapshot = captured.slice();
    assert.ok(snapshot.some((c) => c.topic === topics.presence(room.id, a.self) && c.payload.length > 0), 'presence was captured');
    const forbidden = [CAMERA_NAME, VIEWER_NAME, ROOM_NAME, 'v=0', 'candidate', 'sdp', 'offer', 'camera', 'viewer', '192.168.', 'H264', 'ice-'];
    for (const { topic, payload } of snapshot) {
      assert.match(topic, /^peercam\/v1\/[a-z2-7]{20}\/(presence|to)\/[a-z2-7]{16}$/);
      const text = payload.toString('latin1');
      assert.match(text, /^[A-Za-z0-9_-]*$/, `payload on ${topic} is base64url`);
      const decoded = Buffer.from(fromBase64Url(text) ?? new Uint8Array()).toString('latin1');
      // The base64url text itself is random letters (a 3-letter word turns up by chance in ~1 run of 8), so it is
      // checked for its alphabet above; the words are looked for in the topic and in the bytes it carries.
      for (const word of forbidden)
        for (const seen of [topic, decoded]) assert.ok(!seen.includes(word), `"${word}" visible on ${topic}`);
    }

    // Now the outsider writes into b's inbox. Each attempt must be dropped for the right reason, and nothing throws.
    const offer = snapshot.find((c) => c.topic === inboxB)!.payload.toString();
    const attempt = async (what: string, payload: string | Buffer, reason: DropReason, topic = inboxB) => {
      const next = nextEvent<[DropReason, string]>((l) => b.on('dropped', l), { timeoutMs: 2000, what: `the ${what} message to be dropped` });
      await outsider.publishAsync(topic, payload, { qos: 1 });
      const [got, detail] = await next;
      assert.equal(got, reason, `${what}: dropped as ${got} (${detail})`);
    };
    const otherRoom = await Room.create();
    await attempt('forged', (await new Courier(otherRoom, a.self).seal(b.self, 'hangup', sid, { reason: 'forged' })).payload, 'bad-tag');
    const bytes = fromBase64Url(offer)!;
    bytes[Math.floor(bytes.length / 2)]! ^= 0x01;
    await attempt('tampered', toBase64Url(bytes), 'bad-tag');
    await attempt('replayed', offer, 'replay');
    const behind = new Courier(room, newDeviceId(), { now: () => Date.now() - 120_000 });
    await attempt('stale', (await behind.seal(b.self, 'offer', newSessionId(), { sdp: SDP, gen: 0 })).payload, 'stale');
    await attempt('oversized', Buffer.alloc(100 * 1024, 'A'), 'oversize');
    await attempt('non-base64', 'this is not a sealed box!', 'malformed');
    await attempt('JSON garbage', '{"v":1,"type":"offer","from":"x","body":{}}', 'malformed');
    await attempt('binary garbage', Buffer.from([0xff, 0xfe, 0x00, 0x80]), 'malformed');
    // A presence slot is no easier: a fake device with a forged presence never becomes a peer.
    const fake = newDeviceId();
    await attempt('forged presence', 'AAAA', 'malformed', topics.presence(room.id, fake));
    await attempt('foreign presence', (await new Courier(otherRoom, fake).sealPresence({ name: 'x', role: 'camera' })).payload, 'bad-tag', topics.presence(room.id, fake));
    assert.equal(b.peers.has(fake), false);
    assert.equal(received.length, 2, 'nothing injected was accepted');

    // b is unharmed: still online, and a legitimate message still arrives.
    assert.equal(b.state, 'online');
    const legit = nextEvent<[Envelope]>((l) => b.on('message', l), { timeoutMs: 2000, what: 'the legitimate message' });
    await a.send(b.self, 'hangup', sid, { reason: 'done' });
    const [m] = await legit;
    assert.equal(m.type, 'hangup');
    assert.equal(m.from, a.self);
    assert.equal(dropped.length, 10);
  });
});
