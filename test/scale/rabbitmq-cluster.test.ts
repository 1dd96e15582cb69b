import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import mqtt from 'mqtt';
import type { WatchReport } from '../../src/agent/watch.js';
import { newDeviceId, Room } from '../../src/protocol/index.js';
import { SealedChannel } from '../../src/signaling/channel.js';
import { MqttTransport } from '../../src/signaling/mqtt.js';
import { cliHome, runCli, spawnCli } from '../helpers/cli.js';
import { type RabbitCluster, startRabbitCluster } from '../helpers/rabbitmq.js';
import { nextEvent, sleep, waitFor } from '../helpers/wait.js';
import { device, launch } from '../web/browser.js';
import { startHubProcess } from '../web/hub-process.js';
import { decodedFrames, liveTile } from '../web/pages.js';

/**
 * A real 2-node RabbitMQ 3.10 cluster (Debian's rabbitmq-server, MQTT 3.1.1 only, retained messages kept per node):
 * cameras on node 1, viewers on node 2. Started once for the file (10-60 s).
 */
describe('a 2-node RabbitMQ cluster: camera on node 1, viewers on node 2', () => {
  let cluster: RabbitCluster;
  before(async () => {
    cluster = await startRabbitCluster(2);
  });
  after(() => cluster?.stop());

  const node = (i: number) => cluster.nodes[i]!;

  it('is a cluster of two running nodes whose retained messages stay on their node (why presence needs the query)', async (t) => {
    assert.deepEqual(await cluster.runningNodes(), ['rabbit1@localhost', 'rabbit2@localhost']);
    const pub = await mqtt.connectAsync(node(0).url, { protocolVersion: 4, reconnectPeriod: 0 });
    t.after(() => pub.endAsync(true));
    const sub = await mqtt.connectAsync(node(1).url, { protocolVersion: 4, reconnectPeriod: 0 });
    t.after(() => sub.endAsync(true));
    const got: string[] = [];
    sub.on('message', (topic, payload) => got.push(`${topic}=${payload}`));
    await pub.publishAsync('peercam-test/retained', 'kept', { qos: 1, retain: true });
    await sub.subscribeAsync('peercam-test/#', { qos: 1 });
    await pub.publishAsync('peercam-test/live', 'crosses', { qos: 1 });
    await waitFor(() => got.includes('peercam-test/live=crosses'), { timeoutMs: 10_000, what: 'a live message from node 1 at node 2' });
    assert.deepEqual(got, ['peercam-test/live=crosses'], `node 2 never had the retained message of node 1: ${got}`);
  });

  it('channels meet across nodes over MQTT 3.1.1 (MQTT 5 refused by a hang-up), and see each other leave', async (t) => {
    const room = await Room.create();
    const join = async (i: number, name: string) => {
      const transport = new MqttTransport({ url: node(i).url });
      const channel = new SealedChannel(room, transport, { self: newDeviceId(), presence: { name, role: i === 0 ? 'camera' : 'viewer' } });
      const states: string[] = [];
      channel.on('state', (_s, detail) => states.push(detail ?? ''));
      t.after(() => channel.close());
      await channel.start();
      return { channel, states };
    };
    const camera = await join(0, 'cam');
    assert.match(camera.states.join('\n'), /MQTT 3\.1\.1/);
    const viewer = await join(1, 'viewer');
    await waitFor(() => viewer.channel.peers.has(camera.channel.self) && camera.channel.peers.has(viewer.channel.self), {
      timeoutMs: 5000,
      what: 'camera (node 1) and viewer (node 2) seeing each other',
    });
    const gone = nextEvent<[string]>((l) => viewer.channel.on('gone', l), { timeoutMs: 5000, what: 'the camera leaving, seen on node 2' });
    await camera.channel.close();
    assert.equal((await gone)[0], camera.channel.self);
  });

  it("viewers on different nodes do not learn of each other (by design: docs/SCALE.md), a silent lister learns everyone, a viewer that shares is seen at once", async (t) => {
    const room = await Room.create();
    const join = async (i: number, name: string, role: 'camera' | 'viewer', announce = true) => {
      const channel = new SealedChannel(room, new MqttTransport({ url: node(i).url }), { self: newDeviceId(), presence: { name, role }, announce });
      t.after(() => channel.close());
      await channel.start();
      return channel;
    };
    const camera = await join(0, 'cam', 'camera');
    const first = await join(0, 'first viewer', 'viewer');
    const second = await join(1, 'second viewer', 'viewer');
    // The camera answers the second viewer's query; the first viewer (another node, retained presence not there) does not.
    await waitFor(() => second.peers.has(camera.self) && camera.peers.has(second.self) && first.peers.has(second.self), {
      timeoutMs: 10_000,
      what: 'the camera seen on node 2, the second viewer seen by the camera and the first viewer (its live presence)',
    });
    const lister = await join(1, 'ls', 'viewer', false);
    await waitFor(() => [camera.self, first.self, second.self].every((id) => lister.peers.has(id)), { timeoutMs: 10_000, what: 'a silent lister on node 2 learning all three' });
    assert.ok(!second.peers.has(first.self), 'a viewer does not answer a viewer: the second viewer has not heard of the first');
    // Sharing (the two-way call) is a live presence with role camera: it reaches node 2 at once.
    await first.setPresence({ name: 'first viewer', role: 'camera' });
    await waitFor(() => second.peers.get(first.self)?.role === 'camera', { timeoutMs: 5000, what: 'the first viewer, now sharing, seen on node 2' });
  });

  it('peercam ls on node 2 lists the camera on node 1, and peercam watch plays it', async () => {
    const home = await cliHome();
    after(() => home.remove());
    assert.equal((await runCli(['room', 'new', '--no-qr', '--broker', node(0).url], home.env)).code, 0);
    const camera = spawnCli(['camera', '--source', 'testsrc', '--name', 'shelf', '--size', '640x360', '--gop', '1'], home.env);
    after(() => camera.kill());
    await camera.waitFor(/is live in room/, 30_000);
    const ls = await runCli(['ls', '--json', '--seconds', '2', '--broker', node(1).url], home.env);
    assert.equal(ls.code, 0, ls.stderr);
    assert.deepEqual(
      (JSON.parse(ls.stdout) as { name: string; role: string }[]).map(({ name, role }) => ({ name, role })),
      [{ name: 'shelf', role: 'camera' }],
    );
    const watch = await runCli(['watch', 'shelf', '--seconds', '2', '--json', '--broker', node(1).url], home.env);
    assert.equal(watch.code, 0, `${watch.stdout}\n${watch.stderr}`);
    const report = JSON.parse(watch.stdout) as WatchReport;
    assert.equal(report.codec, 'H264');
    assert.ok(report.frames >= 30, `frames ${report.frames}`);
    await camera.waitFor(/left.*; 0 watching/);
  });

  it('the web app on node 2 over rabbitmq_web_mqtt plays the camera on node 1', async () => {
    const hub = await startHubProcess({ demo: false }); // only serves the page
    after(() => hub.close());
    const browser = await launch();
    after(() => browser.close());
    const room = await Room.fromLink(hub.link);
    const link = await room.link(`${new URL(hub.link).origin}/`, { broker: node(1).wsUrl });
    const camera = spawnCli(['camera', '--source', 'demo', '--name', 'Pi camera', '--room', link, '--broker', node(0).url], hub.env);
    after(() => camera.kill());
    await camera.waitFor(/is live in room/, 30_000);
    const { page } = await device(browser);
    await page.goto(link);
    await liveTile(page, 'Pi camera', 15_000);
    const frames = await decodedFrames(page, 'Pi camera');
    await sleep(500);
    assert.ok((await decodedFrames(page, 'Pi camera')) > frames, 'frames keep coming');
    // Opened again, the page starts with 3.1.1 at once (remembered in localStorage for this broker).
    assert.equal(await page.evaluate((url) => localStorage.getItem(`peercam.mqtt-version:${url}`), node(1).wsUrl), '4');
  });
});
