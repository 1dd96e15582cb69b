import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Client, PublishPacket } from 'aedes';
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
});
