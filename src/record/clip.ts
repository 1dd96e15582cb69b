import { closeSync, createReadStream, openSync } from 'node:fs';
import { concatBytes } from '../protocol/index.js';
import { parseMoof, readAt, readLayout } from './boxes.js';
import { listSegments, type SegmentInfo } from './store.js';

/** A byte range of the clip: bytes built here (init, rewritten moofs) or a run of a segment file (mdat). */
type Piece = { readonly data: Uint8Array } | { readonly file: string; readonly offset: number; readonly length: number };

/** One MP4 made of whole fragments of consecutive segments, ready to be served (with Range) or saved. */
export interface Clip {
  readonly camera: string;
  /** Start of the first fragment (ms since the epoch): a keyframe at or before the asked start. */
  readonly start: number;
  readonly durationMs: number;
  readonly size: number;
  readonly pieces: readonly Piece[];
}

const sizeOf = (p: Piece) => ('data' in p ? p.data.length : p.length);
const sameBytes = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * What must match for fragments of two files to share one init segment: their sample descriptions (stsd: codec,
 * size, parameter sets), in track order. The rest of a moov differs per file (creation times) and does not matter.
 */
export function initSignature(init: Uint8Array): Uint8Array {
  const parts: Uint8Array[] = [];
  for (let i = 4; i + 4 <= init.length; i++) {
    if (init[i] !== 0x73 || init[i + 1] !== 0x74 || init[i + 2] !== 0x73 || init[i + 3] !== 0x64) continue; // "stsd"
    const size = new DataView(init.buffer, init.byteOffset + i - 4, 4).getUint32(0);
    if (size >= 8 && i - 4 + size <= init.length) parts.push(init.subarray(i - 4, i - 4 + size));
  }
  return concatBytes(...parts);
}

/**
 * The fragments of `camera` covering [startMs, startMs + durationMs), cut at keyframes (every fragment starts at
 * one), with no re-encoding: the init segment of the first file, then each fragment with its decode times rebased so
 * the clip starts at 0 and runs on without holes (a gap between recordings is skipped, not shown as a frozen frame).
 * Stops early where the camera's codec or size changed (a new init segment). Undefined when nothing is recorded there.
 */
export function buildClip(root: string, camera: string, startMs: number, durationMs: number): Clip | undefined {
  const endMs = startMs + durationMs;
  const pieces: Piece[] = [];
  let init: Uint8Array | undefined;
  let clipStart: number | undefined;
  let offsetSec = 0;
  let sequence = 1;
  for (const seg of listSegments(root, camera, startMs, endMs)) {
    const taken = takeSegment(seg, startMs, endMs, offsetSec, sequence, init);
    if (taken === 'other-init') break;
    if (!taken) continue;
    if (!init) {
      init = taken.init;
      pieces.push({ data: init });
    }
    clipStart ??= taken.firstMs;
    pieces.push(...taken.pieces);
    offsetSec += taken.seconds;
    sequence += taken.fragments;
  }
  if (!init || clipStart === undefined) return undefined;
  return { camera, start: clipStart, durationMs: Math.round(offsetSec * 1000), size: pieces.reduce((n, p) => n + sizeOf(p), 0), pieces };
}

function takeSegment(seg: SegmentInfo, startMs: number, endMs: number, offsetSec: number, sequence: number, init: Uint8Array | undefined) {
  const layout = safe(() => readLayout(seg.path));
  if (!layout || layout.fragments.length === 0) return undefined;
  const fd = openSync(seg.path, 'r');
  try {
    const ownInit = readAt(fd, 0, layout.initSize);
    if (init && !sameBytes(initSignature(init), initSignature(ownInit))) return 'other-init' as const;
    const vts = layout.videoTimescale;
    const first = layout.fragments[0]!.videoTime;
    const msOf = (t: number) => seg.start + ((t - first) * 1000) / vts;
    const chosen = layout.fragments.filter((f) => msOf(f.videoTime) < endMs && msOf(f.videoTime + f.videoDuration) > startMs);
    if (chosen.length === 0) return undefined;
    // Every track moves by the same amount of time: the chosen run's earliest decode time lands on `offsetSec`.
    const moofs = chosen.map((f) => {
      const header = readAt(fd, f.start, 8);
      const moofSize = new DataView(header.buffer, header.byteOffset).getUint32(0);
      return { f, moof: readAt(fd, f.start, moofSize).slice() };
    });
    const firstTrafs = parseMoof(moofs[0]!.moof).trafs;
    const baseSec = Math.min(...firstTrafs.map((t) => t.baseTime / (layout.timescales.get(t.trackId) ?? vts)));
    const pieces: Piece[] = [];
    let seconds = 0;
    moofs.forEach(({ f, moof }, i) => {
      const { sequenceOffset, trafs } = parseMoof(moof);
      const view = new DataView(moof.buffer, moof.byteOffset, moof.byteLength);
      if (sequenceOffset >= 0) view.setUint32(sequenceOffset, sequence + i);
      for (const t of trafs) {
        const ts = layout.timescales.get(t.trackId) ?? vts;
        const moved = Math.max(0, Math.round(t.baseTime - baseSec * ts + offsetSec * ts));
        if (t.tfdtVersion === 1) view.setBigUint64(t.tfdtOffset, BigInt(moved));
        else view.setUint32(t.tfdtOffset, moved);
      }
      pieces.push({ data: moof }, { file: seg.path, offset: f.start + moof.length, length: f.size - moof.length });
      seconds = (f.videoTime + f.videoDuration) / vts - baseSec;
    });
    return { init: ownInit, pieces, seconds, fragments: moofs.length, firstMs: msOf(chosen[0]!.videoTime) };
  } finally {
    closeSync(fd);
  }
}

function safe<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch {
    return undefined;
  }
}

/**
 * Streams bytes [from, to] (inclusive, as in a Range header) of a clip, read from the files `readBytes` at a time
 * (default 64 KiB, the stream default).
 */
export async function* readClip(clip: Clip, from = 0, to = clip.size - 1, readBytes = 64 * 1024): AsyncGenerator<Uint8Array> {
  let pos = 0;
  for (const p of clip.pieces) {
    const size = sizeOf(p);
    const a = Math.max(from, pos);
    const b = Math.min(to, pos + size - 1);
    if (a <= b) {
      if ('data' in p) yield p.data.subarray(a - pos, b - pos + 1);
      else for await (const chunk of createReadStream(p.file, { start: p.offset + (a - pos), end: p.offset + (b - pos), highWaterMark: readBytes })) yield chunk as Uint8Array;
    }
    pos += size;
    if (pos > to) return;
  }
}
