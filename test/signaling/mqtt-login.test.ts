import assert from 'node:assert/strict';
import { type AddressInfo, createServer } from 'node:net';
import { after, describe, it } from 'node:test';
import { Aedes, type AuthenticateError } from 'aedes';
import { newDeviceId, PeercamError, Room } from '../../src/protocol/index.js';
import { SealedChannel } from '../../src/signaling/channel.js';
import { MqttTransport, type MqttTransportOptions } from '../../src/signaling/mqtt.js';

/**
 * Which credentials a device presents to which broker (docs/PROTOCOL.md): the room's hub login goes at once to a
 * known hub, to any other broker only when it refuses anonymous clients, never when the URL carries credentials.
 * Brokers here are aedes instances whose `authenticate` records every CONNECT and applies a policy.
 */
type Policy = (username: string | undefined, password: string | undefined) => boolean;

async function recordingBroker(policy: Policy): Promise<{ url: string; logins: (string | undefined)[] }> {
  const logins: (string | undefined)[] = [];
  const aedes = await Aedes.createBroker({
    authenticate(_client, username, password, done) {
      logins.push(username);
      if (policy(username, password?.toString())) return done(null, true);
      done(Object.assign(new Error('not authorized'), { returnCode: 5 }) as AuthenticateError, false);
    },
  });
  const sockets = new Set<import('node:net').Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    aedes.handle(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  after(async () => {
    await new Promise<void>((resolve) => aedes.close(() => resolve()));
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { url: `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`, logins };
}

async function join(room: Room, options: MqttTransportOptions): Promise<SealedChannel> {
  const channel = new SealedChannel(room, new MqttTransport({ reconnect: { nextDelayMs: () => null }, ...options }), {
    self: newDeviceId(),
    presence: { name: 'd', role: 'camera' },
  });
  after(() => channel.close());
  await channel.start();
  return channel;
}

describe('MQTT: the room login goes only where it is asked for', async () => {
  const room = await Room.create();
  const { brokerUsername: user, brokerPassword: pass } = room.credentials;

  it('a broker that lets anyone in never sees the room login (if-refused, the default)', async () => {
    const broker = await recordingBroker(() => true);
    await join(room, { url: broker.url });
    assert.deepEqual(broker.logins, [undefined]);
  });

  it("a broker that admits only the room's login gets it after refusing an anonymous CONNECT; a known hub gets it at once", async () => {
    const broker = await recordingBroker((u, p) => u === user && p === pass);
    await join(room, { url: broker.url });
    assert.deepEqual(broker.logins, [undefined, user]);
    broker.logins.length = 0;
    await join(room, { url: broker.url, roomLogin: 'first' });
    assert.deepEqual(broker.logins, [user]);
  });

  it('credentials in the URL or options win: the room login is never sent, and a refusal is reported as such', async () => {
    const broker = await recordingBroker((u, p) => u === 'cam' && p === 'pw');
    await join(room, { url: broker.url.replace('mqtt://', 'mqtt://cam:pw@'), roomLogin: 'first' });
    await join(room, { url: broker.url, username: 'cam', password: 'pw', roomLogin: 'first' });
    assert.deepEqual(broker.logins, ['cam', 'cam']);
    await assert.rejects(join(room, { url: broker.url.replace('mqtt://', 'mqtt://cam:wrong@') }), (e: unknown) => e instanceof PeercamError && e.code === 'broker-auth');
    assert.deepEqual(broker.logins, ['cam', 'cam', 'cam']);
  });

  it("a broker with its own users that refuses the room login but lets anonymous clients in: 'first' falls back once", async () => {
    const broker = await recordingBroker((u) => u === undefined);
    await join(room, { url: broker.url, roomLogin: 'first' });
    assert.deepEqual(broker.logins, [user, undefined]);
  });

  it('refused both ways: one error that says so and what to do', async () => {
    const broker = await recordingBroker(() => false);
    await assert.rejects(
      join(room, { url: broker.url }),
      (e: unknown) => e instanceof PeercamError && e.code === 'broker-auth' && /both without credentials and with this room's hub login/.test(e.message) && /mqtt:\/\/user:password@/.test(e.message),
    );
    assert.deepEqual(broker.logins, [undefined, user]);
  });
});
