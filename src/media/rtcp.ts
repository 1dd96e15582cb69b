import { PeercamError } from '../protocol/index.js';

/** RTCP packet types used here (RFC 3550 section 12.1, RFC 4585 section 6.1). */
export const RTCP_SR = 200;
export const RTCP_RR = 201;
export const RTCP_SDES = 202;
export const RTCP_RTPFB = 205;
export const RTCP_PSFB = 206;

/** The feedback a sender acts on; every other RTCP packet of a compound is reported as `other`. */
export type RtcpMessage =
  /** Picture Loss Indication (RFC 4585 6.3.1): PT 206, FMT 1. */
  | { readonly type: 'pli'; readonly senderSsrc: number; readonly mediaSsrc: number }
  /** Full Intra Request (RFC 5104 4.3.1): PT 206, FMT 4; the target SSRCs are in the FCI entries. */
  | {
      readonly type: 'fir';
      readonly senderSsrc: number;
      readonly entries: readonly { readonly ssrc: number; readonly seq: number }[];
    }
  /** Generic NACK (RFC 4585 6.2.1): PT 205, FMT 1, expanded into the lost sequence numbers. */
  | { readonly type: 'nack'; readonly senderSsrc: number; readonly mediaSsrc: number; readonly lost: readonly number[] }
  | { readonly type: 'other'; readonly packetType: number; readonly fmt: number };

function bad(why: string): PeercamError {
  return new PeercamError('media', `Dropped a malformed RTCP packet: ${why}.`);
}

/** Parses a (compound) RTCP packet into its messages; throws a PeercamError('media') if it is malformed. */
export function parseRtcp(buf: Uint8Array): RtcpMessage[] {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const out: RtcpMessage[] = [];
  let o = 0;
  while (o < buf.length) {
    if (o + 4 > buf.length) throw bad('a header is truncated');
    const b0 = buf[o]!;
    if (b0 >> 6 !== 2) throw bad(`version ${b0 >> 6}, expected 2`);
    const fmt = b0 & 0x1f;
    const packetType = buf[o + 1]!;
    const end = o + 4 * (view.getUint16(o + 2) + 1);
    if (end > buf.length) throw bad(`length field points past the ${buf.length}-byte buffer`);
    // With the P bit set, the last byte of this packet counts the padding (RFC 3550 6.4.1).
    const bodyEnd = b0 & 0x20 ? end - buf[end - 1]! : end;
    const isFeedback = packetType === RTCP_PSFB || packetType === RTCP_RTPFB;
    if (isFeedback && bodyEnd - o < 12) throw bad('a feedback message is shorter than 12 bytes');
    if (packetType === RTCP_PSFB && fmt === 1) {
      out.push({ type: 'pli', senderSsrc: view.getUint32(o + 4), mediaSsrc: view.getUint32(o + 8) });
    } else if (packetType === RTCP_PSFB && fmt === 4) {
      const entries: { ssrc: number; seq: number }[] = [];
      for (let f = o + 12; f + 8 <= bodyEnd; f += 8) entries.push({ ssrc: view.getUint32(f), seq: buf[f + 4]! });
      out.push({ type: 'fir', senderSsrc: view.getUint32(o + 4), entries });
    } else if (packetType === RTCP_RTPFB && fmt === 1) {
      const lost: number[] = [];
      for (let f = o + 12; f + 4 <= bodyEnd; f += 4) {
        const pid = view.getUint16(f);
        const blp = view.getUint16(f + 2);
        lost.push(pid);
        // Bit i of the BLP reports the loss of pid + i + 1 (RFC 4585 6.2.1).
        for (let i = 0; i < 16; i++) if (blp & (1 << i)) lost.push((pid + i + 1) & 0xffff);
      }
      out.push({ type: 'nack', senderSsrc: view.getUint32(o + 4), mediaSsrc: view.getUint32(o + 8), lost });
    } else {
      out.push({ type: 'other', packetType, fmt });
    }
    o = end;
  }
  return out;
}

/**
 * The sender reports of a (compound) RTCP packet (RFC 3550 6.4.1): the sender's SSRC, its NTP wall clock in ms since
 * 1900 and the RTP timestamp of that same instant. Malformed or other packets give nothing.
 */
export function parseSenderReports(buf: Uint8Array): { ssrc: number; ntpMs: number; rtpTs: number }[] {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const out: { ssrc: number; ntpMs: number; rtpTs: number }[] = [];
  for (let o = 0; o + 4 <= buf.length; ) {
    if (buf[o]! >> 6 !== 2) break;
    const end = o + 4 * (view.getUint16(o + 2) + 1);
    if (end > buf.length) break;
    if (buf[o + 1] === RTCP_SR && end - o >= 28) {
      const ntpMs = view.getUint32(o + 8) * 1000 + (view.getUint32(o + 12) / 2 ** 32) * 1000;
      out.push({ ssrc: view.getUint32(o + 4), ntpMs, rtpTs: view.getUint32(o + 16) });
    }
    o = end;
  }
  return out;
}

function feedback(packetType: number, fmt: number, senderSsrc: number, mediaSsrc: number, fci: number): Uint8Array {
  const out = new Uint8Array(12 + fci);
  const view = new DataView(out.buffer);
  out[0] = 0x80 | fmt;
  out[1] = packetType;
  view.setUint16(2, out.length / 4 - 1);
  view.setUint32(4, senderSsrc >>> 0);
  view.setUint32(8, mediaSsrc >>> 0);
  return out;
}

export function serializePli(senderSsrc: number, mediaSsrc: number): Uint8Array {
  return feedback(RTCP_PSFB, 1, senderSsrc, mediaSsrc, 0);
}

/** FIR; the media SSRC field is unused and 0 (RFC 5104 4.3.1.1), the targets are the entries. */
export function serializeFir(senderSsrc: number, entries: readonly { ssrc: number; seq: number }[]): Uint8Array {
  const out = feedback(RTCP_PSFB, 4, senderSsrc, 0, 8 * entries.length);
  const view = new DataView(out.buffer);
  entries.forEach((e, i) => {
    view.setUint32(12 + 8 * i, e.ssrc >>> 0);
    out[16 + 8 * i] = e.seq & 0xff;
  });
  return out;
}

/** Generic NACK packing the lost sequence numbers into as few PID+BLP pairs as possible. */
export function serializeNack(senderSsrc: number, mediaSsrc: number, lost: readonly number[]): Uint8Array {
  const pairs: [number, number][] = [];
  const base = (lost[0] ?? 0) & 0xffff;
  // Order in 16-bit serial space from the first one so a list spanning the wrap packs like any other.
  const sorted = [...new Set(lost.map((s) => s & 0xffff))].sort((a, b) => ((a - base) & 0xffff) - ((b - base) & 0xffff));
  let current: [number, number] | undefined;
  for (const seq of sorted) {
    const d = current ? (seq - current[0]) & 0xffff : 0;
    if (current && d >= 1 && d <= 16) current[1] |= 1 << (d - 1);
    else {
      current = [seq, 0];
      pairs.push(current);
    }
  }
  const out = feedback(RTCP_RTPFB, 1, senderSsrc, mediaSsrc, 4 * pairs.length);
  const view = new DataView(out.buffer);
  pairs.forEach(([pid, blp], i) => {
    view.setUint16(12 + 4 * i, pid);
    view.setUint16(14 + 4 * i, blp);
  });
  return out;
}

/** Ms between the NTP epoch (1900) and the Unix epoch (1970), RFC 3550 4. */
export const NTP_UNIX_OFFSET_MS = 2_208_988_800_000;

/** What a sender says about one of its streams (RFC 3550 6.4.1). */
export interface SenderReport {
  readonly ssrc: number;
  /** The sender's wall clock, in ms since 1970 (written as NTP time). */
  readonly wallMs: number;
  /** The stream's RTP timestamp at that same instant. */
  readonly rtpTs: number;
  readonly packets: number;
  /** Payload octets sent (RTP headers and padding not counted). */
  readonly octets: number;
  /** The SDES CNAME every compound RTCP packet carries (RFC 3550 6.1, 6.5.1). */
  readonly cname: string;
}

/** A compound RTCP packet: the sender report (no report blocks), then the SDES with its CNAME. */
export function serializeSenderReport(r: SenderReport): Uint8Array {
  const cname = new TextEncoder().encode(r.cname).subarray(0, 255);
  // SDES chunk: SSRC, CNAME item (type 1, length, text), then at least one null octet up to a 32-bit boundary (6.5).
  const chunk = 4 + Math.ceil((2 + cname.length + 1) / 4) * 4;
  const out = new Uint8Array(28 + 4 + chunk);
  const view = new DataView(out.buffer);
  out[0] = 0x80;
  out[1] = RTCP_SR;
  view.setUint16(2, 28 / 4 - 1);
  view.setUint32(4, r.ssrc >>> 0);
  const ntpMs = r.wallMs + NTP_UNIX_OFFSET_MS;
  const seconds = Math.floor(ntpMs / 1000);
  view.setUint32(8, seconds >>> 0);
  view.setUint32(12, Math.min(0xffffffff, Math.round(((ntpMs - seconds * 1000) / 1000) * 2 ** 32)));
  view.setUint32(16, r.rtpTs >>> 0);
  view.setUint32(20, r.packets >>> 0);
  view.setUint32(24, r.octets >>> 0);
  out[28] = 0x81; // V=2, SC=1
  out[29] = RTCP_SDES;
  view.setUint16(30, (4 + chunk) / 4 - 1);
  view.setUint32(32, r.ssrc >>> 0);
  out[36] = 1; // CNAME
  out[37] = cname.length;
  out.set(cname, 38);
  return out;
}
