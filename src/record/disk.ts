import { closeSync, openSync, statfsSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { type Logger, PeercamError, silentLogger } from '../protocol/index.js';
import type { DiskGate } from './camera-recorder.js';
import type { Retention } from './retention.js';

/** Whether recordings can be written: ok, or why not. */
export type DiskState = 'ok' | 'full' | 'read-only' | 'failed';

export interface DiskGuardOptions {
  readonly root: string;
  readonly retention: Retention;
  /** How often to sweep (retention) and, while stopped, to look for space. Default 5 s. */
  readonly intervalMs?: number;
  readonly log?: Logger;
  /** Called once when writing stops (with the error to show) and once when it resumes (undefined). */
  readonly onChange?: (state: DiskState, error: PeercamError | undefined) => void;
}

const FULL = new Set(['ENOSPC', 'EDQUOT', 'EFBIG']);
const READ_ONLY = new Set(['EROFS', 'EACCES', 'EPERM']);

/**
 * One gate for every camera's writes. A failed write (disk full, read-only, I/O error) stops all writing with one
 * clear error, not one per frame; retention then makes room (oldest first) and, every `intervalMs`, a probe write
 * checks whether writing works again: it resumes by itself, the recorder and the hub keep running meanwhile.
 */
export class DiskGuard implements DiskGate {
  state: DiskState = 'ok';
  /** The error shown while writing is stopped. */
  error: PeercamError | undefined;
  private timer: ReturnType<typeof setInterval>;
  private readonly log: Logger;

  constructor(private readonly options: DiskGuardOptions) {
    this.log = options.log ?? silentLogger;
    this.timer = setInterval(() => this.tick(), options.intervalMs ?? 5000);
    this.timer.unref();
  }

  canWrite(): boolean {
    return this.state === 'ok';
  }

  failed(err: NodeJS.ErrnoException): void {
    if (this.state !== 'ok') return;
    const code = err.code ?? 'EIO';
    this.state = FULL.has(code) ? 'full' : READ_ONLY.has(code) ? 'read-only' : 'failed';
    const what =
      this.state === 'full'
        ? `the disk holding ${this.options.root} is full (${code})`
        : this.state === 'read-only'
          ? `${this.options.root} is not writable (${code})`
          : `writing to ${this.options.root} failed (${err.message.startsWith(code) ? err.message : `${code}: ${err.message}`})`;
    const retry = `${Math.round((this.options.intervalMs ?? 5000) / 1000)} s`;
    this.error = new PeercamError(
      'disk',
      this.state === 'full'
        ? `Recording stopped: ${what}. Deleting the oldest recordings per the retention settings and retrying every ${retry}; ` +
            'recording resumes by itself when writing works again (free some space, or lower --max-disk / --keep).'
        : `Recording stopped: ${what}. Retrying every ${retry}; recording resumes by itself when writing works again ` +
            '(is the disk still there and mounted read-write?).',
      { cause: err },
    );
    if (this.options.onChange) this.options.onChange(this.state, this.error);
    else this.log.error({ code }, this.error.message);
    this.tick();
  }

  /** Retention, and while stopped: make room, then try a probe write. */
  tick(): void {
    const retention = this.options.retention;
    if (this.state === 'ok') {
      retention.sweep();
      return;
    }
    // After a full disk, ask for headroom: 10 % of the filesystem, at most 1 GiB, so writing does not fail at once.
    const r = retention.sweep(this.state === 'full' ? headroom(this.options.root) : 0);
    if (r.short && this.state === 'full') return;
    if (this.probe()) {
      this.state = 'ok';
      this.error = undefined;
      if (this.options.onChange) this.options.onChange('ok', undefined);
      else this.log.warn({}, `Recording resumed: ${this.options.root} is writable again.`);
    }
  }

  close(): void {
    clearInterval(this.timer);
  }

  private probe(): boolean {
    const path = join(this.options.root, `.probe-${process.pid}`);
    try {
      const fd = openSync(path, 'w');
      try {
        writeSync(fd, new Uint8Array(4096));
      } finally {
        closeSync(fd);
        unlinkSync(path);
      }
      return true;
    } catch {
      return false;
    }
  }
}

let headroomCache: { root: string; bytes: number } | undefined;
function headroom(root: string): number {
  if (headroomCache?.root === root) return headroomCache.bytes;
  try {
    const s = statfsSync(root);
    const bytes = Math.min(1 << 30, Math.floor(s.blocks * s.bsize * 0.1));
    headroomCache = { root, bytes };
    return bytes;
  } catch {
    return 0;
  }
}
