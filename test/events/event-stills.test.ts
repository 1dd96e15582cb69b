import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { EventLog, eventsJson, readSnapshot } from '../../src/record/event-log.js';

const base = mkdtempSync(join(tmpdir(), 'peercam-event-stills-'));
after(() => rmSync(base, { recursive: true, force: true }));

const MIN = 60_000;
const DAY = 24 * 60 * MIN;
const T0 = Date.UTC(2026, 5, 1, 0, 0, 0);
/** The start of a JPEG (SOI, then an APP0 marker) and a few bytes: what the recorder checks before keeping a still. */
const JPEG = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0xff, 0xd9]);

test("an event's still is kept beside its day's log, listed, read back, and pruned with the day", () => {
  const root = join(base, 'stills');
  const log = new EventLog(root);
  log.start('Front door', 'E1', T0 + 10 * MIN, 0.02, JPEG.toString('base64'));
  log.start('Front door', 'E2', T0 + 11 * MIN, 0.02, Buffer.from('not a jpeg').toString('base64'));
  log.start('Front door', '../E3', T0 + 12 * MIN, 0.02, JPEG.toString('base64'));
  log.start('Front door', 'E4', T0 + DAY + MIN, 0.03, JPEG.toString('base64'));
  assert.deepEqual(readdirSync(join(root, 'Front_door', 'events', '2026-06-01')), ['E1.jpg'], 'only the JPEG of a well-formed id');
  assert.deepEqual(
    eventsJson(root, 'Front door', T0, T0 + DAY).map((e) => [e.event, e.snapshot]),
    [
      ['E1', true],
      ['E2', undefined],
      ['../E3', undefined],
    ],
  );
  assert.deepEqual(readSnapshot(root, 'Front door', 'E1'), JPEG);
  assert.deepEqual(readSnapshot(root, 'Front_door', 'E4'), JPEG, 'by name or folder, whichever its day');
  assert.equal(readSnapshot(root, 'Front door', 'E2'), undefined);
  assert.equal(readSnapshot(root, 'Front door', '../../etc/passwd'), undefined);
  // A restarted recorder prunes what it loaded: the first day's log and stills go together.
  new EventLog(root, { cameras: ['Front_door'] }).prune(T0 + DAY + 5 * MIN);
  assert.equal(existsSync(join(root, 'Front_door', 'events', '2026-06-01')), false);
  assert.equal(readSnapshot(root, 'Front door', 'E1'), undefined);
  assert.deepEqual(readSnapshot(root, 'Front door', 'E4'), JPEG);
});

test("every camera's events at once: oldest first, each with its camera, `limit` keeps the newest", () => {
  const root = join(base, 'all');
  const log = new EventLog(root);
  log.start('yard', 'Y1', T0 + 1 * MIN, 0.1);
  log.start('porch', 'P1', T0 + 2 * MIN, 0.1);
  log.end('porch', 'P1', T0 + 3 * MIN, 0.2);
  log.start('yard', 'Y2', T0 + 4 * MIN, 0.1);
  log.start('Kitchen (east)', 'K1', T0 + DAY, 0.1);
  const all = eventsJson(root, undefined, T0, T0 + 2 * DAY);
  assert.deepEqual(
    all.map((e) => [e.camera, e.event]),
    [
      ['yard', 'Y1'],
      ['porch', 'P1'],
      ['yard', 'Y2'],
      ['Kitchen_east_', 'K1'],
    ],
  );
  assert.equal(all[1]?.duration, 60);
  assert.deepEqual(
    eventsJson(root, undefined, T0, T0 + 2 * DAY, 2).map((e) => e.event),
    ['Y2', 'K1'],
  );
  assert.deepEqual(
    eventsJson(root, undefined, T0, T0 + DAY - 1).map((e) => e.event),
    ['Y1', 'P1', 'Y2'],
    'only the asked range',
  );
  // Read from the newest day back: a limit that reaches into an older day takes that day's newest.
  log.start('porch', 'P0', T0 - 2 * DAY, 0.1);
  assert.deepEqual(
    eventsJson(root, undefined, 0, T0 + 2 * DAY, 3).map((e) => e.event),
    ['P1', 'Y2', 'K1'],
  );
  assert.deepEqual(
    eventsJson(root, undefined, 0, T0 + 2 * DAY, 6).map((e) => e.event),
    ['P0', 'Y1', 'P1', 'Y2', 'K1'],
  );
  assert.deepEqual(
    eventsJson(root, undefined, 0, T0 + 2 * MIN, 2).map((e) => e.event),
    ['P0', 'Y1'],
    "the newest before the end asked (the list's older page)",
  );
});
