/**
 * Signaling benchmark: sessions negotiated per second and broker messages per session through a real Mosquitto on
 * loopback, for 1, 100 and 1,000 concurrent sessions. Peers are synthetic (FakePeer: realistic SDP size, one host
 * candidate per side) so the run measures signaling alone: sealing, the broker, the session logic.
 * Sessions are spread as C cameras x V viewers (every viewer watches every camera), each device its own MQTT client.
 * Ends with one JSON line (the 1,000-session run) for run-to-run comparison.
 *
 * With --cluster the broker is two nodes: cameras connect to node A, viewers to node B, so every offer, answer and
 * candidate batch crosses between the nodes. `--cluster mosquitto` is a bridged Mosquitto pair (test/helpers/bridge.ts),
 * `--cluster rabbitmq` a 2-node RabbitMQ cluster (test/helpers/rabbitmq.ts, 10-60 s to start); `--cluster` runs both.
 * Message latency is the time from sealing (the envelope's ts) to delivery at the other channel, same clock.
 *
 *   npm run bench:signaling                        # 1, 100, 1000 on one Mosquitto
 *   npm run bench:signaling -- 1000                # one size
 *   npm run bench:signaling -- --cluster 1000      # across two nodes, both kinds
 *   npm run bench:signaling -- --cluster mosquitto 1000
 */
import { newDeviceId, newSessionId, Room } from '../src/protocol/index.js';
import { CameraEndpoint, ViewerSession } from '../src/session/index.js';
import { SealedChannel } from '../src/signaling/channel.js';
import { MqttTransport } from '../src/signaling/mqtt.js';
import { startMosquittoPair } from '../test/helpers/bridge.js';
import { startMosquitto } from '../test/helpers/brokers.js';
import { FakePeer } from '../test/helpers/fake-peer.js';
import { startRabbitCluster } from '../test/helpers/rabbitmq.js';
import { NO_ICE } from '../test/helpers/loopback.js';

const config = NO_ICE;
const IDLE_WINDOW_MS = 2000;
const PROBES = 100;
const JOIN_BATCH = 10;

interface Result {
  broker: string;
  sessions: number;
  cameras: number;
  viewers: number;
  seconds: number;
  messagesPerSession: number;
  setupsPerSecond: number;
  idleMessagesPerDevice: number;
  /** MQTT connections (with presence published) per second, devices joining ten at a time. */
  connectsPerSecond: number;
  /** Sealing to delivery of the session messages (offer, answer, candidates), ms. */
  latencyP50Ms: number;
  latencyP95Ms: number;
  /** The same, one message at a time once the sessions are closed (PROBES messages). */
  quietP50Ms: number;
  quietP95Ms: number;
}

/** Where cameras and viewers connect: the same URL, or two nodes of a cluster. */
interface Brokers {
  readonly name: string;
  readonly cameras: string;
  readonly viewers: string;
}

async function run(brokers: Brokers, sessions: number): Promise<Result> {
  const cameras = sessions >= 100 ? 10 : 1;
  const viewers = sessions / cameras;
  const room = await Room.create();
  const transports: MqttTransport[] = [];
  const channel = (role: 'camera' | 'viewer', i: number) => {
    const t = new MqttTransport({ url: role === 'camera' ? brokers.cameras : brokers.viewers });
    transports.push(t);
    return new SealedChannel(room, t, { self: newDeviceId(), presence: { name: `${role}-${i}`, role } });
  };
  const camChannels = Array.from({ length: cameras }, (_, i) => channel('camera', i));
  const viewChannels = Array.from({ length: viewers }, (_, i) => channel('viewer', i));
  const all = [...camChannels, ...viewChannels];
  const joining = performance.now();
  // Ten at a time: a hundred CONNECTs at once from one busy process can miss peercam's 5 s CONNACK timeout (the
  // process is too busy to read it; seen with RabbitMQ at a load average of 50). Real devices connect on their own.
  for (let i = 0; i < all.length; i += JOIN_BATCH) await Promise.all(all.slice(i, i + JOIN_BATCH).map((c) => c.start()));
  const joinSeconds = (performance.now() - joining) / 1000;
  // Everyone must see every camera before the clock starts.
  await until(() => viewChannels.every((v) => camChannels.every((c) => v.peers.has(c.self))), 20_000, 'presence');
  const endpoints = camChannels.map((channel) => new CameraEndpoint({ channel, config, maxViewers: viewers, peerFactory: () => new FakePeer() }));
  let delivered = 0;
  const latencies: number[] = [];
  for (const c of all)
    c.on('message', (e) => {
      delivered++;
      latencies.push(Date.now() - e.ts);
    });

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
  const probe = await probeLatency(viewChannels[0]!, camChannels[0]!);
  await Promise.all(all.map((c) => c.close()));
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0;
  return {
    broker: brokers.name,
    sessions,
    cameras,
    viewers,
    seconds: round(seconds),
    messagesPerSession: round(perSession),
    setupsPerSecond: Math.round(sessions / seconds),
    idleMessagesPerDevice: round(idle / all.length),
    connectsPerSecond: Math.round(all.length / joinSeconds),
    latencyP50Ms: pct(0.5),
    latencyP95Ms: pct(0.95),
    quietP50Ms: probe.p50,
    quietP95Ms: probe.p95,
  };
}

/**
 * Latency on a quiet broker: PROBES sealed messages one after another from a viewer to a camera (a hangup of no
 * session: nothing else listens any more), each timed from send to delivery, in ms with sub-ms resolution.
 */
async function probeLatency(from: SealedChannel, to: SealedChannel): Promise<{ p50: number; p95: number }> {
  const times: number[] = [];
  for (let i = 0; i < PROBES; i++) {
    const sid = newSessionId();
    const got = new Promise<void>((resolve) => {
      const off = to.on('message', (e) => {
        if (e.sid !== sid) return;
        off();
        resolve();
      });
    });
    const t0 = performance.now();
    await from.send(to.self, 'hangup', sid, { reason: 'latency probe' });
    await got;
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return { p50: round(times[Math.floor(PROBES / 2)]!), p95: round(times[Math.floor(PROBES * 0.95)]!) };
}

async function until(ok: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`bench: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const round = (n: number) => Math.round(n * 100) / 100;

const args = process.argv.slice(2);
const at = args.indexOf('--cluster');
const kind = at >= 0 && args[at + 1] !== undefined && Number.isNaN(Number(args[at + 1])) ? args[at + 1] : undefined;
const cluster = at >= 0 ? (kind ? [kind] : ['mosquitto', 'rabbitmq']) : [];
const sizes = args.filter((a) => /^\d+$/.test(a)).map(Number);
for (const k of cluster) if (k !== 'mosquitto' && k !== 'rabbitmq') throw new Error(`--cluster ${k}: use mosquitto or rabbitmq`);

/** Starts one broker set, runs every size on it, stops it. */
async function runOn(start: () => Promise<{ brokers: Brokers; stop(): Promise<void> }>): Promise<Result | undefined> {
  const { brokers, stop } = await start();
  try {
    let last: Result | undefined;
    for (const n of sizes.length > 0 ? sizes : [1, 100, 1000]) {
      last = await run(brokers, n);
      process.stderr.write(
        `${brokers.name}: ${String(n).padStart(5)} sessions (${last.cameras} cameras x ${last.viewers} viewers): ${last.seconds} s, ` +
          `${last.setupsPerSecond} setups/s, ${last.messagesPerSession} messages/session, ${last.connectsPerSecond} connects/s, ` +
          `latency p50/p95 ${last.latencyP50Ms}/${last.latencyP95Ms} ms under setup load, ${last.quietP50Ms}/${last.quietP95Ms} ms quiet, idle ${last.idleMessagesPerDevice} messages/device in ${IDLE_WINDOW_MS} ms\n`,
      );
    }
    return last;
  } finally {
    await stop();
  }
}

const results: (Result | undefined)[] = [];
if (cluster.length === 0)
  results.push(
    await runOn(async () => {
      const broker = await startMosquitto();
      return { brokers: { name: 'mosquitto', cameras: broker.url, viewers: broker.url }, stop: () => broker.stop() };
    }),
  );
if (cluster.includes('mosquitto'))
  results.push(
    await runOn(async () => {
      const pair = await startMosquittoPair({ websockets: false });
      return { brokers: { name: 'mosquitto bridge (cameras on A, viewers on B)', cameras: pair.a.url, viewers: pair.b.url }, stop: () => pair.stop() };
    }),
  );
if (cluster.includes('rabbitmq'))
  results.push(
    await runOn(async () => {
      const c = await startRabbitCluster(2);
      return { brokers: { name: 'rabbitmq 2-node cluster (cameras on 1, viewers on 2)', cameras: c.nodes[0]!.url, viewers: c.nodes[1]!.url }, stop: () => c.stop() };
    }),
  );
for (const r of results) if (r) process.stdout.write(`${JSON.stringify(r)}\n`);
