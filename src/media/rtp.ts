import { PeercamError } from '../protocol/index.js';

/** One RTP packet (RFC 3550 section 5.1). `payload` is a view into the parsed buffer, not a copy. */
export interface RtpPacket {
  readonly marker: boolean;
  readonly payloadType: number;
  readonly sequenceNumber: number;
  readonly timestamp: number;
  readonly ssrc: number;
  readonly csrcs: readonly number[];
  /** The header extension (RFC 3550 5.3.1): 16-bit profile word and its data (a multiple of 4 bytes). */
  readonly extension?: { readonly profile: number; readonly data: Uint8Array };
  readonly payload: Uint8Array;
  /** Bytes of padding after the payload, the last of which holds this count (RFC 3550 5.1, P bit). 0 = none. */
  readonly paddingSize: number;
}

export const RTP_HEADER_SIZE = 12;

function bad(why: string): PeercamError {
  return new PeercamError('media', `Dropped a malformed RTP packet: ${why}.`);
}

/** RTCP packet types 192..223 share the second byte with RTP's M+PT; RFC 5761 section 4 tells them apart. */
export function isRtcp(buf: Uint8Array): boolean {
  const pt = buf[1];
  return buf.length >= 4 && pt !== undefined && pt >= 192 && pt <= 223;
}

/** Parses an RTP packet; throws a PeercamError('media') saying what is wrong with a malformed one. */
export function parseRtp(buf: Uint8Array): RtpPacket {
  if (buf.length < RTP_HEADER_SIZE) throw bad(`${buf.length} bytes is shorter than the 12-byte header`);
  const b0 = buf[0]!;
  if (b0 >> 6 !== 2) throw bad(`version ${b0 >> 6}, expected 2`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const csrcCount = b0 & 0x0f;
  let offset = RTP_HEADER_SIZE + 4 * csrcCount;
  if (offset > buf.length) throw bad(`${csrcCount} CSRCs do not fit in ${buf.length} bytes`);
  const csrcs: number[] = [];
  for (let i = 0; i < csrcCount; i++) csrcs.push(view.getUint32(RTP_HEADER_SIZE + 4 * i));
  let extension: RtpPacket['extension'];
  if (b0 & 0x10) {
    if (offset + 4 > buf.length) throw bad('the header extension is truncated');
    const profile = view.getUint16(offset);
    const words = view.getUint16(offset + 2);
    const end = offset + 4 + 4 * words;
    if (end > buf.length) throw bad('the header extension is longer than the packet');
    extension = { profile, data: buf.subarray(offset + 4, end) };
    offset = end;
  }
  let paddingSize = 0;
  if (b0 & 0x20) {
    paddingSize = buf[buf.length - 1]!;
    if (paddingSize === 0 || offset + paddingSize > buf.length) throw bad(`invalid padding size ${paddingSize}`);
  }
  const b1 = buf[1]!;
  const packet: RtpPacket = {
    marker: (b1 & 0x80) !== 0,
    payloadType: b1 & 0x7f,
    sequenceNumber: view.getUint16(2),
    timestamp: view.getUint32(4),
    ssrc: view.getUint32(8),
    csrcs,
    payload: buf.subarray(offset, buf.length - paddingSize),
    paddingSize,
  };
  return extension ? { ...packet, extension } : packet;
}

/** Serializes an RTP packet; `parseRtp(serializeRtp(p))` gives back `p`. */
export function serializeRtp(p: RtpPacket): Uint8Array {
  const extLen = p.extension ? 4 + p.extension.data.length : 0;
  if (p.extension && p.extension.data.length % 4 !== 0) {
    throw PeercamError.config('RTP header extension data must be a multiple of 4 bytes (RFC 3550 5.3.1).');
  }
  if (p.csrcs.length > 15) throw PeercamError.config('An RTP packet carries at most 15 CSRCs (RFC 3550 5.1).');
  const headerLen = RTP_HEADER_SIZE + 4 * p.csrcs.length + extLen;
  const out = new Uint8Array(headerLen + p.payload.length + p.paddingSize);
  const view = new DataView(out.buffer);
  out[0] = 0x80 | (p.paddingSize ? 0x20 : 0) | (p.extension ? 0x10 : 0) | p.csrcs.length;
  out[1] = (p.marker ? 0x80 : 0) | (p.payloadType & 0x7f);
  view.setUint16(2, p.sequenceNumber & 0xffff);
  view.setUint32(4, p.timestamp >>> 0);
  view.setUint32(8, p.ssrc >>> 0);
  let o = RTP_HEADER_SIZE;
  for (const c of p.csrcs) {
    view.setUint32(o, c >>> 0);
    o += 4;
  }
  if (p.extension) {
    view.setUint16(o, p.extension.profile);
    view.setUint16(o + 2, p.extension.data.length / 4);
    out.set(p.extension.data, o + 4);
    o += extLen;
  }
  out.set(p.payload, o);
  if (p.paddingSize) out[out.length - 1] = p.paddingSize;
  return out;
}

/**
 * The packet a forwarder sends: fixed 12-byte header with the given fields, then the payload. CSRCs, header
 * extensions and padding are dropped on purpose: their ids were negotiated with the source, not with the viewer.
 */
export function writeRtp(
  payload: Uint8Array,
  h: { marker: boolean; payloadType: number; sequenceNumber: number; timestamp: number; ssrc: number },
): Uint8Array {
  return writeRtpInto(new Uint8Array(RTP_HEADER_SIZE + payload.length), payload, h);
}

/**
 * writeRtp into `out` (at least RTP_HEADER_SIZE + payload bytes), for a forwarder that reuses one buffer per packet
 * sent: returns the view of `out` that holds the packet.
 */
export function writeRtpInto(
  out: Uint8Array,
  payload: Uint8Array,
  h: { marker: boolean; payloadType: number; sequenceNumber: number; timestamp: number; ssrc: number },
): Uint8Array {
  out[0] = 0x80;
  out[1] = (h.marker ? 0x80 : 0) | (h.payloadType & 0x7f);
  out[2] = (h.sequenceNumber >> 8) & 0xff;
  out[3] = h.sequenceNumber & 0xff;
  const ts = h.timestamp >>> 0;
  out[4] = ts >>> 24;
  out[5] = (ts >>> 16) & 0xff;
  out[6] = (ts >>> 8) & 0xff;
  out[7] = ts & 0xff;
  const ssrc = h.ssrc >>> 0;
  out[8] = ssrc >>> 24;
  out[9] = (ssrc >>> 16) & 0xff;
  out[10] = (ssrc >>> 8) & 0xff;
  out[11] = ssrc & 0xff;
  out.set(payload, RTP_HEADER_SIZE);
  return out.subarray(0, RTP_HEADER_SIZE + payload.length);
}

/** Signed distance from sequence number `a` to `b` in 16-bit serial arithmetic (RFC 3550 appendix A.1). */
export function seqDelta(a: number, b: number): number {
  return ((((b - a) & 0xffff) + 0x8000) & 0xffff) - 0x8000;
}
