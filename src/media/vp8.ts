import { concatBytes } from '../protocol/index.js';
import { type RtpPacket, seqDelta } from './rtp.js';

/** The VP8 payload descriptor (RFC 7741 section 4.2) and what follows it. */
export interface Vp8Descriptor {
  /** S bit: this packet starts a VP8 partition. */
  readonly start: boolean;
  /** PID: partition index. */
  readonly partition: number;
  /** 7- or 15-bit picture ID (I bit and M bit), when present. */
  readonly pictureId: number | undefined;
  /** Bytes of descriptor before the VP8 payload. */
  readonly size: number;
}

/** Parses the payload descriptor; undefined when the payload is too short to hold the one it announces. */
export function parseVp8Descriptor(payload: Uint8Array): Vp8Descriptor | undefined {
  const b0 = payload[0];
  if (b0 === undefined) return undefined;
  let o = 1;
  let pictureId: number | undefined;
  if (b0 & 0x80) {
    const x = payload[o++];
    if (x === undefined) return undefined;
    if (x & 0x80) {
      const p0 = payload[o++];
      if (p0 === undefined) return undefined;
      if (p0 & 0x80) {
        const p1 = payload[o++];
        if (p1 === undefined) return undefined;
        pictureId = ((p0 & 0x7f) << 8) | p1;
      } else pictureId = p0;
    }
    if (x & 0x40) o++; // TL0PICIDX (L bit)
    if (x & 0x30) o++; // TID/Y/KEYIDX (T or K bit)
  }
  if (o > payload.length) return undefined;
  return { start: (b0 & 0x10) !== 0, partition: b0 & 0x07, pictureId, size: o };
}

/**
 * The first packet of a VP8 key frame: start of partition 0 whose payload header has P = 0 (RFC 7741 section 4.3,
 * the inverse key frame flag of RFC 6386 section 9.1).
 */
export function vp8StartsKeyframe(payload: Uint8Array): boolean {
  const d = parseVp8Descriptor(payload);
  if (!d?.start || d.partition !== 0) return false;
  const header = payload[d.size];
  return header !== undefined && (header & 0x01) === 0;
}

/**
 * Width and height from the first packet of a VP8 key frame: after the 3-byte frame tag come the start code
 * 9d 01 2a and two little-endian 16-bit fields whose low 14 bits are the size (RFC 6386 section 9.1).
 */
export function vp8KeyframeSize(payload: Uint8Array): { width: number; height: number } | undefined {
  if (!vp8StartsKeyframe(payload)) return undefined;
  const d = parseVp8Descriptor(payload);
  if (!d) return undefined;
  const f = payload.subarray(d.size);
  if (f.length < 10 || f[3] !== 0x9d || f[4] !== 0x01 || f[5] !== 0x2a) return undefined;
  const word = (i: number) => ((f[i] ?? 0) | ((f[i + 1] ?? 0) << 8)) & 0x3fff;
  return { width: word(6), height: word(8) };
}

/** An RTP payload of one VP8 frame; `marker` is set on the frame's last packet (RFC 7741 section 4.1). */
export interface Vp8Payload {
  readonly payload: Uint8Array;
  readonly marker: boolean;
}

/**
 * Packetizes one VP8 frame (RFC 7741 section 4): a 4-byte descriptor (X and S bits, I bit with a 15-bit picture ID,
 * the form ffmpeg and browsers send) before each piece; S is set on the first packet only, the partition index is 0.
 */
export function packetizeVp8(frame: Uint8Array, pictureId: number, mtu = 1200): Vp8Payload[] {
  const chunk = mtu - 12 - 4;
  const out: Vp8Payload[] = [];
  for (let o = 0; o < frame.length || o === 0; o += chunk) {
    const part = frame.subarray(o, Math.min(o + chunk, frame.length));
    const p = new Uint8Array(4 + part.length);
    p[0] = 0x80 | (o === 0 ? 0x10 : 0);
    p[1] = 0x80;
    p[2] = 0x80 | ((pictureId >> 8) & 0x7f);
    p[3] = pictureId & 0xff;
    p.set(part, 4);
    out.push({ payload: p, marker: o + chunk >= frame.length });
  }
  return out;
}

/** One VP8 frame rebuilt from RTP. */
export interface Vp8Frame {
  readonly timestamp: number;
  readonly data: Uint8Array;
  /** A key frame (RFC 6386 section 9.1): decoding can start here. */
  readonly keyframe: boolean;
}

/**
 * Rebuilds VP8 frames from RTP packets in order (RFC 7741 section 4.5): a frame is the payloads after the descriptors
 * from a packet with S set and partition 0 up to the marker bit. A lost packet drops the frame it hit.
 */
export class Vp8Depacketizer {
  private ts: number | undefined;
  /** Payloads of the frame being rebuilt; undefined until a frame's first packet arrives whole. */
  private parts: Uint8Array[] | undefined;
  private keyframe = false;
  private nextSeq: number | undefined;

  push(packet: RtpPacket): Vp8Frame[] {
    if (this.nextSeq !== undefined && packet.sequenceNumber !== this.nextSeq) {
      if (seqDelta(this.nextSeq, packet.sequenceNumber) < 0) return []; // late duplicate: its frame is gone
      this.parts = undefined; // lost packets: the frame being rebuilt is incomplete
    }
    this.nextSeq = (packet.sequenceNumber + 1) & 0xffff;
    if (packet.timestamp !== this.ts) this.parts = undefined; // a new frame; the last one never saw its marker
    this.ts = packet.timestamp;
    const d = parseVp8Descriptor(packet.payload);
    if (!d) {
      this.parts = undefined;
      return [];
    }
    if (d.start && d.partition === 0) {
      this.parts = [];
      this.keyframe = vp8StartsKeyframe(packet.payload);
    }
    if (!this.parts) return [];
    this.parts.push(packet.payload.subarray(d.size));
    if (!packet.marker) return [];
    const frame = { timestamp: packet.timestamp, data: concatBytes(...this.parts), keyframe: this.keyframe };
    this.parts = undefined;
    return [frame];
  }
}

