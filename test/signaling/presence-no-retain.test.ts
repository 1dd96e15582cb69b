import assert from 'node:assert/strict';
import { after, before, describe, it, type TestContext } from 'node:test';
import mqtt from 'mqtt';
import { newDeviceId, Room, topics } from '../../src/protocol/index.js';
import { SealedChannel } from '../../src/signaling/channel.js';
import { MqttTransport } from '../../src/signaling/mqtt.js';
import { type MosquittoBroker, startMosquitto } from '../helpers/brokers.js';
import { waitFor } from '../helpers/wait.js';
import { channelContract, mqttRig } from './contract.js';

/** Mosquitto that keeps no retained messages: an MQTT 5 client asking for a retained LWT is refused (CONNACK 0x9A). */
const noRetain = () => startMosquitto({ extraConfig: 'retain_available false' });

channelContract('MQTT over Mosquitto without retained messages', mqttRig(noRetain));

describe('presence without retained messages: who-is-here query', () => {
  let broker: MosquittoBroker;
  before(async () => {
    broker = await noRetain();
  });
  after(() => broker.stop());

  const member = async (t: TestContext, room: Room, name: string, announce = true) => {
    const transport = new MqttTransport({ url: broker.url });
    const channel = new SealedChannel(room, transport, { self: newDeviceId(), presence: { name, role: announce ? 'camera' : 'viewer' }, announce });
    t.after(() => channel.close());
    await channel.start();
    return { channel, transport };
  };

  it('a late joiner and a silent watcher (`peercam ls`) see every member; a join costs one answer per member', async (t) => {
    const room = await Room.create();
    const members = [await member(t, room, 'cam-1'), await member(t, room, 'cam-2'), await member(t, room, 'cam-3')];
    for (const m of members)
      await waitFor(() => members.every((o) => o === m || m.channel.peers.has(o.channel.self)), { timeoutMs: 5000, what: 'members seeing each other' });
    const before = members.map((m) => m.transport.stats.published);
    const late = await member(t, room, 'late');
    await waitFor(() => members.every((m) => late.channel.peers.has(m.channel.self)), { timeoutMs: 5000, what: 'the late joiner seeing every member' });
    await waitFor(() => members.every((m) => m.channel.peers.has(late.channel.self)), { timeoutMs: 5000, what: 'every member seeing the late joiner' });
    assert.deepEqual(
      members.map((m, i) => m.transport.stats.published - before[i]!),
      [1, 1, 1],
      'each member answered the query once',
    );
    // The joiner: its presence and its query.
    await waitFor(() => late.transport.stats.published === 2, { timeoutMs: 5000, what: 'the presence and the query of the joiner' });

    const watcher = await member(t, room, 'ls', false);
    await waitFor(() => members.every((m) => watcher.channel.peers.has(m.channel.self)) && watcher.channel.peers.has(late.channel.self), {
      timeoutMs: 5000,
      what: 'the silent watcher seeing everyone',
    });
    assert.equal(watcher.transport.stats.published, 1, 'a watcher sends its query only');
    assert.equal(
      members.some((m) => m.channel.peers.has(watcher.channel.self)),
      false,
      'nobody sees the silent watcher',
    );
  });

  it('zero idle traffic once the room has formed', async (t) => {
    const room = await Room.create();
    const a = await member(t, room, 'a');
    const b = await member(t, room, 'b');
    await waitFor(() => a.channel.peers.has(b.channel.self) && b.channel.peers.has(a.channel.self), { timeoutMs: 5000, what: 'a and b' });
    const count = () => a.transport.stats.published + a.transport.stats.received + b.transport.stats.published + b.transport.stats.received;
    const settled = count();
    // The absence of traffic can only be observed over a window; 2 s covers any periodic announce peercam could have.
    await new Promise((r) => setTimeout(r, 2000));
    assert.equal(count(), settled);
  });
});

describe('presence where retain works (Mosquitto): the query costs no answers', () => {
  it('a late joiner lists every member it got retained, so nobody answers', async (t) => {
    const broker = await startMosquitto();
    t.after(() => broker.stop());
    const room = await Room.create();
    const spy = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0 });
    t.after(() => spy.endAsync(true));
    const lateId = newDeviceId();
    let answers = 0;
    spy.on('message', () => answers++);
    await spy.subscribeAsync(topics.inbox(room.id, lateId), { qos: 1 });
    const join = async (name: string, self = newDeviceId()) => {
      const transport = new MqttTransport({ url: broker.url });
      const channel = new SealedChannel(room, transport, { self, presence: { name, role: 'camera' } });
      t.after(() => channel.close());
      await channel.start();
      // Its query goes out once its own presence came back (after the members the broker retained).
      await waitFor(() => transport.stats.published === 2, { timeoutMs: 5000, what: `the query of ${name}` });
      return { channel, transport };
    };
    const members = [await join('a'), await join('b'), await join('c')];
    await waitFor(() => members.every((m) => m.channel.peers.size === 2), { timeoutMs: 5000, what: 'the members seeing each other' });
    const before = members.map((m) => m.transport.stats.received);
    const late = await join('late', lateId);
    await waitFor(() => late.channel.peers.size === 3, { timeoutMs: 5000, what: 'the late joiner seeing the members' });
    await waitFor(() => members.every((m, i) => m.transport.stats.received - before[i]! >= 2), { timeoutMs: 5000, what: 'presence and query at every member' });
    // An answer would follow the query within milliseconds; give it a generous window to show up.
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(answers, 0, 'no answer in the joiner\'s inbox: every member was listed in its query');
  });
});
