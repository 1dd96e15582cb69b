import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { createServer, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { generate } from 'selfsigned';
import type { Logger } from '../../src/protocol/index.js';
import { after, describe, it } from 'node:test';
import { frameLength, TurnBridge } from '../../src/media/ndc/turn-bridge.js';

const stun = (bodyLength: number) => {
  const m = Buffer.alloc(20 + bodyLength);
  m.writeUInt16BE(0x0101, 0); // binding success
  m.writeUInt16BE(bodyLength, 2);
  m.writeUInt32BE(0x2112a442, 4);
  return m;
};
const channelData = (payload: string) => {
  const body = Buffer.from(payload);
  const m = Buffer.alloc(4 + body.length);
  m.writeUInt16BE(0x4001, 0);
  m.writeUInt16BE(body.length, 2);
  body.copy(m, 4);
  return m;
};

describe('TURN bridge framing (RFC 8656 12.5)', () => {
  it('measures STUN and ChannelData frames, asks for more bytes, refuses anything else', () => {
    assert.equal(frameLength(stun(8)), 28);
    assert.equal(frameLength(channelData('hello')), 9);
    assert.equal(frameLength(Buffer.from([0x40, 0x01])), undefined);
    assert.equal(frameLength(Buffer.from([0x80, 0, 0, 0])), -1, 'RTP is not TURN');
    assert.equal(frameLength(Buffer.from([0x00, 0x01, 0x00, 0x03])), -1, 'a STUN length is a multiple of 4');
  });

  it('pads ChannelData onto the stream, unpads it back, and reassembles frames split across TCP chunks', async () => {
    const onServer: Buffer[] = [];
    let client: Socket | undefined;
    const server = createServer((s) => {
      client = s;
      s.on('data', (d: Buffer) => onServer.push(d));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    after(() => server.close());
    const address = server.address();
    assert.ok(address && typeof address === 'object');
    const bridge = await TurnBridge.open({
      iceServers: [{ urls: `turn:127.0.0.1:${address.port}?transport=tcp`, username: 'u', credential: 'p' }],
      iceTransportPolicy: 'relay',
    });
    assert.ok(bridge);
    after(() => bridge.close());
    const local = bridge.local(`turn:127.0.0.1:${address.port}?transport=tcp`);
    assert.ok(local);

    const agent = createSocket('udp4');
    await new Promise<void>((r) => agent.bind(0, '127.0.0.1', r));
    after(() => agent.close());
    const heard: Buffer[] = [];
    agent.on('message', (m) => heard.push(m));

    agent.send(channelData('hello'), local.port, local.hostname);
    agent.send(Buffer.from([0x80, 0x60, 0, 1]), local.port, local.hostname); // not TURN: dropped
    agent.send(stun(4), local.port, local.hostname);
    await until(() => Buffer.concat(onServer).length >= 12 + 24);
    const wire = Buffer.concat(onServer);
    assert.deepEqual(wire.subarray(0, 12), Buffer.concat([channelData('hello'), Buffer.alloc(3)]), 'ChannelData padded to 12 bytes');
    assert.deepEqual(wire.subarray(12), stun(4));
    assert.equal(bridge.streams, 1);

    // Back: a padded ChannelData and a STUN message, cut at awkward places.
    const back = Buffer.concat([channelData('abcdef'), Buffer.alloc(2), stun(8)]);
    assert.ok(client);
    for (const [from, to] of [[0, 3], [3, 11], [11, back.length]] as const) {
      client.write(back.subarray(from, to));
      await new Promise((r) => setTimeout(r, 20));
    }
    await until(() => heard.length >= 2);
    assert.deepEqual(heard[0], channelData('abcdef'), 'padding removed');
    assert.deepEqual(heard[1], stun(8));

    // A server that talks nonsense loses its stream; a closed server connection frees it.
    client.write(Buffer.from([0xff, 0xff, 0xff, 0xff]));
    await until(() => bridge.streams === 0);
  });

  it('refuses a TURN server over TLS whose certificate is not trusted, and says how to trust it', async () => {
    const pems = await generate([{ name: 'commonName', value: '127.0.0.1' }], { keyType: 'ec', curve: 'P-256', algorithm: 'sha256' });
    let accepted = 0;
    const server = createTlsServer({ key: pems.private, cert: pems.cert }, () => accepted++);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    after(() => server.close());
    const address = server.address();
    assert.ok(address && typeof address === 'object');
    const warnings: string[] = [];
    const log: Logger = { debug() {}, info() {}, error() {}, warn: (o, m) => warnings.push(`${m} ${JSON.stringify(o)}`), child: () => log };
    const url = `turns:127.0.0.1:${address.port}?transport=tcp`;
    const bridge = await TurnBridge.open({ iceServers: [{ urls: url, username: 'u', credential: 'p' }], iceTransportPolicy: 'relay' }, log);
    assert.ok(bridge);
    after(() => bridge.close());
    const local = bridge.local(url);
    assert.ok(local);
    const agent = createSocket('udp4');
    after(() => agent.close());
    agent.send(stun(0), local.port, local.hostname);
    await until(() => warnings.length > 0 && bridge.streams === 0);
    assert.match(warnings[0] ?? '', /certificate trusted\? NODE_EXTRA_CA_CERTS/);
    assert.match(warnings[0] ?? '', /self.signed/i);
    assert.equal(accepted, 0, 'no TLS session was set up with an untrusted server');
  });
});

async function until(test: () => boolean, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!test()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
