import { type AccessUnit, H264Depacketizer, NAL, nalType, parseSps, type SpsInfo } from '../media/h264.js';
import { RTP_HEADER_SIZE, type RtpPacket, seqDelta } from '../media/rtp.js';
import { parseVp8Descriptor } from '../media/vp8.js';
import { FramePool } from './frame-pool.js';

/**
 * One complete coded picture as it goes into a file: an H.264 access unit as an MP4 sample (NAL units with 4-byte
 * lengths, parameter sets in front of each IDR), or a VP8 frame.
 */
export interface VideoFrame {
  /** RTP timestamp, 90 kHz. */
  readonly rtpTs: number;
  readonly data: Uint8Array;
  readonly keyframe: boolean;
  /** What a decoder needs to know at this keyframe (size, codec string); undefined on delta frames. */
  readonly config: VideoConfig | undefined;
  /** Its number in the assembler's FramePool: the holder releases its memory by it. */
  readonly seq: number;
}

/** The video of a recording: codec, size and decoder configuration. */
export interface VideoConfig {
  readonly codec: 'H264' | 'VP8';
  /** The WebCodecs codec string: avc1.PPCCLL from the SPS, or vp8. */
  readonly codecString: string;
  readonly width: number;
  readonly height: number;
  /** H.264: the AVCDecoderConfigurationRecord (avcC, ISO/IEC 14496-15 5.3.3.1) of the stream's SPS and PPS. */
  readonly description?: Uint8Array;
}

const hex = (b: number | undefined) => (b ?? 0).toString(16).padStart(2, '0');

/**
 * Rebuilds whole frames from received RTP without decoding: H.264 access units per RFC 6184 (through the media
 * layer's depacketizer), VP8 frames per RFC 7741 (descriptor stripped, packets joined up to the marker bit). A lost
 * packet drops the frame it hit and every frame after it up to the next keyframe, so a file never holds a picture a
 * decoder would smear.
 */
export class VideoAssembler {
  private h264 = new H264Depacketizer((size) => this.joinSpace(size));
  /**
   * Where the depacketizer joins FU-A fragments: each joined NAL unit is copied into its frame at once (sampleOf), so
   * the space is used again from the start whenever no unit is half-built, instead of a new buffer per NAL unit.
   */
  private join = { bytes: Buffer.allocUnsafeSlow(64 * 1024), used: 0 };
  private vp8Parts: Uint8Array[] = [];
  private vp8Ts: number | undefined;
  private vp8Broken = false;
  private nextSeq: number | undefined;
  private decodable = false;
  private sps: Uint8Array | undefined;
  private pps: Uint8Array | undefined;
  /** The decoder configuration of the current SPS and PPS (undefined until both came, or when the SPS is unusable). */
  private h264Config: VideoConfig | undefined;

  constructor(
    readonly codec: 'H264' | 'VP8',
    /** Where frames are built (see FramePool: the holder releases them there). */
    readonly pool = new FramePool(),
  ) {}

  /**
   * One received RTP packet; the frames it completes (usually none: most packets are the middle of a frame). Called
   * per packet, so it allocates nothing then: a shared empty list, the header read in place (see `readRtp`).
   */
  push(bytes: Uint8Array): readonly VideoFrame[] {
    const packet = readRtp(bytes);
    if (!packet) return NO_FRAMES;
    const frames = this.codec === 'H264' ? this.pushH264(packet) : this.pushVp8(packet);
    if (frames.length === 0) return NO_FRAMES;
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

  private pushH264(packet: RtpPacket): readonly VideoFrame[] {
    const dropped = this.h264.stats.dropped;
    const units = this.h264.push(packet);
    if (this.h264.stats.dropped !== dropped) this.lost();
    const frames = units.length === 0 ? NO_FRAMES : units.map((unit) => this.sampleOf(unit));
    if (!this.h264.pending) this.join.used = 0;
    return frames;
  }

  private joinSpace(size: number): Uint8Array {
    let j = this.join;
    if (j.used + size > j.bytes.length) {
      // The units waiting for the rest of their frame keep the old space; a larger one from here on.
      j = this.join = { bytes: Buffer.allocUnsafeSlow(Math.max(2 * j.bytes.length, 2 * size)), used: 0 };
    }
    const at = j.used;
    j.used += size;
    return j.bytes.subarray(at, at + size);
  }

  /**
   * One access unit as an MP4 sample (ISO/IEC 14496-15 5.3.2: NAL units with 4-byte lengths), built in one copy:
   * access unit delimiters dropped, the last parameter sets put in front of an IDR that came without them.
   */
  private sampleOf(unit: AccessUnit): VideoFrame {
    let size = 0;
    let hasSps = false;
    for (const n of unit.nals) {
      const t = nalType(n);
      if (t === NAL.AUD) continue;
      if (t === NAL.SPS) {
        hasSps = true;
        // Copies (a Buffer's slice() would be a view of memory used again).
        if (!sameBytes(this.sps, n)) this.setParameterSets(Uint8Array.from(n), this.pps);
      } else if (t === NAL.PPS && !sameBytes(this.pps, n)) this.setParameterSets(this.sps, Uint8Array.from(n));
      size += 4 + n.length;
    }
    const config = unit.keyframe ? this.h264Config : undefined;
    const prefix = unit.keyframe && !hasSps && config && this.sps && this.pps ? [this.sps, this.pps] : [];
    for (const n of prefix) size += 4 + n.length;
    // Every byte is written below (the pool does not zero).
    const { data, seq } = this.pool.take(size);
    let o = 0;
    const put = (n: Uint8Array) => {
      data[o] = n.length >>> 24;
      data[o + 1] = (n.length >>> 16) & 0xff;
      data[o + 2] = (n.length >>> 8) & 0xff;
      data[o + 3] = n.length & 0xff;
      data.set(n, o + 4);
      o += 4 + n.length;
    };
    for (const n of prefix) put(n);
    for (const n of unit.nals) if (nalType(n) !== NAL.AUD) put(n);
    return { rtpTs: unit.timestamp, data, keyframe: unit.keyframe, config, seq };
  }

  /** New SPS or PPS: the decoder configuration (size, codec string, avcC) is worked out once, not per keyframe. */
  private setParameterSets(sps: Uint8Array | undefined, pps: Uint8Array | undefined): void {
    this.sps = sps;
    this.pps = pps;
    this.h264Config = undefined;
    if (!sps || !pps) return;
    try {
      const info = parseSps(sps);
      this.h264Config = {
        codec: 'H264',
        codecString: `avc1.${hex(sps[1])}${hex(sps[2])}${hex(sps[3])}`,
        width: info.width,
        height: info.height,
        description: avcDecoderConfig(sps, pps, info),
      };
    } catch {
      this.h264Config = undefined;
    }
  }

  private pushVp8(packet: RtpPacket): readonly VideoFrame[] {
    const out: VideoFrame[] = [];
    if (this.nextSeq !== undefined && packet.sequenceNumber !== this.nextSeq) {
      if (seqDelta(this.nextSeq, packet.sequenceNumber) < 0) return NO_FRAMES;
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
      // A view, not a copy: the frame is joined once, at its end (each received packet is a buffer of its own).
      this.vp8Parts.push(packet.payload.subarray(d.size));
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
    const { data, seq } = this.pool.take(parts.reduce((n, p) => n + p.length, 0));
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
    out.push({ rtpTs: this.vp8Ts ?? 0, data, keyframe, config, seq });
  }
}

/** Opus: one RTP packet carries one Opus packet (RFC 7587 4.2), so the payload is the sample. */
export function opusSample(bytes: Uint8Array): { rtpTs: number; seq: number; data: Uint8Array } | undefined {
  const p = readRtp(bytes);
  if (!p || p.payload.length === 0) return undefined;
  return { rtpTs: p.timestamp, seq: p.sequenceNumber, data: p.payload.slice() };
}

const NO_FRAMES: readonly VideoFrame[] = Object.freeze([]);
const NO_CSRCS: readonly number[] = Object.freeze([]);

/**
 * The RTP fields the recorder uses (RFC 3550 5.1), read in place: what `parseRtp` gives without its DataView, CSRC
 * list and extension view, per packet. The payload skips CSRCs and a header extension and stops before padding.
 * Undefined for a malformed packet (too short, not version 2, bad lengths): it is dropped like a lost one.
 */
export function readRtp(b: Uint8Array): RtpPacket | undefined {
  const n = b.length;
  if (n < RTP_HEADER_SIZE) return undefined;
  const b0 = b[0]!;
  if (b0 >> 6 !== 2) return undefined;
  let offset = RTP_HEADER_SIZE + 4 * (b0 & 0x0f);
  if (b0 & 0x10) {
    if (offset + 4 > n) return undefined;
    offset += 4 + 4 * ((b[offset + 2]! << 8) | b[offset + 3]!);
  }
  const paddingSize = b0 & 0x20 ? b[n - 1]! : 0;
  if (offset > n || (b0 & 0x20 && (paddingSize === 0 || offset + paddingSize > n))) return undefined;
  const b1 = b[1]!;
  return {
    marker: (b1 & 0x80) !== 0,
    payloadType: b1 & 0x7f,
    sequenceNumber: (b[2]! << 8) | b[3]!,
    timestamp: ((b[4]! << 24) | (b[5]! << 16) | (b[6]! << 8) | b[7]!) >>> 0,
    ssrc: ((b[8]! << 24) | (b[9]! << 16) | (b[10]! << 8) | b[11]!) >>> 0,
    csrcs: NO_CSRCS,
    payload: b.subarray(offset, n - paddingSize),
    paddingSize,
  };
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

const sameBytes = (a: Uint8Array | undefined, b: Uint8Array): boolean => {
  if (!a || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
};

/**
 * AVCDecoderConfigurationRecord (ISO/IEC 14496-15 5.3.3.1) for one SPS and one PPS, 4-byte NAL lengths. The
 * profiles with chroma format and bit depth in their SPS (100, 110, 122, 144) carry them here too.
 */
export function avcDecoderConfig(sps: Uint8Array, pps: Uint8Array, info: SpsInfo): Uint8Array {
  const high = info.profileIdc === 100 || info.profileIdc === 110 || info.profileIdc === 122 || info.profileIdc === 144;
  const out = new Uint8Array(11 + sps.length + pps.length + (high ? 4 : 0));
  out[0] = 1; // configurationVersion
  out[1] = sps[1]!; // AVCProfileIndication
  out[2] = sps[2]!; // profile_compatibility
  out[3] = sps[3]!; // AVCLevelIndication
  out[4] = 0xfc | 3; // reserved, lengthSizeMinusOne = 3
  out[5] = 0xe0 | 1; // reserved, numOfSequenceParameterSets
  out[6] = sps.length >> 8;
  out[7] = sps.length & 0xff;
  out.set(sps, 8);
  let o = 8 + sps.length;
  out[o] = 1; // numOfPictureParameterSets
  out[o + 1] = pps.length >> 8;
  out[o + 2] = pps.length & 0xff;
  out.set(pps, o + 3);
  o += 3 + pps.length;
  if (high) {
    out[o] = 0xfc | info.chromaFormatIdc;
    out[o + 1] = 0xf8 | info.bitDepthLumaMinus8;
    out[o + 2] = 0xf8 | info.bitDepthChromaMinus8;
    out[o + 3] = 0; // numOfSequenceParameterSetExt
  }
  return out;
}
