/**
 * An outsider flooding one inbox, in its own process so its work does not share the camera's event loop:
 *   node --import tsx flooder.child.ts <broker url> <topic> <count>
 * Publishes <count> messages at QoS 0 as fast as the socket takes them: forged sealed boxes (another room's key, so
 * they fail authentication only after a full AES-GCM pass; 1 KiB and 16 KiB) and junk that is not a sealed box.
 * Prints one JSON line: how many were published and in how many ms.
 */
import mqtt from 'mqtt';
import { Room, utf8 } from '../../src/protocol/index.js';

const [url = '', topic = '', countText = '20000'] = process.argv.slice(2);
const count = Number(countText);
const other = await Room.create();
const forgedSmall = await other.key.seal(utf8.encode('x'.repeat(1024)), topic);
const forgedLarge = await other.key.seal(utf8.encode('y'.repeat(16 * 1024)), topic);
const junk = ['not a sealed box', '{"v":1,"type":"offer"}', 'A'.repeat(2000), '\u00ff\u00fe'];
const client = await mqtt.connectAsync(url, { protocolVersion: 5, reconnectPeriod: 0 });
const t0 = performance.now();
for (let i = 0; i < count; i++) {
  const payload = i % 10 === 0 ? forgedLarge : i % 3 === 0 ? (junk[i % junk.length] ?? '') : forgedSmall;
  // QoS 0 resolves once written; waiting on the write keeps memory bounded without waiting for the broker.
  await client.publishAsync(topic, payload, { qos: 0 });
}
const ms = performance.now() - t0;
await client.endAsync();
process.stdout.write(`${JSON.stringify({ published: count, ms: Math.round(ms) })}\n`);
