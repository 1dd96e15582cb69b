import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { EventLog, eventsJson, readEvents } from '../../src/record/event-log.js';
import { Retention } from '../../src/record/retention.js';
import { listSegments, newSegmentPath, segmentName } from '../../src/record/store.js';

const base = mkdtempSync(join(tmpdir(), 'peercam-keep-events-'));
after(() => rmSync(base, { recursive: true, force: true }));

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const T0 = Date.UTC(2026, 5, 1, 0, 0, 0);

/** Real one-minute segment files of `camera` starting at each of `starts`. */
function segments(root: string, camera: string, starts: readonly number[]): void {
  for (const start of starts) {
    const path = newSegmentPath(root, camera, start);
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(join(path, '..', segmentName(start, MIN)), new Uint8Array(1000));
  }
}

const kept = (root: string, camera: string) => listSegments(root, camera).map((s) => (s.start - T0) / MIN);

test('the event log: a line per start and end beside the recordings, read back after a restart, pruned by day', () => {
  const root = join(base, 'log');
  const log = new EventLog(root);
  log.start('Front door', 'e1', T0 + 10 * MIN + 5000, 0.02);
  log.end('Front door', 'e1', T0 + 10 * MIN + 20_000, 0.05, { x: 0.1, y: 0.2, w: 0.3, h: 0.4 });
  log.start('Front door', 'e2', T0 + DAY + 30 * MIN, 0.01);
  log.end('Front door', 'nobody-started-this', T0 + DAY + 31 * MIN, 0.5);
  const lines = readFileSync(join(root, 'Front_door', 'events', '2026-06-01.jsonl'), 'utf8').trim().split('\n');
  assert.equal(lines.length, 2, 'a start and its end');
  assert.deepEqual(readEvents(root, 'Front door').map((m) => [m.event, m.start - T0, m.end === undefined ? undefined : m.end - T0, m.score]), [
    ['e1', 10 * MIN + 5000, 10 * MIN + 20_000, 0.05],
    ['e2', DAY + 30 * MIN, undefined, 0.01],
  ]);
  assert.deepEqual(eventsJson(root, 'Front door', T0, T0 + DAY)[0], { camera: 'Front_door', event: 'e1', start: '2026-06-01T00:10:05.000Z', duration: 15, score: 0.05, box: { x: 0.1, y: 0.2, w: 0.3, h: 0.4 } });
  assert.equal(readEvents(root, 'Front door', T0 + DAY, T0 + 2 * DAY).length, 1, 'only the asked range');
  // A restarted recorder knows the events again; the camera leaving ends the one under way.
  const again = new EventLog(root, { cameras: ['Front_door'] });
  assert.ok(again.covers('Front_door', T0 + 10 * MIN, T0 + 11 * MIN, 0, 0));
  again.endAll('Front door', T0 + DAY + 40 * MIN);
  assert.equal(readEvents(root, 'Front door').at(-1)?.end, T0 + DAY + 40 * MIN);
  again.prune(T0 + DAY + HOUR);
  assert.deepEqual(readdirSync(join(root, 'Front_door', 'events')), ['2026-06-02.jsonl'], 'the older day is gone');
  assert.equal(again.covers('Front_door', T0 + 10 * MIN, T0 + 11 * MIN, 0, 0), false);
});

test('--keep-events: segments that hold an event (with the margins) outlive --keep; the rest go at --keep', () => {
  const root = join(base, 'retention');
  // Minutes 0..9 of two cameras; a 20 s event in minute 3 of "yard" (5 s pre, 10 s post margins).
  const starts = Array.from({ length: 10 }, (_, i) => T0 + i * MIN);
  segments(root, 'yard', starts);
  segments(root, 'porch', starts);
  const log = new EventLog(root);
  log.start('yard', 'e1', T0 + 3 * MIN + 30_000, 0.03);
  log.end('yard', 'e1', T0 + 3 * MIN + 50_000, 0.03);
  // An event that begins 3 s into minute 6: its 5 s pre-roll margin reaches back into minute 5.
  log.start('yard', 'e2', T0 + 6 * MIN + 3000, 0.03);
  log.end('yard', 'e2', T0 + 6 * MIN + 10_000, 0.03);
  let now = T0 + 10 * MIN;
  const r = new Retention({ root, keepMs: HOUR, keepEventsMs: 30 * DAY, isEvent: (p, s, e) => log.holds(p, s, e, 5000, 10_000), now: () => now });
  assert.equal(r.sweep().deleted.length, 0);
  now = T0 + 2 * HOUR;
  assert.equal(r.sweep().deleted.length, 20 - 3);
  assert.deepEqual(kept(root, 'yard'), [3, 5, 6], 'the event minutes (and the one its pre-roll margin reaches) are kept');
  assert.deepEqual(kept(root, 'porch'), [], 'another camera has no events: all gone at --keep');
  // New segments after the kept ones still go at --keep, the kept ones at --keep-events.
  segments(root, 'porch', [T0 + 100 * MIN]);
  r.add(join(root, 'porch', '2026-06-01', segmentName(T0 + 100 * MIN, MIN)), T0 + 101 * MIN, 1000, T0 + 100 * MIN);
  now = T0 + 3 * HOUR;
  assert.equal(r.sweep().deleted.length, 1);
  assert.deepEqual(kept(root, 'yard'), [3, 5, 6]);
  now = T0 + 30 * DAY + 11 * MIN;
  r.sweep();
  assert.deepEqual(kept(root, 'yard'), [], 'gone after --keep-events');
  assert.equal(r.count, 0);
  assert.equal(r.usedBytes, 0);
});

test('--keep-events shorter than --keep, and size limits still delete the oldest first, events or not', () => {
  const root = join(base, 'pressure');
  const starts = Array.from({ length: 6 }, (_, i) => T0 + i * MIN);
  segments(root, 'yard', starts);
  const log = new EventLog(root);
  log.start('yard', 'e1', T0 + 10_000, 0.03);
  log.end('yard', 'e1', T0 + 20_000, 0.03);
  let now = T0 + 6 * MIN + HOUR + 1;
  // Events kept an hour, the rest a day: the event minute goes first.
  const r = new Retention({ root, keepMs: DAY, keepEventsMs: HOUR, isEvent: (p, s, e) => log.holds(p, s, e, 0, 0), now: () => now });
  assert.equal(r.sweep().deleted.length, 1);
  assert.deepEqual(kept(root, 'yard'), [1, 2, 3, 4, 5]);
  const sized = new Retention({ root, keepMs: DAY, keepEventsMs: 30 * DAY, maxBytes: 2500, isEvent: () => true, now: () => now });
  now = T0 + 2 * DAY;
  sized.sweep();
  assert.deepEqual(kept(root, 'yard'), [4, 5], 'the size limit deletes the oldest, though all hold events');
  assert.ok(existsSync(join(root, 'yard')));
});
