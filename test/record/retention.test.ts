import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Retention } from '../../src/record/retention.js';
import { listSegments, newSegmentPath, segmentName } from '../../src/record/store.js';
import { parseDuration, parseMinFree, parseSize } from '../../src/record/units.js';

const base = mkdtempSync(join(tmpdir(), 'peercam-retention-'));
after(() => rmSync(base, { recursive: true, force: true }));

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 5, 1, 0, 0, 0);

/** Real files: `count` one-hour segments of `bytes` each per camera, from T0 on. */
function fill(root: string, cameras: string[], count: number, bytes: number): void {
  for (const camera of cameras) {
    for (let i = 0; i < count; i++) {
      const start = T0 + i * HOUR;
      const path = newSegmentPath(root, camera, start);
      mkdirSync(join(path, '..'), { recursive: true });
      writeFileSync(join(path, '..', segmentName(start, HOUR)), new Uint8Array(bytes));
    }
  }
}

const names = (root: string, camera: string) => listSegments(root, camera).map((s) => new Date(s.start).toISOString().slice(5, 13));

test('by age: segments that ended before now - keep go, oldest first; empty day folders go with them', () => {
  const root = join(base, 'age');
  fill(root, ['a', 'b'], 48, 1000);
  let now = T0 + 48 * HOUR;
  const r = new Retention({ root, keepMs: 30 * HOUR, now: () => now });
  assert.equal(r.count, 96);
  const swept = r.sweep();
  assert.equal(swept.deleted.length, 2 * 17, 'segments ending before hour 18 are older than 30 h');
  assert.deepEqual(names(root, 'a')[0], '06-01T17');
  assert.equal(readdirSync(join(root, 'a')).length, 2, 'both days still hold segments');
  now += 48 * HOUR;
  r.sweep();
  assert.deepEqual(readdirSync(join(root, 'a')), [], 'emptied day folders are removed');
});

test('by size: oldest deleted first across cameras until the total fits', () => {
  const root = join(base, 'size');
  fill(root, ['a', 'b'], 10, 10_000);
  const r = new Retention({ root, maxBytes: 125_000, now: () => T0 });
  assert.equal(r.usedBytes, 200_000);
  const { deleted, usedBytes } = r.sweep();
  assert.equal(usedBytes, 120_000);
  assert.equal(deleted.length, 8);
  // The oldest hours of both cameras went, not all of one camera.
  assert.deepEqual(names(root, 'a'), names(root, 'b'));
  assert.equal(names(root, 'a')[0], '06-01T04');
  // A new segment counts at once.
  const path = join(root, 'a', '2026-06-01', segmentName(T0 + 10 * HOUR, HOUR));
  writeFileSync(path, new Uint8Array(10_000));
  r.add(path, T0 + 11 * HOUR, 10_000);
  assert.equal(r.sweep().deleted.length, 1);
  assert.ok(existsSync(path));
});

test('by free space: statfs checked after each deletion, never under --min-free', () => {
  const root = join(base, 'free');
  fill(root, ['a'], 10, 10_000);
  // A 1 MB filesystem with 20 kB free while all ten segments are there: each deletion frees what it held.
  const space = () => ({ free: 20_000 + 10_000 * (10 - listSegments(root, 'a').length), total: 1_000_000 });
  assert.equal(new Retention({ root, minFree: { bytes: 20_000 }, now: () => T0, space }).sweep().deleted.length, 0, 'nothing to do with room to spare');
  const r = new Retention({ root, minFree: { fraction: 0.05 }, now: () => T0, space });
  const { deleted, short } = r.sweep();
  assert.equal(deleted.length, 3, '50 kB free (5 %) needs three 10 kB segments gone');
  assert.equal(short, false);
  assert.equal(r.sweep().deleted.length, 0);
});

test('flags: durations, sizes and min-free parse or say what is wrong', () => {
  assert.equal(parseDuration('7d', '--keep'), 7 * 24 * HOUR);
  assert.equal(parseDuration('90', '--segment'), 90_000);
  assert.equal(parseDuration('1.5h', '--keep'), 1.5 * HOUR);
  assert.throws(() => parseDuration('soon', '--keep'), /--keep must be a positive duration like 90s/);
  assert.equal(parseSize('50GB', '--max-disk'), 50e9);
  assert.equal(parseSize('2GiB', '--max-disk'), 2 * 1024 ** 3);
  assert.equal(parseSize('500M', '--max-disk'), 500e6);
  assert.throws(() => parseSize('lots', '--max-disk'), /--max-disk must be a size like 500MB/);
  assert.deepEqual(parseMinFree('5%', '--min-free'), { fraction: 0.05 });
  assert.deepEqual(parseMinFree('2GB', '--min-free'), { bytes: 2e9 });
  assert.throws(() => parseMinFree('100%', '--min-free'), /under 100%/);
});
