import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import type { DeviceId, Envelope } from '../../src/protocol/index.js';
import { CameraEndpoint, type CloseReason, ViewerSession } from '../../src/session/index.js';
import type { PeerConfig } from '../../src/session/peer.js';
import type { SealedChannel } from '../../src/signaling/channel.js';
import { FakePeer } from '../helpers/fake-peer.js';
import { memoryRoom } from '../helpers/memory-room.js';
import { sleep, waitFor } from '../helpers/wait.js';
import { NO_ICE } from '../helpers/loopback.js';

// Short enough to test the timeouts in well under a second each, long enough that a loaded machine (load 25+) does not
// give up on an answer that is merely late: a session that closes early leaves its test waiting on nothing.
const fast = { answerMs: 1000, iceMs: 400, disconnectedGraceMs: 100, trickleWindowMs: 20 };
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function rig(
  options: {
    cameraRestarts?: boolean;
    viewers?: number;
    maxViewers?: number;
    rejectFirstAnswer?: boolean;
    /** Every viewer peer rejects its answer after ICE connected (libdatachannel's handshake race). */
    rejectEveryAnswerAfterIce?: boolean;
    timeouts?: typeof fast;
    /** Peers that keep their candidates in their descriptions, as real engines do. */
    carriesCandidates?: boolean;
    /** Adjusts each new viewer peer. */
    viewerPeer?: (p: FakePeer) => void;
    /** Adjusts each new camera peer. */
    cameraPeer?: (p: FakePeer) => void;
    /** Both sides' ICE servers (default none). */
    config?: PeerConfig;
  } = {},
) {
  const timeouts = options.timeouts ?? fast;
  const config = options.config ?? NO_ICE;
  const { broker, channels } = await memoryRoom(['camera', ...Array.from({ length: options.viewers ?? 1 }, () => 'viewer' as const)]);
  const [camera, ...viewers] = channels as [SealedChannel, ...SealedChannel[]];
  const cameraPeers: FakePeer[] = [];
  const viewerPeers: FakePeer[] = [];
  const endpoint = new CameraEndpoint({
    channel: camera,
    config,
    timeouts,
    ...(options.maxViewers ? { maxViewers: options.maxViewers } : {}),
    peerFactory: () => {
      const p = new FakePeer(options.cameraRestarts ?? true, options.carriesCandidates);
      options.cameraPeer?.(p);
      cameraPeers.push(p);
      return p;
    },
  });
  const sent: Envelope['type'][] = [];
  const received: { from: DeviceId; type: Envelope['type'] }[] = [];
  for (const c of channels) c.on('message', (e) => received.push({ from: e.from, type: e.type }));
  const watch = (viewer: SealedChannel = viewers[0]!) => {
    const s = new ViewerSession({
      channel: viewer,
      camera: camera.self,
      config,
      timeouts,
      peerFactory: () => {
        const p = new FakePeer(true, options.carriesCandidates);
        if (options.rejectFirstAnswer && viewerPeers.length === 0) p.rejectAnswers = 1;
        if (options.rejectEveryAnswerAfterIce) Object.assign(p, { rejectAnswers: 1, rejectAfterIce: true });
        options.viewerPeer?.(p);
        viewerPeers.push(p);
        return p;
      },
    });
    const closed = new Promise<[CloseReason, string]>((resolve) => s.on('closed', (r, m) => resolve([r, m])));
    cleanups.push(() => s.close());
    return { s, closed };
  };
  /** A watch started and connected once; `connects()` counts its connections. */
  const connectedWatch = async () => {
    const w = watch();
    let connects = 0;
    w.s.on('connected', () => connects++);
    await w.s.start();
    await waitFor(() => connects === 1, { timeoutMs: 1000, what: 'first connect' });
    return { ...w, connects: () => connects };
  };
  cleanups.push(() => endpoint.close(), ...channels.map((c) => () => c.close()));
  await waitFor(() => viewers.every((v) => v.peers.has(camera.self)), { timeoutMs: 1000, what: 'camera presence' });
  const inboxMessages = () => broker.wire.filter((w) => w.address.includes('/to/')).length;
  return { broker, camera, viewers, endpoint, cameraPeers, viewerPeers, watch, connectedWatch, sent, received, inboxMessages };
}

describe('session negotiation (fake peers over the memory channel)', () => {
  it('connects with exactly four signaling messages: offer, answer, one candidate batch each way', async () => {
    // Generous answer timeout: on a loaded machine a 150 ms one re-sends the offer, which is right but not the happy path.
    const r = await rig({ timeouts: { ...fast, answerMs: 5000, iceMs: 10_000 } });
    const { s } = r.watch();
    const connected = new Promise((resolve) => s.on('connected', resolve));
    await s.start();
    await connected;
    await waitFor(() => r.cameraPeers[0]?.state === 'connected', { timeoutMs: 1000, what: 'camera side connected' });
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(r.inboxMessages(), 4);
    assert.deepEqual(r.received.map((m) => m.type).sort(), ['answer', 'candidates', 'candidates', 'offer']);
    assert.equal(r.endpoint.viewers, 1);
  });

  it('sends candidates gathered at once inside the offer and the answer: two messages, none a trickle window later', async () => {
    const r = await rig({ timeouts: { ...fast, answerMs: 5000, iceMs: 10_000, trickleWindowMs: 2000 }, carriesCandidates: true });
    const { s } = r.watch();
    const connected = new Promise((resolve) => s.on('connected', resolve));
    const started = Date.now();
    await s.start();
    await connected;
    await waitFor(() => r.cameraPeers[0]?.state === 'connected', { timeoutMs: 1000, what: 'camera side connected' });
    // A 2 s trickle window: connecting well before it proves no side waited for a candidate batch.
    assert.ok(Date.now() - started < 1500, `connected after ${Date.now() - started} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual(r.received.map((m) => m.type).sort(), ['answer', 'offer']);
    assert.equal(r.inboxMessages(), 2);
    assert.match(s.diagnose().message, /; the camera host 1, /, 'the viewer counts the candidate the answer carried');
  });

  it('sends at once a description set long ago (a spare) and trickles what it still gathers; a fresh one waits for it', async () => {
    const timeouts = { ...fast, answerMs: 5000, iceMs: 10_000, trickleWindowMs: 50, readyCandidatesMs: 2000 };
    const viewerCandidates = async (setAgoMs: number | undefined) => {
      const r = await rig({
        timeouts,
        carriesCandidates: true,
        viewerPeer: (p) => {
          // The viewer's candidate comes 300 ms after its description was made, well inside the 2 s wait.
          p.gatherDelayMs = 300;
          if (setAgoMs !== undefined) p.localDescriptionSetAt = Date.now() - setAgoMs;
        },
      });
      const { s } = r.watch();
      const connected = new Promise((resolve) => s.on('connected', resolve));
      await s.start();
      await connected;
      await new Promise((resolve) => setTimeout(resolve, 600));
      return r.received.filter((m) => m.type === 'candidates' && m.from === r.viewers[0]!.self).length;
    };
    // Set 5 s ago: the wait is long over, the offer goes without the candidate, which follows in one batch.
    assert.equal(await viewerCandidates(5000), 1, 'the spare trickled the candidate it found after the offer went');
    // Set now: the offer waits for the candidate and carries it; nothing is trickled.
    assert.equal(await viewerCandidates(undefined), 0, 'a fresh description carried its candidate');
  });

  it('answers a re-delivered offer with the same answer and builds no second peer', async () => {
    const r = await rig();
    const { s } = r.watch();
    const connected = new Promise((resolve) => s.on('connected', resolve));
    // Deliver every offer twice, as a QoS 1 redelivery would.
    const dup = r.broker.transport();
    await s.start();
    await connected;
    void dup;
    const offers = r.broker.wire.filter((w) => w.address.endsWith(`/to/${r.camera.self}`));
    r.broker.inject(r.camera.self, offers[0]!.payload);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(r.cameraPeers.length, 1, 'one camera peer');
    assert.equal(r.cameraPeers[0]!.answers, 1, 'answered once by the engine');
  });

  it('re-sends an offer lost in transit and still connects', async () => {
    const r = await rig();
    let lost = 0;
    r.broker.lose = (address) => address.endsWith(`/to/${r.camera.self}`) && lost++ === 0;
    const { s } = r.watch();
    const connected = new Promise((resolve) => s.on('connected', resolve));
    await s.start();
    await connected;
    assert.equal(lost, 3, 'the first offer was lost and the viewer kept sending');
  });

  it('starts over with fresh peers when the engine rejects a valid answer', async () => {
    const r = await rig({ cameraRestarts: false, rejectFirstAnswer: true });
    const { s } = r.watch();
    const connected = new Promise((resolve) => s.on('connected', resolve));
    await s.start();
    await connected;
    assert.equal(s.generation, 1);
    assert.equal(r.viewerPeers.length, 2, 'a fresh viewer peer after the rejected answer');
    assert.ok(r.viewerPeers[0]!.closed);
  });

  it('gives up with no-answer when the camera never answers', async () => {
    const r = await rig();
    r.endpoint.close();
    const { s, closed } = r.watch();
    await s.start();
    const [reason, message] = await closed;
    assert.equal(reason, 'no-answer');
    assert.match(message, /did not answer/);
  });

  it('restarts ICE in place after a failure, with a new generation, then connects again', async () => {
    const r = await rig();
    const { s, connects } = await r.connectedWatch();
    r.viewerPeers[0]!.fail();
    await waitFor(() => connects() === 2, { timeoutMs: 2000, what: 'reconnect after ICE restart' });
    assert.equal(s.generation, 1);
    assert.equal(r.viewerPeers.length, 1, 'same viewer peer (ICE restart in place)');
    assert.equal(r.cameraPeers.length, 1, 'same camera peer');
    assert.equal(r.viewerPeers[0]!.offers, 2);
  });

  it('replaces both peers on restart when the camera cannot restart ICE in place', async () => {
    const r = await rig({ cameraRestarts: false });
    const { connects } = await r.connectedWatch();
    r.viewerPeers[0]!.fail();
    await waitFor(() => connects() === 2, { timeoutMs: 2000, what: 'reconnect with fresh peers' });
    assert.equal(r.viewerPeers.length, 2);
    assert.equal(r.cameraPeers.length, 2);
    assert.ok(r.cameraPeers[0]!.closed && r.viewerPeers[0]!.closed, 'old peers closed');
  });

  it('a camera-side failure makes the viewer re-offer (only viewers offer: no glare)', async () => {
    const r = await rig();
    const { connects } = await r.connectedWatch();
    r.cameraPeers[0]!.fail();
    await waitFor(() => connects() === 2, { timeoutMs: 2000, what: 'reconnect' });
    const fromCamera = r.received.filter((m) => m.from === r.camera.self).map((m) => m.type);
    assert.ok(fromCamera.includes('restart'));
    assert.ok(!fromCamera.includes('offer'), 'the camera never offers');
  });

  it('a long disconnect is treated like a failure', async () => {
    const r = await rig();
    const { s } = await r.connectedWatch();
    r.viewerPeers[0]!.disconnect();
    await waitFor(() => s.generation === 1, { timeoutMs: 1000, what: 'restart after grace period' });
  });

  it('stops after the restart budget with an ICE message that names TURN', async () => {
    const r = await rig();
    const { closed } = await r.connectedWatch();
    // From now on every camera peer fails as soon as it connects.
    r.endpoint.on('session', () => {});
    const failLoop = setInterval(() => {
      for (const p of r.viewerPeers) if (p.state === 'connected' || p.state === 'new') p.fail();
    }, 5);
    cleanups.push(() => clearInterval(failLoop));
    const [reason, message] = await closed;
    assert.equal(reason, 'ice-failed');
    assert.match(message, /TURN/);
  });

  it('a DTLS handshake that fails after ICE connected: a new connection (not an ICE restart in place), and neither side reports ICE trouble', async () => {
    const r = await rig();
    const { s } = r.watch();
    const trouble: string[] = [];
    s.on('trouble', (d) => trouble.push(`viewer: ${d.problem}`));
    r.endpoint.on('session', (cs) => cs.on('trouble', (d) => trouble.push(`camera: ${d.problem}`)));
    let connects = 0;
    s.on('connected', () => connects++);
    await s.start();
    await waitFor(() => connects === 1, { timeoutMs: 1000, what: 'first connect' });
    // The camera's connection failed: it asks for a restart, and answers it with a new peer.
    r.cameraPeers[0]!.failHandshake();
    await waitFor(() => connects === 2, { timeoutMs: 2000, what: 'connected again after the camera side failed' });
    assert.equal(r.cameraPeers.length, 2, 'a new camera peer for the one that failed');
    assert.equal(r.viewerPeers.length, 1, 'the viewer, still fine, restarted in place');
    // The viewer's connection failed: a new viewer peer, where ICE alone would have restarted in place.
    r.viewerPeers[0]!.failHandshake();
    await waitFor(() => connects === 3, { timeoutMs: 2000, what: 'connected again after the viewer side failed' });
    assert.equal(r.viewerPeers.length, 2, 'a new viewer peer for the one that failed');
    assert.deepEqual(trouble, []);
    // The same failure before ICE connected is ICE trouble, said by the side that saw it.
    r.viewerPeers[1]!.fail();
    await waitFor(() => connects === 4, { timeoutMs: 2000, what: 'connected again after an ICE failure' });
    assert.deepEqual(trouble, ['viewer: no-ice-servers']);
  });

  it('answers rejected after ICE connected (libdatachannel applying one while its handshake failed) are new attempts, then a DTLS message', async () => {
    const r = await rig({ rejectEveryAnswerAfterIce: true });
    const { s, closed } = r.watch();
    const trouble: string[] = [];
    s.on('trouble', (d) => trouble.push(d.problem));
    await s.start();
    const [reason, message] = await closed;
    assert.equal(reason, 'error');
    assert.match(message, /DTLS.*remote candidate without ICE transport/);
    assert.equal(r.viewerPeers.length, 4, 'the first attempt and 3 restarts');
    assert.deepEqual(trouble, []);
  });

  it("a failure both sides see costs one restart: the camera's request for a generation the viewer already left is ignored", async () => {
    const r = await rig();
    const { s, connects } = await r.connectedWatch();
    // As a failed DTLS handshake does: both ends of the connection fail, the viewer's first.
    r.viewerPeers[0]!.failHandshake();
    r.cameraPeers[0]!.failHandshake();
    await waitFor(() => connects() === 2, { timeoutMs: 2000, what: 'connected again' });
    await waitFor(() => r.received.some((m) => m.type === 'restart'), { timeoutMs: 1000, what: "the camera's restart request" });
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(s.generation, 1, 'one new offer, not two');
    assert.equal(r.viewerPeers.length, 2);
  });

  it('stops after the restart budget with a DTLS message when every handshake fails', async () => {
    const r = await rig();
    const { s, closed } = r.watch();
    await s.start();
    const failLoop = setInterval(() => {
      for (const p of r.viewerPeers) if (p.state === 'connected') p.failHandshake();
    }, 5);
    cleanups.push(() => clearInterval(failLoop));
    const [reason, message] = await closed;
    assert.equal(reason, 'error');
    assert.match(message, /secure connection \(DTLS\) to the camera failed after ICE connected .*3 restarts/);
  });

  it('refuses viewers past maxViewers with a clear message', async () => {
    const r = await rig({ viewers: 2, maxViewers: 1 });
    const a = r.watch(r.viewers[0]);
    const connected = new Promise((resolve) => a.s.on('connected', resolve));
    await a.s.start();
    await connected;
    const b = r.watch(r.viewers[1]);
    await b.s.start();
    const [reason, message] = await b.closed;
    assert.equal(reason, 'rejected');
    assert.match(message, /at most 1 viewer/);
  });

  it('ends the camera session when the viewer leaves the room, and the viewer session when the camera leaves', async () => {
    const r = await rig();
    const { s, closed } = r.watch();
    const connected = new Promise((resolve) => s.on('connected', resolve));
    await s.start();
    await connected;
    assert.equal(r.endpoint.viewers, 1);
    r.broker.kill(r.camera.self);
    assert.equal((await closed)[0], 'peer-gone');
    const r2 = await rig();
    const w = r2.watch();
    const c2 = new Promise((resolve) => w.s.on('connected', resolve));
    await w.s.start();
    await c2;
    r2.broker.kill(r2.viewers[0]!.self);
    await waitFor(() => r2.endpoint.viewers === 0, { timeoutMs: 1000, what: 'camera session freed' });
  });

  describe('a connection whose gathering found no candidate, with a TURN server that did not refuse it, starts over at once', () => {
    // The ICE timeout is 20 s here: connecting within 3 s means the session did not wait for it.
    const slowIce = { ...fast, answerMs: 5000, iceMs: 20_000, turnVerdictMs: 50 };
    const turn: PeerConfig = { iceServers: [{ urls: 'turn:127.0.0.1:3478', username: 'u', credential: 'p' }], iceTransportPolicy: 'relay' };
    /** The first peer made gathers nothing, the next ones gather as usual. */
    const firstGathersNothing = () => {
      let first = true;
      return (p: FakePeer) => {
        if (first) p.gathersNothing = 1;
        first = false;
      };
    };

    for (const side of ['camera', 'viewer'] as const) {
      it(`the ${side}'s (a TURN allocation that failed once): a new connection at once, and it works`, async () => {
        const r = await rig({ timeouts: slowIce, config: turn, [side === 'camera' ? 'cameraPeer' : 'viewerPeer']: firstGathersNothing() });
        const { s } = r.watch();
        const troubles: string[] = [];
        s.on('trouble', (d) => troubles.push(d.problem));
        let connects = 0;
        s.on('connected', () => connects++);
        await s.start();
        await waitFor(() => connects === 1, { timeoutMs: 3000, what: 'connected after the restart' });
        assert.equal(r.received.filter((m) => m.type === 'offer').length, 2);
        if (side === 'camera') {
          assert.ok(r.received.some((m) => m.type === 'restart'), "the camera's request for a new offer");
          assert.deepEqual(troubles, [], 'the viewer had nothing to diagnose: its own gathering worked');
        } else assert.deepEqual(troubles, ['no-local-candidates']);
      });
    }

    it('every time (a TURN server out of reach): the restarts run out within seconds and the session ends with the reason', async () => {
      const r = await rig({
        timeouts: slowIce,
        config: turn,
        viewerPeer: (p) => {
          p.gathersNothing = 99;
        },
      });
      const { s, closed } = r.watch();
      let ended: [CloseReason, string] | undefined;
      void closed.then((c) => (ended = c));
      await s.start();
      await waitFor(() => ended !== undefined, { timeoutMs: 5000, what: 'the session to end' });
      const [reason, message] = ended ?? ['', ''];
      assert.equal(reason, 'ice-failed');
      assert.match(message, /No network path: this device gathered host 0, srflx 0, relay 0.*that the TURN server is reachable/);
      assert.match(message, /gathered no ICE candidate, 3 restarts/);
    });

    it('not when the TURN server refused us, nor without one: a new connection would find the same, the ICE timeout paces', async () => {
      const refused = { url: 'turn:127.0.0.1:3478', code: 401, text: 'Unauthorized' };
      for (const [config, turnError] of [[turn, refused], [NO_ICE, undefined]] as const) {
        const r = await rig({
          timeouts: slowIce,
          config,
          viewerPeer: (p) => {
            p.gathersNothing = 99;
            p.turnError = turnError;
          },
        });
        const { s } = r.watch();
        const troubles: string[] = [];
        s.on('trouble', (d) => troubles.push(d.problem));
        await s.start();
        await waitFor(() => troubles.length === 1, { timeoutMs: 3000, what: 'the reason, at once' });
        await sleep(500);
        assert.deepEqual(troubles, [turnError ? 'turn-refused' : 'no-local-candidates']);
        assert.equal(r.received.filter((m) => m.type === 'offer').length, 1, 'no new offer before the ICE timeout');
        assert.equal(s.state, 'negotiating');
      }
    });
  });
});
