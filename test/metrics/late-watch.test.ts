import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { CameraAgent } from '../../src/agent/camera.js';
import { createViewerPeer, shutdownNdc } from '../../src/media/ndc/index.js';
import { IngestSource } from '../../src/media/sources/ingest.js';
import { PeercamMetrics } from '../../src/metrics/metrics.js';
import { ViewerSession } from '../../src/session/index.js';
import { memoryRoom } from '../helpers/memory-room.js';

after(() => shutdownNdc());

test('a camera watched after a viewer joined counts that session as started', async () => {
  const { channels } = await memoryRoom(['camera', 'viewer']);
  const [camChannel, viewerChannel] = channels as [(typeof channels)[0], (typeof channels)[0]];
  const source = new IngestSource({ spec: 'test', codec: 'H264', audio: false, requestKeyframe: () => {} });
  const config = { iceServers: [], iceTransportPolicy: 'all' as const };
  const agent = await CameraAgent.start({ channel: camChannel, source, name: 'early', peerConfig: config, engine: { bindAddress: '127.0.0.1' } });
  const session = new ViewerSession({ channel: viewerChannel, camera: camChannel.self, config, peerFactory: (c) => createViewerPeer(c, { bindAddress: '127.0.0.1' }) });
  try {
    const joined = new Promise<void>((resolve) => agent.on('viewer', (e) => e.change === 'joined' && resolve()));
    await session.start();
    await joined;
    // The process sets up its metrics only now, as `peercam camera` may while a viewer is already answered.
    const metrics = new PeercamMetrics();
    metrics.watchCamera(agent, 'early');
    const text = await metrics.registry.metrics();
    assert.match(text, /^peercam_sessions_started_total\{camera="early"\} 1$/m, text);
    assert.match(text, /^peercam_camera_viewers\{camera="early"\} 1$/m, text);
  } finally {
    session.close('local', 'test done');
    await session.drain();
    await agent.close();
    await Promise.all(channels.map((c) => c.close()));
  }
});
