import { activeMap, DEFAULT_MOTION_SETTINGS, type MotionSettings, thresholdsOf } from './settings.js';

/** A normalised rectangle: (x, y) its top left corner, all in 0..1 of the picture. */
export interface Box {
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly h: number;
}

export interface DetectorTiming {
  /** Motion must last this long before an event starts (single-frame noise never does). Default 200 ms (two frames at 5 fps). */
  readonly minDurationMs: number;
  /** An event ends after this long without motion. Default 10 s. */
  readonly quietMs: number;
}

export interface DetectorOptions {
  readonly width: number;
  readonly height: number;
  readonly settings?: MotionSettings;
  readonly timing?: Partial<DetectorTiming>;
}

/** What one frame showed, and the event transition it caused, if any. */
export interface FrameResult {
  /** This frame differs from the background enough to count as motion. */
  readonly motion: boolean;
  /** Share of the watched area that changed (0..1). */
  readonly score: number;
  /** Where it changed; undefined when nothing did. */
  readonly box: Box | undefined;
  /** The frame was a whole-picture change (lights, IR switch, exposure): the background was reset instead. */
  readonly suppressed: boolean;
  readonly transition?: MotionTransition;
}

/** An event began (after the minimum duration) or ended (after the quiet time). Times are the frames' own. */
export type MotionTransition =
  | { readonly phase: 'start'; readonly startedAt: number; readonly at: number; readonly score: number; readonly box: Box }
  | { readonly phase: 'end'; readonly startedAt: number; readonly at: number; readonly lastMotionAt: number; readonly score: number; readonly box: Box };

/** Background learning rate per frame (at 5 fps: a time constant of 10 s) and while calibrating (~1 s). */
const ALPHA = 0.02;
const ALPHA_CALIBRATING = 0.3;
const CALIBRATION_FRAMES = 5;
/** More than this share of the watched area changed at once: a light or exposure change, not something moving. */
const WHOLE_FRAME = 0.5;
/** A brightness step this large (gain off 1, or shift of mid grey in levels) resets the background too. */
const LIGHT_GAIN = 0.15;
const LIGHT_OFFSET = 20;

/**
 * Motion detection on small grey frames (docs/EVENTS.md), the same code in Node and the browser. Per frame: a 3x3
 * binomial blur; a linear fit of the frame against the running-average background (the brightness shift of lights
 * and auto-exposure, taken out before comparing); pixels whose difference exceeds the sensitivity's threshold and
 * that have changed neighbours (isolated sensor noise does not count); their share of the watched area (zones minus
 * masks) against the sensitivity's minimum. A change over half the area resets the background. An event starts
 * once motion lasted `minDurationMs` and ends `quietMs` after the last motion.
 */
export class MotionDetector {
  readonly width: number;
  readonly height: number;
  private settings: MotionSettings;
  private readonly timing: DetectorTiming;
  private active: Uint8Array;
  private activeCount = 0;
  private readonly blurred: Float32Array;
  private readonly tmp: Float32Array;
  private readonly changed: Uint8Array;
  private background: Float32Array | undefined;
  private calibrating = CALIBRATION_FRAMES;
  /** The current run of motion frames not yet an event, or the event under way. */
  private run: { startedAt: number; lastMotionAt: number; score: number; box: Box; started: boolean } | undefined;

  constructor(options: DetectorOptions) {
    if (!(Number.isInteger(options.width) && Number.isInteger(options.height) && options.width >= 8 && options.height >= 8)) {
      throw new RangeError(`motion detector: frames of ${options.width}x${options.height} are too small (8x8 at least)`);
    }
    this.width = options.width;
    this.height = options.height;
    this.timing = { minDurationMs: 200, quietMs: 10_000, ...options.timing };
    this.settings = options.settings ?? DEFAULT_MOTION_SETTINGS;
    this.active = new Uint8Array(0);
    const n = this.width * this.height;
    this.blurred = new Float32Array(n);
    this.tmp = new Float32Array(n);
    this.changed = new Uint8Array(n);
    this.setSettings(this.settings);
  }

  get current(): MotionSettings {
    return this.settings;
  }

  /** True while an event is under way. */
  get inEvent(): boolean {
    return this.run?.started ?? false;
  }

  setSettings(settings: MotionSettings): void {
    this.settings = settings;
    this.active = activeMap(this.width, this.height, settings);
    this.activeCount = this.active.reduce((a, b) => a + b, 0);
  }

  /**
   * Feeds one frame: `gray` holds width*height luma bytes row by row (a YUV 4:2:0 frame's Y plane works as is),
   * `at` its time in ms. Disabled settings, or a fully masked picture, end any event and find nothing.
   */
  push(gray: Uint8Array, at: number): FrameResult {
    const n = this.width * this.height;
    if (gray.length < n) throw new RangeError(`motion detector: a frame of ${gray.length} bytes, ${n} expected`);
    this.blur(gray);
    if (!this.background || !this.settings.enabled || this.activeCount === 0) {
      this.background ??= Float32Array.from(this.blurred);
      return this.frame(false, 0, undefined, false, at);
    }
    const bg = this.background;
    const { gain, offset } = this.fit(bg);
    const { pixel, minArea } = thresholdsOf(this.settings.sensitivity);
    let raw = 0;
    for (let i = 0; i < n; i++) {
      const hit = this.active[i] === 1 && Math.abs(this.blurred[i]! - (gain * bg[i]! + offset)) > pixel;
      this.changed[i] = hit ? 1 : 0;
      if (hit) raw++;
    }
    // A large brightness step (lights, IR, exposure) clips and bends the picture beyond what the fit explains; a
    // change over most of the area is one too: learn the picture again rather than fire.
    if (raw > WHOLE_FRAME * this.activeCount || Math.abs(gain - 1) > LIGHT_GAIN || Math.abs(offset + (gain - 1) * 128) > LIGHT_OFFSET) {
      this.background.set(this.blurred);
      this.calibrating = CALIBRATION_FRAMES;
      return this.frame(false, 0, undefined, true, at);
    }
    const { count, box } = this.despeckle();
    const score = count / this.activeCount;
    // A uniform brightness change moves the background with it at once; otherwise it learns slowly.
    if (Math.abs(gain - 1) > 0.02 || Math.abs(offset) > 2) for (let i = 0; i < n; i++) bg[i] = Math.min(255, Math.max(0, gain * bg[i]! + offset));
    const alpha = this.calibrating > 0 ? ALPHA_CALIBRATING : ALPHA;
    for (let i = 0; i < n; i++) bg[i]! += alpha * (this.blurred[i]! - bg[i]!);
    if (this.calibrating > 0) {
      this.calibrating--;
      return this.frame(false, score, box, false, at);
    }
    return this.frame(score >= minArea && count > 0, score, box, false, at);
  }

  /** Advances the event state with this frame's finding. */
  private frame(motion: boolean, score: number, box: Box | undefined, suppressed: boolean, at: number): FrameResult {
    let transition: MotionTransition | undefined;
    const run = this.run;
    if (motion && box) {
      if (!run) this.run = { startedAt: at, lastMotionAt: at, score, box, started: false };
      else {
        run.lastMotionAt = at;
        run.score = Math.max(run.score, score);
        run.box = run.started ? union(run.box, box) : box;
      }
      const r = this.run!;
      if (!r.started && at - r.startedAt >= this.timing.minDurationMs) {
        r.started = true;
        transition = { phase: 'start', startedAt: r.startedAt, at, score: r.score, box: r.box };
      }
    } else if (run) {
      if (!run.started) this.run = undefined; // too short: noise
      else if (at - run.lastMotionAt >= this.timing.quietMs || !this.settings.enabled || this.activeCount === 0) {
        this.run = undefined;
        transition = { phase: 'end', startedAt: run.startedAt, at, lastMotionAt: run.lastMotionAt, score: run.score, box: run.box };
      }
    }
    return { motion, score, box, suppressed, ...(transition ? { transition } : {}) };
  }

  /** Separable [1 2 1] / 4 blur, edges clamped. */
  private blur(gray: Uint8Array): void {
    const { width: w, height: h, tmp, blurred } = this;
    for (let y = 0; y < h; y++) {
      const row = y * w;
      for (let x = 0; x < w; x++) {
        const l = gray[row + (x > 0 ? x - 1 : 0)]!;
        const r = gray[row + (x < w - 1 ? x + 1 : x)]!;
        tmp[row + x] = (l + 2 * gray[row + x]! + r) / 4;
      }
    }
    for (let y = 0; y < h; y++) {
      const up = (y > 0 ? y - 1 : 0) * w;
      const down = (y < h - 1 ? y + 1 : y) * w;
      const row = y * w;
      for (let x = 0; x < w; x++) blurred[row + x] = (tmp[up + x]! + 2 * tmp[row + x]! + tmp[down + x]!) / 4;
    }
  }

  /** Least-squares frame ~ gain * background + offset over the watched pixels (gain held to 0.5..2). */
  private fit(bg: Float32Array): { gain: number; offset: number } {
    let sx = 0;
    let sy = 0;
    let sxx = 0;
    let sxy = 0;
    let k = 0;
    for (let i = 0; i < bg.length; i++) {
      if (this.active[i] !== 1) continue;
      const x = bg[i]!;
      const y = this.blurred[i]!;
      sx += x;
      sy += y;
      sxx += x * x;
      sxy += x * y;
      k++;
    }
    const varX = sxx / k - (sx / k) ** 2;
    const gain = varX > 1 ? Math.min(2, Math.max(0.5, (sxy / k - (sx / k) * (sy / k)) / varX)) : 1;
    return { gain, offset: sy / k - gain * (sx / k) };
  }

  /** Keeps changed pixels with at least two changed 4-neighbours; returns their count and bounding box. */
  private despeckle(): { count: number; box: Box | undefined } {
    const { width: w, height: h, changed: c } = this;
    let count = 0;
    let x0 = w;
    let y0 = h;
    let x1 = -1;
    let y1 = -1;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const i = y * w + x;
        if (c[i] !== 1) continue;
        const near = (x > 0 ? c[i - 1]! : 0) + (x < w - 1 ? c[i + 1]! : 0) + (y > 0 ? c[i - w]! : 0) + (y < h - 1 ? c[i + w]! : 0);
        if (near < 2) continue;
        count++;
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
      }
    }
    return count === 0 ? { count, box: undefined } : { count, box: { x: x0 / w, y: y0 / h, w: (x1 - x0 + 1) / w, h: (y1 - y0 + 1) / h } };
  }
}

function union(a: Box, b: Box): Box {
  const x = Math.min(a.x, b.x);
  const y = Math.min(a.y, b.y);
  return { x, y, w: Math.max(a.x + a.w, b.x + b.w) - x, h: Math.max(a.y + a.h, b.y + b.h) - y };
}

/** RGBA pixels (a canvas's ImageData) to luma (BT.601), into `out`. */
export function rgbaToGray(rgba: Uint8Array | Uint8ClampedArray, out: Uint8Array): Uint8Array {
  for (let i = 0, j = 0; i < out.length; i++, j += 4) out[i] = (77 * rgba[j]! + 150 * rgba[j + 1]! + 29 * rgba[j + 2]!) >> 8;
  return out;
}
