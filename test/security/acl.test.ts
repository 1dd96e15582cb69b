import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import mqtt, { type MqttClient } from 'mqtt';
import { type Envelope, newDeviceId, type PeercamError, Room, topics } from '../../src/protocol/index.js';
import { CameraEndpoint, ViewerSession } from '../../src/session/index.js';
import { SealedChannel } from '../../src/signaling/channel.js';
import { MqttTransport } from '../../src/signaling/mqtt.js';
import { freePort, MOSQUITTO, untilListening } from '../helpers/brokers.js';
import { FakePeer } from '../helpers/fake-peer.js';
import { nextEvent, sleep, waitFor } from '../helpers/wait.js';
import { NO_ICE } from '../helpers/loopback.js';

/**
 * docs/mosquitto-acl.conf + docs/mosquitto-acl.acl as an operator would deploy them (users made with
 * scripts/mosquitto-room-users.sh, i.e. mosquitto_passwd -b): a confined device can do all protocol v1 needs and
 * nothing else. Mosquitto filters reads at delivery, so "cannot read" is shown by what never arrives.
 */
const ROOT = join(import.meta.dirname, '..', '..');
const run = promisify(execFile);

interface Broker {
  url: string;
  stop(): Promise<void>;
}

/** Mosquitto with the documented config, only the listener port and file paths changed for the test. */
async function startConfined(dir: string): Promise<Broker> {
  const port = await freePort();
  const documented = await readFile(join(ROOT, 'docs', 'mosquitto-acl.conf'), 'utf8');
  const conf = documented
    .replace(/^listener .*$/m, `listener ${port} 127.0.0.1`)
    .replace(/^password_file .*$/m, `password_file ${join(dir, 'passwd')}`)
    .replace(/^acl_file .*$/m, `acl_file ${join(dir, 'acl')}`);
  assert.notEqual(conf, documented, 'the documented config has listener, password_file and acl_file lines');
  await writeFile(join(dir, 'mosquitto.conf'), `${conf}\npersistence false\nlog_dest stderr\nlog_type error\n`);
  const proc: ChildProcess = spawn(MOSQUITTO, ['-c', join(dir, 'mosquitto.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let output = '';
  proc.stderr?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
  let exited: string | undefined;
  proc.once('exit', (code) => (exited = `mosquitto exited (${code}): ${output}`));
  const stop = async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const gone = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    await gone;
  };
  try {
    await untilListening(port, 5000, () => exited);
  } catch (err) {
    await stop();
    throw err;
  }
  return { url: `mqtt://127.0.0.1:${port}`, stop };
}

describe('a device confined by docs/mosquitto-acl.conf (Mosquitto, per-device users)', () => {
  let dir: string;
  let broker: Broker;
  let room: Room;
  const ids = { camera: newDeviceId(), viewer: newDeviceId(), intruder: newDeviceId() };
  const password = (id: string) => `pw-${id}`;
  const closers: (() => Promise<unknown>)[] = [];

  before(async () => {
    room = await Room.create();
    dir = await mkdtemp(join(tmpdir(), 'peercam-acl-'));
    await chmod(dir, 0o755);
    const users = Object.values(ids).map((id) => `${id}:${password(id)}`);
    const made = await run('bash', [join(ROOT, 'scripts', 'mosquitto-room-users.sh'), dir, room.id, ...users]);
    assert.match(made.stdout, /3 users/);
    assert.match(await readFile(join(dir, 'acl'), 'utf8'), new RegExp(`peercam/v1/${room.id}/to/%u`));
    broker = await startConfined(dir);
  });
  after(async () => {
    for (const close of closers.splice(0).reverse()) await close().catch(() => {});
    await broker?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const channel = async (id: string, role: 'camera' | 'viewer') => {
    const c = new SealedChannel(room, new MqttTransport({ url: broker.url, username: id, password: password(id) }), {
      self: id,
      presence: { name: role, role },
    });
    closers.push(() => c.close());
    await c.start();
    return c;
  };
  const rawClient = async (id: string): Promise<MqttClient> => {
    const client = await mqtt.connectAsync(broker.url, { username: id, password: password(id), protocolVersion: 5, reconnectPeriod: 0 });
    closers.push(() => client.endAsync(true));
    return client;
  };

  it('refuses a client without credentials, and one with a wrong password, with a clear error', async () => {
    await assert.rejects(mqtt.connectAsync(broker.url, { protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 3000 }));
    const t = new MqttTransport({ url: broker.url, username: ids.viewer, password: 'wrong', reconnect: { nextDelayMs: () => null } });
    const refused = t.open(room.id, ids.viewer, { presence() {}, inbox() {}, state() {} });
    await assert.rejects(refused, (err: PeercamError) => err.code === 'broker-auth');
    await t.close();
  });

  it('still does everything it needs: presence both ways, an offer, a full negotiation to connected', async () => {
    const camera = await channel(ids.camera, 'camera');
    const viewer = await channel(ids.viewer, 'viewer');
    await waitFor(() => camera.peers.has(ids.viewer) && viewer.peers.has(ids.camera), { timeoutMs: 3000, what: 'presence both ways' });
    const endpoint = new CameraEndpoint({ channel: camera, config: NO_ICE, peerFactory: () => new FakePeer() });
    closers.push(async () => endpoint.close());
    const offers: Envelope[] = [];
    camera.on('message', (e) => e.type === 'offer' && offers.push(e));
    const session = new ViewerSession({ channel: viewer, camera: ids.camera, config: NO_ICE, peerFactory: () => new FakePeer() });
    closers.push(async () => session.close());
    const connected = nextEvent<[{ ms: number }]>((l) => session.on('connected', l), { timeoutMs: 5000, what: 'the session to connect' });
    await session.start();
    await connected;
    assert.equal(offers.length, 1, 'the camera received the offer in its inbox');
    assert.equal(endpoint.viewers, 1);
    // Leaving clears its own presence (allowed), and the camera sees it go.
    const gone = nextEvent<[string]>((l) => camera.on('gone', l), { timeoutMs: 3000, what: 'the viewer to leave' });
    session.close();
    await session.drain();
    await viewer.close();
    assert.equal((await gone)[0], ids.viewer);
  });

  it("and nothing else: it cannot read another device's inbox, nor overwrite or clear another device's presence", async () => {
    const camera = await channel(ids.camera, 'camera');
    const viewer = await channel(ids.viewer, 'viewer');
    await waitFor(() => viewer.peers.has(ids.camera), { timeoutMs: 3000, what: 'the camera present' });
    const before = await retainedPresence(await rawClient(ids.viewer), ids.camera);
    assert.ok(before.length > 0);

    // The intruder is a user of the broker (it has credentials, not necessarily the room key). Mosquitto lets it
    // subscribe to anything, but delivers only what the ACL lets it read.
    const intruder = await rawClient(ids.intruder);
    const seen: string[] = [];
    intruder.on('message', (topic) => seen.push(topic));
    await intruder.subscribeAsync(['#', topics.inbox(room.id, ids.camera), topics.inbox(room.id, ids.viewer)], { qos: 1 });
    await viewer.send(ids.camera, 'hangup', 'sid', { reason: 'for the camera only' });
    await camera.send(ids.viewer, 'hangup', 'sid', { reason: 'for the viewer only' });
    // Its own inbox is readable: a message to it arrives, and after it (QoS 1, one connection) nothing else did.
    await viewer.send(ids.intruder, 'hangup', 'sid', { reason: 'for the intruder' });
    await waitFor(() => seen.includes(topics.inbox(room.id, ids.intruder)), { timeoutMs: 3000, what: 'the intruder reading its own inbox' });
    const inboxes = seen.filter((t) => t.includes('/to/'));
    assert.deepEqual(inboxes, [topics.inbox(room.id, ids.intruder)], `it read other inboxes: ${inboxes.join(', ')}`);
    assert.ok(seen.includes(topics.presence(room.id, ids.camera)), 'it may read presence');

    // Overwrite or clear the camera's retained presence, write to another room or anywhere else: each is refused
    // (MQTT 5: reason code 0x87 on the PUBACK, after which MQTT.js drops that connection, so one client per try).
    const slot = topics.presence(room.id, ids.camera);
    const attempts: [string, string, boolean][] = [
      [slot, 'forged', true],
      [slot, '', true],
      [`peercam/v1/${'a'.repeat(20)}/to/${ids.camera}`, 'x', false],
      ['anything', 'x', false],
    ];
    for (const [topic, payload, retain] of attempts) {
      const client = await rawClient(ids.intruder);
      client.on('error', () => {});
      await assert.rejects(client.publishAsync(topic, payload, { qos: 1, retain }), (err: { code?: unknown }) => err.code === 0x87, `publishing ${JSON.stringify(payload)} to ${topic}`);
    }
    await sleep(200);
    const observer = await rawClient(ids.viewer);
    assert.equal(await retainedPresence(observer, ids.camera), before, "the camera's retained presence is unchanged");
    assert.ok(viewer.peers.has(ids.camera), 'the viewer never saw the camera go');
  });

  async function retainedPresence(client: MqttClient, device: string): Promise<string> {
    const topic = topics.presence(room.id, device);
    const got = new Promise<string>((resolve) => {
      const on = (t: string, payload: Buffer) => {
        if (t !== topic) return;
        client.off('message', on);
        resolve(payload.toString());
      };
      client.on('message', on);
    });
    await client.subscribeAsync(topic, { qos: 1 });
    const value = await Promise.race([got, sleep(3000).then(() => '<nothing retained>')]);
    await client.unsubscribeAsync(topic);
    return value;
  }
});
