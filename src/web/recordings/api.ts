import type { RecordingsEvent } from '../../protocol/recordings-wire.js';
import { type EventSpan, eventSpans, type Overview, type PastEvent, pastEvents, type RecordingsSource, type Span } from './source.js';

export type { Overview, Span } from './source.js';

/** The hub's recordings API with the room's HTTP token (derived from the room key in the page's link). */
export class RecordingsApi implements RecordingsSource {
  readonly via = 'http';

  constructor(
    private readonly token: string,
    private readonly video?: HTMLVideoElement,
    /** An overview just asked (how the page found this API): the next `overview()` gives it instead of asking. */
    private known?: Overview,
  ) {}

  async overview(): Promise<Overview | 'not-recording' | 'unauthorized'> {
    const known = this.known;
    this.known = undefined;
    if (known) return known;
    const r = await fetch('/api/recordings', { headers: this.headers() });
    if (r.status === 401) return 'unauthorized';
    if (r.status === 404 || !(r.headers.get('content-type') ?? '').includes('json')) return 'not-recording';
    return (await r.json()) as Overview;
  }

  async spans(camera: string, from: number, to: number): Promise<Span[]> {
    const q = new URLSearchParams({ camera, start: new Date(from).toISOString(), end: new Date(to).toISOString() });
    const r = await fetch(`/api/recordings/list?${q}`, { headers: this.headers() });
    if (!r.ok) return [];
    const list = (await r.json()) as { start: string; duration: number }[];
    return list.map((s) => ({ start: Date.parse(s.start), end: Date.parse(s.start) + s.duration * 1000 }));
  }

  async events(camera: string, from: number, to: number): Promise<EventSpan[]> {
    const q = new URLSearchParams({ camera, start: new Date(from).toISOString(), end: new Date(to).toISOString() });
    const r = await fetch(`/api/recordings/events?${q}`, { headers: this.headers() });
    if (!r.ok) return [];
    return eventSpans((await r.json()) as RecordingsEvent[]);
  }

  async recentEvents(from: number, to: number, limit: number): Promise<PastEvent[]> {
    const q = new URLSearchParams({ start: new Date(from).toISOString(), end: new Date(to).toISOString(), limit: String(limit) });
    const r = await fetch(`/api/recordings/events?${q}`, { headers: this.headers() });
    if (!r.ok) return [];
    return pastEvents((await r.json()) as RecordingsEvent[]);
  }

  /** The still's URL (the token in access_token: an `<img>` sends no header); the browser keeps it. */
  async snapshotUrl(camera: string, event: string): Promise<string> {
    return `/api/recordings/snapshot?${new URLSearchParams({ camera, event, access_token: this.token })}`;
  }

  release(): void {
    // Nothing held: each ask is a request.
  }

  /** A clip URL a `<video>` or a download link can use (the token rides in access_token: they cannot send headers). */
  clipUrl(camera: string, start: number, seconds: number, download = false): string {
    const q = new URLSearchParams({ camera, start: new Date(start).toISOString(), duration: String(Math.max(1, Math.round(seconds))), access_token: this.token });
    if (download) q.set('download', '1');
    return `/api/recordings/get?${q}`;
  }

  /** Where the clip for `start` really begins (the keyframe at or before it) and how long it is. */
  async clipInfo(camera: string, start: number, seconds: number): Promise<{ start: number; seconds: number } | undefined> {
    const r = await fetch(this.clipUrl(camera, start, seconds), { method: 'HEAD' });
    if (!r.ok) return undefined;
    return { start: Date.parse(r.headers.get('x-clip-start') ?? ''), seconds: Number(r.headers.get('x-clip-duration')) };
  }

  async play(camera: string, from: number, seconds: number): Promise<number | undefined> {
    const video = this.video;
    if (!video) return undefined;
    const info = await this.clipInfo(camera, from, seconds);
    if (!info) return undefined;
    video.src = this.clipUrl(camera, from, seconds);
    const rate = video.playbackRate;
    await video.play().catch(() => {});
    video.playbackRate = rate;
    // The clip starts at the keyframe before `from`: start showing at `from` itself.
    const skip = (from - info.start) / 1000;
    if (skip > 0.05) video.currentTime = skip;
    return info.start;
  }

  offerDownload(link: HTMLAnchorElement, camera: string, from: number, seconds: number): void {
    link.onclick = null;
    link.href = this.clipUrl(camera, from, seconds, true);
  }

  private headers(): Record<string, string> {
    return { authorization: `Bearer ${this.token}` };
  }
}
