/** Opus packet facts read from the TOC byte (RFC 6716 section 3.1), enough to time packets without decoding them. */

/** Frame sizes in 48 kHz samples for TOC configurations 0..31 (RFC 6716 3.1, Table 2). */
function frameSamples(config: number): number {
  if (config < 12) return [480, 960, 1920, 2880][config % 4]!; // SILK: 10, 20, 40, 60 ms
  if (config < 16) return [480, 960][config % 2]!; // Hybrid: 10, 20 ms
  return [120, 240, 480, 960][config % 4]!; // CELT: 2.5, 5, 10, 20 ms
}

/**
 * Samples (at 48 kHz) one Opus packet decodes to, or undefined when the packet is malformed (RFC 6716 3.2: code 0
 * one frame, codes 1 and 2 two frames, code 3 a count in the second byte). A packet lasts at most 120 ms (3.2.5).
 */
export function opusPacketSamples(packet: Uint8Array): number | undefined {
  const toc = packet[0];
  if (toc === undefined) return undefined;
  const size = frameSamples(toc >> 3);
  const code = toc & 0x03;
  let frames: number;
  if (code === 0) frames = 1;
  else if (code === 1 || code === 2) frames = 2;
  else {
    const count = packet[1];
    if (count === undefined) return undefined;
    frames = count & 0x3f;
  }
  const samples = frames * size;
  return frames > 0 && samples <= 5760 ? samples : undefined;
}

/**
 * 20 ms of silence: TOC 0xF8 (CELT fullband 20 ms, mono, one frame) and a frame whose first bits set CELT's silence
 * flag (RFC 6716 4.3, Table 56), so any decoder outputs zeros.
 */
export const OPUS_SILENCE_20MS: Uint8Array = Uint8Array.of(0xf8, 0xff, 0xfe);
