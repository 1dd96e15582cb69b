import { readFileSync } from 'node:fs';
import { packetizeH264, splitAccessUnits, splitAnnexB } from '../../src/media/h264.js';
import type { RtpPacket } from '../../src/media/rtp.js';
import { DEMO_CLIP } from '../../src/media/sources/demo.js';

/** The demo clip's access units (IDR with SPS/PPS at 0, 30, 60). */
export const clipUnits = splitAccessUnits(splitAnnexB(readFileSync(DEMO_CLIP)));

/** A synchronous stand-in for a live source: frame n of the looped clip as RTP, 3000 ticks apart. */
export class ClipStream {
  private frame = 0;
  constructor(
    public ssrc = 0x1234,
    private seq = 65000,
    private ts = 0xffff0000,
  ) {}

  /** The next `count` frames' packets. */
  frames(count: number): RtpPacket[] {
    const out: RtpPacket[] = [];
    for (let i = 0; i < count; i++, this.frame++) {
      const nals = clipUnits[this.frame % clipUnits.length]!;
      for (const { payload, marker } of packetizeH264(nals)) {
        out.push({
          marker,
          payloadType: 96,
          sequenceNumber: this.seq,
          timestamp: this.ts,
          ssrc: this.ssrc,
          csrcs: [],
          payload,
          paddingSize: 0,
        });
        this.seq = (this.seq + 1) & 0xffff;
      }
      this.ts = (this.ts + 3000) >>> 0;
    }
    return out;
  }

  /** Where the next frame sits in the clip. */
  get position(): number {
    return this.frame % clipUnits.length;
  }

  /** Starts over like a restarted encoder: new SSRC, sequence and timestamp base, clip from its first IDR. */
  restart(ssrc: number, seq: number, ts: number): void {
    this.ssrc = ssrc;
    this.seq = seq;
    this.ts = ts;
    this.frame = 0;
  }
}
