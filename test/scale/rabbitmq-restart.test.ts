import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CameraAgent } from '../../src/agent/camera.js';
import { FrameCounter } from '../../src/agent/frame-counter.js';
import { createViewerPeer, shutdownNdc } from '../../src/media/ndc/index.js';
import { ViewerSession } from '../../src/session/index.js';
import { newDeviceId, Room } from '../../src/protocol/index.js';
import { SealedChannel } from '../../src/signaling/channel.js';
import { MqttTransport } from '../../src/signaling/mqtt.js';
import { type RabbitCluster, startRabbitCluster } from '../helpers/rabbitmq.js';
import { waitFor } from '../helpers/wait.js';
import { NO_ICE } from '../helpers/loopback.js';

/** A 2-node RabbitMQ 3.10 cluster whose node 1 (the camera's) restarts while a viewer on node 2 watches. */
describe('a RabbitMQ cluster node restarting mid-stream', () => {
  let cluster: RabbitCluster;
  before(async () => {
    cluster = await startRabbitCluster(2);
  });
  after(async () => {
    await cluster?.stop();
    shutdownNdc(); // libdatachannel's threads would keep the test process alive
  });

  const node = (i: number) => cluster.nodes[i]!;

  it("node 1 restarted mid-stream: media keeps flowing, the camera is back in presence and signaling on node 2's side", async (t) => {
    const room = await Room.create();
    const peerConfig = NO_ICE;
    const camChannel = new SealedChannel(room, new MqttTransport({ url: node(0).url, reconnect: { nextDelayMs: () => 250 } }), {
      self: newDeviceId(),
      presence: { name: 'porch', role: 'camera' },
    });
    t.after(() => camChannel.close());
    await camChannel.start();
    const camera = await CameraAgent.start({ channel: camChannel, source: 'demo', name: 'porch', peerConfig, engine: { bindAddress: '127.0.0.1' } });
    t.after(() => camera.close());
    const viewChannel = new SealedChannel(room, new MqttTransport({ url: node(1).url }), { self: newDeviceId(), presence: { name: 'v', role: 'viewer' } });
    t.after(() => viewChannel.close());
    await viewChannel.start();
    await waitFor(() => viewChannel.peers.has(camChannel.self), { timeoutMs: 10_000, what: 'the camera (node 1) seen on node 2' });
    const counter = new FrameCounter(() => 'H264');
    const ended: string[] = [];
    const session = new ViewerSession({
      channel: viewChannel,
      camera: camChannel.self,
      config: peerConfig,
      peerFactory: (config) => createViewerPeer(config, { bindAddress: '127.0.0.1', onRtp: (p, kind) => kind === 'video' && counter.push(p) }),
    });
    session.on('closed', (reason, message) => ended.push(`${reason}: ${message}`));
    t.after(async () => {
      session.close();
      await session.drain();
    });
    await session.start();
    const current = () => counter.stats;
    await waitFor(() => current().frames > 10, { timeoutMs: 20_000, what: 'frames from node 1 camera at the node 2 viewer' });
    const gone: string[] = [];
    viewChannel.on('gone', (id) => gone.push(id));
    const framesBefore = current().frames;
    await cluster.restartApp(0, 1000);
    const back = performance.now();
    await waitFor(() => camChannel.state === 'online', { timeoutMs: 10_000, what: 'the camera back online on node 1' });
    const onlineMs = performance.now() - back;
    // Signaling works again across the nodes: a new member on node 2 finds the camera, and it finds the member.
    const late = new SealedChannel(room, new MqttTransport({ url: node(1).url }), { self: newDeviceId(), presence: { name: 'late', role: 'viewer' } });
    t.after(() => late.close());
    await late.start();
    await waitFor(() => late.peers.has(camChannel.self) && camChannel.peers.has(late.self), { timeoutMs: 5000, what: 'presence across the nodes after the restart' });
    t.diagnostic(`camera back online ${onlineMs.toFixed(0)} ms after node 1's MQTT listener returned; gone seen on node 2: ${gone.length}`);
    assert.ok(onlineMs <= 5000, `camera online again after ${onlineMs.toFixed(0)} ms`);
    const frames = current().frames;
    assert.ok(frames > framesBefore + 30, `frames kept coming: ${framesBefore} -> ${frames}`);
    assert.deepEqual(ended, [], 'the session never ended');
    await waitFor(() => current().frames > frames, { timeoutMs: 5000, what: 'frames still coming at the end' });
  });
});
