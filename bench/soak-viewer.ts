// One headless viewer device of the soak (bench/soak.ts): joins the room, watches every camera it is given at once
// (one session each, through src/agent/watch.ts, which comes back by itself after any failure) and answers `stats`
// on stdin with one JSON line. SIGTERM: prints its last stats and leaves cleanly. Config: PEERCAM_SOAK_VIEWER (JSON).
import { createInterface } from 'node:readline';
import { type WatchReport, watch } from '../src/agent/watch.js';
import { shutdownNdc } from '../src/media/ndc/index.js';
import { newDeviceId, Room } from '../src/protocol/index.js';
import { SealedChannel } from '../src/signaling/channel.js';
import { MqttTransport } from '../src/signaling/mqtt.js';
import { NO_ICE } from '../test/helpers/loopback.js';

interface Config {
  readonly link: string;
  readonly broker: string;
  readonly name: string;
  readonly cameras: readonly string[];
  readonly seconds: number;
}

const config = JSON.parse(process.env.PEERCAM_SOAK_VIEWER ?? '{}') as Config;
const room = await Room.fromLink(config.link);
const channel = new SealedChannel(room, new MqttTransport({ url: config.broker }), {
  self: newDeviceId(),
  presence: { name: config.name, role: 'viewer', agent: 'peercam soak viewer' },
});
await channel.start();

interface Watched {
  readonly camera: string;
  readonly startedAt: number;
  current?: () => WatchReport;
  error?: string;
}
const watched: Watched[] = config.cameras.map((camera) => ({ camera, startedAt: performance.now() }));
for (const w of watched) {
  watch({
    channel,
    camera: w.camera,
    seconds: config.seconds,
    findMs: 60_000,
    peerConfig: NO_ICE,
    engine: { bindAddress: '127.0.0.1' },
    progress: (current) => (w.current = current),
    // Why sessions end is what a soak must explain: every reconnect is reported (stderr, relayed by the soak).
    onEvent: (event) => {
      if (!event.startsWith('connected')) process.stderr.write(`${config.name} -> ${w.camera}: ${event}\n`);
    },
  }).catch((err: unknown) => (w.error = String(err)));
}

/** Per session: frames so far and how long it has been watching since its first frame (for the expected count). */
function stats(): string {
  const now = performance.now();
  const sessions = watched.map((w) => {
    const r = w.current?.();
    const since = r?.firstFrameMs === undefined ? 0 : Math.max(0, now - w.startedAt - r.firstFrameMs);
    return { camera: w.camera, frames: r?.frames ?? 0, watchingMs: Math.round(since), reconnects: r?.reconnects ?? 0, stalledMs: r?.stalledMs ?? 0, ...(w.error ? { error: w.error } : {}) };
  });
  return `${JSON.stringify({ ev: 'stats', sessions })}\n`;
}

createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.trim() === 'stats') process.stdout.write(stats());
});
process.once('SIGTERM', () => {
  process.stdout.write(stats());
  void channel.close().finally(() => {
    shutdownNdc();
    process.exit(0);
  });
});
process.stdout.write(`${JSON.stringify({ ev: 'ready', id: channel.self })}\n`);
