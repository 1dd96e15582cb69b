import type { RecordingsEvent, RecordingsOverview } from '../../protocol/recordings-wire.js';

/** One recorded span of a camera (ms since the epoch). */
export interface Span {
  readonly start: number;
  readonly end: number;
}

export type Overview = RecordingsOverview;

/** A motion event the recorder heard (ms since the epoch; `end` undefined while under way). */
export interface EventSpan {
  readonly start: number;
  readonly end: number | undefined;
  readonly score: number;
}

/**
 * Where the Recordings view gets recordings: the hub's HTTP API when the hub served the page with the room's token,
 * or the recorder's data channel through the room's broker otherwise (the page away from home).
 */
export interface RecordingsSource {
  readonly via: 'http' | 'data-channel';
  overview(): Promise<Overview | 'not-recording' | 'unauthorized'>;
  spans(camera: string, from: number, to: number): Promise<Span[]>;
  /** The motion events of `camera` the recorder heard over [from, to) (the timeline's marks). */
  events(camera: string, from: number, to: number): Promise<EventSpan[]>;
  /** Plays `camera` in the page's video from wall time `from` for `seconds`; resolves with the wall time of its 0. */
  play(camera: string, from: number, seconds: number): Promise<number | undefined>;
  /** Makes `link` download that range of `camera` as one MP4. */
  offerDownload(link: HTMLAnchorElement, camera: string, from: number, seconds: number): void;
}

/** The events API's answer (ISO start, seconds) as event spans. */
export function eventSpans(list: readonly RecordingsEvent[]): EventSpan[] {
  return list.map((e) => {
    const start = Date.parse(e.start);
    return { start, end: e.duration === null ? undefined : start + e.duration * 1000, score: e.score };
  });
}
