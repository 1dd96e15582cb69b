import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { shutdownNdc } from '../../src/media/ndc/index.js';
import { IngestSource } from '../../src/media/sources/ingest.js';
import { PeercamMetrics } from '../../src/metrics/metrics.js';
import { cameraRig } from '../helpers/camera-rig.js';

after(() => shutdownNdc());

test('a camera watched after a viewer joined counts that session as started', async () => {
  const rig = await cameraRig({ source: new IngestSource({ spec: 'test', codec: 'H264', audio: false, requestKeyframe: () => {} }), name: 'early' });
  const { agent } = rig;
  const session = rig.session();
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
    await rig.close();
  }
});

test("a camera watched after a viewer's session ran into ICE trouble counts that failure", async () => {
  // The camera binds nothing: in the tests' loopback-only namespace it gathers no candidate.
  const rig = await cameraRig({ source: new IngestSource({ spec: 'test', codec: 'H264', audio: false, requestKeyframe: () => {} }), name: 'icy', engine: {} });
  const { agent } = rig;
  const session = rig.session();
  try {
    const troubled = new Promise<void>((resolve) => agent.on('ice-trouble', () => resolve()));
    await session.start();
    await troubled;
    const metrics = new PeercamMetrics();
    metrics.watchCamera(agent, 'icy');
    const text = await metrics.registry.metrics();
    assert.match(text, /^peercam_ice_failures_total\{camera="icy",problem="no-local-candidates"\} 1$/m, text);
  } finally {
    session.close('local', 'test done');
    await session.drain();
    await rig.close();
  }
});
