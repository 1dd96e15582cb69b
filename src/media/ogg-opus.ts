import { opusPacketSamples } from './opus.js';

/**
 * Writes an Ogg Opus stream (RFC 7845 over RFC 3533) packet by packet: what a player such as ffmpeg reads from a pipe.
 * Each audio packet gets a page of its own, so a reader sees it as soon as it is written (no page to fill first).
 */
export class OggOpusWriter {
  private sequence = 0;
  /** Granule position: 48 kHz samples written so far, pre-skip included (RFC 7845 4). */
  private granule: bigint;
  private readonly serial: number;

  constructor(
    private readonly channels: 1 | 2 = 1,
    /** Samples the decoder drops at the start (RFC 7845 5.1: 3840 recommended for encoders; 0 is valid). */
    private readonly preSkip = 0,
    serial = (Math.random() * 0x1_0000_0000) >>> 0,
  ) {
    this.serial = serial;
    this.granule = BigInt(preSkip);
  }

  /** The identification and comment header pages that begin every Ogg Opus stream (RFC 7845 5.1, 5.2). */
  headers(): Uint8Array {
    const head = new Uint8Array(19);
    const v = new DataView(head.buffer);
    head.set(ascii('OpusHead'), 0);
    head[8] = 1; // version
    head[9] = this.channels;
    v.setUint16(10, this.preSkip, true);
    v.setUint32(12, 48000, true); // input sample rate, informational
    v.setInt16(16, 0, true); // output gain
    head[18] = 0; // channel mapping family 0: mono or stereo, no table
    const vendor = ascii('peercam');
    const tags = new Uint8Array(8 + 4 + vendor.length + 4);
    const t = new DataView(tags.buffer);
    tags.set(ascii('OpusTags'), 0);
    t.setUint32(8, vendor.length, true);
    tags.set(vendor, 12);
    t.setUint32(12 + vendor.length, 0, true); // no user comments
    // The ID header is alone on the first page (beginning of stream), the comment header starts the second (5).
    return concat(this.page(head, 0n, 0x02), this.page(tags, 0n, 0x00));
  }

  /**
   * One page holding one Opus packet; undefined for a packet that is not Opus (its TOC says nothing sensible).
   * The granule counts decoded samples, so gaps between talk bursts do not appear as jumps in time.
   */
  packet(opus: Uint8Array): Uint8Array | undefined {
    const samples = opusPacketSamples(opus);
    if (samples === undefined || opus.length === 0 || opus.length > 255 * 255) return undefined;
    this.granule += BigInt(samples);
    return this.page(opus, this.granule, 0x00);
  }

  private page(data: Uint8Array, granule: bigint, flags: number): Uint8Array {
    // Lacing (RFC 3533 6): 255-byte segments, then a final one shorter than 255 (0 when the size is a multiple).
    const lacing: number[] = [];
    let left = data.length;
    while (left >= 255) {
      lacing.push(255);
      left -= 255;
    }
    lacing.push(left);
    const page = new Uint8Array(27 + lacing.length + data.length);
    const v = new DataView(page.buffer);
    page.set(ascii('OggS'), 0);
    page[4] = 0; // version
    page[5] = flags;
    v.setBigUint64(6, granule, true);
    v.setUint32(14, this.serial, true);
    v.setUint32(18, this.sequence++, true);
    // CRC (22..25) is computed with the field zeroed, then filled in.
    page[26] = lacing.length;
    page.set(lacing, 27);
    page.set(data, 27 + lacing.length);
    v.setUint32(22, oggCrc(page), true);
    return page;
  }
}

const ascii = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

/** CRC-32 of Ogg pages: polynomial 0x04c11db7, initial value 0, no reflection, no final XOR (RFC 3533 6). */
const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let r = i << 24;
    for (let j = 0; j < 8; j++) r = r & 0x80000000 ? (r << 1) ^ 0x04c11db7 : r << 1;
    table[i] = r >>> 0;
  }
  return table;
})();

export function oggCrc(bytes: Uint8Array): number {
  let crc = 0;
  for (const b of bytes) crc = ((crc << 8) ^ CRC_TABLE[((crc >>> 24) ^ b) & 0xff]!) >>> 0;
  return crc;
}
