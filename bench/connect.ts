/**
 * Node-to-Node connect time (a recorder, `peercam watch` or `openChannel` to a Node camera): N sessions in a row
 * between a CameraAgent and a ViewerSession over an in-memory room, each from `start()` to connected (ICE and DTLS).
 * Counts the sessions slower than 900 ms (a DTLS flight lost and resent after OpenSSL's 1 s timer), those that needed
 * a new generation (a restart), and those that never connected (closed instead, with their reason). Ends with one
 * JSON line.
 *
 *   npm run bench:connect [-- --sessions 40]
 */
import { fileURLToPath } from 'node:url';
import { shutdownNdc } from '../src/media/ndc/index.js';
import { IngestSource } from '../src/media/sources/ingest.js';
import { cameraRig } from '../test/helpers/camera-rig.js';
import { isolate, percentile } from './lib.js';

isolate('bench:connect', fileURLToPath(import.meta.url));

const at = process.argv.indexOf('--sessions');
const SESSIONS = at > 0 ? Number(process.argv[at + 1]) : 40;
const rig = await cameraRig({ source: new IngestSource({ spec: 'bench', codec: 'H264', audio: false, requestKeyframe: () => {} }), name: 'bench' });
const times: number[] = [];
const failed: string[] = [];
let restarted = 0;
for (let i = 0; i < SESSIONS; i++) {
  const session = rig.session();
  const t0 = performance.now();
  const outcome = new Promise<{ gen: number } | { closed: string }>((resolve) => {
    session.on('connected', ({ gen }) => resolve({ gen }));
    session.on('closed', (reason, message) => resolve({ closed: `${reason}: ${message}` }));
  });
  await session.start();
  const result = await outcome;
  if ('closed' in result) failed.push(result.closed);
  else {
    times.push(Math.round(performance.now() - t0));
    if (result.gen > 0) restarted++;
  }
  session.close('local', 'bench');
  await session.drain();
}
await rig.close();
shutdownNdc();
const over = times.filter((t) => t > 900).length;
console.log(JSON.stringify({ bench: 'connect', sessions: SESSIONS, p50Ms: percentile(times, 50), p95Ms: percentile(times, 95), maxMs: Math.max(...times), over900Ms: over, restarted, failed, times }));
