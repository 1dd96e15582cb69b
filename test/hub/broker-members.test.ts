import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Aedes, type Client, type PublishPacket } from 'aedes';
import { memberPolicy } from '../../src/hub/broker-members.js';
import { newDeviceId, Room, topics } from '../../src/protocol/index.js';
import { mqttClientId } from '../../src/signaling/mqtt-client-id.js';

/** The part of an aedes Client the policy reads; a stand-in for the states a real client passes through. */
function fakeClient(device: string, state: { connected: boolean; closed: boolean }): Client {
  return { id: mqttClientId(device), clean: true, ...state } as unknown as Client;
}

function presence(room: Room, device: string, payload: Buffer): PublishPacket {
  return { cmd: 'publish', topic: topics.presence(room.id, device), payload, qos: 1, retain: true, dup: false } as PublishPacket;
}

/** What authorizePublish decided: undefined when allowed, else the refusal's message. */
function decide(policy: ReturnType<typeof memberPolicy>, client: Client, packet: PublishPacket): Promise<string | undefined> {
  return new Promise((resolve) => policy.hooks.authorizePublish(client, packet, (err) => resolve(err ? err.message : undefined)));
}

describe("the hub broker's member policy, by a client's state", () => {
  it('takes the presence a device publishes right after its CONNACK, before aedes calls it connected', async () => {
    const room = await Room.create();
    const refused: string[] = [];
    const policy = memberPolicy({ room: room.id, credentials: room.credentials }, (_c, why) => refused.push(why));
    const device = newDeviceId();
    const body = Buffer.from('sealed presence');
    // aedes resumes reading a client's packets once its CONNACK is written, and sets `connected` only after that.
    assert.equal(await decide(policy, fakeClient(device, { connected: false, closed: false }), presence(room, device, body)), undefined);
    assert.equal(await decide(policy, fakeClient(device, { connected: true, closed: false }), presence(room, device, body)), undefined);
    // Closed: a body is refused (a flood still being read), the will (empty) clears the slot.
    assert.match((await decide(policy, fakeClient(device, { connected: false, closed: true }), presence(room, device, body))) ?? '', /after its connection closed/);
    assert.equal(await decide(policy, fakeClient(device, { connected: false, closed: true }), presence(room, device, Buffer.alloc(0))), undefined);
    assert.deepEqual(refused, [`presence from ${device} after its connection closed`]);
  });

  it('counts the presence budget from the first publish, connected or not yet', async () => {
    const room = await Room.create();
    const policy = memberPolicy({ room: room.id, credentials: room.credentials });
    const device = newDeviceId();
    const client = fakeClient(device, { connected: false, closed: false });
    const results: (string | undefined)[] = [];
    for (let i = 0; i < 25; i++) results.push(await decide(policy, client, presence(room, device, Buffer.from('p'))));
    assert.equal(results.filter((r) => r === undefined).length, 20, 'the burst of 20');
    assert.match(results.at(-1) ?? '', /presence faster than/);
  });

  it("clears a presence that reaches the retained store after its device's last connection closed", async () => {
    const room = await Room.create();
    const policy = memberPolicy({ room: room.id, credentials: room.credentials });
    const aedes = await Aedes.createBroker();
    policy.attach(aedes);
    const clears: string[] = [];
    aedes.on('publish', (p) => {
      if (p.retain && p.payload.length === 0) clears.push(p.topic);
    });
    const settle = () => new Promise((r) => setTimeout(r, 50));
    try {
      const [live, gone] = [newDeviceId(), newDeviceId()];
      aedes.emit('client', fakeClient(live, { connected: true, closed: false }));
      // What aedes reports once it has stored a retained publish: from a connected device it stays; from one whose
      // last connection closed while the publish was still in the broker's pipeline, it is cleared at once.
      aedes.emit('publish', presence(room, live, Buffer.from('here')), fakeClient(live, { connected: true, closed: false }));
      aedes.emit('publish', presence(room, gone, Buffer.from('late')), fakeClient(gone, { connected: false, closed: true }));
      await settle();
      assert.deepEqual(clears, [topics.presence(room.id, gone)]);
    } finally {
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
    }
  });
});
