import { PeercamError } from '../protocol/index.js';

const DURATION: Record<string, number> = { ms: 1, s: 1000, m: 60_000, min: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
const SIZE: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  tib: 1024 ** 4,
};

/** "7d", "12h", "90s", "1.5h" -> ms. A bare number is seconds. */
export function parseDuration(text: string, flag: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  const unit = (m?.[2] || 's').toLowerCase();
  const factor = DURATION[unit];
  if (!m || factor === undefined || Number(m[1]) <= 0)
    throw PeercamError.config(`${flag} must be a positive duration like 90s, 30m, 12h or 7d, not "${text}".`);
  return Number(m[1]) * factor;
}

/** "50GB", "500MiB", "2tb" -> bytes (GB = 10^9, GiB = 2^30). A bare number is bytes. */
export function parseSize(text: string, flag: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  const unit = (m?.[2] || 'b').toLowerCase();
  const factor = SIZE[unit] ?? SIZE[`${unit}b`];
  if (!m || factor === undefined) throw PeercamError.config(`${flag} must be a size like 500MB, 50GB or 2TiB, not "${text}".`);
  return Number(m[1]) * factor;
}

/** "5%" -> a fraction of the filesystem; "2GB" -> bytes. */
export function parseMinFree(text: string, flag: string): { fraction: number } | { bytes: number } {
  const pct = /^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(text);
  if (pct) {
    const fraction = Number(pct[1]) / 100;
    if (fraction >= 1) throw PeercamError.config(`${flag} must be under 100%, not "${text}".`);
    return { fraction };
  }
  return { bytes: parseSize(text, flag) };
}
