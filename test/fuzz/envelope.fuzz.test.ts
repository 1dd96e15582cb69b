import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import {
  BROADCAST,
  Courier,
  type DropReason,
  type Envelope,
  newDeviceId,
  newSessionId,
  type Opened,
  parseEnvelope,
  Room,
  topics,
  utf8,
} from '../../src/protocol/index.js';
import { CANDIDATES, CHROMIUM_OFFER, mutatedText, NDC_ANSWER } from './corpus.js';
import { withinDeadline } from './deadline.js';

/**
 * The decoder under hostile input: parseEnvelope (schema), Courier.open / openPresence (every receive rule). Each
 * input must come back as a value (an envelope or a drop with a known reason): never a throw, never a hang.
 */
const REASONS = new Set<DropReason>(['oversize', 'malformed', 'bad-tag', 'wrong-recipient', 'stale', 'replay', 'unknown-version']);
const SEED = 0x7e57;
let inputs = 0;

describe('fuzz: envelope decoding (parseEnvelope, Courier.open, Courier.openPresence)', () => {
  let room: Room;
  let sender: Courier;
  let receiverId: string;
  const sealed: { payload: string; envelope: Envelope }[] = [];
  let presence: { device: string; payload: string };
  const started = performance.now();

  before(async () => {
    room = await Room.create();
    receiverId = newDeviceId();
    sender = new Courier(room, newDeviceId());
    const sid = newSessionId();
    const bodies = [
      sender.seal(receiverId, 'offer', sid, { sdp: CHROMIUM_OFFER, gen: 0, source: 'main' }),
      sender.seal(receiverId, 'answer', sid, { sdp: NDC_ANSWER, gen: 0, restartable: false }),
      sender.seal(receiverId, 'candidates', sid, { gen: 0, ufrag: 'Xq7b', candidates: CANDIDATES.slice(0, 5), done: true }),
      sender.seal(receiverId, 'hangup', sid, { reason: 'bye' }),
      sender.seal(receiverId, 'error', sid, { code: 'busy', message: 'full' }),
    ];
    // Keep the plaintext of each, to check that whatever opens is exactly what was sealed.
    const verifier = new Courier(room, receiverId);
    for (const b of bodies) {
      const { payload } = await b;
      const opened = await verifier.open(payload);
      assert.ok(opened.ok);
      sealed.push({ payload, envelope: opened.envelope });
    }
    const p = await sender.sealPresence({ name: 'Kitchen', role: 'camera', sources: [{ id: 'main', name: 'demo', kinds: ['video'] }] });
    presence = { device: sender.self, payload: p.payload };
  });
  after(() => {
    const s = ((performance.now() - started) / 1000).toFixed(1);
    process.stdout.write(`# fuzz envelope: ${inputs} inputs in ${s} s\n`);
  });

  const checkDrop = (opened: Opened, what: string) => {
    if (!opened.ok) assert.ok(REASONS.has(opened.reason), `${what}: unknown drop reason ${opened.reason}`);
    return opened;
  };

  it('parseEnvelope: arbitrary JSON values and mutated valid envelopes give an envelope or a verdict, never a throw', () => {
    const valid = () => fc.constantFrom(...sealed.map((s) => s.envelope as unknown as Record<string, unknown>));
    const mutatedEnvelope = fc
      .tuple(valid(), fc.constantFrom('v', 'type', 'from', 'to', 'sid', 'seq', 'ts', 'body', 'extra'), fc.jsonValue(), fc.boolean())
      .map(([e, key, value, remove]) => {
        const copy: Record<string, unknown> = structuredClone(e);
        if (remove) delete copy[key];
        else copy[key] = value;
        return copy;
      });
    const mutatedBody = fc.tuple(valid(), fc.string({ maxLength: 12 }), fc.anything()).map(([e, key, value]) => {
      const copy = structuredClone(e);
      const body = copy.body as Record<string, unknown>;
      const keys = Object.keys(body);
      body[keys.length > 0 && key.length % 2 === 0 ? (keys[key.length % keys.length] ?? key) : key] = value;
      return copy;
    });
    const input = fc.oneof(fc.anything(), fc.jsonValue(), mutatedEnvelope, mutatedBody);
    fc.assert(
      fc.property(input, (value) => {
        inputs++;
        const r = parseEnvelope(value);
        if (typeof r === 'string') assert.ok(r === 'malformed' || r === 'unknown-version');
        else assert.equal(r.v, 1);
      }),
      { numRuns: 30_000, seed: SEED },
    );
  });

  it('Courier.open: mutated sealed payloads are dropped with a reason, or open to exactly the sealed message', async () => {
    const receiver = new Courier(room, receiverId);
    const input = fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom(...sealed.map((s) => s.payload)).chain((p) => mutatedText(p, 3)) },
      { weight: 1, arbitrary: fc.string({ maxLength: 300 }) },
      { weight: 1, arbitrary: fc.base64String({ maxLength: 400 }).map((s) => s.replaceAll('+', '-').replaceAll('/', '_').replaceAll('=', '')) },
      { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }) },
      { weight: 1, arbitrary: fc.constantFrom('', 'A', 'AAAA', 'A'.repeat(64 * 1024 + 1), '\u00ff'.repeat(40)) },
    );
    await fc.assert(
      fc.asyncProperty(input, async (payload) => {
        inputs++;
        const opened = checkDrop(await withinDeadline(receiver.open(payload), 'Courier.open'), 'open');
        if (opened.ok) {
          // Only a mutation that left the bytes unchanged (e.g. the unused low bits of the last base64 char) opens.
          assert.ok(
            sealed.some((s) => JSON.stringify(s.envelope) === JSON.stringify(opened.envelope)),
            'an altered payload opened to a message nobody sealed',
          );
        }
      }),
      { numRuns: 25_000, seed: SEED },
    );
  });

  it('Courier.open: authentic boxes with hostile plaintext (a misbehaving member) are dropped, never thrown', async () => {
    const receiver = new Courier(room, receiverId);
    const address = topics.inbox(room.id, receiverId);
    const header = fc.record({
      v: fc.oneof({ weight: 5, arbitrary: fc.constant(1) }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 1 }) }),
      type: fc.constantFrom('offer', 'answer', 'candidates', 'hangup', 'presence', 'bye', 'restart', 'error', 'nope'),
      from: fc.oneof(fc.constant(sender.self), fc.string({ maxLength: 20 })),
      to: fc.oneof(fc.constant(receiverId), fc.constant(BROADCAST), fc.constant(newDeviceId())),
      sid: fc.string({ maxLength: 70 }),
      seq: fc.oneof(fc.nat(), fc.double(), fc.constant(-1)),
      ts: fc.oneof(fc.constant(Date.now()), fc.integer(), fc.constant(Number.MAX_SAFE_INTEGER)),
      body: fc.oneof(fc.object({ maxDepth: 2, maxKeys: 6 }), fc.jsonValue({ maxDepth: 2 }), fc.record({ sdp: fc.string({ maxLength: 100 }), gen: fc.integer() })),
    });
    const plaintext = fc.oneof(
      { weight: 4, arbitrary: header.map((h) => utf8.encode(JSON.stringify(h))) },
      { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((j) => utf8.encode(JSON.stringify(j) ?? 'null')) },
      { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }) },
      { weight: 1, arbitrary: fc.string({ maxLength: 200 }).map((s) => utf8.encode(s)) },
    );
    const verdicts = new Set<string>();
    await fc.assert(
      fc.asyncProperty(plaintext, async (bytes) => {
        inputs++;
        const payload = await room.key.seal(bytes, address);
        const opened = checkDrop(await withinDeadline(receiver.open(payload), 'Courier.open'), 'open');
        verdicts.add(opened.ok ? 'ok' : opened.reason);
        if (opened.ok) {
          assert.equal(opened.envelope.to, receiverId);
          assert.notEqual(opened.envelope.type, 'presence');
        }
      }),
      { numRuns: 12_000, seed: SEED },
    );
    // The inputs reach past the crypto into every later rule, not just the schema check.
    for (const v of ['malformed', 'unknown-version', 'wrong-recipient', 'stale']) assert.ok(verdicts.has(v), `no input reached "${v}"`);
  });

  it('Courier.openPresence: mutated presences and presences moved to another slot never open as that device', async () => {
    const receiver = new Courier(room, receiverId);
    const other = newDeviceId();
    const input = fc.tuple(
      fc.oneof(
        { weight: 4, arbitrary: mutatedText(presence.payload, 3) },
        { weight: 1, arbitrary: fc.constant(presence.payload) },
        { weight: 1, arbitrary: fc.string({ maxLength: 200 }) },
        { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }) },
      ),
      fc.constantFrom(presence.device, other, 'not-an-id', ''),
    );
    await fc.assert(
      fc.asyncProperty(input, async ([payload, device]) => {
        inputs++;
        const opened = checkDrop(await withinDeadline(receiver.openPresence(device, payload), 'openPresence'), 'openPresence');
        if (opened.ok) {
          assert.equal(device, presence.device, 'a presence opened in a slot it was not sealed for');
          assert.equal(opened.envelope.from, presence.device);
        }
      }),
      { numRuns: 10_000, seed: SEED },
    );
  });
});
