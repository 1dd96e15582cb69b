import assert from 'node:assert/strict';
import { test } from 'node:test';
import { when } from '../../src/web/recordings/format.js';

test('an event list says Today and Yesterday by the calendar (in the local time zone), else the date', () => {
  const now = new Date(2026, 2, 30, 0, 30).getTime();
  // 00:05, not 24:05 (what `hour12: false` gives in en-US).
  assert.match(when(new Date(2026, 2, 30, 0, 5, 9).getTime(), now), /^Today 00:05:09$/);
  assert.match(when(new Date(2026, 2, 29, 0, 10).getTime(), now), /^Yesterday 00:10:00$/, 'the day before, however many hours ago');
  assert.match(when(new Date(2026, 2, 28, 23, 59).getTime(), now), /^(?!Today|Yesterday).*2026.* 23:59:00$/);
});
