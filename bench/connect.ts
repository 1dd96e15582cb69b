/**
 * Node-to-Node connect time (a recorder, `peercam watch` or `openChannel` to a Node camera): N sessions in a row
 * between a CameraAgent and a ViewerSession over an in-memory room, each from `start()` to connected (ICE and DTLS).
 * Counts the sessions slower than 900 ms: a DTLS flight lost and resent after OpenSSL's 1 s timer. Ends with one
 * JSON line.
 *
 *   npm run bench:connect [-- --sessions 40]
 */
import { fileURLToPath } from 'node:url';
import { CameraAgent } from '../src/agent/camera.js';
import { createViewerPeer, shutdownNdc } from '../src/media/ndc/index.js';
import { IngestSource } from '../src/media/sources/ingest.js';
import { ViewerSession } from '../src/session/index.js';
import { memoryRoom } from '../test/helpers/memory-room.js';
import { isolate, percentile } from './lib.js';

isolate('bench:connect', fileURLToPath(import.meta.url));

const at = process.argv.indexOf('--sessions');
const SESSIONS = at > 0 ? Number(process.argv[at + 1]) : 40;
const { channels } = await memoryRoom(['camera', 'viewer']);
const [camera, viewer] = channels as [(typeof channels)[0], (typeof channels)[0]];
const config = { iceServers: [], iceTransportPolicy: 'all' as const };
const engine = { bindAddress: '127.0.0.1' };
const source = new IngestSource({ spec: 'bench', codec: 'H264', audio: false, requestKeyframe: () => {} });
const agent = await CameraAgent.start({ channel: camera, source, name: 'bench', peerConfig: config, engine });
const times: number[] = [];
for (let i = 0; i < SESSIONS; i++) {
  const session = new ViewerSession({ channel: viewer, camera: camera.self, config, peerFactory: (c) => createViewerPeer(c, engine) });
  const t0 = performance.now();
  const connected = new Promise<void>((resolve) => session.on('connected', () => resolve()));
  await session.start();
  await connected;
  times.push(Math.round(performance.now() - t0));
  session.close('local', 'bench');
  await session.drain();
}
await agent.close();
await Promise.all(channels.map((c) => c.close()));
shutdownNdc();
const over = times.filter((t) => t > 900).length;
console.log(JSON.stringify({ bench: 'connect', sessions: SESSIONS, p50Ms: percentile(times, 50), p95Ms: percentile(times, 95), maxMs: Math.max(...times), over900Ms: over, times }));
