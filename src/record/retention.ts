import { readdirSync, rmdirSync, statfsSync, unlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import { type Logger, silentLogger } from '../protocol/index.js';
import { listCameras, listSegments } from './store.js';

/** How long recordings are kept and how much disk they may use. */
export interface RetentionPolicy {
  /** Delete segments that ended longer ago than this (ms). */
  readonly keepMs?: number;
  /**
   * Segments that hold a motion event (`isEvent`) are kept this long instead (`--keep-events`, docs/EVENTS.md): longer
   * or shorter than `keepMs`. Default: `keepMs`. Size and free-space limits still delete the oldest first, events or not.
   */
  readonly keepEventsMs?: number;
  /** Keep the recordings' total size at or under this many bytes. */
  readonly maxBytes?: number;
  /** Keep at least this much free on the filesystem: bytes, or a fraction of its size (0.05 = 5 %). */
  readonly minFree?: { readonly bytes: number } | { readonly fraction: number };
}

/** Free and total bytes of the filesystem holding `path` (statfs: what an unprivileged writer may use). */
export interface DiskSpace {
  readonly free: number;
  readonly total: number;
}

/** Free and total bytes of the file system holding `path`. */
export function diskSpace(path: string): DiskSpace {
  const s = statfsSync(path);
  return { free: s.bavail * s.bsize, total: s.blocks * s.bsize };
}

interface Entry {
  readonly path: string;
  readonly start: number;
  readonly end: number;
  readonly bytes: number;
}

export interface SweepResult {
  readonly deleted: readonly string[];
  readonly usedBytes: number;
  readonly free: number;
  /** Free space is still under the minimum after deleting everything allowed. */
  readonly short: boolean;
}

export interface RetentionOptions extends RetentionPolicy {
  readonly root: string;
  readonly now?: () => number;
  readonly space?: (path: string) => DiskSpace;
  /** Whether the segment at `path` (start and end, ms) holds an event: it is then kept by `keepEventsMs`. */
  readonly isEvent?: (path: string, start: number, end: number) => boolean;
  readonly log?: Logger;
}

/**
 * Deletes recordings oldest first: those older than `keepMs`, then as many as it takes to bring the total under
 * `maxBytes` and the filesystem's free space over `minFree` (statfs after each deletion: checked, not assumed).
 * The inventory is read from the folders once; finished segments are added as they close, so a sweep costs nothing
 * per stored file. The segment being written is never in the inventory, so it is never deleted.
 */
export class Retention {
  private entries: Entry[] = [];
  private head = 0;
  private used = 0;
  private readonly now: () => number;
  private readonly space: (path: string) => DiskSpace;
  private readonly log: Logger;

  constructor(private readonly options: RetentionOptions) {
    this.now = options.now ?? Date.now;
    this.space = options.space ?? diskSpace;
    this.log = options.log ?? silentLogger;
    for (const camera of listCameras(options.root)) {
      for (const seg of listSegments(options.root, camera)) {
        if (!seg.open) this.entries.push({ path: seg.path, start: seg.start, end: seg.start + seg.durationMs, bytes: seg.bytes });
      }
    }
    this.entries.sort((a, b) => a.end - b.end);
    this.used = this.entries.reduce((n, e) => n + e.bytes, 0);
  }

  /** Bytes of finished recordings. */
  get usedBytes(): number {
    return this.used;
  }

  get count(): number {
    return this.entries.length - this.head;
  }

  /** A segment was finished (`start`: when it began; default its end). */
  add(path: string, end: number, bytes: number, start = end): void {
    const e = { path, start, end, bytes };
    let i = this.entries.length;
    while (i > this.head && this.entries[i - 1]!.end > end) i--;
    this.entries.splice(i, 0, e);
    this.used += bytes;
  }

  /** The free bytes to keep, from the policy and the filesystem's size. */
  minFreeBytes(total: number, extra = 0): number {
    const m = this.options.minFree;
    const base = !m ? 0 : 'bytes' in m ? m.bytes : Math.ceil(m.fraction * total);
    return base + extra;
  }

  /** Deletes what the policy says must go; `extraFree` asks for that much more free space (after a full disk). */
  sweep(extraFree = 0): SweepResult {
    const deleted: string[] = [];
    this.sweepAge(deleted);
    let space = this.safeSpace();
    const want = this.minFreeBytes(space.total, extraFree);
    while (this.head < this.entries.length) {
      const tooBig = this.options.maxBytes !== undefined && this.used > this.options.maxBytes;
      const tooFull = space.free < want;
      if (!tooBig && !tooFull) break;
      this.remove(this.entries[this.head++]!, deleted);
      if (tooFull) space = this.safeSpace();
    }
    // Compact once the deleted head outgrows the rest.
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
    if (deleted.length) this.log.info({ deleted: deleted.length, usedBytes: this.used, free: space.free }, 'recording: retention deleted the oldest segments');
    return { deleted, usedBytes: this.used, free: space.free, short: space.free < want };
  }

  /**
   * Deletes the segments past their age: `keepMs`, or `keepEventsMs` for those holding an event. Only the entries older
   * than the later of the two cut-offs are looked at; those kept (events kept longer) move up to the new head.
   */
  private sweepAge(deleted: string[]): void {
    const { keepMs, keepEventsMs, isEvent } = this.options;
    if (keepMs === undefined && keepEventsMs === undefined) return;
    const now = this.now();
    const plainCut = keepMs === undefined ? Number.NEGATIVE_INFINITY : now - keepMs;
    const eventCut = keepEventsMs === undefined || !isEvent ? plainCut : now - keepEventsMs;
    const lastCut = Math.max(plainCut, eventCut);
    const kept: Entry[] = [];
    let i = this.head;
    for (; i < this.entries.length && this.entries[i]!.end < lastCut; i++) {
      const e = this.entries[i]!;
      const cut = eventCut === plainCut ? plainCut : isEvent?.(e.path, e.start, e.end) ? eventCut : plainCut;
      if (e.end < cut) this.remove(e, deleted);
      else kept.push(e);
    }
    // Entries [head, i) are either deleted or kept: the kept ones go just before i, in order, and become the head.
    this.head = i - kept.length;
    for (let k = 0; k < kept.length; k++) this.entries[this.head + k] = kept[k]!;
  }

  private remove(e: Entry, deleted: string[]): void {
    this.used -= e.bytes;
    try {
      unlinkSync(e.path);
      deleted.push(e.path);
      removeEmptyDay(e.path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.log.warn({ path: e.path, err: String(err) }, 'recording: could not delete');
    }
  }

  private safeSpace(): DiskSpace {
    try {
      return this.space(this.options.root);
    } catch {
      return { free: Number.POSITIVE_INFINITY, total: 0 };
    }
  }
}

/** Removes the day folder a deletion left empty (the camera folder stays: the recorder may be writing into it). */
function removeEmptyDay(file: string): void {
  const dir = dirname(file);
  try {
    if (readdirSync(dir).length === 0) rmdirSync(dir);
  } catch {
    // not empty, or gone already
  }
}
