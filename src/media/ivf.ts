import { PeercamError } from '../protocol/index.js';

/**
 * IVF, the simple container libvpx and ffmpeg use for raw VP8 (a 32-byte file header, then a 12-byte header before
 * each frame: size and a 64-bit timestamp, all little-endian). peercam reads the demo's VP8 clip from it and writes it
 * to a transcoding ffmpeg, with the fourcc H264 for H.264 access units too: ffmpeg's IVF reader takes any codec tag,
 * and it keeps each frame's own timestamp, which a raw Annex-B pipe would lose.
 */
export type IvfFourcc = 'VP80' | 'H264';

export interface IvfHeader {
  readonly fourcc: string;
  readonly width: number;
  readonly height: number;
  /** Time base of the frame timestamps: `scale / rate` seconds per tick (e.g. 1/30, or 1/90000 for RTP time). */
  readonly rate: number;
  readonly scale: number;
}

export interface IvfFrame {
  readonly pts: number;
  readonly data: Uint8Array;
}

const FILE_HEADER = 32;
const FRAME_HEADER = 12;

export function writeIvfHeader(h: IvfHeader & { readonly fourcc: IvfFourcc }, frames = 0): Uint8Array {
  const out = new Uint8Array(FILE_HEADER);
  const v = new DataView(out.buffer);
  out.set([0x44, 0x4b, 0x49, 0x46]); // DKIF
  v.setUint16(4, 0, true); // version
  v.setUint16(6, FILE_HEADER, true);
  for (let i = 0; i < 4; i++) out[8 + i] = h.fourcc.charCodeAt(i);
  v.setUint16(12, h.width, true);
  v.setUint16(14, h.height, true);
  v.setUint32(16, h.rate, true);
  v.setUint32(20, h.scale, true);
  v.setUint32(24, frames, true);
  return out;
}

export function writeIvfFrame(pts: number, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(FRAME_HEADER + data.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, data.length, true);
  v.setBigUint64(4, BigInt(Math.max(0, Math.floor(pts))), true);
  out.set(data, FRAME_HEADER);
  return out;
}

/** Reads a whole IVF file; throws PeercamError('media') naming what is wrong with a file that is not one. */
export function readIvf(bytes: Uint8Array, name = 'the IVF file'): { header: IvfHeader; frames: IvfFrame[] } {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = String.fromCharCode(...bytes.subarray(0, 4));
  if (bytes.length < FILE_HEADER || magic !== 'DKIF') throw new PeercamError('media', `${name} is not an IVF file (no DKIF header).`);
  const headerSize = v.getUint16(6, true);
  const header: IvfHeader = {
    fourcc: String.fromCharCode(...bytes.subarray(8, 12)),
    width: v.getUint16(12, true),
    height: v.getUint16(14, true),
    rate: v.getUint32(16, true),
    scale: v.getUint32(20, true),
  };
  const frames: IvfFrame[] = [];
  let o = Math.max(FILE_HEADER, headerSize);
  while (o + FRAME_HEADER <= bytes.length) {
    const size = v.getUint32(o, true);
    const pts = Number(v.getBigUint64(o + 4, true));
    if (o + FRAME_HEADER + size > bytes.length) throw new PeercamError('media', `${name} is truncated: frame ${frames.length} is cut off.`);
    frames.push({ pts, data: bytes.subarray(o + FRAME_HEADER, o + FRAME_HEADER + size) });
    o += FRAME_HEADER + size;
  }
  return { header, frames };
}
