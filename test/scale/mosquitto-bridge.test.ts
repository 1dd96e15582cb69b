import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import mqtt from 'mqtt';
import { newDeviceId, Room } from '../../src/protocol/index.js';
import { SealedChannel } from '../../src/signaling/channel.js';
import { MqttTransport } from '../../src/signaling/mqtt.js';
import { type MosquittoPair, retainedOn, startMosquittoPair } from '../helpers/bridge.js';
import { runCli, spawnCli } from '../helpers/cli.js';
import { nextEvent, waitFor } from '../helpers/wait.js';
import { device, launch } from '../web/browser.js';
import { startHubProcess } from '../web/hub-process.js';
import { decodedFrames, liveTile } from '../web/pages.js';

/**
 * Two real Mosquitto 2.0 processes, B bridged to A with `topic peercam/# both 1` (test/helpers/bridge.ts, the config
 * of docs/SCALE.md): cameras on A, viewers on B. Unlike a RabbitMQ cluster, a Mosquitto bridge carries retained
 * messages (try_private), so a late joiner on B learns the room from A's retained presence.
 */
describe('a bridged Mosquitto pair: camera on broker A, viewers on broker B', () => {
  let pair: MosquittoPair;
  before(async () => {
    pair = await startMosquittoPair({ websockets: true });
  });
  after(() => pair?.stop());

  it("retained presence crosses the bridge: a viewer on B learns the camera on A without a 'here' answer; the goodbye clears it on both", async (t) => {
    const room = await Room.create();
    const presence = `peercam/v1/${room.id}/presence/+`;
    const cam = new SealedChannel(room, new MqttTransport({ url: pair.a.url }), { self: newDeviceId(), presence: { name: 'cam', role: 'camera' } });
    t.after(() => cam.close());
    await cam.start();
    const camTopic = `peercam/v1/${room.id}/presence/${cam.self}`;
    await waitFor(async () => (await retainedOn(pair.b.url, presence)).has(camTopic), { timeoutMs: 10_000, what: "the camera's retained presence stored on B" });

    // Everything that reaches the viewer's inbox, watched on B (the camera would answer on A, the bridge carries it).
    const viewerId = newDeviceId();
    const inbox: string[] = [];
    const spy = await mqtt.connectAsync(pair.b.url, { protocolVersion: 4, reconnectPeriod: 0 });
    t.after(() => spy.endAsync(true));
    spy.on('message', (topic) => inbox.push(topic));
    await spy.subscribeAsync(`peercam/v1/${room.id}/to/${viewerId}`, { qos: 1 });

    const viewer = new SealedChannel(room, new MqttTransport({ url: pair.b.url }), { self: viewerId, presence: { name: 'viewer', role: 'viewer' } });
    t.after(() => viewer.close());
    await viewer.start();
    await waitFor(() => viewer.peers.has(cam.self) && cam.peers.has(viewer.self), { timeoutMs: 5000, what: 'camera (A) and viewer (B) seeing each other' });
    assert.equal(viewer.peers.get(cam.self)?.name, 'cam');

    // The goodbye is published after any answer the camera gave (one connection, in order, over one bridge link).
    const gone = nextEvent<[string]>((l) => viewer.on('gone', l), { timeoutMs: 5000, what: 'the camera leaving, seen on B' });
    await cam.close();
    assert.equal((await gone)[0], cam.self);
    assert.deepEqual(inbox, [], "the viewer's query listed the camera (known from B's retained copy): no 'here' answer crossed the bridge");
    const left = await retainedOn(pair.b.url, presence);
    assert.ok(!left.has(camTopic), 'the goodbye (an empty retained publish on A) cleared the retained copy on B');
    assert.ok(!(await retainedOn(pair.a.url, presence)).has(camTopic));
  });

  it('peercam ls, peercam watch and a web tile on B follow a peercam camera on A through a crash and restart', async (t) => {
    const hub = await startHubProcess({ demo: false }); // serves the page and holds the room; its own broker is unused
    after(() => hub.close());
    const room = await Room.fromLink(hub.link);
    const presence = `peercam/v1/${room.id}/presence/+`;
    const link = await room.link(`${new URL(hub.link).origin}/`, { broker: pair.b.wsUrl! });
    const cameraArgs = ['camera', '--source', 'demo', '--name', 'porch', '--room', link, '--broker', pair.a.url];
    let camera = spawnCli(cameraArgs, hub.env);
    after(() => camera.kill());
    await camera.waitFor(/is live in room/, 30_000);

    const ls = await runCli(['ls', '--json', '--seconds', '2', '--room', link, '--broker', pair.b.url], hub.env);
    assert.equal(ls.code, 0, ls.stderr);
    assert.deepEqual(
      (JSON.parse(ls.stdout) as { name: string; role: string }[]).filter((e) => e.role === 'camera').map((e) => e.name),
      ['porch'],
    );

    const browser = await launch();
    after(() => browser.close());
    const { page } = await device(browser);
    await page.goto(link);
    await liveTile(page, 'porch', 20_000);
    // watch on B for 35 s of video from its first frame; the camera crashes and comes back meanwhile (up to 25 s under load).
    const watch = spawnCli(['watch', 'porch', '--seconds', '35', '--room', link, '--broker', pair.b.url], hub.env);
    after(() => watch.kill());
    await watch.waitFor(/connected in \d+ ms/, 30_000);
    await waitFor(async () => (await decodedFrames(page, 'porch')) > 30, { timeoutMs: 15_000, what: 'the tile on B playing' });
    const camId = /camera "porch" \((\w+)\) is live/.exec(camera.output())?.[1];
    assert.ok(camId, camera.output());
    const camTopic = `peercam/v1/${room.id}/presence/${camId}`;
    assert.ok((await retainedOn(pair.b.url, presence)).has(camTopic), "the camera's presence is retained on B");

    await camera.kill(); // SIGKILL: no goodbye, broker A publishes the camera's will (an empty retained presence)
    await waitFor(async () => !(await retainedOn(pair.b.url, presence)).has(camTopic), { timeoutMs: 10_000, what: "the camera's will clearing its presence on B" });
    await waitFor(async () => (await page.locator('.tile .name', { hasText: 'porch' }).count()) === 0, { timeoutMs: 10_000, what: 'the tile on B removed (the will crossed the bridge)' });

    const restarted = performance.now();
    camera = spawnCli(cameraArgs, hub.env);
    await camera.waitFor(/is live in room/, 30_000);
    await liveTile(page, 'porch', 30_000);
    const tileBackMs = performance.now() - restarted;
    const frames = await decodedFrames(page, 'porch');
    await waitFor(async () => (await decodedFrames(page, 'porch')) > frames + 10, { timeoutMs: 10_000, what: 'the tile on B playing the restarted camera' });
    assert.ok((await retainedOn(pair.b.url, presence)).has(camTopic), 'the restarted camera (same device id) is retained on B again');

    // watch's last line: "porch: N frames (...) ..., R reconnects, longest stall S ms".
    await watch.waitFor(/reconnects, longest stall/, 60_000);
    const [, frames2, reconnects] = /porch: (\d+) frames .*, (\d+) reconnects/.exec(watch.output()) ?? [];
    assert.ok(Number(reconnects) >= 1, `watch came back after the crash: ${watch.output()}`);
    assert.ok(Number(frames2) >= 100, `frames ${frames2}`);
    t.diagnostic(`tile live again ${tileBackMs.toFixed(0)} ms after the camera was restarted (process start included); watch: ${reconnects} reconnects`);
  });
});
