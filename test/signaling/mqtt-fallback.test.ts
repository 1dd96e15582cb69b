import assert from 'node:assert/strict';
import { after, before, describe, it, type TestContext } from 'node:test';
import { type DeviceId, newDeviceId, PeercamError } from '../../src/protocol/index.js';
import { MqttTransport, type MqttTransportOptions } from '../../src/signaling/mqtt.js';
import { type MqttVersion, parseVersion, storageMemory, type VersionMemory, withKnownVersion } from '../../src/signaling/mqtt-version.js';
import type { LinkState } from '../../src/signaling/transport.js';
import { type AedesBroker, type MosquittoBroker, startAedes, startMosquitto } from '../helpers/brokers.js';
import { startMqttGate } from '../helpers/mqtt-gate.js';
import { waitFor } from '../helpers/wait.js';

const ROOM = 'abcdefghijklmnopqrst';

/** A fresh memory per test, so one test's remembered version cannot decide another's first CONNECT. */
function memory(): VersionMemory & { readonly map: Map<string, MqttVersion> } {
  const map = new Map<string, MqttVersion>();
  return { map, get: (b) => map.get(b), set: (b, v) => void map.set(b, v) };
}

async function open(t: TestContext, options: MqttTransportOptions, self: DeviceId = newDeviceId()) {
  const transport = new MqttTransport(options);
  t.after(() => transport.close());
  const got = { inbox: [] as string[], states: [] as [LinkState, string | undefined][] };
  await transport.open(ROOM, self, {
    inbox: (p) => got.inbox.push(typeof p === 'string' ? p : new TextDecoder().decode(p)),
    presence() {},
    state: (s, detail) => got.states.push([s, detail]),
  });
  return { transport, self, got };
}

let aedes: AedesBroker;
let mosquitto: MosquittoBroker;
before(async () => {
  aedes = await startAedes();
  mosquitto = await startMosquitto();
});
after(async () => {
  await aedes.stop();
  await mosquitto.stop();
});

describe('MQTT 5 refused in any way: 3.1.1, remembered', () => {
  it('a broker that closes the connection on an MQTT 5 CONNECT (RabbitMQ 3.10): 3.1.1, and the next transport starts with it', async (t) => {
    const gate = await startMqttGate(aedes, 'close-v5');
    t.after(() => gate.close());
    const versions = memory();
    const a = await open(t, { url: gate.url, versionMemory: versions });
    assert.match(a.got.states.at(-1)?.[1] ?? '', /MQTT 3\.1\.1/);
    assert.deepEqual(gate.levels, [5, 4]);
    assert.equal(versions.get(gate.url), 4);
    const b = await open(t, { url: gate.url, versionMemory: versions });
    assert.deepEqual(gate.levels, [5, 4, 4], 'the second transport skips the refused MQTT 5 attempt');
    await a.transport.send(b.self, 'sealed');
    await waitFor(() => b.got.inbox.length === 1, { timeoutMs: 5000, what: 'the message over 3.1.1' });
  });

  it('reconnects with the version that worked, without asking for MQTT 5 again', async (t) => {
    const gate = await startMqttGate(aedes, 'close-v5');
    t.after(() => gate.close());
    const a = await open(t, { url: gate.url, versionMemory: memory(), reconnect: { nextDelayMs: () => 50 } });
    gate.cut();
    await waitFor(() => a.got.states.filter(([s]) => s === 'online').length === 2, { timeoutMs: 10_000, what: 'back online' });
    assert.deepEqual(gate.levels, [5, 4, 4]);
  });

  it('an answer MQTT.js cannot parse (a protocol error) leads to 3.1.1 as well', async (t) => {
    const gate = await startMqttGate(aedes, 'garbage-v5');
    t.after(() => gate.close());
    const a = await open(t, { url: gate.url, versionMemory: memory() });
    assert.match(a.got.states.at(-1)?.[1] ?? '', /MQTT 3\.1\.1/);
    assert.deepEqual(gate.levels, [5, 4]);
  });

  it('a CONNACK refusal (aedes) leads to 3.1.1 and is remembered', async (t) => {
    const gate = await startMqttGate(aedes, 'pass');
    t.after(() => gate.close());
    const versions = memory();
    await open(t, { url: gate.url, versionMemory: versions });
    await open(t, { url: gate.url, versionMemory: versions });
    assert.deepEqual(gate.levels, [5, 4, 4]);
  });

  it('Mosquitto keeps MQTT 5; a broker that worked on 5 and then hangs up is restarting, not refusing 5', async (t) => {
    const gate = await startMqttGate(mosquitto, 'pass');
    t.after(() => gate.close());
    const versions = memory();
    const a = await open(t, { url: gate.url, versionMemory: versions, reconnect: { nextDelayMs: () => 100 } });
    assert.match(a.got.states.at(-1)?.[1] ?? '', /MQTT 5/);
    assert.equal(versions.get(gate.url), 5);
    gate.mode = 'close-all';
    gate.cut();
    await waitFor(() => gate.levels.length >= 4, { timeoutMs: 10_000, what: 'a few refused reconnects' });
    gate.mode = 'pass';
    await waitFor(() => a.got.states.at(-1)?.[0] === 'online', { timeoutMs: 10_000, what: 'back online' });
    assert.ok(
      gate.levels.every((l) => l === 5),
      `levels ${gate.levels}`,
    );
    assert.match(a.got.states.at(-1)?.[1] ?? '', /MQTT 5/);
  });

  it('a server that hangs up on both versions still gets the clear "connection closed" error', async (t) => {
    const gate = await startMqttGate(aedes, 'close-all');
    t.after(() => gate.close());
    await assert.rejects(
      new MqttTransport({ url: gate.url, versionMemory: memory() }).open(ROOM, newDeviceId(), { inbox() {}, presence() {}, state() {} }),
      (e: unknown) => e instanceof PeercamError && e.code === 'broker-unreachable' && /the connection closed\. Is it running\?/.test(e.message),
    );
    assert.deepEqual(gate.levels, [5, 4]);
  });
});

describe('storageMemory (a page keeps the version across loads)', () => {
  it('stores per broker without credentials, and survives a storage that throws', () => {
    const items = new Map<string, string>();
    const storage = { getItem: (k: string) => items.get(k) ?? null, setItem: (k: string, v: string) => void items.set(k, v) };
    const m = storageMemory(storage);
    assert.equal(m.get('wss://hub.example:8443/mqtt'), undefined);
    m.set('wss://hub.example:8443/mqtt', 4);
    assert.equal(storageMemory(storage).get('wss://hub.example:8443/mqtt'), 4, 'a new page load reads it back');
    assert.deepEqual([...items.keys()], ['peercam.mqtt-version:wss://hub.example:8443/mqtt']);
    const broken = storageMemory({
      getItem: () => {
        throw new Error('SecurityError');
      },
      setItem: () => {
        throw new Error('QuotaExceededError');
      },
    });
    broken.set('ws://x:1/mqtt', 4);
    assert.equal(broken.get('ws://x:1/mqtt'), 4, 'kept for this page at least');
  });

  it('a version the hub tells its page is used at once by a fresh page, and what worked is still remembered (issue 15)', async (t) => {
    const gate = await startMqttGate(aedes, 'close-v5');
    t.after(() => gate.close());
    const versions = memory();
    await open(t, { url: gate.url, versionMemory: withKnownVersion(versions, gate.url, parseVersion('4')) });
    assert.deepEqual(gate.levels, [4], 'no refused MQTT 5 attempt');
    assert.equal(versions.get(gate.url), 4);
    assert.equal(withKnownVersion(versions, gate.url, parseVersion('x')), versions, 'no usable hint: the memory alone');
    assert.equal(withKnownVersion(memory(), 'ws://a/mqtt', 5).get('ws://b/mqtt'), undefined, 'the hint is for its broker only');
  });

  it('a transport with credentials in its URL keys the broker without them', async (t) => {
    const gate = await startMqttGate(aedes, 'close-v5');
    t.after(() => gate.close());
    const versions = memory();
    await open(t, { url: `mqtt://user:secret@127.0.0.1:${gate.port}`, versionMemory: versions });
    assert.deepEqual([...versions.map.entries()], [[gate.url, 4]]);
  });
});
