// One process of the hub load bench (bench/hub-load.ts): either `cameras` (N demo cameras, each its own device and
// MQTT client) or `viewers` (N headless viewer devices, each watching the cameras it is given through
// src/agent/watch.ts). Prints `ready` once up; answers `stats` on stdin with one JSON line; leaves cleanly on SIGTERM.
// Config: PEERCAM_LOAD (JSON).
import { createInterface } from 'node:readline';
import { CameraAgent } from '../src/agent/camera.js';
import { type WatchReport, watch } from '../src/agent/watch.js';
import { shutdownNdc } from '../src/media/ndc/index.js';
import { newDeviceId, Room } from '../src/protocol/index.js';
import { SealedChannel } from '../src/signaling/channel.js';
import { MqttTransport } from '../src/signaling/mqtt.js';
import { NO_ICE } from '../test/helpers/loopback.js';

interface Config {
  readonly role: 'cameras' | 'viewers';
  readonly link: string;
  readonly broker: string;
  readonly count: number;
  /** viewers: the cameras every viewer watches. */
  readonly cameras?: readonly string[];
  readonly maxViewers?: number;
  readonly seconds?: number;
}

const config = JSON.parse(process.env.PEERCAM_LOAD ?? '{}') as Config;
const room = await Room.fromLink(config.link);
const peerConfig = NO_ICE;
const join = async (name: string, role: 'camera' | 'viewer') => {
  const channel = new SealedChannel(room, new MqttTransport({ url: config.broker }), { self: newDeviceId(), presence: { name, role } });
  await channel.start();
  return channel;
};
const closers: (() => Promise<void>)[] = [];
let stats: () => unknown = () => ({});

if (config.role === 'cameras') {
  const agents: CameraAgent[] = [];
  for (let i = 0; i < config.count; i++) {
    const name = `cam-${i}`;
    const channel = await join(name, 'camera');
    const agent = await CameraAgent.start({
      channel,
      source: 'demo',
      name,
      peerConfig,
      engine: { bindAddress: '127.0.0.1' },
      maxViewers: config.maxViewers ?? 64,
    });
    agents.push(agent);
    closers.push(async () => {
      await agent.close();
      await channel.close();
    });
  }
  stats = () => ({ viewers: agents.reduce((n, a) => n + a.viewers, 0), frames: agents.reduce((n, a) => n + a.sent.frames, 0) });
} else {
  const sessions: { current?: () => WatchReport; error?: string }[] = [];
  // Real viewers are devices of their own; from one process, 100 connects at once starve its event loop until
  // CONNACKs time out. So they join ten at a time, then all start watching.
  const channels: SealedChannel[] = [];
  for (let i = 0; i < config.count; i += 10)
    channels.push(...(await Promise.all(Array.from({ length: Math.min(10, config.count - i) }, (_, k) => join(`viewer-${i + k}`, 'viewer')))));
  await Promise.all(
    channels.map(async (channel) => {
      closers.push(() => channel.close());
      for (const camera of config.cameras ?? []) {
        const s: { current?: () => WatchReport; error?: string } = {};
        sessions.push(s);
        watch({
          channel,
          camera,
          seconds: config.seconds ?? 3600,
          findMs: 60_000,
          peerConfig,
          engine: { bindAddress: '127.0.0.1' },
          progress: (current) => (s.current = current),
        }).catch((err: unknown) => (s.error = String(err)));
      }
    }),
  );
  stats = () => {
    const reports = sessions.map((s) => s.current?.());
    return {
      sessions: sessions.length,
      playing: reports.filter((r) => r && r.frames > 0).length,
      frames: reports.reduce((n, r) => n + (r?.frames ?? 0), 0),
      firstFrameMs: reports.map((r) => r?.firstFrameMs).filter((ms): ms is number => ms !== undefined),
      reconnects: reports.reduce((n, r) => n + (r?.reconnects ?? 0), 0),
      errors: sessions.filter((s) => s.error).map((s) => s.error),
    };
  };
}

process.stdout.write('ready\n');
createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.trim() === 'stats') process.stdout.write(`${JSON.stringify(stats())}\n`);
});
process.once('SIGTERM', () => {
  void Promise.allSettled(closers.map((c) => c())).then(() => {
    shutdownNdc();
    process.exit(0);
  });
});
