/**
 * The part of a day the Recordings timeline shows. The whole day is 24 h on a bar a phone draws in ~350 px (a pixel
 * is four minutes); zoomed to 10 minutes a pixel is under two seconds, so a moment can be picked as an NVR's
 * timeline allows. Pure: the view (timeline-view.ts) draws what this says.
 */

export const DAY_MS = 86_400_000;

/** The zoom levels offered, widest first, each with the step of its labels (round times of the day). */
export const ZOOMS: readonly { readonly label: string; readonly ms: number; readonly tickMs: number }[] = [
  { label: '24 h', ms: DAY_MS, tickMs: 6 * 3_600_000 },
  { label: '6 h', ms: 6 * 3_600_000, tickMs: 3_600_000 },
  { label: '1 h', ms: 3_600_000, tickMs: 600_000 },
  { label: '10 min', ms: 600_000, tickMs: 120_000 },
];

/** A label under the timeline: a round time of the day and where it sits (a share of the window's width). */
export interface Tick {
  readonly share: number;
  readonly label: string;
}

/** Where a playhead that left the window is put when the window follows it: this share from its left edge. */
const FOLLOW_AT = 0.1;

export class TimelineWindow {
  /** The window's first moment (ms since the epoch) and its length; always inside the day. */
  start: number;
  ms = DAY_MS;

  constructor(public dayStart: number) {
    this.start = dayStart;
  }

  /** Another day: the same zoom, at the same time of day. */
  setDay(dayStart: number): void {
    const offset = this.start - this.dayStart;
    this.dayStart = dayStart;
    this.start = this.clamp(dayStart + offset);
  }

  /** Shows `ms` of the day around `center`. */
  zoom(ms: number, center: number): void {
    this.ms = Math.min(DAY_MS, Math.max(1000, ms));
    this.start = this.clamp(center - this.ms / 2);
  }

  /** Moves the window by `ms` (later when positive), within the day. */
  pan(ms: number): void {
    this.start = this.clamp(this.start + ms);
  }

  /** Brings `t` into view when it is out of it (put near the left edge, so what follows is in view); true if moved. */
  follow(t: number): boolean {
    if (t >= this.start && t <= this.start + this.ms) return false;
    const before = this.start;
    this.start = this.clamp(t - this.ms * FOLLOW_AT);
    return this.start !== before;
  }

  /** `t` as a share of the window's width (0 its left edge, 1 its right edge; outside 0-1 when out of view). */
  share(t: number): number {
    return (t - this.start) / this.ms;
  }

  /** The moment at a share of the window's width. */
  at(share: number): number {
    return this.start + share * this.ms;
  }

  /** The round times of the day in view, a zoom level's step apart (6 h over the whole day, 2 min over 10 min). */
  ticks(): Tick[] {
    const step = ([...ZOOMS].reverse().find((z) => z.ms >= this.ms) ?? ZOOMS[0]!).tickMs;
    const first = this.dayStart + Math.ceil((this.start - this.dayStart) / step) * step;
    const out: Tick[] = [];
    for (let t = first; t <= this.start + this.ms; t += step) out.push({ share: this.share(t), label: timeOfDayLabel(t, this.dayStart) });
    return out;
  }

  private clamp(start: number): number {
    return Math.min(Math.max(start, this.dayStart), this.dayStart + DAY_MS - this.ms);
  }
}

/** `H:MM` of `t` counted from `dayStart`: the day's end is `24:00`, not the next day's `0:00`. */
export function timeOfDayLabel(t: number, dayStart: number): string {
  const minutes = Math.round((t - dayStart) / 60_000);
  return `${Math.floor(minutes / 60)}:${String(minutes % 60).padStart(2, '0')}`;
}
