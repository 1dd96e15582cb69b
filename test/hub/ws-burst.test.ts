import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { BROKER_LIMITS, type EmbeddedBroker, startEmbeddedBroker } from '../../src/hub/broker.js';
import { newDeviceId, Room, topics } from '../../src/protocol/index.js';
import { mqttClientId } from '../../src/signaling/mqtt-client-id.js';
import { varint } from '../../src/signaling/mqtt-packets.js';
import { waitFor } from '../helpers/wait.js';
import { closeServer } from '../helpers/http.js';

const str = (s: string) => {
  const b = Buffer.from(s, 'utf8');
  return Buffer.concat([Buffer.from([b.length >> 8, b.length & 0xff]), b]);
};
const packet = (type: number, body: Buffer) => Buffer.concat([Buffer.from([type]), varint(body.length), body]);

/**
 * Issue 15: a page's MQTT.js joins the packets it queued while the WebSocket was busy into one message (a grid offering
 * to 9 cameras at once: ~75 KB). The hub's broker must read them (MQTT 3.1.1 section 6.0 allows several packets per
 * message) and still hold each packet to its size limit.
 */
describe('embedded broker over WebSocket: several packets in one message', () => {
  let broker: EmbeddedBroker;
  let url: string;
  let room: Room;
  const http = createServer();

  before(async () => {
    room = await Room.create();
    broker = await startEmbeddedBroker({ members: { room: room.id, credentials: room.credentials } });
    broker.attachWebSocket(http);
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    url = `ws://127.0.0.1:${(http.address() as AddressInfo).port}/mqtt`;
  });
  after(async () => {
    // The broker first: it ends the WebSockets upgraded from this server, which the server's close() waits for.
    await broker.close();
    await closeServer(http);
  });

  /** A member's WebSocket, logged in (CONNACK accepted): its received messages in `got`, one entry per message. */
  const member = async (self = newDeviceId()) => {
    const ws = new WebSocket(url, 'mqtt');
    const got: Buffer[] = [];
    const link = { ws, got, closedWith: undefined as number | undefined };
    ws.on('message', (data: Buffer) => got.push(data));
    ws.on('close', (code) => (link.closedWith = code));
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    const { brokerUsername, brokerPassword } = room.credentials;
    // CONNECT: protocol MQTT level 4, flags user name + password + clean session, keepalive 60 s.
    const head = Buffer.concat([str('MQTT'), Buffer.from([4, 0xc2, 0, 60])]);
    ws.send(packet(0x10, Buffer.concat([head, str(mqttClientId(self)), str(brokerUsername), str(brokerPassword)])));
    await waitFor(() => Buffer.concat(got).subarray(0, 4).equals(Buffer.from([0x20, 2, 0, 0])), { timeoutMs: 5000, what: 'CONNACK accepted' });
    got.length = 0;
    return link;
  };

  it('ten 8 KB offers in one 80 KB message are all acknowledged, and the connection stays up', async () => {
    const link = await member();
    const { ws, got } = link;
    const inbox = topics.inbox(room.id, newDeviceId());
    const publishes = Array.from({ length: 10 }, (_, i) =>
      packet(0x32, Buffer.concat([str(inbox), Buffer.from([0, i + 1]), Buffer.alloc(8000, 0x41)])),
    );
    const burst = Buffer.concat(publishes);
    assert.ok(burst.length > BROKER_LIMITS.packetBytes, 'the message is larger than one packet may be');
    ws.send(burst);
    await waitFor(() => Buffer.concat(got).length >= 40 || link.closedWith !== undefined, { timeoutMs: 10_000, what: '10 PUBACKs' });
    assert.equal(link.closedWith, undefined, 'the broker kept the connection');
    const acks = Buffer.concat(got);
    for (let i = 0; i < 10; i++) assert.deepEqual([...acks.subarray(i * 4, i * 4 + 4)], [0x40, 2, 0, i + 1]);
    ws.close();
  });

  it('a packet the broker delivers comes in one WebSocket message, not in pieces (one task each in a page)', async () => {
    const self = newDeviceId();
    const reader = await member(self);
    const inbox = topics.inbox(room.id, self);
    reader.ws.send(packet(0x82, Buffer.concat([Buffer.from([0, 1]), str(inbox), Buffer.from([0])])));
    await waitFor(() => Buffer.concat(reader.got).subarray(0, 5).equals(Buffer.from([0x90, 3, 0, 1, 0])), { timeoutMs: 5000, what: 'SUBACK' });
    reader.got.length = 0;
    const writer = await member();
    const payload = Buffer.alloc(3000, 0x42);
    writer.ws.send(packet(0x30, Buffer.concat([str(inbox), payload])));
    await waitFor(() => Buffer.concat(reader.got).includes(payload), { timeoutMs: 5000, what: 'the PUBLISH delivered' });
    // aedes writes a PUBLISH in pieces (type, length, topic, payload): without joining them, 5 messages here.
    assert.equal(reader.got.length, 1, `the PUBLISH came in ${reader.got.length} WebSocket messages`);
    assert.deepEqual(reader.got[0], packet(0x30, Buffer.concat([str(inbox), payload])));
    reader.ws.close();
    writer.ws.close();
  });
});
