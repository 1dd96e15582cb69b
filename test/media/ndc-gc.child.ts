// Child of ndc-gc.test.ts (run with --expose-gc): closes peers, lets V8 collect them, then shuts node-datachannel
// down. Prints how many closed peers were collected; a native crash shows as a signal in the parent.
import { createCameraPeer, createDataPeer, createViewerPeer, shutdownNdc } from '../../src/media/ndc/index.js';
import type { PeerConfig } from '../../src/session/peer.js';
import { NO_ICE } from '../helpers/loopback.js';

const config: PeerConfig = NO_ICE;
const engine = { bindAddress: '127.0.0.1' } as const;
const collect = (globalThis as { gc?: () => void }).gc;
if (!collect) throw new Error('run with --expose-gc');
const ROUNDS = 20;

let collected = 0;
const registry = new FinalizationRegistry<string>(() => collected++);

async function churn(): Promise<void> {
  for (let i = 0; i < ROUNDS; i++) {
    const data = createDataPeer(config, { ...engine, label: 'gc' });
    const viewer = createViewerPeer(config, { ...engine, audio: true });
    const camera = createCameraPeer(config, { video: { codec: 'H264' }, audio: { codec: 'opus' } }, engine);
    await data.createOffer({ iceRestart: false });
    await camera.answer(await viewer.createOffer({ iceRestart: false }));
    for (const peer of [data, viewer, camera]) {
      registry.register(peer, 'peer');
      peer.close();
    }
  }
}

await churn();
// Nothing refers to the closed peers, their channels or tracks any more: collect before the shutdown walks its lists.
for (let i = 0; i < 5 && collected < ROUNDS * 3; i++) {
  collect();
  await new Promise((r) => setTimeout(r, 50));
}
shutdownNdc();
process.stdout.write(`${JSON.stringify({ peers: ROUNDS * 3, collected })}\n`);
