import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { PeercamError } from '../../src/protocol/index.js';
import { NTP_UNIX_OFFSET_MS, parseRtcp, parseSenderReports, serializeFir, serializeNack, serializePli, serializeSenderReport } from '../../src/media/rtcp.js';
import { SourceClock } from '../../src/media/source-clock.js';
import { isRtcp, parseRtp, type RtpPacket, seqDelta, serializeRtp, writeRtp } from '../../src/media/rtp.js';

const packetArb: fc.Arbitrary<RtpPacket> = fc
  .record({
    marker: fc.boolean(),
    payloadType: fc.integer({ min: 0, max: 127 }),
    sequenceNumber: fc.integer({ min: 0, max: 0xffff }),
    timestamp: fc.integer({ min: 0, max: 0xffffffff }),
    ssrc: fc.integer({ min: 0, max: 0xffffffff }),
    csrcs: fc.array(fc.integer({ min: 0, max: 0xffffffff }), { maxLength: 15 }),
    extension: fc.option(
      fc.record({
        profile: fc.integer({ min: 0, max: 0xffff }),
        data: fc.integer({ min: 0, max: 5 }).chain((w) => fc.uint8Array({ minLength: 4 * w, maxLength: 4 * w })),
      }),
      { nil: undefined },
    ),
    payload: fc.uint8Array({ maxLength: 1400 }),
    paddingSize: fc.integer({ min: 0, max: 255 }),
  })
  .map(({ extension, ...rest }) =>
    extension ? { ...rest, extension: { profile: extension.profile, data: extension.data } } : { ...rest },
  );

describe('RTP (RFC 3550)', () => {
  it('round-trips any packet: CSRCs, header extension, padding, marker, 32-bit fields', () => {
    fc.assert(
      fc.property(packetArb, (p) => {
        const bytes = serializeRtp(p);
        assert.deepEqual(parseRtp(bytes), p);
        // RFC 5761 section 4: payload types 64-95 collide with RTCP and are not used when multiplexing.
        if (p.payloadType < 64 || p.payloadType > 95) assert.equal(isRtcp(bytes), false);
      }),
    );
  });

  it('parses a known header byte for byte', () => {
    const bytes = Uint8Array.from([0x80, 0xe0, 0x12, 0x34, 0xde, 0xad, 0xbe, 0xef, 0x01, 0x02, 0x03, 0x04, 0x65, 0x88]);
    const p = parseRtp(bytes);
    assert.equal(p.marker, true);
    assert.equal(p.payloadType, 96);
    assert.equal(p.sequenceNumber, 0x1234);
    assert.equal(p.timestamp, 0xdeadbeef);
    assert.equal(p.ssrc, 0x01020304);
    assert.deepEqual([...p.payload], [0x65, 0x88]);
  });

  it('rejects malformed packets with a PeercamError, never a crash', () => {
    const cases = [
      new Uint8Array(5),
      Uint8Array.from([0x40, 96, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), // version 1
      Uint8Array.from([0x83, 96, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), // 3 CSRCs missing
      Uint8Array.from([0x90, 96, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xbe, 0xde, 0, 9]), // extension past the end
      Uint8Array.from([0xa0, 96, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 50]), // padding larger than the packet
    ];
    for (const c of cases) assert.throws(() => parseRtp(c), (e) => e instanceof PeercamError && e.code === 'media');
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (junk) => {
        try {
          parseRtp(junk);
        } catch (e) {
          assert.ok(e instanceof PeercamError);
        }
      }),
    );
  });

  it('writeRtp writes the plain header a forwarder sends', () => {
    const bytes = writeRtp(Uint8Array.of(1, 2, 3), {
      marker: true,
      payloadType: 102,
      sequenceNumber: 65535,
      timestamp: 0xffffffff,
      ssrc: 0x80000001,
    });
    assert.deepEqual(parseRtp(bytes), {
      marker: true,
      payloadType: 102,
      sequenceNumber: 65535,
      timestamp: 0xffffffff,
      ssrc: 0x80000001,
      csrcs: [],
      payload: Uint8Array.of(1, 2, 3),
      paddingSize: 0,
    });
  });

  it('compares sequence numbers across the 16-bit wrap', () => {
    assert.equal(seqDelta(65535, 0), 1);
    assert.equal(seqDelta(0, 65535), -1);
    assert.equal(seqDelta(100, 90), -10);
  });
});

describe('RTCP feedback (RFC 4585, RFC 5104)', () => {
  it('round-trips PLI', () => {
    const bytes = serializePli(0x11111111, 0x22222222);
    assert.equal(bytes[1], 206);
    assert.equal(bytes[0]! & 0x1f, 1);
    assert.ok(isRtcp(bytes));
    assert.deepEqual(parseRtcp(bytes), [{ type: 'pli', senderSsrc: 0x11111111, mediaSsrc: 0x22222222 }]);
  });

  it('round-trips FIR with several entries', () => {
    const entries = [
      { ssrc: 0xaaaaaaaa, seq: 7 },
      { ssrc: 1, seq: 255 },
    ];
    const bytes = serializeFir(5, entries);
    assert.equal(bytes[0]! & 0x1f, 4);
    assert.deepEqual(parseRtcp(bytes), [{ type: 'fir', senderSsrc: 5, entries }]);
  });

  it('round-trips generic NACK for any set of lost sequence numbers, across the wrap', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0xffff }),
        fc.uniqueArray(fc.integer({ min: 0, max: 200 }), { minLength: 1, maxLength: 60 }),
        (base, offsets) => {
          const lost = offsets.map((o) => (base + o) & 0xffff);
          const [msg] = parseRtcp(serializeNack(1, 2, lost));
          assert.ok(msg?.type === 'nack');
          assert.deepEqual(new Set(msg.lost), new Set(lost));
          assert.equal(msg.lost.length, lost.length);
        },
      ),
    );
    // One PID+BLP pair covers 17 consecutive losses, the 18th needs a second: 12 header bytes + n*4.
    assert.equal(serializeNack(1, 2, Array.from({ length: 17 }, (_, i) => 100 + i)).length, 16);
    assert.equal(serializeNack(1, 2, Array.from({ length: 18 }, (_, i) => 100 + i)).length, 20);
  });

  it('walks a compound packet and reports what it does not act on', () => {
    const rr = Uint8Array.from([0x80, 201, 0, 1, 0, 0, 0, 9]);
    const compound = new Uint8Array([...rr, ...serializePli(9, 3), ...serializeNack(9, 3, [42])]);
    assert.deepEqual(parseRtcp(compound), [
      { type: 'other', packetType: 201, fmt: 0 },
      { type: 'pli', senderSsrc: 9, mediaSsrc: 3 },
      { type: 'nack', senderSsrc: 9, mediaSsrc: 3, lost: [42] },
    ]);
  });

  it('rejects malformed RTCP with a PeercamError', () => {
    const truncated = serializePli(1, 2).subarray(0, 10);
    assert.throws(() => parseRtcp(truncated), PeercamError);
    assert.throws(() => parseRtcp(Uint8Array.from([0x81, 206, 0, 0])), PeercamError);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (junk) => {
        try {
          parseRtcp(junk);
        } catch (e) {
          assert.ok(e instanceof PeercamError);
        }
      }),
    );
  });
});

describe('RTCP sender reports (RFC 3550 6.4.1)', () => {
  it('round-trip: wall clock as NTP time, RTP time, counts, and a CNAME the compound packet ends with', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.integer({ min: 1_500_000_000_000, max: 2_000_000_000_000 }), fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.string({ minLength: 1, maxLength: 40 }), (ssrc, wallMs, rtpTs, cname) => {
        const bytes = serializeSenderReport({ ssrc, wallMs, rtpTs, packets: 7, octets: 9000, cname });
        assert.equal(bytes.length % 4, 0);
        const [sr] = parseSenderReports(bytes);
        assert.ok(sr && sr.ssrc === ssrc && sr.rtpTs === rtpTs);
        assert.ok(Math.abs(sr.ntpMs - NTP_UNIX_OFFSET_MS - wallMs) < 0.001);
        assert.deepEqual(parseRtcp(bytes).map((m) => (m.type === 'other' ? m.packetType : m.type)), [200, 202]);
      }),
    );
  });

  it('SourceClock keeps the earliest arrival for a timestamp and follows a drifting source window by window', () => {
    const clock = new SourceClock(90_000, 10_000);
    const t0 = 1_000_000;
    // 30 fps, arriving 5-25 ms after capture; the earliest (5 ms) sets the clock.
    for (let i = 0; i < 300; i++) clock.packet((0xffff_0000 + i * 3000) >>> 0, 0, t0 + (i * 1000) / 30 + 5 + ((i * 7) % 21));
    const at = clock.at(t0 + 5000 + 5);
    assert.ok(at && at.epoch === 0);
    assert.equal(((at.ts - 0xffff_0000) | 0) / 90, 5000, 'the timestamp captured 5 s in, across the 32-bit wrap');
    // The source's clock runs 1 % slow from here (far more than a real one): the estimate follows it within about
    // two windows' drift (kept at its first reading it would be 590 ms off after 59 s).
    const t1 = t0 + 10_000;
    for (let i = 0; i < 1800; i++) clock.packet((0xffff_0000 + 300 * 3000 + Math.round(i * 3000 * 0.99)) >>> 0, 0, t1 + (i * 1000) / 30 + 5);
    const later = clock.at(t1 + 59_000 + 5);
    assert.ok(later);
    const media = ((later.ts - 0xffff_0000) | 0) / 90 - 10_000;
    assert.ok(Math.abs(media - 59_000 * 0.99) < 250, `${media} ms of media at 59 s, expected ~${59_000 * 0.99}`);
    // A new epoch (the source restarted) starts over.
    clock.packet(42, 1, t1 + 40_000);
    assert.deepEqual(clock.at(t1 + 40_000), { ts: 42, epoch: 1 });
  });
});
