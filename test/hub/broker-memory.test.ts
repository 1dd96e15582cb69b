import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import mqtt from 'mqtt';
import { startEmbeddedBroker } from '../../src/hub/broker.js';

/** mqtt-packet's table of pre-made two-byte Buffers, filled at the first packet written while its cache is on. */
const numberCache = createRequire(import.meta.url)('mqtt-packet/numbers') as { cache: Record<string, Buffer> };

test('the embedded broker writes packets without mqtt-packet filling its table of 65,536 Buffers (~7 MB of heap)', async (t) => {
  const broker = await startEmbeddedBroker();
  t.after(() => broker.close());
  // A client with MQTT.js's defaults (its own cache on): the broker writes its CONNACK, SUBACK, PUBACK and PUBLISH.
  const client = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0 });
  t.after(() => client.endAsync());
  await client.subscribeAsync('t/#', { qos: 1 });
  const got = new Promise<string>((resolve) => client.once('message', (_topic, payload) => resolve(payload.toString())));
  await client.publishAsync('t/a', 'hello', { qos: 1 });
  assert.equal(await got, 'hello');
  assert.equal(Object.keys(numberCache.cache).length, 0);
});
