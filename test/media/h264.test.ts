import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  type AccessUnit,
  H264Depacketizer,
  NAL,
  nalType,
  packetizeH264,
  parseSps,
  payloadNalTypes,
  splitAccessUnits,
  splitAnnexB,
  startsKeyframe,
  toAnnexB,
} from '../../src/media/h264.js';
import { parseRtp, type RtpPacket, serializeRtp } from '../../src/media/rtp.js';
import { DEMO_CLIP } from '../../src/media/sources/demo.js';

const demo = readFileSync(DEMO_CLIP);
const dir = mkdtempSync(join(tmpdir(), 'peercam-h264-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A real ffmpeg encode: high profile, 4 slices per picture, a size that needs cropping, B-frames. */
function encodeHigh(): Uint8Array {
  const out = join(dir, 'high.h264');
  execFileSync('ffmpeg', [
    ...['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=322x242:rate=25:duration=1'],
    ...['-c:v', 'libx264', '-profile:v', 'high', '-x264-params', 'slices=4', '-g', '10', '-f', 'h264', out],
  ]);
  return readFileSync(out);
}

/** Packetizes access units into serialized-then-parsed RTP packets, as they would cross the wire. */
function toRtp(units: readonly (readonly Uint8Array[])[], options: { mtu?: number; stapA?: boolean } = {}) {
  const packets: RtpPacket[] = [];
  let seq = 65500; // crosses the sequence wrap on purpose
  units.forEach((nals, i) => {
    for (const { payload, marker } of packetizeH264(nals, options)) {
      const bytes = serializeRtp({
        marker,
        payloadType: 96,
        sequenceNumber: seq++ & 0xffff,
        timestamp: (0xfffff000 + i * 3000) >>> 0,
        ssrc: 1,
        csrcs: [],
        payload,
        paddingSize: 0,
      });
      assert.ok(bytes.length <= (options.mtu ?? 1200));
      packets.push(parseRtp(bytes));
    }
  });
  return packets;
}

function depacketize(packets: readonly RtpPacket[]): { units: AccessUnit[]; d: H264Depacketizer } {
  const d = new H264Depacketizer();
  return { units: packets.flatMap((p) => d.push(p)), d };
}

function same(a: readonly Uint8Array[], b: readonly Uint8Array[]): void {
  const hex = (n: Uint8Array) => Buffer.from(n).toString('hex');
  assert.deepEqual(a.map(hex), b.map(hex));
}

describe('H.264 (RFC 6184)', () => {
  it('splits the demo clip into 90 access units with an IDR + SPS + PPS every 30', () => {
    const units = splitAccessUnits(splitAnnexB(demo));
    assert.equal(units.length, 90);
    const keys = units.flatMap((u, i) => (u.some((n) => nalType(n) === NAL.IDR) ? [i] : []));
    assert.deepEqual(keys, [0, 30, 60]);
    for (const k of keys) assert.deepEqual(units[k]!.map(nalType).filter((t) => t === 7 || t === 8), [7, 8]);
    same(splitAnnexB(toAnnexB(units.flat())), units.flat());
  });

  it('reads width and height from SPS, including frame cropping', () => {
    const sps = splitAnnexB(demo).find((n) => nalType(n) === NAL.SPS)!;
    const info = parseSps(sps);
    assert.deepEqual([info.width, info.height], [640, 360]);
    assert.equal(info.profileIdc, 66);
    assert.match(info.profileLevelId, /^42[0-9a-f]{2}1f$/);
    const high = splitAnnexB(encodeHigh()).find((n) => nalType(n) === NAL.SPS)!;
    const hi = parseSps(high);
    assert.deepEqual([hi.profileIdc, hi.width, hi.height], [100, 322, 242]);
    assert.throws(() => parseSps(sps.subarray(0, 3)), /not usable H.264/);
    assert.throws(() => parseSps(sps.subarray(0, 5)), /truncated/);
  });

  it('round-trips the demo clip: single NAL, STAP-A for SPS+PPS, FU-A above 1200 bytes', () => {
    const units = splitAccessUnits(splitAnnexB(demo));
    const packets = toRtp(units);
    const types = packets.map((p) => nalType(p.payload));
    assert.ok(types.includes(NAL.STAP_A) && types.includes(NAL.FU_A) && types.includes(NAL.SLICE));
    assert.deepEqual(payloadNalTypes(packets[0]!.payload).slice(0, 2), [NAL.SPS, NAL.PPS]);
    assert.ok(startsKeyframe(packets[0]!.payload));
    const { units: back, d } = depacketize(packets);
    assert.equal(back.length, units.length);
    for (const [i, u] of back.entries()) same(u.nals, units[i]!);
    assert.deepEqual(
      back.flatMap((u, i) => (u.keyframe ? [i] : [])),
      [0, 30, 60],
    );
    assert.equal(d.stats.dropped, 0);
  });

  it('round-trips multi-slice high-profile pictures without STAP-A and with a small MTU', () => {
    const units = splitAccessUnits(splitAnnexB(encodeHigh()));
    assert.equal(units.length, 25);
    assert.ok(units.every((u) => u.filter((n) => [1, 5].includes(nalType(n))).length === 4));
    const packets = toRtp(units, { mtu: 300, stapA: false });
    assert.ok(!packets.some((p) => nalType(p.payload) === NAL.STAP_A));
    const { units: back } = depacketize(packets);
    assert.equal(back.length, 25);
    for (const [i, u] of back.entries()) same(u.nals, units[i]!);
  });

  it('drops exactly the access unit that lost a packet, keeps the rest', () => {
    const units = splitAccessUnits(splitAnnexB(demo));
    const packets = toRtp(units);
    // Lose a middle FU-A fragment of the first IDR and the only packet of a P frame (unit 40).
    const fu = packets.findIndex((p, i) => i > 0 && nalType(p.payload) === NAL.FU_A && !(p.payload[1]! & 0xc0));
    const p40 = packets.findIndex((p) => p.timestamp === ((0xfffff000 + 40 * 3000) >>> 0));
    const lossy = packets.filter((_, i) => i !== fu && i !== p40);
    const { units: back, d } = depacketize(lossy);
    assert.equal(back.length, 88);
    assert.equal(d.stats.lostPackets, 2);
    assert.equal(d.stats.dropped, 2);
    assert.ok(!back.some((u) => u.timestamp === packets[p40]!.timestamp));
    assert.ok(!back.some((u) => u.timestamp === packets[fu]!.timestamp));
    for (const u of back) same(u.nals, units[((u.timestamp - 0xfffff000) >>> 0) / 3000]!);
  });

  it('ignores a fragment whose start was never seen, and late duplicates', () => {
    const units = splitAccessUnits(splitAnnexB(demo)).slice(0, 3);
    const packets = toRtp(units);
    const { units: back } = depacketize([...packets.slice(2), packets[5]!]);
    // The first unit lost its STAP-A and first fragment: dropped. The duplicate changes nothing.
    assert.deepEqual(
      back.map((u) => u.timestamp),
      [1, 2].map((i) => (0xfffff000 + i * 3000) >>> 0),
    );
  });
});
