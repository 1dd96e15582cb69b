import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import {
  type Body,
  type DeviceId,
  Emitter,
  type Envelope,
  type MessageType,
  newDeviceId,
  type PresenceBody,
  Room,
  type SessionId,
} from '../../src/protocol/index.js';
import { CameraEndpoint, type CameraSession, ViewerSession } from '../../src/session/index.js';
import type { Channel, ChannelEvents, PeerInfo } from '../../src/signaling/channel.js';
import { FakePeer } from '../helpers/fake-peer.js';
import { anyCandidate, CHROMIUM_OFFER, mutatedSdp } from './corpus.js';
import { withinDeadline } from './deadline.js';
import { NO_ICE } from '../helpers/loopback.js';

/**
 * The session layer fed envelopes that passed every channel check (a member that misbehaves, or messages reordered,
 * duplicated and mixed across sessions): CameraEndpoint and ViewerSession must not throw, leave no unhandled
 * rejection, finish each envelope in bounded time, and stay consistent (the endpoint's count matches its live
 * sessions, no session holds more than one peer, a closed session stays closed).
 */
const SEED = 0x5e55;
const SEQUENCES = 2500;
const PER_SEQUENCE = 24;
let inputs = 0;
const started = performance.now();

/** A Channel that only records what the session layer sends; the test plays the network. */
class ScriptedChannel extends Emitter<ChannelEvents> implements Channel {
  readonly kind = 'memory' as const;
  readonly peers = new Map<DeviceId, PeerInfo>();
  readonly state = 'online' as const;
  readonly presence = undefined;
  readonly sent: { to: DeviceId; type: MessageType; sid: SessionId }[] = [];
  constructor(
    readonly self: DeviceId,
    readonly room: Room,
  ) {
    super();
  }
  async start(): Promise<void> {}
  async send<T extends Exclude<MessageType, 'presence'>>(to: DeviceId, type: T, sid: SessionId, _body: Body<T>): Promise<void> {
    this.sent.push({ to, type, sid });
  }
  async setPresence(_p: PresenceBody): Promise<void> {}
  async close(): Promise<void> {
    this.removeAllListeners();
  }
  deliver(e: Envelope): void {
    this.emit('message', e);
  }
}

/** One line of the script: which kind of envelope, from which of a few senders, in which of a few sessions. */
interface Step {
  type: Exclude<MessageType, 'presence' | 'query' | 'here' | 'motion' | 'motion-settings'>;
  from: number;
  sid: number;
  gen: number;
  sdp: string;
  candidates: { candidate: string; mid: string }[];
  flag: boolean;
  text: string;
}

const FAKE_UFRAG_SDP = (ufrag: string) => `v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=ice-ufrag:${ufrag}\r\na=mid:0\r\na=recvonly\r\n`;
const step: fc.Arbitrary<Step> = fc.record({
  type: fc.constantFrom('offer', 'offer', 'answer', 'candidates', 'candidates', 'restart', 'hangup', 'error', 'bye'),
  from: fc.nat({ max: 3 }),
  sid: fc.nat({ max: 3 }),
  gen: fc.oneof({ weight: 8, arbitrary: fc.nat({ max: 2 }) }, { weight: 1, arbitrary: fc.constant(2 ** 31) }),
  sdp: fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom('ua', 'ub').map(FAKE_UFRAG_SDP) },
    { weight: 1, arbitrary: mutatedSdp(CHROMIUM_OFFER, 2) },
    { weight: 1, arbitrary: fc.string({ maxLength: 50 }) },
  ),
  candidates: fc.array(
    fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom('ua', 'ub').map((u) => ({ candidate: `candidate:1 1 udp 1 127.0.0.1 4000 typ host ufrag ${u}`, mid: '0' })) },
      { weight: 1, arbitrary: anyCandidate() },
    ),
    { maxLength: 5 },
  ),
  flag: fc.boolean(),
  text: fc.string({ maxLength: 30 }),
});

function envelope(s: Step, from: DeviceId, to: DeviceId, sid: SessionId, seq: number): Envelope {
  const head = { v: 1 as const, from, to, sid, seq, ts: Date.now() };
  switch (s.type) {
    case 'offer':
      return { ...head, type: 'offer', body: { sdp: s.sdp, gen: s.gen, ...(s.flag ? { source: s.text } : {}) } };
    case 'answer':
      return { ...head, type: 'answer', body: { sdp: s.sdp, gen: s.gen, restartable: s.flag } };
    case 'candidates':
      return { ...head, type: 'candidates', body: { gen: s.gen, candidates: s.candidates, ...(s.flag ? { done: true } : {}) } };
    case 'restart':
      return { ...head, type: 'restart', body: { reason: s.text } };
    case 'hangup':
      return { ...head, type: 'hangup', body: { reason: s.text } };
    case 'error':
      return { ...head, type: 'error', body: { code: 'x', message: s.text } };
    case 'bye':
      return { ...head, type: 'bye', body: {} };
  }
}

describe('fuzz: session layer (CameraEndpoint, ViewerSession) under valid-schema envelopes in any order', () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (err: unknown) => unhandled.push(err);
  process.on('unhandledRejection', onUnhandled);
  after(() => {
    process.off('unhandledRejection', onUnhandled);
    process.stdout.write(`# fuzz session: ${inputs} envelopes in ${SEQUENCES * 2} scripts in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
  });

  it(`CameraEndpoint: ${SEQUENCES} scripts of up to ${PER_SEQUENCE} envelopes from several viewers`, async () => {
    const room = await Room.create();
    const replies = new Set<string>();
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: PER_SEQUENCE }), async (script) => {
        const channel = new ScriptedChannel(newDeviceId(), room);
        const viewers = Array.from({ length: 4 }, () => newDeviceId());
        const sids = Array.from({ length: 4 }, (_, i) => `s${i}`);
        const peers: FakePeer[] = [];
        const endpoint = new CameraEndpoint({
          channel,
          config: NO_ICE,
          peerFactory: () => {
            const p = new FakePeer(false);
            peers.push(p);
            return p;
          },
          maxViewers: 6,
          maxSessionsPerViewer: 2,
          timeouts: { answerMs: 50, iceMs: 50, disconnectedGraceMs: 20, trickleWindowMs: 1 },
        });
        const live = new Set<CameraSession>();
        endpoint.on('session', (s) => live.add(s));
        endpoint.on('ended', (s) => live.delete(s));
        const seen: CameraSession[] = [];
        endpoint.on('session', (s) => seen.push(s));
        let seq = 0;
        for (const s of script) {
          inputs++;
          channel.deliver(envelope(s, viewers[s.from] ?? '', channel.self, sids[s.sid] ?? '', seq++));
          if (s.flag) await new Promise((r) => setImmediate(r)); // interleave with the sessions' own work
        }
        // Every session finishes what it was fed: a no-op envelope queued behind the rest resolves in bounded time.
        for (const s of seen)
          await withinDeadline(s.handle({ v: 1, type: 'bye', from: s.remote, to: channel.self, sid: s.sid, seq: seq++, ts: Date.now(), body: {} }), 'a camera session');
        assert.equal(endpoint.viewers, live.size, 'the endpoint counts exactly its live sessions');
        assert.ok(endpoint.viewers <= 6);
        for (const v of viewers) assert.ok([...live].filter((s) => s.remote === v).length <= 2, 'per-viewer cap held');
        for (const s of live) assert.notEqual(s.state, 'closed');
        for (const s of seen) if (s.state === 'closed') assert.ok(!live.has(s));
        // Peers of closed sessions are closed; a live session has at most one open peer.
        const open = peers.filter((p) => !p.closed).length;
        assert.ok(open <= live.size, `${open} open peers for ${live.size} live sessions`);
        for (const m of channel.sent) replies.add(m.type);
        endpoint.close();
        assert.equal(endpoint.viewers, 0);
        assert.ok(peers.every((p) => p.closed), 'close() released every peer');
      }),
      { numRuns: SEQUENCES, seed: SEED },
    );
    assert.deepEqual(unhandled, [], 'no unhandled rejection');
    // The scripts drive real negotiations, not only rejections: answers, trickle, refusals and hangups all happened.
    for (const type of ['answer', 'candidates', 'error', 'hangup']) assert.ok(replies.has(type), `the camera never sent ${type}`);
  });

  it(`ViewerSession: ${SEQUENCES} scripts of replies from the camera and from strangers in the room`, async () => {
    const room = await Room.create();
    const states = new Set<string>();
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: PER_SEQUENCE }), async (script) => {
        const channel = new ScriptedChannel(newDeviceId(), room);
        const camera = newDeviceId();
        const others = [camera, camera, newDeviceId(), newDeviceId()];
        const peers: FakePeer[] = [];
        const session = new ViewerSession({
          channel,
          camera,
          config: NO_ICE,
          peerFactory: () => {
            const p = new FakePeer(true);
            peers.push(p);
            return p;
          },
          maxRestarts: 2,
          // A long answer wait: no timer may close the session while a script of strangers' messages plays.
          timeouts: { answerMs: 10_000, iceMs: 50, disconnectedGraceMs: 20, trickleWindowMs: 1 },
        });
        let closedEvents = 0;
        session.on('closed', () => closedEvents++);
        session.on('state', (st) => states.add(st));
        await withinDeadline(session.start(), 'ViewerSession.start');
        let seq = 0;
        for (const s of script) {
          inputs++;
          // Half of the envelopes belong to this session; the rest to others, which must be ignored.
          const sid = s.sid < 2 ? session.sid : `other${s.sid}`;
          channel.deliver(envelope(s, others[s.from] ?? camera, channel.self, sid, seq++));
          if (s.flag) await new Promise((r) => setImmediate(r));
        }
        await withinDeadline(session.handle({ v: 1, type: 'bye', from: camera, to: channel.self, sid: session.sid, seq: seq++, ts: Date.now(), body: {} }), 'the viewer session');
        assert.ok(closedEvents <= 1, 'closed at most once');
        assert.equal(peers.filter((p) => !p.closed).length <= 1, true, 'at most one live peer');
        if (session.state === 'closed') assert.ok(peers.every((p) => p.closed));
        // Only the camera's own messages for this session can have moved it: a stranger's hangup cannot close it.
        const onlyStrangers = script.every((s) => s.from >= 2 || s.sid >= 2);
        if (onlyStrangers) assert.notEqual(session.state, 'closed', 'envelopes of strangers or other sessions changed the session');
        session.close();
        assert.equal(session.state, 'closed');
        assert.ok(peers.every((p) => p.closed));
        assert.ok(channel.sent.every((m) => m.to === camera && m.sid === session.sid), 'it only ever wrote to its camera, in its session');
      }),
      { numRuns: SEQUENCES, seed: SEED },
    );
    assert.deepEqual(unhandled, [], 'no unhandled rejection');
    for (const st of ['connected', 'restarting', 'closed']) assert.ok(states.has(st), `no script brought a viewer session to ${st}`);
  });
});
