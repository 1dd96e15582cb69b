import type { RecordingsEvent, RecordingsOverview } from '../../protocol/recordings-wire.js';

/** One recorded span of a camera (ms since the epoch). */
export interface Span {
  readonly start: number;
  readonly end: number;
}

export type Overview = RecordingsOverview;

/** A motion event the recorder heard (ms since the epoch; `end` undefined while under way). */
export interface EventSpan {
  readonly event: string;
  readonly start: number;
  readonly end: number | undefined;
  readonly score: number;
  /** The recorder keeps the camera's still of it (`snapshotUrl`). */
  readonly hasSnapshot: boolean;
}

/** A motion event of some camera (its recordings name), as the events list under the grid shows one. */
export interface PastEvent extends EventSpan {
  readonly camera: string;
}

/**
 * What the recorder keeps, without playing it: the hub's HTTP API when the hub served the page with the room's token,
 * or the recorder's data channel through the room's broker otherwise (the page away from home).
 */
export interface RecordingsIndex {
  readonly via: 'http' | 'data-channel';
  overview(): Promise<Overview | 'not-recording' | 'unauthorized'>;
  spans(camera: string, from: number, to: number): Promise<Span[]>;
  /** The motion events of `camera` the recorder heard over [from, to) (the timeline's marks). */
  events(camera: string, from: number, to: number): Promise<EventSpan[]>;
  /** The newest `limit` motion events of every camera over [from, to), newest first. */
  recentEvents(from: number, to: number, limit: number): Promise<PastEvent[]>;
  /** A URL an `<img>` shows the still of `event` from (the recorder's, room members only), or undefined. */
  snapshotUrl(camera: string, event: string): Promise<string | undefined>;
  /** Lets go of what is held open between asks (a data channel: one of the recorder's few); the next ask opens it. */
  release(): void;
}

/** Where the Recordings view gets recordings and plays them (see RecordingsIndex). */
export interface RecordingsSource extends RecordingsIndex {
  /** Plays `camera` in the page's video from wall time `from` for `seconds`; resolves with the wall time of its 0. */
  play(camera: string, from: number, seconds: number): Promise<number | undefined>;
  /** Makes `link` download that range of `camera` as one MP4. */
  offerDownload(link: HTMLAnchorElement, camera: string, from: number, seconds: number): void;
}

/** The events API's answer for every camera, newest first. */
export function pastEvents(list: readonly RecordingsEvent[]): PastEvent[] {
  return list.map((e) => ({ ...eventSpan(e), camera: e.camera })).reverse();
}

/** The events API's answer (ISO start, seconds) as event spans. */
export function eventSpans(list: readonly RecordingsEvent[]): EventSpan[] {
  return list.map(eventSpan);
}

function eventSpan(e: RecordingsEvent): EventSpan {
  const start = Date.parse(e.start);
  return { event: e.event, start, end: e.duration === null ? undefined : start + e.duration * 1000, score: e.score, hasSnapshot: e.snapshot === true };
}
