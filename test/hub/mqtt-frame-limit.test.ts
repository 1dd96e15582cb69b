import assert from 'node:assert/strict';
import { Duplex, PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { limitMqttPackets } from '../../src/hub/mqtt-frame-limit.js';

/** Feeds `bytes` to a limited stream in chunks of `size` (1 = every header byte on its own); what got through. */
async function feed(bytes: Buffer, size: number, max: number): Promise<{ passed: Buffer; violation: string | undefined }> {
  const input = new PassThrough();
  const inner = Duplex.from({ readable: input, writable: new PassThrough() });
  let violation: string | undefined;
  const outer = limitMqttPackets(inner, max, (why) => (violation = why));
  const chunks: Buffer[] = [];
  outer.on('data', (c: Buffer) => chunks.push(c));
  outer.on('error', () => {});
  for (let i = 0; i < bytes.length && violation === undefined; i += size) {
    input.write(bytes.subarray(i, i + size));
    await new Promise((r) => setImmediate(r));
  }
  return { passed: Buffer.concat(chunks), violation };
}

/** A QoS 0 PUBLISH (MQTT 3.1.1 section 3.3): type 3, Remaining Length as a variable byte integer, topic, payload. */
function publish(payloadBytes: number): Buffer {
  const topic = Buffer.from('peercam/v1/x/to/y');
  const body = Buffer.concat([Buffer.from([topic.length >> 8, topic.length & 0xff]), topic, Buffer.alloc(payloadBytes, 1)]);
  const length: number[] = [];
  let n = body.length;
  do {
    length.push((n % 128) | (n >= 128 ? 0x80 : 0));
    n = Math.floor(n / 128);
  } while (n > 0);
  return Buffer.concat([Buffer.from([0x30, ...length]), body]);
}

const PINGREQ = Buffer.from([0xc0, 0x00]);

describe('limitMqttPackets', () => {
  it('passes packets up to the limit untouched, however the bytes are split (MQTT 3.1.1 section 2.2.3 lengths)', async () => {
    // 0, 1-byte, 2-byte and 3-byte Remaining Lengths, back to back.
    const stream = Buffer.concat([PINGREQ, publish(10), publish(200), publish(20_000), publish(66_000)]);
    for (const size of [1, 3, 4096, stream.length]) {
      const { passed, violation } = await feed(stream, size, 70_000);
      assert.equal(violation, undefined, `chunks of ${size}`);
      assert.deepEqual(passed, stream, `chunks of ${size}`);
    }
  });

  it('cuts a packet that announces more than the limit at its header, before its body is read', async () => {
    const big = publish(1024 * 1024);
    for (const size of [1, 2, 65_536]) {
      const { passed, violation } = await feed(Buffer.concat([publish(10), big]), size, 66_560);
      assert.match(violation ?? '', /more than 66560 bytes/);
      assert.ok(passed.length < publish(10).length + 65_536, `only what came before the big packet's header passed (${passed.length} bytes)`);
    }
  });

  it('cuts a Remaining Length longer than 4 bytes', async () => {
    const { violation } = await feed(Buffer.from([0x30, 0x80, 0x80, 0x80, 0x80, 0x01]), 1, Number.MAX_SAFE_INTEGER);
    assert.match(violation ?? '', /malformed/);
  });
});
