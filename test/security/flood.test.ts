import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CameraAgent } from '../../src/agent/camera.js';
import { shutdownNdc } from '../../src/media/ndc/index.js';
import type { WatchReport } from '../../src/agent/watch.js';
import { type DropReason, newDeviceId, newSessionId, Room, topics } from '../../src/protocol/index.js';
import { SealedChannel } from '../../src/signaling/channel.js';
import { DEFAULT_RATE_LIMIT } from '../../src/signaling/rate-limit.js';
import { MqttTransport } from '../../src/signaling/mqtt.js';
import { type MosquittoBroker, startMosquitto } from '../helpers/brokers.js';
import { cliHome, runCli } from '../helpers/cli.js';
import { waitFor } from '../helpers/wait.js';
import { NDC_OFFER } from '../fuzz/corpus.js';
import { NO_ICE } from '../helpers/loopback.js';

/**
 * A camera under attack keeps serving: an outsider floods its inbox with 20k forged and junk messages, and a paired
 * member floods it with offers; meanwhile `peercam watch` (a separate process, node-datachannel) connects and counts
 * frames. The camera here runs in the test process so every drop can be counted and timed.
 */
const GARBAGE = 20_000;
const FLOODER = join(import.meta.dirname, 'flooder.child.ts');

function flood(url: string, topic: string, count: number): Promise<{ published: number; ms: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', FLOODER, url, topic, String(count)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    after(() => void (child.exitCode === null && child.kill('SIGKILL')));
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out.trim()) as { published: number; ms: number }) : reject(new Error(`flooder exited ${code}: ${err}`))));
  });
}

describe('a camera under flood (Mosquitto, node-datachannel, peercam watch)', () => {
  let broker: MosquittoBroker;
  let room: Room;
  let link: string;
  let camera: SealedChannel;
  let agent: CameraAgent;
  const drops: { reason: DropReason; at: number }[] = [];
  const home = cliHome();

  before(async () => {
    broker = await startMosquitto();
    room = await Room.create();
    link = await room.link();
    camera = new SealedChannel(room, new MqttTransport({ url: broker.url }), { self: newDeviceId(), presence: { name: 'shelf', role: 'camera' } });
    await camera.start();
    camera.on('dropped', (reason) => drops.push({ reason, at: performance.now() }));
    agent = await CameraAgent.start({
      channel: camera,
      source: 'demo',
      name: 'shelf',
      peerConfig: NO_ICE,
      engine: { bindAddress: '127.0.0.1' },
    });
  });
  after(async () => {
    await agent?.close();
    await camera?.close();
    await broker?.stop();
    await (await home).remove();
    shutdownNdc(); // node-datachannel's threads would keep the test process alive

  });

  const watch = async (seconds: number): Promise<WatchReport> => {
    const { env } = await home;
    const r = await runCli(['watch', 'shelf', '--seconds', String(seconds), '--json', '--room', link, '--broker', broker.url], env, 90_000);
    assert.equal(r.code, 0, `watch failed: ${r.stdout}\n${r.stderr}`);
    return JSON.parse(r.stdout) as WatchReport;
  };

  it(`an outsider's ${GARBAGE} forged/junk messages are all dropped while a viewer connects and gets frames`, async (t) => {
    drops.length = 0;
    const inbox = topics.inbox(room.id, camera.self);
    const [sent, report] = await Promise.all([flood(broker.url, inbox, GARBAGE), watch(3)]);
    await waitFor(() => drops.length >= GARBAGE, { timeoutMs: 60_000, what: `the camera to absorb all ${GARBAGE} messages` });
    assert.equal(drops.length, GARBAGE, 'each garbage message was dropped exactly once');
    assert.ok(drops.every((d) => d.reason === 'bad-tag' || d.reason === 'malformed'), 'dropped as forged or malformed');
    assert.ok(report.frames >= 40, `the viewer got ${report.frames} frames`);
    assert.equal(report.error, undefined);
    assert.equal(camera.state, 'online');
    const spanS = ((drops.at(-1)?.at ?? 0) - (drops[0]?.at ?? 0)) / 1000;
    const figures = {
      garbage: GARBAGE,
      publishedInMs: sent.ms,
      absorbedPerSecond: Math.round(GARBAGE / Math.max(spanS, 0.001)),
      viewerFrames: report.frames,
      viewerConnectedMs: report.connectedMs,
      viewerStalledMs: report.stalledMs,
    };
    t.diagnostic(JSON.stringify(figures));
    process.stdout.write(`# flood: ${JSON.stringify(figures)}\n`);
  });

  it('a paired member flooding offers is rate-limited and capped per viewer; the camera keeps serving others', async (t) => {
    drops.length = 0;
    const member = new SealedChannel(room, new MqttTransport({ url: broker.url }), { self: newDeviceId(), presence: { name: 'noisy', role: 'viewer' } });
    t.after(() => member.close());
    await member.start();
    await waitFor(() => camera.peers.has(member.self), { timeoutMs: 3000, what: 'the member present' });
    let memberSessions = 0;
    let maxMemberSessions = 0;
    agent.on('viewer', (e) => {
      if (e.viewer !== member.self) return;
      memberSessions += e.change === 'joined' ? 1 : -1;
      maxMemberSessions = Math.max(maxMemberSessions, memberSessions);
    });
    const refusals: string[] = [];
    member.on('message', (e) => e.type === 'error' && refusals.push(e.body.code));
    let offers = 0;
    const started = performance.now();
    const spam = (async () => {
      for (; offers < 1000; offers++) await member.send(camera.self, 'offer', newSessionId(), { sdp: NDC_OFFER, gen: 0 });
    })();
    const [report] = await Promise.all([watch(3), spam]);
    await waitFor(() => drops.filter((d) => d.reason === 'rate-limited').length + refusals.length + memberSessions >= 900, {
      timeoutMs: 30_000,
      what: 'the camera to process the offers',
    });
    const limited = drops.filter((d) => d.reason === 'rate-limited').length;
    // What got through is the burst plus the sustained rate over the flood (DEFAULT_RATE_LIMIT: 100 + 20/s).
    const seconds = ((drops.at(-1)?.at ?? performance.now()) - started) / 1000;
    const budget = DEFAULT_RATE_LIMIT.burst + DEFAULT_RATE_LIMIT.perSecond * (seconds + 1);
    t.diagnostic(JSON.stringify({ offers, limited, refusedBusy: refusals.length, maxMemberSessions, viewerFrames: report.frames }));
    process.stdout.write(`# member flood: ${JSON.stringify({ offers, limited, refusedBusy: refusals.length, maxMemberSessions, viewerFrames: report.frames })}\n`);
    assert.ok(limited > 0 && offers - limited <= budget, `${offers - limited} of ${offers} offers passed in ${seconds.toFixed(1)} s (budget ${budget})`);
    assert.ok(maxMemberSessions <= 4, `the member held ${maxMemberSessions} sessions at once`);
    assert.ok(refusals.every((c) => c === 'busy'));
    assert.ok(report.frames >= 40, `the other viewer got ${report.frames} frames`);
    assert.equal(report.error, undefined);
  });
});
