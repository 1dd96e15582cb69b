import { H264Depacketizer, NAL, nalType, parseSps } from '../media/h264.js';
import { parseRtp } from '../media/rtp.js';
import { vp8KeyframeSize, vp8StartsKeyframe } from '../media/vp8.js';

export interface FrameStats {
  frames: number;
  keyframes: number;
  bytes: number;
  width: number | undefined;
  height: number | undefined;
  /** ms since `start` when the first decodable frame was complete. */
  firstFrameMs: number | undefined;
  /** Longest gap between two complete frames after the first, in ms. */
  stalledMs: number;
}

/**
 * Counts what a decoder could show: complete frames from the first keyframe on (H.264 access units rebuilt per
 * RFC 6184; VP8 frames by marker bit, RFC 7741). Width and height come from the H.264 SPS or the VP8 key frame header.
 */
export class FrameCounter {
  readonly stats: FrameStats = { frames: 0, keyframes: 0, bytes: 0, width: undefined, height: undefined, firstFrameMs: undefined, stalledMs: 0 };
  private h264 = new H264Depacketizer();
  private decodable = false;
  private lastFrameAt: number | undefined;

  constructor(
    private readonly codec: () => 'H264' | 'VP8' | undefined,
    private readonly start: number = performance.now(),
  ) {}

  /**
   * A new session (new peer, new RTP sequence space): forget the old stream's sequence numbers, or its packets would
   * look like late duplicates of the old one and be dropped; wait for a keyframe again. Stall timing carries over.
   */
  newStream(): void {
    this.h264 = new H264Depacketizer();
    this.decodable = false;
    this.keyStart = false;
  }

  push(bytes: Uint8Array): void {
    let packet: ReturnType<typeof parseRtp>;
    try {
      packet = parseRtp(bytes);
    } catch {
      return;
    }
    this.stats.bytes += bytes.length;
    if (this.codec() === 'VP8') {
      if (vp8StartsKeyframe(packet.payload)) {
        this.keyStart = true;
        const size = vp8KeyframeSize(packet.payload);
        if (size) {
          this.stats.width = size.width;
          this.stats.height = size.height;
        }
      }
      if (packet.marker) this.frame(this.keyStart);
      if (packet.marker) this.keyStart = false;
      return;
    }
    for (const unit of this.h264.push(packet)) {
      const sps = unit.nals.find((n) => nalType(n) === NAL.SPS);
      if (sps) {
        try {
          const info = parseSps(sps);
          this.stats.width = info.width;
          this.stats.height = info.height;
        } catch {
          // a corrupt SPS: keep the last good size
        }
      }
      this.frame(unit.keyframe);
    }
  }

  private keyStart = false;

  private frame(keyframe: boolean): void {
    if (keyframe) this.decodable = true;
    if (!this.decodable) return;
    const now = performance.now();
    if (keyframe) this.stats.keyframes++;
    this.stats.frames++;
    if (this.stats.firstFrameMs === undefined) this.stats.firstFrameMs = Math.round(now - this.start);
    if (this.lastFrameAt !== undefined) this.stats.stalledMs = Math.max(this.stats.stalledMs, Math.round(now - this.lastFrameAt));
    this.lastFrameAt = now;
  }
}
