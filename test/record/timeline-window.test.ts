import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DAY_MS, TimelineWindow, timeOfDayLabel, ZOOMS } from '../../src/web/recordings/timeline-window.js';

const labels = (w: TimelineWindow) => w.ticks().map((t) => `${t.label}@${t.share.toFixed(3)}`);

const DAY = Date.UTC(2026, 11, 6);
const H = 3_600_000;

describe('the Recordings timeline window (what part of the day is in view)', () => {
  it('starts on the whole day, labelled every 6 hours from 0:00 to 24:00', () => {
    const w = new TimelineWindow(DAY);
    assert.equal(w.ms, DAY_MS);
    assert.deepEqual(labels(w), ['0:00@0.000', '6:00@0.250', '12:00@0.500', '18:00@0.750', '24:00@1.000']);
    assert.equal(w.at(0.5), DAY + 12 * H);
    assert.equal(w.share(DAY + 6 * H), 0.25);
  });

  it('zooms around a moment, labelled at round times, and keeps the window inside the day at its edges', () => {
    const w = new TimelineWindow(DAY);
    w.zoom(H, DAY + 14 * H);
    assert.equal(w.start, DAY + 13.5 * H);
    assert.deepEqual(labels(w), ['13:30@0.000', '13:40@0.167', '13:50@0.333', '14:00@0.500', '14:10@0.667', '14:20@0.833', '14:30@1.000']);
    w.zoom(600_000, DAY + 60_000);
    assert.equal(w.start, DAY, 'not before midnight');
    assert.deepEqual(labels(w), ['0:00@0.000', '0:02@0.200', '0:04@0.400', '0:06@0.600', '0:08@0.800', '0:10@1.000']);
    w.zoom(600_000, DAY + 8 * H + 61_000);
    assert.deepEqual(labels(w), ['7:58@0.198', '8:00@0.398', '8:02@0.598', '8:04@0.798', '8:06@0.998'], 'round times where they fall (the window from 7:56:01)');
    w.zoom(6 * H, DAY + 23.9 * H);
    assert.equal(w.start + w.ms, DAY + DAY_MS, 'not past the day');
    assert.deepEqual(ZOOMS.map((z) => z.label), ['24 h', '6 h', '1 h', '10 min']);
  });

  it('pans within the day', () => {
    const w = new TimelineWindow(DAY);
    w.zoom(H, DAY + 12 * H);
    w.pan(2 * H);
    assert.equal(w.start, DAY + 13.5 * H);
    w.pan(-100 * H);
    assert.equal(w.start, DAY);
    w.pan(100 * H);
    assert.equal(w.start, DAY + 23 * H);
  });

  it('follows a playhead that leaves the view, and stays put while it is in view', () => {
    const w = new TimelineWindow(DAY);
    w.zoom(600_000, DAY + 8 * H);
    const start = w.start;
    assert.equal(w.follow(DAY + 8 * H + 60_000), false);
    assert.equal(w.start, start);
    assert.equal(w.follow(DAY + 8 * H + 400_000), true, 'played past the right edge');
    assert.equal(w.share(DAY + 8 * H + 400_000), 0.1, 'now near the left edge, what follows in view');
    const day = new TimelineWindow(DAY);
    assert.equal(day.follow(DAY + 20 * H), false, 'the whole day never moves');
  });

  it('keeps its zoom and time of day on another day', () => {
    const w = new TimelineWindow(DAY);
    w.zoom(H, DAY + 9.5 * H);
    w.setDay(DAY - DAY_MS);
    assert.equal(w.ms, H);
    assert.equal(w.start, DAY - DAY_MS + 9 * H);
    assert.equal(timeOfDayLabel(DAY + DAY_MS, DAY), '24:00');
  });
});
