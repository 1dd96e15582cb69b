import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type FrameResult, MotionDetector, rgbaToGray } from '../../src/events/detector.js';
import { DEFAULT_MOTION_SETTINGS, activeMap, thresholdsOf } from '../../src/events/settings.js';

const W = 176;
const H = 100;
const FPS = 5;

/** A deterministic generator, so a failure replays exactly. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** A textured static scene (the same every frame) as a camera would see a room. */
function scene(seed = 1): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(W * H);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) out[y * W + x] = 60 + 60 * Math.sin(x / 9) * Math.cos(y / 7) + 40 * r();
  return out;
}

interface FrameSpec {
  /** A dark 20x20 box at this top-left pixel. */
  box?: { x: number; y: number };
  /** Picture = gain * scene + offset (a light switched, auto-exposure). */
  gain?: number;
  offset?: number;
}

/** Scene + sensor noise (+-10 grey levels) + the spec's changes, as 8-bit luma. */
function frame(base: Float32Array, noise: () => number, spec: FrameSpec = {}): Uint8Array {
  const out = new Uint8Array(W * H);
  for (let i = 0; i < out.length; i++) {
    let v = (spec.gain ?? 1) * base[i]! + (spec.offset ?? 0) + (noise() - 0.5) * 20;
    const x = i % W;
    const y = Math.floor(i / W);
    if (spec.box && x >= spec.box.x && x < spec.box.x + 20 && y >= spec.box.y && y < spec.box.y + 20) v = 250;
    out[i] = Math.max(0, Math.min(255, Math.round(v)));
  }
  return out;
}

/** Runs frames at 5 fps from t = 0; returns every result. */
function run(detector: MotionDetector, frames: Iterable<Uint8Array>): FrameResult[] {
  const results: FrameResult[] = [];
  let t = 0;
  for (const f of frames) {
    results.push(detector.push(f, t));
    t += 1000 / FPS;
  }
  return results;
}

function* clip(seconds: number, spec: (t: number) => FrameSpec, seed = 7): Generator<Uint8Array> {
  const base = scene();
  const noise = rng(seed);
  for (let i = 0; i < seconds * FPS; i++) yield frame(base, noise, spec(i / FPS));
}

const transitions = (rs: FrameResult[]) => rs.flatMap((r, i) => (r.transition ? [{ ...r.transition, frame: i }] : []));
const timing = { quietMs: 3000 };

describe('motion detector', () => {
  it('finds nothing in a static scene with sensor noise (30 s)', () => {
    const rs = run(new MotionDetector({ width: W, height: H, timing }), clip(30, () => ({})));
    assert.deepEqual(transitions(rs), []);
    assert.equal(rs.filter((r) => r.motion).length, 0);
  });

  it('one event for an object crossing the picture: starts within 500 ms, ends after the quiet time, boxed where it moved', () => {
    // Static 5 s, a box moving left to right over 4 s along y = 40, then static 10 s.
    const rs = run(
      new MotionDetector({ width: W, height: H, timing }),
      clip(19, (t) => (t >= 5 && t < 9 ? { box: { x: Math.round(10 + ((t - 5) / 4) * 140), y: 40 } } : {})),
    );
    const ts = transitions(rs);
    assert.equal(ts.length, 2, JSON.stringify(ts));
    const [start, end] = ts;
    assert.equal(start?.phase, 'start');
    assert.ok(start!.startedAt >= 5000 && start!.at <= 5500, `start seen at ${start!.at} ms for motion from 5000 ms`);
    assert.equal(end?.phase, 'end');
    assert.ok(end!.phase === 'end' && end!.lastMotionAt >= 8600 && end!.lastMotionAt <= 9400, `last motion ${JSON.stringify(end)}`);
    assert.ok(end!.at - (end!.phase === 'end' ? end!.lastMotionAt : 0) >= 3000);
    // The union box spans the path: x from ~10/176 to ~170/176, y around 40..60 of 100.
    assert.ok(end!.box.x < 0.15 && end!.box.x + end!.box.w > 0.85, `box ${JSON.stringify(end!.box)}`);
    assert.ok(end!.box.y > 0.3 && end!.box.y + end!.box.h < 0.7, `box ${JSON.stringify(end!.box)}`);
    assert.ok(start!.score > 0.01 && start!.score < 0.1, `score ${start!.score}`);
  });

  it('no event for sudden whole-frame brightness changes (additive, multiplicative, back again)', () => {
    const rs = run(
      new MotionDetector({ width: W, height: H, timing }),
      clip(30, (t) => (t < 5 ? {} : t < 10 ? { offset: 60 } : t < 15 ? { gain: 1.5 } : t < 20 ? { gain: 0.6, offset: -10 } : {})),
    );
    assert.deepEqual(transitions(rs), []);
  });

  it('an object that moves while the lights change is still found', () => {
    const rs = run(
      new MotionDetector({ width: W, height: H, timing }),
      clip(15, (t) => (t < 5 ? {} : t < 8 ? { gain: 1.3, box: { x: Math.round(10 + (t - 5) * 40), y: 20 } } : { gain: 1.3 })),
    );
    assert.equal(transitions(rs).filter((t) => t.phase === 'start').length, 1);
  });

  it('a mask over the path suppresses the object; a zone elsewhere does too; a zone on the path does not', () => {
    const moving = (t: number): FrameSpec => (t >= 3 && t < 7 ? { box: { x: Math.round(10 + (t - 3) * 35), y: 40 } } : {});
    const band: [number, number][] = [[0, 0.3], [1, 0.3], [1, 0.7], [0, 0.7]];
    const top: [number, number][] = [[0, 0], [1, 0], [1, 0.25], [0, 0.25]];
    const masked = run(new MotionDetector({ width: W, height: H, timing, settings: { ...DEFAULT_MOTION_SETTINGS, masks: [band] } }), clip(12, moving));
    assert.deepEqual(transitions(masked), []);
    const zoneElsewhere = run(new MotionDetector({ width: W, height: H, timing, settings: { ...DEFAULT_MOTION_SETTINGS, zones: [top] } }), clip(12, moving));
    assert.deepEqual(transitions(zoneElsewhere), []);
    const zoneOnPath = run(new MotionDetector({ width: W, height: H, timing, settings: { ...DEFAULT_MOTION_SETTINGS, zones: [band] } }), clip(12, moving));
    assert.equal(transitions(zoneOnPath).length, 2);
  });

  it('disabled finds nothing and ends an event under way; sensitivity 0 ignores a small object that 50 finds', () => {
    const d = new MotionDetector({ width: W, height: H, timing });
    const rs = run(d, clip(8, (t) => (t >= 3 ? { box: { x: Math.round(10 + (t - 3) * 30), y: 40 } } : {})));
    assert.equal(transitions(rs).length, 1);
    assert.ok(d.inEvent);
    d.setSettings({ ...DEFAULT_MOTION_SETTINGS, enabled: false });
    const after = d.push(frame(scene(), rng(3), { box: { x: 100, y: 40 } }), 9000);
    assert.equal(after.transition?.phase, 'end');
    assert.equal(d.inEvent, false);
    const dull = run(
      new MotionDetector({ width: W, height: H, timing, settings: { ...DEFAULT_MOTION_SETTINGS, sensitivity: 0 } }),
      clip(8, (t) => (t >= 3 ? { box: { x: Math.round(10 + (t - 3) * 30), y: 40 } } : {})),
    );
    assert.deepEqual(transitions(dull), []);
    assert.ok(thresholdsOf(100).pixel < thresholdsOf(0).pixel);
  });

  it('a one-frame flash of an object is too short to be an event', () => {
    const rs = run(new MotionDetector({ width: W, height: H, timing }), clip(8, (t) => (Math.abs(t - 4) < 0.01 ? { box: { x: 80, y: 40 } } : {})));
    assert.ok(rs.some((r) => r.motion), 'the flash frame is motion');
    assert.deepEqual(transitions(rs), []);
  });

  it('activeMap: zones minus masks, pixel centres; rgbaToGray weights', () => {
    const m = activeMap(4, 4, { zones: [[[0, 0], [0.5, 0], [0.5, 1], [0, 1]]], masks: [[[0, 0], [1, 0], [1, 0.5], [0, 0.5]]] });
    assert.deepEqual([...m], [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0]);
    assert.deepEqual([...rgbaToGray(new Uint8Array([255, 255, 255, 255, 255, 0, 0, 255]), new Uint8Array(2))], [255, 76]);
    assert.throws(() => new MotionDetector({ width: 4, height: 4 }), /too small/);
  });
});
