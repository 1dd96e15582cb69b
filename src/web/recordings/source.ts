import type { RecordingsOverview } from '../../protocol/recordings-wire.js';

/** One recorded span of a camera (ms since the epoch). */
export interface Span {
  readonly start: number;
  readonly end: number;
}

export type Overview = RecordingsOverview;

/**
 * Where the Recordings view gets recordings: the hub's HTTP API when the hub served the page with the room's token,
 * or the recorder's data channel through the room's broker otherwise (the page away from home).
 */
export interface RecordingsSource {
  readonly via: 'http' | 'data-channel';
  overview(): Promise<Overview | 'not-recording' | 'unauthorized'>;
  spans(camera: string, from: number, to: number): Promise<Span[]>;
  /** Plays `camera` in the page's video from wall time `from` for `seconds`; resolves with the wall time of its 0. */
  play(camera: string, from: number, seconds: number): Promise<number | undefined>;
  /** Makes `link` download that range of `camera` as one MP4. */
  offerDownload(link: HTMLAnchorElement, camera: string, from: number, seconds: number): void;
}
