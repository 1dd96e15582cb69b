import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Fanout, type FanoutOptions } from '../../src/media/fanout.js';
import { type AccessUnit, H264Depacketizer, hasParameterSets } from '../../src/media/h264.js';
import { serializeFir, serializeNack, serializePli } from '../../src/media/rtcp.js';
import { parseRtp, type RtpPacket } from '../../src/media/rtp.js';
import type { ViewerFeed, ViewerState } from '../../src/media/viewer-feed.js';
import { ClipStream } from './clip.js';

const fanouts: Fanout[] = [];
after(() => {
  for (const f of fanouts) f.close();
});

function fanout(options: Partial<FanoutOptions> = {}): Fanout {
  const f = new Fanout({ codec: 'H264', clockRate: 90000, tickMs: 2, ...options });
  fanouts.push(f);
  return f;
}

interface Viewer {
  feed: ViewerFeed;
  raw: Uint8Array[];
  packets: RtpPacket[];
}

function viewer(f: Fanout, payloadType: number): Viewer {
  const raw: Uint8Array[] = [];
  const packets: RtpPacket[] = [];
  const sink = (sent: Uint8Array) => {
    const bytes = sent.slice(); // the feed reuses its send buffer
    raw.push(bytes);
    packets.push(parseRtp(bytes));
  };
  return { feed: f.addViewer({ payloadType, sink }), raw, packets };
}

function reached(feed: ViewerFeed, state: ViewerState): Promise<void> {
  if (feed.state === state) return Promise.resolve();
  return new Promise((resolve) => {
    const off = feed.on('state', (s) => {
      if (s === state) {
        off();
        resolve();
      }
    });
  });
}

function decode(packets: readonly RtpPacket[]): { units: AccessUnit[]; dropped: number } {
  const d = new H264Depacketizer();
  const units = packets.flatMap((p) => d.push(p));
  return { units, dropped: d.stats.dropped + d.stats.lostPackets };
}

/** Every packet on the viewer's own SSRC and PT, sequence numbers +1 each, frames exactly 3000 ticks apart. */
function assertContinuous(v: Viewer): void {
  assert.ok(v.packets.length > 0);
  for (const [i, p] of v.packets.entries()) {
    assert.equal(p.ssrc, v.feed.ssrc);
    assert.equal(p.payloadType, v.feed.payloadType);
    const prev = v.packets[i - 1];
    if (!prev) continue;
    assert.equal(p.sequenceNumber, (prev.sequenceNumber + 1) & 0xffff, `sequence gap at packet ${i}`);
    const dt = (p.timestamp - prev.timestamp) >>> 0;
    assert.ok(dt === 0 || dt === 3000, `timestamp step ${dt} at packet ${i}`);
    if (dt === 0) assert.equal(prev.marker, false, 'a frame continues after its marker');
  }
}

describe('Fanout', () => {
  it('gives viewers joining at different times their own continuous stream, starting with SPS/PPS + IDR', async () => {
    const f = fanout();
    const src = new ClipStream();
    const push = (n: number) => {
      for (const p of src.frames(n)) f.push(p);
    };
    push(5);
    const a = viewer(f, 102);
    push(35); // a catches up while live packets keep coming
    const b = viewer(f, 96);
    push(20);
    src.restart(0x9999, 10, 12345); // the encoder restarted: new SSRC, sequence and timestamps
    push(7);
    const c = viewer(f, 120);
    push(3);
    await Promise.all([a, b, c].map((v) => reached(v.feed, 'live')));
    push(2);
    assert.equal(new Set([a, b, c].map((v) => v.feed.ssrc)).size, 3);
    for (const v of [a, b, c]) {
      assertContinuous(v);
      const { units, dropped } = decode(v.packets);
      assert.equal(dropped, 0);
      assert.ok(units[0]!.keyframe && hasParameterSets(units[0]!.nals), 'first unit is a keyframe with SPS/PPS');
    }
    // a: cached GOP from frame 0 on, then everything; b: from frame 30 (the GOP it joined in); c: from the restart.
    assert.equal(decode(a.packets).units.length, 72);
    assert.equal(decode(b.packets).units.length, 72 - 30);
    assert.equal(decode(c.packets).units.length, 12);
    assert.ok(a.feed.stats.burstPackets > 0 && c.feed.stats.burstPackets > 0);
  });

  it('without the cache a new viewer waits for the next keyframe', async () => {
    const f = fanout({ keyframeCache: false });
    const src = new ClipStream();
    for (const p of src.frames(10)) f.push(p);
    const v = viewer(f, 96);
    for (const p of src.frames(15)) f.push(p);
    assert.equal(v.packets.length, 0);
    assert.equal(v.feed.state, 'waiting');
    for (const p of src.frames(10)) f.push(p);
    assert.equal(v.feed.state, 'live');
    assertContinuous(v);
    const { units } = decode(v.packets);
    assert.equal(units.length, 5);
    assert.ok(units[0]!.keyframe && hasParameterSets(units[0]!.nals));
    assert.ok(v.feed.stats.skippedPackets > 0);
    assert.equal(f.cacheSize.bytes, 0);
  });

  it('paces the cached GOP: at most the byte budget per tick', async () => {
    const f = fanout({ burstBytesPerTick: 8000, tickMs: 60 });
    const src = new ClipStream();
    for (const p of src.frames(29)) f.push(p);
    const gopBytes = f.cacheSize.bytes;
    assert.ok(gopBytes > 40000);
    const v = viewer(f, 96);
    assert.equal(v.raw.length, 0, 'nothing is sent inside addViewer');
    await sleep(20); // after the first tick, long before the second
    const first = v.packets.reduce((n, p) => n + p.payload.length, 0);
    assert.ok(first > 0 && first <= 8000, `first tick sent ${first} bytes`);
    await reached(v.feed, 'live');
    assert.equal(
      v.packets.reduce((n, p) => n + p.payload.length, 0),
      gopBytes,
    );
  });

  it('re-sends NACKed packets byte for byte while they are in the history', async () => {
    const f = fanout({ nackHistoryMs: 100 });
    const src = new ClipStream();
    const v = viewer(f, 96);
    for (const p of src.frames(31)) f.push(p);
    assert.equal(v.feed.state, 'live');
    const sent = v.packets.length;
    const want = [v.packets[3]!, v.packets[sent - 1]!];
    v.feed.handleRtcp(serializeNack(1, v.feed.ssrc, want.map((p) => p.sequenceNumber)));
    assert.equal(v.raw.length, sent + 2);
    assert.deepEqual(v.raw.slice(sent), [v.raw[3], v.raw[sent - 1]]);
    assert.equal(v.feed.stats.retransmitted, 2);
    // A NACK for another SSRC is not ours; one for a never-sent number is a miss.
    v.feed.handleRtcp(serializeNack(1, v.feed.ssrc + 1, [want[0]!.sequenceNumber]));
    v.feed.handleRtcp(serializeNack(1, v.feed.ssrc, [(want[1]!.sequenceNumber + 100) & 0xffff]));
    assert.equal(v.raw.length, sent + 2);
    assert.equal(v.feed.stats.nackMisses, 1);
    await sleep(150);
    v.feed.handleRtcp(serializeNack(1, v.feed.ssrc, [want[1]!.sequenceNumber]));
    assert.equal(v.raw.length, sent + 2, 'older than the history: not re-sent');
    v.feed.handleRtcp(Uint8Array.of(1, 2, 3)); // malformed: ignored
  });

  it('answers PLI with a rate-limited GOP replay when the source cannot make keyframes', async () => {
    const f = fanout({ pliReplayIntervalMs: 60_000 });
    const src = new ClipStream();
    const v = viewer(f, 96);
    for (const p of src.frames(40)) f.push(p);
    const before = v.packets.length;
    v.feed.handleRtcp(serializePli(1, v.feed.ssrc));
    v.feed.handleRtcp(serializeFir(1, [{ ssrc: v.feed.ssrc, seq: 1 }]));
    await reached(v.feed, 'live');
    for (const p of src.frames(2)) f.push(p);
    assert.equal(v.feed.stats.pictureLossReports, 2);
    assert.equal(v.feed.stats.replays, 1);
    assertContinuous(v);
    const replayed = decode(v.packets.slice(before));
    assert.ok(replayed.units[0]!.keyframe && hasParameterSets(replayed.units[0]!.nals));
    assert.equal(replayed.units.length, 10 + 2); // frames 30..39 again, then live
  });

  it('answers PLI/FIR by asking a source that can make keyframes, once per interval for all viewers', async () => {
    let asked = 0;
    const f = fanout({ requestKeyframe: () => asked++, keyframeRequestIntervalMs: 60_000 });
    const src = new ClipStream();
    for (const p of src.frames(1)) f.push(p);
    const vs = [viewer(f, 96), viewer(f, 97), viewer(f, 98)];
    await Promise.all(vs.map((v) => reached(v.feed, 'live')));
    for (const p of src.frames(5)) f.push(p);
    for (const v of vs) v.feed.handleRtcp(serializePli(7, v.feed.ssrc));
    vs[0]!.feed.handleRtcp(serializeFir(7, [{ ssrc: vs[0]!.feed.ssrc, seq: 2 }]));
    assert.equal(asked, 1);
    assert.equal(f.keyframeRequests, 1);
    assert.ok(vs.every((v) => v.feed.stats.replays === 0));
  });

  it('forwards Opus audio from the next packet, no cache, continuous across a source restart', () => {
    const f = fanout({ codec: 'opus', clockRate: 48000 });
    const opus = (ssrc: number, seq: number, ts: number): RtpPacket => ({
      marker: false,
      payloadType: 111,
      sequenceNumber: seq & 0xffff,
      timestamp: ts >>> 0,
      ssrc,
      csrcs: [],
      payload: Uint8Array.of(0xfc, seq & 0xff),
      paddingSize: 0,
    });
    for (let i = 0; i < 5; i++) f.push(opus(1, 100 + i, 5000 + 960 * i));
    const v = viewer(f, 109);
    assert.equal(f.cacheSize.packets, 0);
    for (let i = 5; i < 10; i++) f.push(opus(1, 100 + i, 5000 + 960 * i));
    for (let i = 0; i < 5; i++) f.push(opus(2, 40000 + i, 77 + 960 * i)); // restarted encoder
    assert.equal(v.packets.length, 10);
    for (const [i, p] of v.packets.entries()) {
      assert.equal(p.payloadType, 109);
      if (i) assert.equal(p.sequenceNumber, (v.packets[i - 1]!.sequenceNumber + 1) & 0xffff);
      if (i) assert.equal((p.timestamp - v.packets[i - 1]!.timestamp) >>> 0, 960);
    }
  });

  it('keeps other viewers going when one sink throws', () => {
    const f = fanout();
    const src = new ClipStream();
    const bad = f.addViewer({
      payloadType: 96,
      sink: () => {
        throw new Error('track closed');
      },
    });
    const good = viewer(f, 96);
    for (const p of src.frames(31)) f.push(p);
    assert.ok(bad.stats.sinkErrors > 0);
    assert.ok(good.packets.length > 0);
  });
});
