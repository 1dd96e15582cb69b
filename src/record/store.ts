import { mkdirSync, readdirSync, renameSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { readLayout, repairSegment } from './boxes.js';
import { cameraFolder } from '../protocol/index.js';

/**
 * Where recordings live: `<root>/<camera>/<YYYY-MM-DD>/<HH-MM-SS.mmm>[_<ms>].mp4`, UTC. A segment being written has
 * no duration in its name; when it is closed (or repaired after a crash) it is renamed to carry its duration, so
 * listing a day reads names only and never opens a file. One folder per UTC day keeps folders small (1440
 * one-minute segments) and makes deleting the oldest a matter of the first folder.
 */
export interface SegmentInfo {
  readonly camera: string;
  /** Start, ms since the epoch (UTC). */
  readonly start: number;
  /** Duration in ms; for the segment still being written, what is on disk so far. */
  readonly durationMs: number;
  readonly path: string;
  readonly bytes: number;
  /** Still being written (no duration in its name yet). */
  readonly open: boolean;
}

const NAME = /^(\d{2})-(\d{2})-(\d{2})\.(\d{3})(?:_(\d+))?\.mp4$/;
const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

export function dayOf(ms: number): string {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
}

export function segmentName(startMs: number, durationMs?: number): string {
  const d = new Date(startMs);
  const base = `${pad(d.getUTCHours())}-${pad(d.getUTCMinutes())}-${pad(d.getUTCSeconds())}.${pad(d.getUTCMilliseconds(), 3)}`;
  return durationMs === undefined ? `${base}.mp4` : `${base}_${Math.round(durationMs)}.mp4`;
}

/** The path for a new segment. */
export function newSegmentPath(root: string, camera: string, startMs: number): string {
  return join(root, cameraFolder(camera), dayOf(startMs), segmentName(startMs));
}

/** Creates the folders of a segment path; call it in the same tick as the file's creation (retention removes empty days). */
export function makeSegmentDir(path: string): void {
  mkdirSync(join(path, '..'), { recursive: true });
}

/** Renames a finished segment to carry its duration (and its settled start); returns the new path. */
export function sealSegment(path: string, startMs: number, durationMs: number): string {
  const dir = join(path, '..', '..', dayOf(startMs));
  mkdirSync(dir, { recursive: true });
  const to = join(dir, segmentName(startMs, durationMs));
  renameSync(path, to);
  return to;
}

function parse(camera: string, day: string, file: string, dir: string): SegmentInfo | undefined {
  const m = NAME.exec(file);
  const d = DAY.exec(day);
  if (!m || !d) return undefined;
  const start = Date.UTC(Number(d[1]), Number(d[2]) - 1, Number(d[3]), Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4]));
  const path = join(dir, file);
  let bytes = 0;
  try {
    bytes = statSync(path).size;
  } catch {
    return undefined; // deleted meanwhile
  }
  if (m[5] !== undefined) return { camera, start, durationMs: Number(m[5]), path, bytes, open: false };
  const layout = safeLayout(path);
  const durationMs = layout ? layout.fragments.reduce((n, f) => n + f.videoDuration, 0) / (layout.videoTimescale / 1000) : 0;
  return { camera, start, durationMs, path, bytes, open: true };
}

function safeLayout(path: string) {
  try {
    return readLayout(path);
  } catch {
    return undefined;
  }
}

const listDir = (dir: string): string[] => {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
};

/** Camera folders under the root. */
export function listCameras(root: string): string[] {
  return listDir(root).filter((name) => {
    try {
      return statSync(join(root, name)).isDirectory();
    } catch {
      return false;
    }
  });
}

/** A camera's segments overlapping [from, to), oldest first. Only the day folders in the range are read. */
export function listSegments(root: string, camera: string, from = 0, to = Number.MAX_SAFE_INTEGER): SegmentInfo[] {
  const folder = cameraFolder(camera);
  const base = join(root, folder);
  const out: SegmentInfo[] = [];
  // A segment may start on the day before `from` and run into it.
  const firstDay = dayOf(Math.max(0, from - 86_400_000));
  const lastDay = dayOf(Math.min(to, 8.64e15));
  for (const day of listDir(base)) {
    if (!DAY.test(day) || day < firstDay || day > lastDay) continue;
    const dir = join(base, day);
    for (const file of listDir(dir)) {
      const seg = parse(folder, day, file, dir);
      if (seg && seg.start < to && seg.start + seg.durationMs > from) out.push(seg);
    }
  }
  return out.sort((a, b) => a.start - b.start);
}

/**
 * At start: every segment left without a duration (the recorder was killed, the power went) is repaired (a half
 * written fragment cut off) and renamed with its duration, or deleted when not one fragment is whole. Returns what
 * was done, for the log.
 */
export function repairUnfinished(root: string): { repaired: string[]; deleted: string[] } {
  const repaired: string[] = [];
  const deleted: string[] = [];
  for (const camera of listCameras(root)) {
    for (const seg of listSegments(root, camera)) {
      if (!seg.open) continue;
      let layout: ReturnType<typeof repairSegment>;
      try {
        layout = repairSegment(seg.path);
      } catch {
        layout = undefined;
      }
      if (!layout) {
        unlinkSync(seg.path);
        deleted.push(seg.path);
        continue;
      }
      const ms = layout.fragments.reduce((n, f) => n + f.videoDuration, 0) / (layout.videoTimescale / 1000);
      repaired.push(sealSegment(seg.path, seg.start, ms));
    }
  }
  return { repaired, deleted };
}
