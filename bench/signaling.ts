/**
 * Signaling benchmark: sessions negotiated per second and broker messages per session through a real Mosquitto on
 * loopback, for 1, 100 and 1,000 concurrent sessions. Peers are synthetic (FakePeer: realistic SDP size, one host
 * candidate per side) so the run measures signaling alone: sealing, the broker, the session logic.
 * Sessions are spread as C cameras x V viewers (every viewer watches every camera), each device its own MQTT client.
 * Ends with one JSON line (the 1,000-session run) for run-to-run comparison.
 *
 *   npm run bench:signaling            # 1, 100, 1000
 *   npm run bench:signaling -- 1000    # one size
 */
import { newDeviceId, Room } from '../src/protocol/index.js';
import { CameraEndpoint, ViewerSession } from '../src/session/index.js';
import { SealedChannel } from '../src/signaling/channel.js';
import { MqttTransport } from '../src/signaling/mqtt.js';
import { startMosquitto } from '../test/helpers/brokers.js';
import { FakePeer } from '../test/helpers/fake-peer.js';

const config = { iceServers: [], iceTransportPolicy: 'all' } as const;
const IDLE_WINDOW_MS = 2000;

interface Result {
  sessions: number;
  cameras: number;
  viewers: number;
  seconds: number;
  messagesPerSession: number;
  setupsPerSecond: number;
  idleMessagesPerDevice: number;
}

async function run(url: string, sessions: number): Promise<Result> {
  const cameras = sessions >= 100 ? 10 : 1;
  const viewers = sessions / cameras;
  const room = await Room.create();
  const transports: MqttTransport[] = [];
  const channel = (role: 'camera' | 'viewer', i: number) => {
    const t = new MqttTransport({ url });
    transports.push(t);
    return new SealedChannel(room, t, { self: newDeviceId(), presence: { name: `${role}-${i}`, role } });
  };
  const camChannels = Array.from({ length: cameras }, (_, i) => channel('camera', i));
  const viewChannels = Array.from({ length: viewers }, (_, i) => channel('viewer', i));
  const all = [...camChannels, ...viewChannels];
  await Promise.all(all.map((c) => c.start()));
  // Everyone must see every camera before the clock starts.
  await until(() => viewChannels.every((v) => camChannels.every((c) => v.peers.has(c.self))), 20_000, 'presence');
  const endpoints = camChannels.map((channel) => new CameraEndpoint({ channel, config, maxViewers: viewers, peerFactory: () => new FakePeer() }));
  let delivered = 0;
  for (const c of all) c.on('message', () => delivered++);

  let connected = 0;
  const started = performance.now();
  const list: ViewerSession[] = [];
  for (const v of viewChannels)
    for (const c of camChannels) {
      const s = new ViewerSession({ channel: v, camera: c.self, config, peerFactory: () => new FakePeer(), timeouts: { answerMs: 20_000 } });
      s.once('connected', () => connected++);
      list.push(s);
    }
  await Promise.all(list.map((s) => s.start()));
  await until(() => connected === sessions, 60_000, 'all sessions connected');
  const seconds = (performance.now() - started) / 1000;
  // Let the last candidate batches land, then count, then watch an idle window.
  await new Promise((r) => setTimeout(r, 300));
  const perSession = delivered / sessions;
  const before = transports.reduce((n, t) => n + t.stats.published + t.stats.received, 0);
  await new Promise((r) => setTimeout(r, IDLE_WINDOW_MS));
  const idle = transports.reduce((n, t) => n + t.stats.published + t.stats.received, 0) - before;

  for (const s of list) s.close();
  for (const e of endpoints) e.close();
  await Promise.all(all.map((c) => c.close()));
  return {
    sessions,
    cameras,
    viewers,
    seconds: round(seconds),
    messagesPerSession: round(perSession),
    setupsPerSecond: Math.round(sessions / seconds),
    idleMessagesPerDevice: round(idle / all.length),
  };
}

async function until(ok: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`bench: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const round = (n: number) => Math.round(n * 100) / 100;

const sizes = process.argv.slice(2).map(Number);
const broker = await startMosquitto();
try {
  let last: Result | undefined;
  for (const n of sizes.length > 0 ? sizes : [1, 100, 1000]) {
    last = await run(broker.url, n);
    process.stderr.write(
      `${String(n).padStart(5)} sessions (${last.cameras} cameras x ${last.viewers} viewers): ${last.seconds} s, ` +
        `${last.setupsPerSecond} setups/s, ${last.messagesPerSession} messages/session, idle ${last.idleMessagesPerDevice} messages/device in ${IDLE_WINDOW_MS} ms\n`,
    );
  }
  if (last) process.stdout.write(`${JSON.stringify(last)}\n`);
} finally {
  await broker.stop();
}
