import type { RtpPacket } from './rtp.js';

/** A source packet as the fan-out keeps it: shared by every viewer, never modified. */
export interface SourcePacket {
  readonly packet: RtpPacket;
  /** Increases when the source's stream starts over (new SSRC after a restart): viewers rebase their mapping. */
  readonly epoch: number;
  /** The first packet of a keyframe: decoding can start here. */
  readonly keyStart: boolean;
  /** Payload bytes, for pacing and memory accounting. */
  readonly size: number;
}

/**
 * Every packet since the start of the last keyframe (its whole access unit, parameter sets included), so a viewer who
 * joins between keyframes can decode at once instead of waiting up to a GOP. Bounded by `maxBytes`: past it the GOP
 * is dropped and new viewers wait for the next keyframe, which beats holding a 10-second 8 Mb/s camera GOP per source.
 */
export class KeyframeCache {
  private packets: SourcePacket[] = [];
  private bytes = 0;
  /** Timestamp and epoch of the access unit the cached GOP starts with; undefined while no GOP is held. */
  private gop: { ts: number; epoch: number } | undefined;
  /** Index in `packets` where the access unit being received began. */
  private unitStart = 0;
  private unitTs: number | undefined;

  constructor(private readonly maxBytes = 8 * 1024 * 1024) {}

  push(p: SourcePacket): void {
    const ts = p.packet.timestamp;
    if (ts !== this.unitTs || (this.gop && this.gop.epoch !== p.epoch)) {
      this.unitTs = ts;
      if (!this.gop) this.reset(); // no GOP yet: keep only the current unit, in case its keyframe is still to come
      this.unitStart = this.packets.length;
    }
    if (p.keyStart && (this.gop?.ts !== ts || this.gop.epoch !== p.epoch)) {
      // A new keyframe: keep its unit's earlier packets (AUD, SEI) and forget the previous GOP.
      this.packets = this.packets.slice(this.unitStart);
      this.bytes = this.packets.reduce((n, q) => n + q.size, 0);
      this.unitStart = 0;
      this.gop = { ts, epoch: p.epoch };
    }
    this.packets.push(p);
    this.bytes += p.size;
    if (this.bytes > this.maxBytes) {
      this.reset();
      this.gop = undefined;
    }
  }

  /** The cached GOP from its keyframe to the newest packet, or empty when no complete start is held. */
  snapshot(): readonly SourcePacket[] {
    return this.gop ? this.packets.slice() : [];
  }

  get size(): { packets: number; bytes: number } {
    return { packets: this.gop ? this.packets.length : 0, bytes: this.gop ? this.bytes : 0 };
  }

  clear(): void {
    this.reset();
    this.gop = undefined;
    this.unitTs = undefined;
  }

  private reset(): void {
    this.packets = [];
    this.bytes = 0;
    this.unitStart = 0;
  }
}
