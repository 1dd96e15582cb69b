import type { RtpPacket } from './rtp.js';
import { RTP_HEADER_SIZE, seqDelta } from './rtp.js';

export { parseSps, type SpsInfo, unescapeRbsp } from './h264-sps.js';

/** NAL unit types used here (H.264 table 7-1; RFC 6184 section 5.4 for 24 and 28). */
export const NAL = { SLICE: 1, IDR: 5, SEI: 6, SPS: 7, PPS: 8, AUD: 9, STAP_A: 24, FU_A: 28 } as const;

export const nalType = (nal: Uint8Array): number => (nal[0] ?? 0) & 0x1f;

/** One coded picture with the NAL units that precede it (parameter sets, SEI), without start codes. */
export interface AccessUnit {
  /** RTP timestamp (90 kHz); for units split from a file, the caller assigns it. */
  readonly timestamp: number;
  readonly nals: readonly Uint8Array[];
  /** Holds an IDR slice: decoding can start here (given SPS and PPS, see `hasParameterSets`). */
  readonly keyframe: boolean;
}

export const isKeyframe = (nals: readonly Uint8Array[]): boolean => nals.some((n) => nalType(n) === NAL.IDR);
export const hasParameterSets = (nals: readonly Uint8Array[]): boolean =>
  nals.some((n) => nalType(n) === NAL.SPS) && nals.some((n) => nalType(n) === NAL.PPS);

/** Splits an Annex-B byte stream (H.264 annex B) into NAL units, dropping start codes and trailing zero bytes. */
export function splitAnnexB(buf: Uint8Array): Uint8Array[] {
  const starts: number[] = [];
  for (let i = 0; i + 2 < buf.length; i++) {
    if (buf[i] === 0 && buf[i + 1] === 0 && buf[i + 2] === 1) {
      starts.push(i + 3);
      i += 2;
    }
  }
  const nals: Uint8Array[] = [];
  starts.forEach((s, k) => {
    let end = k + 1 < starts.length ? starts[k + 1]! - 3 : buf.length;
    while (end > s && buf[end - 1] === 0) end--;
    if (end > s) nals.push(buf.subarray(s, end));
  });
  return nals;
}

export function toAnnexB(nals: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(nals.reduce((n, nal) => n + 4 + nal.length, 0));
  let o = 0;
  for (const nal of nals) {
    out.set([0, 0, 0, 1], o);
    out.set(nal, o + 4);
    o += 4 + nal.length;
  }
  return out;
}

const isVcl = (t: number) => t >= 1 && t <= 5;

/**
 * Groups NAL units into access units by the rules of H.264 section 7.4.1.2.3: a new unit starts at an AUD, SPS, PPS,
 * SEI or prefix NAL after a picture, or at a slice whose first_mb_in_slice is 0 (its ue(v) code is a lone 1 bit).
 */
export function splitAccessUnits(nals: readonly Uint8Array[]): Uint8Array[][] {
  const units: Uint8Array[][] = [];
  let current: Uint8Array[] = [];
  let sawPicture = false;
  for (const nal of nals) {
    const t = nalType(nal);
    const startsUnit = sawPicture && (isVcl(t) ? ((nal[1] ?? 0) & 0x80) !== 0 : t === 6 || t === 7 || t === 8 || t === 9 || (t >= 14 && t <= 18));
    if (startsUnit) {
      units.push(current);
      current = [];
      sawPicture = false;
    }
    current.push(nal);
    if (isVcl(t)) sawPicture = true;
  }
  if (current.length) units.push(current);
  return units;
}

export interface PacketizeOptions {
  /** Largest RTP packet, header included (the same meaning as ffmpeg's pkt_size). Default 1200. */
  readonly mtu?: number;
  /** Aggregate runs of small NAL units (SPS+PPS) into STAP-A packets (RFC 6184 5.7.1). Default true. */
  readonly stapA?: boolean;
}

/** An RTP payload of an access unit; `marker` is set on the unit's last packet (RFC 6184 5.1). */
export interface H264Payload {
  readonly payload: Uint8Array;
  readonly marker: boolean;
}

/** Packetizes one access unit in packetization-mode 1 (RFC 6184): single NAL, STAP-A and FU-A packets. */
export function packetizeH264(nals: readonly Uint8Array[], options: PacketizeOptions = {}): H264Payload[] {
  const max = (options.mtu ?? 1200) - RTP_HEADER_SIZE;
  const payloads: Uint8Array[] = [];
  let i = 0;
  while (i < nals.length) {
    const nal = nals[i]!;
    if (options.stapA !== false) {
      // STAP-A: one header byte, then a 16-bit size before each NAL unit (RFC 6184 5.7.1).
      let size = 1;
      let j = i;
      while (j < nals.length && size + 2 + nals[j]!.length <= max) size += 2 + nals[j++]!.length;
      if (j - i >= 2) {
        const group = nals.slice(i, j);
        const out = new Uint8Array(size);
        // F is the OR of the aggregated F bits, NRI their maximum (RFC 6184 5.7.1).
        out[0] = group.reduce((h, n) => (h & 0x80) | (n[0]! & 0x80) | Math.max(h & 0x60, n[0]! & 0x60), 0) | NAL.STAP_A;
        let o = 1;
        for (const n of group) {
          out[o] = n.length >> 8;
          out[o + 1] = n.length & 0xff;
          out.set(n, o + 2);
          o += 2 + n.length;
        }
        payloads.push(out);
        i = j;
        continue;
      }
    }
    if (nal.length <= max) payloads.push(nal);
    else {
      // FU-A: indicator keeps F and NRI, the FU header carries S/E bits and the original type (RFC 6184 5.8).
      const indicator = (nal[0]! & 0xe0) | NAL.FU_A;
      const type = nal[0]! & 0x1f;
      const chunk = max - 2;
      for (let o = 1; o < nal.length; o += chunk) {
        const part = nal.subarray(o, Math.min(o + chunk, nal.length));
        const out = new Uint8Array(2 + part.length);
        out[0] = indicator;
        out[1] = (o === 1 ? 0x80 : 0) | (o + chunk >= nal.length ? 0x40 : 0) | type;
        out.set(part, 2);
        payloads.push(out);
      }
    }
    i++;
  }
  return payloads.map((payload, k) => ({ payload, marker: k === payloads.length - 1 }));
}

/**
 * NAL unit types carried by one RTP payload: the aggregated ones of a STAP-A, the original type of a starting FU-A
 * fragment, none for a continuing fragment. Enough to spot where a keyframe begins without reassembling.
 */
export function payloadNalTypes(payload: Uint8Array): number[] {
  const t = nalType(payload);
  if (t === NAL.FU_A) return payload.length > 1 && payload[1]! & 0x80 ? [payload[1]! & 0x1f] : [];
  if (t !== NAL.STAP_A) return [t];
  const types: number[] = [];
  for (let o = 1; o + 2 < payload.length; ) {
    const size = (payload[o]! << 8) | payload[o + 1]!;
    types.push(payload[o + 2]! & 0x1f);
    o += 2 + size;
  }
  return types;
}

/** A payload that starts a keyframe: parameter sets or the first packet of an IDR slice. */
export function startsKeyframe(payload: Uint8Array): boolean {
  return payloadNalTypes(payload).some((t) => t === NAL.SPS || t === NAL.PPS || t === NAL.IDR);
}

export interface DepacketizerStats {
  units: number;
  dropped: number;
  lostPackets: number;
}

/**
 * Rebuilds access units from RTP packets in order (RFC 6184). A unit ends at the marker bit or when the timestamp
 * changes. A sequence gap, a STAP-A that does not parse or a fragment without its start drops the unit it hit: a
 * decoder shown half a picture would smear it into every frame predicted from it.
 */
export class H264Depacketizer {
  readonly stats: DepacketizerStats = { units: 0, dropped: 0, lostPackets: 0 };
  private ts: number | undefined;
  private nals: Uint8Array[] = [];
  private fu: Uint8Array[] | undefined;
  private broken = false;
  private nextSeq: number | undefined;

  constructor(
    /**
     * Memory for a NAL unit joined from FU-A fragments (the only copy the depacketizer makes). A caller that copies
     * each unit out before the next push can hand out memory it reuses once `pending` is false.
     */
    private readonly alloc: (size: number) => Uint8Array = (size) => new Uint8Array(size),
  ) {}

  /** Part of an access unit is held (NAL units or fragments waiting for the rest of it). */
  get pending(): boolean {
    return this.nals.length > 0 || this.fu !== undefined;
  }

  push(packet: RtpPacket): AccessUnit[] {
    const out: AccessUnit[] = [];
    if (this.nextSeq !== undefined && packet.sequenceNumber !== this.nextSeq) {
      const gap = seqDelta(this.nextSeq, packet.sequenceNumber);
      if (gap < 0) return out; // late duplicate or reordered packet: its unit is already gone
      this.stats.lostPackets += gap;
      if (this.ts !== packet.timestamp && (this.nals.length || this.fu)) {
        this.broken = true;
        this.flush(out);
      }
      this.broken = true; // the lost packets may have opened this unit
    } else if (this.ts !== undefined && this.ts !== packet.timestamp) this.flush(out);
    this.nextSeq = (packet.sequenceNumber + 1) & 0xffff;
    this.ts = packet.timestamp;
    this.take(packet.payload);
    if (packet.marker) this.flush(out);
    return out;
  }

  private take(p: Uint8Array): void {
    const t = nalType(p);
    if (t >= 1 && t <= 23) this.nals.push(p);
    else if (t === NAL.STAP_A) {
      let o = 1;
      while (o + 2 <= p.length) {
        const size = (p[o]! << 8) | p[o + 1]!;
        if (size === 0 || o + 2 + size > p.length) break;
        this.nals.push(p.subarray(o + 2, o + 2 + size));
        o += 2 + size;
      }
      if (o !== p.length) this.broken = true;
    } else if (t === NAL.FU_A && p.length > 2) {
      const header = p[1]!;
      if (header & 0x80) this.fu = [Uint8Array.of((p[0]! & 0xe0) | (header & 0x1f))];
      if (!this.fu) {
        this.broken = true;
        return;
      }
      this.fu.push(p.subarray(2));
      if (header & 0x40) {
        const parts = this.fu;
        const nal = this.alloc(parts.reduce((n, part) => n + part.length, 0));
        let o = 0;
        for (const part of parts) {
          nal.set(part, o);
          o += part.length;
        }
        this.nals.push(nal);
        this.fu = undefined;
      }
    } else this.broken = true; // STAP-B, MTAP, FU-B are not allowed in packetization-mode 1
  }

  private flush(out: AccessUnit[]): void {
    if (this.fu) this.broken = true;
    if (this.nals.length && !this.broken) {
      out.push({ timestamp: this.ts ?? 0, nals: this.nals, keyframe: isKeyframe(this.nals) });
      this.stats.units++;
    } else if (this.nals.length || this.broken) this.stats.dropped++;
    this.nals = [];
    this.fu = undefined;
    this.broken = false;
  }
}
