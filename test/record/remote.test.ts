import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { RecordingsServer } from '../../src/agent/recordings-server.js';
import { createDataPeer, type DataPeer, shutdownNdc } from '../../src/media/ndc/index.js';
import { concatBytes } from '../../src/protocol/index.js';
import {
  type ClipHeader,
  parseChunk,
  parseRecordingsReply,
  RECORDINGS_LABEL,
  RECORDINGS_SOURCE,
  type RecordingsEvent,
  type RecordingsOverview,
  type RecordingsSnapshot,
  type RecordingsSpan,
} from '../../src/protocol/recordings-wire.js';
import { buildClip, readClip } from '../../src/record/clip.js';
import { EventLog, eventsJson } from '../../src/record/event-log.js';
import { ViewerSession } from '../../src/session/index.js';
import type { SealedChannel } from '../../src/signaling/channel.js';
import { memoryRoom } from '../helpers/memory-room.js';
import { recordClip } from '../helpers/recorded-clip.js';
import { waitFor } from '../helpers/wait.js';
import { NO_ICE } from '../helpers/loopback.js';

const config = NO_ICE;
const engine = { bindAddress: '127.0.0.1' };
const START = Date.UTC(2026, 0, 7, 9, 0, 0);

/** The recorder's data channel (node-datachannel on both ends) over sealed signaling on an in-process broker. */
describe('recordings over a data channel with the recorder', () => {
  const root = mkdtempSync(join(tmpdir(), 'peercam-remote-rec-'));
  let channels: SealedChannel[];
  let server: RecordingsServer;

  before(async () => {
    // 20 s of H.264 from the shipped clip, in 5 s segments.
    await recordClip(root, 'Porch', { start: START, seconds: 20, segmentMs: 5000 });
    ({ channels } = await memoryRoom(['viewer', 'viewer']));
    server = new RecordingsServer({
      channel: channels[0]!,
      peerConfig: config,
      root,
      engine,
      status: () => ({ recording: ['Porch'], state: 'ok' }),
    });
  });
  after(async () => {
    await server?.close();
    await Promise.all(channels.map((c) => c.close()));
    rmSync(root, { recursive: true, force: true });
    shutdownNdc();
  });

  /** A member's side: a data peer offering for `source`, with a tiny request/stream client. */
  async function member(source: string | undefined) {
    const recorder = channels[0]!.self;
    const replies: string[] = [];
    const chunks = new Map<number, Uint8Array[]>();
    let peer: DataPeer | undefined;
    const session = new ViewerSession({
      channel: channels[1]!,
      camera: recorder,
      config,
      ...(source ? { source } : {}),
      peerFactory: (cfg) => {
        peer = createDataPeer(cfg, {
          ...engine,
          label: RECORDINGS_LABEL,
          onMessage: (t) => replies.push(t),
          onBinary: (b) => {
            const c = parseChunk(b);
            if (c) chunks.set(c.id, [...(chunks.get(c.id) ?? []), c.payload.slice()]);
          },
        });
        return peer;
      },
    });
    await session.start();
    const reply = async (id: number) => {
      await waitFor(() => replies.some((r) => parseRecordingsReply(r)?.id === id), { timeoutMs: 10_000, what: `reply ${id}` });
      const r = replies.map(parseRecordingsReply).find((x) => x?.id === id);
      assert.ok(r && 'ok' in r && r.ok, JSON.stringify(r));
      return r.body;
    };
    const send = (o: object) => peer?.send(JSON.stringify(o));
    const received = (id: number) => (chunks.get(id) ?? []).reduce((n, c) => n + c.length, 0);
    return { session, peer: () => peer, replies, chunks, reply, send, received };
  }

  it('lists and streams a clip paced by the member’s credit: stops at it, goes on when raised, bytes as over HTTP', async () => {
    const m = await member(RECORDINGS_SOURCE);
    try {
      await waitFor(() => m.peer()?.open === true, { timeoutMs: 20_000, what: 'the data channel open' });
      m.send({ id: 1, op: 'overview' });
      const overview = (await m.reply(1)) as RecordingsOverview;
      assert.deepEqual(overview.cameras.map((c) => c.camera), ['Porch']);
      assert.equal(overview.state, 'ok');
      m.send({ id: 2, op: 'list', camera: 'Porch', start: START - 60_000, end: START + 60_000 });
      const spans = (await m.reply(2)) as RecordingsSpan[];
      assert.equal(spans.length, 1, 'contiguous segments are one span');
      assert.ok(Math.abs(spans[0]!.duration - 20) < 0.5, `${spans[0]!.duration} s`);

      const credit = 100_000;
      m.send({ id: 3, op: 'clip', camera: 'Porch', start: START + 7000, duration: 6, credit });
      const header = (await m.reply(3)) as ClipHeader;
      assert.match(header.mime, /^video\/mp4; codecs="avc1\.[0-9a-f]{6}"$/);
      assert.ok(header.start <= START + 7000 && header.size > credit, JSON.stringify(header));
      await waitFor(() => m.received(3) >= credit, { timeoutMs: 10_000, what: 'the first credit' });
      await new Promise((r) => setTimeout(r, 500));
      assert.ok(m.received(3) < credit + 61 * 1024, `held at its credit: ${m.received(3)} bytes of ${header.size}`);
      assert.ok(!m.replies.some((r) => parseRecordingsReply(r)?.id === 3 && 'done' in (parseRecordingsReply(r) ?? {})), 'not done yet');
      m.send({ id: 3, op: 'credit', bytes: header.size });
      await waitFor(() => m.replies.some((r) => (r.includes('"done":true') && parseRecordingsReply(r)?.id === 3) ?? false), { timeoutMs: 10_000, what: 'the end of the clip' });
      const got = concatBytes(...(m.chunks.get(3) ?? []));
      assert.equal(got.length, header.size);
      const clip = buildClip(root, 'Porch', START + 7000, 6000);
      assert.ok(clip);
      const expected: Uint8Array[] = [];
      for await (const c of readClip(clip)) expected.push(c);
      assert.deepEqual(got, concatBytes(...expected), 'the same bytes as GET /api/recordings/get');

      m.send({ id: 4, op: 'clip', camera: 'Nobody', start: START, duration: 5, credit: 1e9 });
      await waitFor(() => m.replies.some((r) => parseRecordingsReply(r)?.id === 4), { timeoutMs: 10_000, what: 'reply 4' });
      const r4 = m.replies.map(parseRecordingsReply).find((x) => x?.id === 4);
      assert.ok(r4 && 'ok' in r4 && !r4.ok && r4.error.code === 'not-found');
    } finally {
      m.session.close('local', 'test done');
      await m.session.drain();
    }
  });

  it("every camera's motion events at once and an event's still, as over HTTP", async () => {
    const log = new EventLog(root);
    const jpeg = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 0x4a, 0x46, 0x49, 0x46, 0, 1, 0xff, 0xd9]);
    log.start('Porch', 'P1', START + 2000, 0.05, jpeg.toString('base64'));
    log.end('Porch', 'P1', START + 6000, 0.07);
    log.start('Yard', 'Y1', START + 3000, 0.02);
    log.start('Porch', 'P2', START + 9000, 0.04);
    const m = await member(RECORDINGS_SOURCE);
    try {
      await waitFor(() => m.peer()?.open === true, { timeoutMs: 20_000, what: 'the data channel open' });
      m.send({ id: 1, op: 'events', start: START, end: START + 60_000 });
      const all = (await m.reply(1)) as RecordingsEvent[];
      assert.deepEqual(all, eventsJson(root, undefined, START, START + 60_000));
      assert.deepEqual(all.map((e) => [e.camera, e.event, e.snapshot ?? false]), [['Porch', 'P1', true], ['Yard', 'Y1', false], ['Porch', 'P2', false]]);
      m.send({ id: 2, op: 'events', start: START, end: START + 60_000, limit: 1 });
      assert.deepEqual(((await m.reply(2)) as RecordingsEvent[]).map((e) => e.event), ['P2'], 'the newest');
      m.send({ id: 3, op: 'snapshot', camera: 'Porch', event: 'P1' });
      const still = (await m.reply(3)) as RecordingsSnapshot;
      assert.deepEqual([still.contentType, Buffer.from(still.base64, 'base64')], ['image/jpeg', jpeg]);
      // A request this recorder does not understand (a newer page's) is answered, not left waiting.
      m.send({ id: 6, op: 'thumbnails', camera: 'Porch' });
      await waitFor(() => m.replies.some((r) => parseRecordingsReply(r)?.id === 6), { timeoutMs: 10_000, what: 'reply 6' });
      const r6 = m.replies.map(parseRecordingsReply).find((x) => x?.id === 6);
      assert.ok(r6 && 'ok' in r6 && !r6.ok && r6.error.code === 'bad-request', JSON.stringify(r6));
      for (const [id, event] of [[4, 'Y1'], [5, '../P1']] as const) {
        m.send({ id, op: 'snapshot', camera: 'Porch', event });
        await waitFor(() => m.replies.some((r) => parseRecordingsReply(r)?.id === id), { timeoutMs: 10_000, what: `reply ${id}` });
        const r = m.replies.map(parseRecordingsReply).find((x) => x?.id === id);
        assert.ok(r && 'ok' in r && !r.ok && r.error.code === 'not-found', JSON.stringify(r));
      }
    } finally {
      m.session.close('local', 'test done');
      await m.session.drain();
    }
  });

  it('an offer for media (not the recordings source) is refused', async () => {
    const m = await member(undefined);
    const closed = await new Promise<string>((resolve) => m.session.once('closed', (_reason, message) => resolve(message)));
    assert.match(closed, /recordings only/);
  });
});
