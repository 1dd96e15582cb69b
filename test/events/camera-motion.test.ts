import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { eventJson, MotionWatch } from '../../src/agent/motion.js';
import { DEFAULT_MOTION_SETTINGS, type MotionSettings } from '../../src/events/settings.js';
import { Webhook } from '../../src/events/webhook.js';
import { openSource, type Source } from '../../src/media/sources/index.js';
import type { EnvelopeOf } from '../../src/protocol/index.js';
import type { SealedChannel } from '../../src/signaling/channel.js';
import mqtt from 'mqtt';
import { bridgeRoom, haTopics, HomeAssistantBridge } from '../../src/events/homeassistant.js';
import { startMosquitto, type MosquittoBroker } from '../helpers/brokers.js';
import { memoryRoom } from '../helpers/memory-room.js';
import { waitFor } from '../helpers/wait.js';
import { CLIP, makeMotionClip } from './clip.js';

type Received = { envelope: EnvelopeOf<'motion'>; receivedAt: number };

/**
 * The generated clip (noise, a moving box, static, a lights change) played as a file camera whose own ffmpeg writes
 * the analysis frames; events travel sealed through a room to a viewer and to a webhook.
 */
describe('motion events from a Node camera source', () => {
  let dir: string;
  let source: Source;
  let camera: SealedChannel;
  let maskedCamera: SealedChannel;
  let viewer: SealedChannel;
  let watch: MotionWatch;
  let masked: MotionWatch;
  let webhook: Webhook;
  let firstFrameAt = 0;
  const received: Received[] = [];
  const maskedEvents: string[] = [];
  const posts: Record<string, unknown>[] = [];
  let hookCalls = 0;
  let mosquitto: MosquittoBroker;
  let ha: HomeAssistantBridge;
  /** Everything Home Assistant would see on its broker, in order. */
  const haSeen: { topic: string; payload: Buffer; retain: boolean }[] = [];
  let haClient: mqtt.MqttClient;
  const settingsFile = () => join(dir, 'motion-camera.json');
  /** Cleanups registered while setting up, run last first (after() inside before() would run them at once). */
  const cleanups: (() => unknown)[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'peercam-motion-'));
    const clip = await makeMotionClip(dir);
    const hook = createServer((req, res) => {
      let text = '';
      req.on('data', (c: Buffer) => (text += c.toString()));
      req.on('end', () => {
        // The first delivery fails: the webhook must retry, and still deliver each event once.
        if (hookCalls++ === 0) {
          res.writeHead(503).end();
          return;
        }
        posts.push(JSON.parse(text) as Record<string, unknown>);
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => hook.close());
    mosquitto = await startMosquitto();
    cleanups.push(() => mosquitto.stop());
    haClient = await mqtt.connectAsync(mosquitto.url, { clientId: 'home-assistant', protocolVersion: 5 });
    cleanups.push(() => haClient.endAsync());
    haClient.on('message', (topic, payload, packet) => haSeen.push({ topic, payload, retain: packet.retain }));
    await haClient.subscribeAsync(['homeassistant/#', 'peercam/#'], { qos: 1, rap: true }); // rap: see the retain flag as published
    const { channels } = await memoryRoom(['camera', 'camera', 'viewer']);
    [camera, maskedCamera, viewer] = channels as [SealedChannel, SealedChannel, SealedChannel];
    cleanups.push(() => Promise.all(channels.map((c) => c.close())));
    viewer.on('message', (e) => {
      if (e.type === 'motion' && e.from === camera.self) received.push({ envelope: e, receivedAt: Date.now() });
      if (e.type === 'motion' && e.from === maskedCamera.self) maskedEvents.push(e.body.phase);
    });
    // The room's events reach Home Assistant through a member (as `peercam up --homeassistant` does).
    ha = await HomeAssistantBridge.connect(mosquitto.url);
    cleanups.push(() => ha.close());
    cleanups.push(bridgeRoom(ha, viewer));
    webhook = new Webhook({ url: `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`, backoffMs: 100 });
    cleanups.push(() => webhook.close());
    source = await openSource(`file:${clip}`, { width: 320, height: 180, fps: 30, gopSeconds: 1, audio: false, analysis: {} });
    cleanups.push(() => source.stop());
    const timing = { quietMs: 3000 };
    watch = await MotionWatch.start({ channel: camera, source, name: 'shelf', settingsFile: settingsFile(), timing });
    watch.on('event', (e) => webhook.post(eventJson(e)));
    // The box crosses y = 75..105 of 180: a mask over that band hides it.
    const band: [number, number][] = [[0, 0.35], [1, 0.35], [1, 0.65], [0, 0.65]];
    masked = await MotionWatch.start({ channel: maskedCamera, source, name: 'masked', settings: { ...DEFAULT_MOTION_SETTINGS, masks: [band] }, timing });
    cleanups.push(() => {
      watch.close();
      masked.close();
    });
    // Frame k shows clip time k / 5 s; frames can only be late, so the clip started at the least at_k - 200 k (the
    // first frame alone comes late by ffmpeg's start-up).
    let k = 0;
    const off = source.on('frame', (f) => {
      const origin = f.at - k++ * 200;
      firstFrameAt = firstFrameAt === 0 ? origin : Math.min(firstFrameAt, origin);
      if (k >= CLIP.moveFrom * 5) off();
    });
    cleanups.push(off);
    await waitFor(() => firstFrameAt > 0, { timeoutMs: 20_000, what: 'the first analysis frame from the camera ffmpeg' });
  });

  it('exactly one event for the moving box, none for noise or the lights; start within 500 ms, end after the quiet time', async () => {
    assert.deepEqual(source.analysis, { width: 178, height: 100, fps: 5 });
    // Watch the whole clip once (it loops after CLIP.seconds; the loop is a lights change back, then the box again).
    const until = firstFrameAt + (CLIP.seconds - 0.5) * 1000;
    await waitFor(() => Date.now() > until, { timeoutMs: 30_000, what: 'the clip to play once' });
    const phases = received.map((r) => r.envelope.body.phase);
    assert.deepEqual(phases, ['start', 'end'], JSON.stringify(received.map((r) => ({ ...r.envelope.body, snapshot: undefined }))));
    const [start, end] = received as [Received, Received];
    const motionAt = firstFrameAt + CLIP.moveFrom * 1000;
    const startError = start.envelope.body.startedAt - motionAt;
    assert.ok(startError >= -250 && startError <= 500, `event starts ${startError} ms from the motion in the clip`);
    const latency = start.receivedAt - motionAt;
    // Generous: on a loaded 2-core machine the snapshot JPEG alone has taken a second (a few ms when idle).
    assert.ok(latency <= 5000, `the viewer heard of it ${latency} ms after the motion`);
    process.stdout.write(`# motion: start ${startError} ms from the clip's motion, at the viewer after ${latency} ms (at ${start.envelope.body.at - motionAt})\n`);
    assert.equal(start.envelope.body.event, end.envelope.body.event);
    const quiet = end.envelope.body.at - (firstFrameAt + CLIP.moveTo * 1000);
    assert.ok(quiet >= 2700 && quiet <= 4500, `ended ${quiet} ms after the box stopped (quiet time 3000 ms)`);
    const box = end.envelope.body.box;
    assert.ok(box.x < 0.25 && box.x + box.w > 0.8 && box.y > 0.3 && box.y + box.h < 0.7, `box ${JSON.stringify(box)}`);
    const jpeg = Buffer.from(start.envelope.body.snapshot ?? '', 'base64');
    assert.deepEqual([...jpeg.subarray(0, 2)], [0xff, 0xd8], 'the start carries a JPEG snapshot');
    assert.equal(end.envelope.body.snapshot, undefined);
    assert.deepEqual(maskedEvents, [], 'a mask over the path hides the box');
  });

  it('the webhook receives every event once, snapshot included, despite a failed first delivery', async () => {
    await waitFor(() => posts.length >= 2, { timeoutMs: 10_000, what: 'two webhook posts' });
    assert.ok(hookCalls >= 3, 'the first, failed, delivery was retried');
    assert.deepEqual(posts.map((p) => p.phase), ['start', 'end']);
    assert.equal(posts[0]!.name, 'shelf');
    assert.equal(posts[0]!.event, posts[1]!.event);
    assert.equal((posts[0]!.snapshot as { contentType: string }).contentType, 'image/jpeg');
    assert.equal(webhook.stats.delivered, 2);
  });

  it('settings from a member reach the camera, are answered, kept in its file, and survive a restart', async () => {
    const answers: (MotionSettings | undefined)[] = [];
    viewer.on('message', (e) => {
      if (e.type === 'motion-settings' && e.from === camera.self) answers.push(e.body.settings);
    });
    await viewer.send(camera.self, 'motion-settings', '', {});
    await waitFor(() => answers.length === 1, { timeoutMs: 10_000, what: 'the camera to answer a settings query' });
    assert.deepEqual(answers[0], DEFAULT_MOTION_SETTINGS);
    const wanted: MotionSettings = { enabled: true, sensitivity: 80, zones: [], masks: [[[0, 0], [0.5, 0], [0.5, 0.5]]] };
    await viewer.send(camera.self, 'motion-settings', '', { settings: wanted });
    await waitFor(() => answers.length === 2, { timeoutMs: 10_000, what: 'the camera to confirm new settings' });
    assert.deepEqual(answers[1], wanted);
    assert.deepEqual(watch.current, wanted);
    assert.deepEqual(JSON.parse(await readFile(settingsFile(), 'utf8')), wanted);
    watch.close();
    const again = await MotionWatch.start({ channel: camera, source, name: 'shelf', settingsFile: settingsFile() });
    after(() => again.close());
    assert.deepEqual(again.current, wanted);
  });

  it('Home Assistant: discovery configs, motion ON/OFF following the clip, availability following the camera, re-announce, forget', async () => {
    const t = haTopics(camera.self);
    const configs = (topic: string) => haSeen.filter((m) => m.topic === topic && m.payload.length > 0);
    const motion = JSON.parse(configs(t.config.motion)[0]?.payload.toString() ?? '{}') as Record<string, unknown>;
    assert.equal(motion.device_class, 'motion');
    assert.equal(motion.state_topic, t.motion);
    assert.equal(motion.unique_id, `peercam_${camera.self}_motion`);
    assert.deepEqual(motion.availability, [{ topic: t.availability, payload_available: 'online', payload_not_available: 'offline' }]);
    assert.equal((motion.device as { name: string }).name, 'camera-0');
    assert.ok(motion.origin, 'an origin block');
    const image = JSON.parse(configs(t.config.snapshot)[0]?.payload.toString() ?? '{}') as Record<string, unknown>;
    assert.equal(image.image_topic, t.snapshot);
    assert.equal(image.content_type, 'image/jpeg');
    const event = JSON.parse(configs(t.config.event)[0]?.payload.toString() ?? '{}') as Record<string, unknown>;
    assert.deepEqual(event.event_types, ['motion_start', 'motion_end']);
    assert.ok(configs(t.config.motion)[0]?.retain, 'configs are retained');
    // State follows the clip: OFF when announced, ON at the box, OFF after the quiet time.
    assert.deepEqual(haSeen.filter((m) => m.topic === t.motion).map((m) => m.payload.toString()), ['OFF', 'ON', 'OFF']);
    assert.deepEqual(haSeen.filter((m) => m.topic === t.event).map((m) => (JSON.parse(m.payload.toString()) as { event_type: string }).event_type), ['motion_start', 'motion_end']);
    const snap = haSeen.find((m) => m.topic === t.snapshot);
    assert.deepEqual([...(snap?.payload.subarray(0, 2) ?? [])], [0xff, 0xd8], 'the image entity gets the JPEG');
    // Availability follows the camera's presence.
    const masked = haTopics(maskedCamera.self);
    assert.deepEqual(haSeen.filter((m) => m.topic === masked.availability).map((m) => m.payload.toString()), ['online']);
    await maskedCamera.close();
    await waitFor(() => haSeen.some((m) => m.topic === masked.availability && m.payload.toString() === 'offline'), { timeoutMs: 10_000, what: 'offline when the camera left' });
    // HA restarts: it says online on homeassistant/status and gets every config again.
    const before = configs(t.config.motion).length;
    await haClient.publishAsync('homeassistant/status', 'online', { qos: 1 });
    await waitFor(() => configs(t.config.motion).length > before, { timeoutMs: 10_000, what: 'configs sent again after homeassistant/status online' });
    // Forgotten: empty retained configs remove the entities.
    await ha.forget(camera.self);
    await waitFor(() => haSeen.some((m) => m.topic === t.config.motion && m.payload.length === 0), { timeoutMs: 10_000, what: 'an empty config' });
    assert.ok(haSeen.some((m) => m.topic === t.config.event && m.payload.length === 0));
  });

  after(async () => {
    for (const c of cleanups.reverse()) await c();
    await rm(dir, { recursive: true, force: true });
  });
});
