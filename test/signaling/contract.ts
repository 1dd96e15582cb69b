import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type DeviceId, type Envelope, newDeviceId, newSessionId, Room } from '../../src/protocol/index.js';
import { type ChannelEvents, SealedChannel } from '../../src/signaling/channel.js';
import { MqttTransport } from '../../src/signaling/mqtt.js';
import type { TestBroker } from '../helpers/brokers.js';
import { nextEvent, waitFor } from '../helpers/wait.js';

/** How a contract run makes channels on one kind of transport. */
export interface ChannelRig {
  setup(): Promise<void>;
  teardown(): Promise<void>;
  /** A started channel of a new device in `room`. */
  join(room: Room, name: string): Promise<SealedChannel>;
  /** A member of `room` that can vanish without a goodbye (MQTT: a child process killed with SIGKILL). */
  killable(room: Room, name: string): Promise<{ id: DeviceId; kill(): Promise<void>; dispose(): Promise<void> }>;
  /** Stops the broker and starts it again, empty, on the same port; absent when there is no broker process. */
  readonly broker?: { stop(): Promise<void>; start(): Promise<void> };
}

/** The next `event` of `channel` that passes `filter`, with its arguments. */
function next<K extends keyof ChannelEvents>(
  channel: SealedChannel,
  event: K,
  options: { timeoutMs: number; what: string; filter?: (...args: Parameters<ChannelEvents[K]>) => boolean },
): Promise<Parameters<ChannelEvents[K]>> {
  return nextEvent<Parameters<ChannelEvents[K]>>((listener) => channel.on(event, listener as ChannelEvents[K]), options);
}

const PRESENCE_DEADLINE_MS = 1000;
const GONE_DEADLINE_MS = 2000;

/** The deadlines and isolation every Channel must meet, whatever carries it (memory, aedes, Mosquitto, LAN). */
export function channelContract(name: string, rig: ChannelRig): void {
  describe(`Channel contract: ${name}`, () => {
    before(() => rig.setup());
    after(() => rig.teardown());

    const join = async (t: TestContext, room: Room, who: string) => {
      const channel = await rig.join(room, who);
      t.after(() => channel.close());
      return channel;
    };
    /** Starts a device, returns it and how long until it and `observer` saw each other. */
    const timedJoin = async (t: TestContext, room: Room, observer: SealedChannel, who: string) => {
      const t0 = performance.now();
      let seenBy = Number.NaN;
      const off = observer.on('peer', (p) => {
        if (p.name === who && Number.isNaN(seenBy)) seenBy = performance.now() - t0;
      });
      const channel = await join(t, room, who);
      await waitFor(() => !Number.isNaN(seenBy) && channel.peers.has(observer.self), { timeoutMs: 5000, what: `${who} and the observer seeing each other` });
      off();
      return { channel, ms: Math.max(seenBy, performance.now() - t0) };
    };

    it('shows presence within 1 s, both ways, with what the device announced', async (t) => {
      const room = await Room.create();
      const a = await join(t, room, 'observer');
      const samples: number[] = [];
      for (let i = 0; i < 3; i++) {
        const { channel, ms } = await timedJoin(t, room, a, `camera-${i}`);
        samples.push(ms);
        assert.equal(a.peers.get(channel.self)?.name, `camera-${i}`);
        assert.equal(a.peers.get(channel.self)?.role, 'camera');
        assert.equal(channel.peers.get(a.self)?.name, 'observer');
      }
      t.diagnostic(`${name}: presence latency ms ${samples.map((s) => s.toFixed(1)).join(', ')}`);
      for (const ms of samples) assert.ok(ms <= PRESENCE_DEADLINE_MS, `presence took ${ms.toFixed(0)} ms`);
    });

    it('carries a presence update to the others', async (t) => {
      const room = await Room.create();
      const a = await join(t, room, 'observer');
      const { channel: b } = await timedJoin(t, room, a, 'cam');
      const updated = next(a, 'peer', { timeoutMs: PRESENCE_DEADLINE_MS, what: 'the renamed presence', filter: (p) => p.id === b.self });
      await b.setPresence({ name: 'porch', role: 'camera', sources: [{ id: 'v0', name: 'Porch', kinds: ['video'] }] });
      const [peer] = await updated;
      assert.equal(peer.name, 'porch');
      assert.deepEqual(peer.sources, [{ id: 'v0', name: 'Porch', kinds: ['video'] }]);
    });

    it('two presence updates in a row: the last one set is what members show and what a member joining later gets', async (t) => {
      const room = await Room.create();
      const a = await join(t, room, 'observer');
      const { channel: b } = await timedJoin(t, room, a, 'recorder');
      // The first update's sealing finishes last (WebCrypto's threads give no order; here a delay makes sure).
      const key = room.key;
      const seal = key.seal.bind(key);
      let slowed = false;
      key.seal = async (plaintext, aad) => {
        if (!slowed && aad.includes(b.self)) {
          slowed = true;
          await new Promise((r) => setTimeout(r, 150));
        }
        return seal(plaintext, aad);
      };
      const first = b.setPresence({ name: 'recorder (disk full)', role: 'viewer' });
      await b.setPresence({ name: 'recorder (writing)', role: 'viewer' });
      await first;
      key.seal = seal;
      assert.ok(slowed);
      await waitFor(() => a.peers.get(b.self)?.name === 'recorder (writing)', { timeoutMs: PRESENCE_DEADLINE_MS, what: 'the last presence at the observer' });
      const late = await join(t, room, 'late');
      await waitFor(() => late.peers.has(b.self), { timeoutMs: 5000, what: 'the recorder seen by a member joining later' });
      // Anything still in flight has landed by now.
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(late.peers.get(b.self)?.name, 'recorder (writing)', 'the retained presence is the last one set');
      assert.equal(a.peers.get(b.self)?.name, 'recorder (writing)');
    });

    it('clears presence within 2 s after a clean close', async (t) => {
      const room = await Room.create();
      const a = await join(t, room, 'observer');
      const { channel: b } = await timedJoin(t, room, a, 'leaver');
      const gone = next(a, 'gone', { timeoutMs: GONE_DEADLINE_MS, what: 'gone after close', filter: (id) => id === b.self });
      const t0 = performance.now();
      await b.close();
      await gone;
      t.diagnostic(`${name}: gone after clean close ${(performance.now() - t0).toFixed(1)} ms`);
      assert.equal(a.peers.has(b.self), false);
      // A device joining afterwards must not see it either (the retained presence is cleared, not just announced).
      const late = await join(t, room, 'late');
      await waitFor(() => late.peers.has(a.self), { timeoutMs: PRESENCE_DEADLINE_MS, what: 'late joiner seeing the observer' });
      assert.equal(late.peers.has(b.self), false);
    });

    it('clears presence within 2 s after the device is killed without a goodbye', async (t) => {
      const room = await Room.create();
      const a = await join(t, room, 'observer');
      const samples: number[] = [];
      for (let i = 0; i < 2; i++) {
        const victim = await rig.killable(room, `doomed-${i}`);
        t.after(() => victim.dispose());
        await waitFor(() => a.peers.has(victim.id), { timeoutMs: 5000, what: 'the killable device to appear' });
        const gone = next(a, 'gone', { timeoutMs: GONE_DEADLINE_MS, what: 'gone after kill', filter: (id) => id === victim.id });
        const t0 = performance.now();
        await victim.kill();
        await gone;
        samples.push(performance.now() - t0);
        assert.equal(a.peers.has(victim.id), false);
      }
      t.diagnostic(`${name}: gone after kill ms ${samples.map((s) => s.toFixed(1)).join(', ')}`);
    });

    it('delivers a message only to its recipient: not to a third member, not to another room', async (t) => {
      const room = await Room.create();
      const other = await Room.create();
      const [a, b, c] = [await join(t, room, 'a'), await join(t, room, 'b'), await join(t, room, 'c')];
      const [d, e] = [await join(t, other, 'd'), await join(t, other, 'e')];
      const seen = new Map<DeviceId, Envelope[]>();
      const dropped: string[] = [];
      for (const ch of [a, b, c, d, e]) {
        seen.set(ch.self, []);
        ch.on('message', (m) => seen.get(ch.self)!.push(m));
        ch.on('dropped', (reason, detail) => dropped.push(`${ch.self}: ${reason} ${detail}`));
      }
      await waitFor(() => a.peers.has(b.self) && a.peers.has(c.self) && d.peers.has(e.self), { timeoutMs: 2000, what: 'everyone present' });
      assert.equal(d.peers.size, 1, 'the other room sees only its own member');
      assert.equal(a.peers.size, 2, 'this room does not see the other room');

      const sid = newSessionId();
      await a.send(b.self, 'offer', sid, { sdp: 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\n', gen: 0 });
      await waitFor(() => seen.get(b.self)!.length === 1, { timeoutMs: 2000, what: 'b receiving the offer' });
      // Barriers: a later message to c, and one inside the other room, arrive after anything misrouted would have.
      await a.send(c.self, 'hangup', sid, { reason: 'barrier' });
      await e.send(d.self, 'hangup', newSessionId(), { reason: 'other room' });
      await waitFor(() => seen.get(c.self)!.length === 1 && seen.get(d.self)!.length === 1, { timeoutMs: 2000, what: 'the barriers' });

      const [offer] = seen.get(b.self)!;
      assert.equal(offer?.type, 'offer');
      assert.equal(offer?.from, a.self);
      assert.equal(offer?.sid, sid);
      assert.deepEqual(
        seen.get(c.self)!.map((m) => m.type),
        ['hangup'],
      );
      assert.deepEqual(
        seen.get(d.self)!.map((m) => m.from),
        [e.self],
      );
      assert.equal(seen.get(a.self)!.length + seen.get(e.self)!.length, 0);
      assert.deepEqual(dropped, []);
    });

    if (rig.broker) {
      const broker = rig.broker;
      it('comes back online after a broker restart, with everyone present again', async (t) => {
        const room = await Room.create();
        const a = await join(t, room, 'a');
        const { channel: b } = await timedJoin(t, room, a, 'b');
        const states: string[] = [];
        a.on('state', (s) => states.push(s));
        await broker.stop();
        await waitFor(() => a.state === 'offline' && b.state === 'offline', { timeoutMs: 5000, what: 'both channels offline' });
        const t0 = performance.now();
        await broker.start();
        await waitFor(() => a.state === 'online' && b.state === 'online', { timeoutMs: 15_000, what: 'both channels online again' });
        t.diagnostic(`${name}: back online ${(performance.now() - t0).toFixed(0)} ms after the broker restarted`);
        assert.deepEqual([states[0], states.at(-1)], ['offline', 'online']);
        // The restarted broker was empty: a newcomer sees a and b only if they published their presence again.
        const { channel: c, ms } = await timedJoin(t, room, a, 'c');
        await waitFor(() => c.peers.has(b.self) && b.peers.has(c.self), { timeoutMs: PRESENCE_DEADLINE_MS, what: 'b and c seeing each other' });
        assert.ok(ms <= PRESENCE_DEADLINE_MS, `presence after restart took ${ms.toFixed(0)} ms`);
        // And messages flow again.
        const got = next(b, 'message', { timeoutMs: 2000, what: 'a message after the restart' });
        await a.send(b.self, 'hangup', newSessionId(), { reason: 'after restart' });
        assert.equal((await got)[0].from, a.self);
      });
    }
  });
}

/** Channels over MqttTransport on a broker the rig starts; killable members run in a child process. */
export function mqttRig(startBroker: () => Promise<TestBroker>): ChannelRig {
  let broker: TestBroker | undefined;
  const url = () => {
    if (!broker) throw new Error('the rig is not set up');
    return broker.url;
  };
  return {
    async setup() {
      broker = await startBroker();
    },
    async teardown() {
      await broker?.stop();
    },
    async join(room, who) {
      const channel = new SealedChannel(room, new MqttTransport({ url: url() }), { self: newDeviceId(), presence: { name: who, role: 'camera' } });
      await channel.start();
      return channel;
    },
    async killable(room, who) {
      const id = newDeviceId();
      const member = await spawnMember(url(), await room.link(), id, who);
      return { id, kill: member.kill, dispose: member.kill };
    },
    broker: {
      stop: () => broker!.stop(),
      start: () => broker!.start(),
    },
  };
}

const MEMBER = fileURLToPath(new URL('../fixtures/mqtt-member.ts', import.meta.url));

/** Runs test/fixtures/mqtt-member.ts in its own node process; resolves once it is online. kill() = SIGKILL by PID. */
export async function spawnMember(url: string, link: string, id: DeviceId, name: string): Promise<{ pid: number; kill(): Promise<void> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', MEMBER, url, link, id, name], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const kill = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  };
  let err = '';
  child.stderr.on('data', (chunk: Buffer) => {
    err += chunk.toString();
  });
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`room member process not online after 20 s: ${err}`)), 20_000);
      child.stdout.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('online')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`room member process exited (${code}): ${err}`));
      });
    });
  } catch (e) {
    await kill();
    throw e;
  }
  if (child.pid === undefined) throw new Error('room member process has no PID');
  return { pid: child.pid, kill };
}
