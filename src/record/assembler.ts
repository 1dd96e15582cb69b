import { H264Depacketizer, NAL, nalType, parseSps, toAnnexB } from '../media/h264.js';
import { parseRtp, type RtpPacket, seqDelta } from '../media/rtp.js';
import { parseVp8Descriptor } from '../media/vp8.js';

/** One complete coded picture as it goes into a file: H.264 in Annex B with its parameter sets, or a VP8 frame. */
export interface VideoFrame {
  /** RTP timestamp, 90 kHz. */
  readonly rtpTs: number;
  readonly data: Uint8Array;
  readonly keyframe: boolean;
  /** What a decoder needs to know at this keyframe (size, codec string); undefined on delta frames. */
  readonly config: VideoConfig | undefined;
}

/** The video of a recording: codec, size and decoder configuration. */
export interface VideoConfig {
  readonly codec: 'H264' | 'VP8';
  /** The WebCodecs codec string: avc1.PPCCLL from the SPS, or vp8. */
  readonly codecString: string;
  readonly width: number;
  readonly height: number;
}

const hex = (b: number | undefined) => (b ?? 0).toString(16).padStart(2, '0');

/**
 * Rebuilds whole frames from received RTP without decoding: H.264 access units per RFC 6184 (through the media
 * layer's depacketizer), VP8 frames per RFC 7741 (descriptor stripped, packets joined up to the marker bit). A lost
 * packet drops the frame it hit and every frame after it up to the next keyframe, so a file never holds a picture a
 * decoder would smear.
 */
export class VideoAssembler {
  private h264 = new H264Depacketizer();
  private vp8Parts: Uint8Array[] = [];
  private vp8Ts: number | undefined;
  private vp8Broken = false;
  private nextSeq: number | undefined;
  private decodable = false;
  private sps: Uint8Array | undefined;
  private pps: Uint8Array | undefined;

  constructor(readonly codec: 'H264' | 'VP8') {}

  push(bytes: Uint8Array): VideoFrame[] {
    let packet: RtpPacket;
    try {
      packet = parseRtp(bytes);
    } catch {
      return [];
    }
    const frames = this.codec === 'H264' ? this.pushH264(packet) : this.pushVp8(packet);
    const out: VideoFrame[] = [];
    for (const f of frames) {
      if (f.keyframe && f.config) this.decodable = true;
      else if (f.keyframe && !f.config) this.decodable = false;
      if (this.decodable) out.push(f);
    }
    return out;
  }

  /** A frame was lost: wait for the next keyframe before handing out frames again. */
  private lost(): void {
    this.decodable = false;
  }

  private pushH264(packet: RtpPacket): VideoFrame[] {
    const dropped = this.h264.stats.dropped;
    const units = this.h264.push(packet);
    if (this.h264.stats.dropped !== dropped) this.lost();
    return units.map((unit) => {
      let nals = [...unit.nals];
      for (const n of nals) {
        if (nalType(n) === NAL.SPS) this.sps = n.slice();
        if (nalType(n) === NAL.PPS) this.pps = n.slice();
      }
      // Drop access unit delimiters; put the last parameter sets in front of an IDR that came without them.
      nals = nals.filter((n) => nalType(n) !== NAL.AUD);
      let config: VideoConfig | undefined;
      if (unit.keyframe && this.sps && this.pps) {
        if (!nals.some((n) => nalType(n) === NAL.SPS)) nals = [this.sps, this.pps, ...nals];
        try {
          const info = parseSps(this.sps);
          config = { codec: 'H264', codecString: `avc1.${hex(this.sps[1])}${hex(this.sps[2])}${hex(this.sps[3])}`, width: info.width, height: info.height };
        } catch {
          config = undefined;
        }
      }
      return { rtpTs: unit.timestamp, data: toAnnexB(nals), keyframe: unit.keyframe, config };
    });
  }

  private pushVp8(packet: RtpPacket): VideoFrame[] {
    const out: VideoFrame[] = [];
    if (this.nextSeq !== undefined && packet.sequenceNumber !== this.nextSeq) {
      if (seqDelta(this.nextSeq, packet.sequenceNumber) < 0) return out;
      this.vp8Broken = true;
    }
    this.nextSeq = (packet.sequenceNumber + 1) & 0xffff;
    if (this.vp8Ts !== undefined && this.vp8Ts !== packet.timestamp) this.flushVp8(out);
    this.vp8Ts = packet.timestamp;
    const d = parseVp8Descriptor(packet.payload);
    if (!d) this.vp8Broken = true;
    else {
      // A frame must begin with the start of partition 0 (RFC 7741 4.2).
      if (this.vp8Parts.length === 0 && !(d.start && d.partition === 0)) this.vp8Broken = true;
      this.vp8Parts.push(packet.payload.slice(d.size));
    }
    if (packet.marker) this.flushVp8(out);
    return out;
  }

  private flushVp8(out: VideoFrame[]): void {
    const parts = this.vp8Parts;
    const broken = this.vp8Broken;
    this.vp8Parts = [];
    this.vp8Broken = false;
    if (parts.length === 0) return;
    if (broken) {
      this.lost();
      return;
    }
    const data = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let o = 0;
    for (const p of parts) {
      data.set(p, o);
      o += p.length;
    }
    // Key frame: P bit 0 in the frame tag, then the start code 9d 01 2a and the size (RFC 6386 9.1).
    const keyframe = data.length >= 10 && (data[0]! & 1) === 0 && data[3] === 0x9d && data[4] === 0x01 && data[5] === 0x2a;
    const config: VideoConfig | undefined = keyframe
      ? { codec: 'VP8', codecString: 'vp8', width: (data[6]! | (data[7]! << 8)) & 0x3fff, height: (data[8]! | (data[9]! << 8)) & 0x3fff }
      : undefined;
    out.push({ rtpTs: this.vp8Ts ?? 0, data, keyframe, config });
  }
}

/** Opus: one RTP packet carries one Opus packet (RFC 7587 4.2), so the payload is the sample. */
export function opusSample(bytes: Uint8Array): { rtpTs: number; seq: number; data: Uint8Array } | undefined {
  try {
    const p = parseRtp(bytes);
    if (p.payload.length === 0) return undefined;
    return { rtpTs: p.timestamp, seq: p.sequenceNumber, data: p.payload.slice() };
  } catch {
    return undefined;
  }
}

/** Extends 32-bit RTP timestamps into a monotonic count (RFC 3550 5.1: they wrap), relative to the first one seen. */
export class RtpClock {
  private last: number | undefined;
  private ticks = 0;

  /** What unwrap(ts) would give, without moving the clock (undefined before the first timestamp). */
  peek(ts: number): number | undefined {
    return this.last === undefined ? undefined : this.ticks + ((ts - this.last) | 0);
  }

  /** Ticks since the first timestamp (negative for a late packet from before it). */
  unwrap(ts: number): number {
    if (this.last === undefined) {
      this.last = ts;
      return 0;
    }
    const delta = ((ts - this.last) | 0);
    this.ticks += delta;
    this.last = ts;
    return this.ticks;
  }
}
