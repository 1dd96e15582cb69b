// Child of ndc-gc.test.ts (run with --expose-gc): closes peers, lets V8 collect them, then shuts node-datachannel
// down. Exits 0 when that survives; a native crash shows as a signal in the parent.
import { createDataPeer, createViewerPeer, shutdownNdc } from '../../src/media/ndc/index.js';
import type { PeerConfig } from '../../src/session/peer.js';

const config: PeerConfig = { iceServers: [], iceTransportPolicy: 'all' };
const engine = { bindAddress: '127.0.0.1' } as const;
const collect = (globalThis as { gc?: () => void }).gc;
if (!collect) throw new Error('run with --expose-gc');

async function churn(): Promise<void> {
  for (let i = 0; i < 20; i++) {
    const data = createDataPeer(config, { ...engine, label: 'gc' });
    await data.createOffer({ iceRestart: false });
    const viewer = createViewerPeer(config, { ...engine, audio: true });
    await viewer.createOffer({ iceRestart: false });
    data.close();
    viewer.close();
  }
}

await churn();
// Nothing refers to the closed peers' channels and tracks any more: collect them before the shutdown walks its lists.
for (let i = 0; i < 3; i++) {
  collect();
  await new Promise((r) => setTimeout(r, 50));
}
shutdownNdc();
process.stdout.write('shut down\n');
