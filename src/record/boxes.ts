import { closeSync, fstatSync, ftruncateSync, openSync, readSync } from 'node:fs';

/** A top-level ISO BMFF box (ISO/IEC 14496-12 4.2): where it starts and how long it is, header included. */
export interface BoxRef {
  readonly type: string;
  readonly start: number;
  readonly size: number;
}

/** One moof+mdat pair: a fragment that starts at a video keyframe and plays on its own after the init segment. */
export interface Fragment {
  readonly start: number;
  readonly size: number;
  /** Video decode time of the first sample, in the video track's timescale. */
  readonly videoTime: number;
  /** Sum of the video sample durations. */
  readonly videoDuration: number;
}

/** Where the boxes of a recording segment sit in its file. */
export interface SegmentLayout {
  /** Bytes of ftyp + moov (the init segment). */
  readonly initSize: number;
  readonly videoTrackId: number;
  readonly videoTimescale: number;
  /** Timescale per track id (for rebasing every track's decode times). */
  readonly timescales: ReadonlyMap<number, number>;
  readonly fragments: readonly Fragment[];
  /** End of the last complete fragment: anything after it (a half-written fragment) is not playable. */
  readonly completeEnd: number;
  readonly fileSize: number;
}

const HEADER = 16;

export function readAt(fd: number, position: number, length: number): Uint8Array {
  const buf = new Uint8Array(length);
  let o = 0;
  while (o < length) {
    const n = readSync(fd, buf, o, length - o, position + o);
    if (n === 0) break;
    o += n;
  }
  return buf.subarray(0, o);
}

const typeOf = (b: Uint8Array, o: number) => String.fromCharCode(b[o + 4]!, b[o + 5]!, b[o + 6]!, b[o + 7]!);

/** Walks the top-level boxes by their headers only (a 1 h file is never read whole). Stops at a truncated box. */
export function topLevelBoxes(fd: number, fileSize: number): BoxRef[] {
  const boxes: BoxRef[] = [];
  let pos = 0;
  while (pos + 8 <= fileSize) {
    const h = readAt(fd, pos, HEADER);
    if (h.length < 8) break;
    const v = new DataView(h.buffer, h.byteOffset, h.byteLength);
    let size = v.getUint32(0);
    if (size === 1) {
      if (h.length < 16) break;
      size = Number(v.getBigUint64(8));
    } else if (size === 0) size = fileSize - pos; // to the end of the file (4.2)
    if (size < 8) break;
    boxes.push({ type: typeOf(h, 0), start: pos, size });
    pos += size;
  }
  return boxes;
}

/** Child boxes inside `buf[from, to)`. */
export function childBoxes(buf: Uint8Array, from: number, to: number): BoxRef[] {
  const out: BoxRef[] = [];
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let pos = from;
  while (pos + 8 <= to) {
    let size = v.getUint32(pos);
    let header = 8;
    if (size === 1) {
      size = Number(v.getBigUint64(pos + 8));
      header = 16;
    } else if (size === 0) size = to - pos;
    if (size < header || pos + size > to) break;
    out.push({ type: typeOf(buf, pos), start: pos, size });
    pos += size;
  }
  return out;
}

const child = (buf: Uint8Array, parent: BoxRef, type: string) => childBoxes(buf, parent.start + 8, parent.start + parent.size).find((b) => b.type === type);

/** Track ids, handler types and timescales from a moov box (trak/tkhd, trak/mdia/hdlr, trak/mdia/mdhd). */
export function parseMoov(moov: Uint8Array): { tracks: { id: number; handler: string; timescale: number }[] } {
  const v = new DataView(moov.buffer, moov.byteOffset, moov.byteLength);
  const tracks: { id: number; handler: string; timescale: number }[] = [];
  for (const trak of childBoxes(moov, 8, moov.length).filter((b) => b.type === 'trak')) {
    const tkhd = child(moov, trak, 'tkhd');
    const mdia = child(moov, trak, 'mdia');
    if (!tkhd || !mdia) continue;
    const id = v.getUint32(tkhd.start + 8 + 4 + (moov[tkhd.start + 8] === 1 ? 16 : 8));
    const mdhd = child(moov, mdia, 'mdhd');
    const hdlr = child(moov, mdia, 'hdlr');
    if (!mdhd || !hdlr) continue;
    const timescale = v.getUint32(mdhd.start + 12 + (moov[mdhd.start + 8] === 1 ? 16 : 8));
    tracks.push({ id, handler: typeOf(moov, hdlr.start + 8 + 4), timescale });
  }
  return { tracks };
}

export interface TrafInfo {
  readonly trackId: number;
  /** Offset of the tfdt's 64- or 32-bit time inside the moof, for rebasing. */
  readonly tfdtOffset: number;
  readonly tfdtVersion: number;
  readonly baseTime: number;
  readonly duration: number;
}

/** The track fragments of a moof: decode time (tfdt) and summed sample durations (trun, else tfhd's default). */
export function parseMoof(moof: Uint8Array, defaults: ReadonlyMap<number, number> = new Map()): { sequenceOffset: number; trafs: TrafInfo[] } {
  const v = new DataView(moof.buffer, moof.byteOffset, moof.byteLength);
  const root: BoxRef = { type: 'moof', start: 0, size: moof.length };
  const mfhd = child(moof, root, 'mfhd');
  const trafs: TrafInfo[] = [];
  for (const traf of childBoxes(moof, 8, moof.length).filter((b) => b.type === 'traf')) {
    const tfhd = child(moof, traf, 'tfhd');
    const tfdt = child(moof, traf, 'tfdt');
    if (!tfhd || !tfdt) continue;
    const tfFlags = v.getUint32(tfhd.start + 8) & 0xffffff;
    const trackId = v.getUint32(tfhd.start + 12);
    let o = tfhd.start + 16;
    if (tfFlags & 0x01) o += 8; // base data offset
    if (tfFlags & 0x02) o += 4; // sample description index
    const defaultDuration = tfFlags & 0x08 ? v.getUint32(o) : (defaults.get(trackId) ?? 0);
    const tfdtVersion = moof[tfdt.start + 8]!;
    const tfdtOffset = tfdt.start + 12;
    const baseTime = tfdtVersion === 1 ? Number(v.getBigUint64(tfdtOffset)) : v.getUint32(tfdtOffset);
    let duration = 0;
    for (const trun of childBoxes(moof, traf.start + 8, traf.start + traf.size).filter((b) => b.type === 'trun')) {
      const flags = v.getUint32(trun.start + 8) & 0xffffff;
      const count = v.getUint32(trun.start + 12);
      let p = trun.start + 16;
      if (flags & 0x001) p += 4;
      if (flags & 0x004) p += 4;
      if (!(flags & 0x100)) {
        duration += count * defaultDuration;
        continue;
      }
      const stride = 4 * [0x100, 0x200, 0x400, 0x800].filter((f) => flags & f).length;
      for (let i = 0; i < count; i++, p += stride) duration += v.getUint32(p);
    }
    trafs.push({ trackId, tfdtOffset, tfdtVersion, baseTime, duration });
  }
  return { sequenceOffset: mfhd ? mfhd.start + 12 : -1, trafs };
}

/** Reads a segment's layout: init segment, fragments with their video times, where the playable part ends. */
export function readLayout(path: string): SegmentLayout | undefined {
  const fd = openSync(path, 'r');
  try {
    return layoutOf(fd);
  } finally {
    closeSync(fd);
  }
}

function layoutOf(fd: number): SegmentLayout | undefined {
  const fileSize = fstatSync(fd).size;
  const boxes = topLevelBoxes(fd, fileSize);
  const moovRef = boxes.find((b) => b.type === 'moov');
  if (boxes[0]?.type !== 'ftyp' || !moovRef || moovRef.start + moovRef.size > fileSize) return undefined;
  const { tracks } = parseMoov(readAt(fd, moovRef.start, moovRef.size));
  const video = tracks.find((t) => t.handler === 'vide');
  if (!video) return undefined;
  const fragments: Fragment[] = [];
  let completeEnd = moovRef.start + moovRef.size;
  for (let i = 0; i + 1 < boxes.length; i++) {
    const moof = boxes[i]!;
    const mdat = boxes[i + 1]!;
    if (moof.type !== 'moof' || mdat.type !== 'mdat' || mdat.start + mdat.size > fileSize) continue;
    const { trafs } = parseMoof(readAt(fd, moof.start, moof.size));
    const traf = trafs.find((t) => t.trackId === video.id);
    fragments.push({ start: moof.start, size: moof.size + mdat.size, videoTime: traf?.baseTime ?? 0, videoDuration: traf?.duration ?? 0 });
    completeEnd = mdat.start + mdat.size;
    i++;
  }
  return {
    initSize: moovRef.start + moovRef.size,
    videoTrackId: video.id,
    videoTimescale: video.timescale,
    timescales: new Map(tracks.map((t) => [t.id, t.timescale])),
    fragments,
    completeEnd,
    fileSize,
  };
}

/**
 * Makes a segment left by a crash playable: cuts a half-written fragment (or a half-written mfra) off the end. Returns
 * the layout after the repair, or undefined when not even one fragment is whole (the caller deletes the file).
 */
export function repairSegment(path: string): SegmentLayout | undefined {
  const fd = openSync(path, 'r+');
  try {
    const layout = layoutOf(fd);
    if (!layout || layout.fragments.length === 0) return undefined;
    const boxes = topLevelBoxes(fd, layout.fileSize);
    const last = boxes.at(-1);
    // A whole mfra after the last fragment is the finalized tail: keep it. Anything else after the fragments goes.
    const tailOk = last?.type === 'mfra' && last.start === layout.completeEnd && last.start + last.size === layout.fileSize;
    if (!tailOk && layout.fileSize !== layout.completeEnd) {
      ftruncateSync(fd, layout.completeEnd);
      return { ...layout, fileSize: layout.completeEnd };
    }
    return layout;
  } finally {
    closeSync(fd);
  }
}
