import type { RecordingsEvent, RecordingsOverview, RecordingsSnapshot, RecordingsSpan } from '../../protocol/recordings-wire.js';
import type { RecordingsLink } from './link.js';
import type { RemoteRecorder } from './remote.js';
import { type EventSpan, eventSpans, type Overview, type PastEvent, pastEvents, type RecordingsIndex, type Span } from './source.js';

/** What the room's recorder keeps, asked over a data channel (the page away from home: no hub behind its origin). */
export class DataChannelIndex implements RecordingsIndex {
  readonly via = 'data-channel';
  /** Asks under way: `release` leaves the channel open until they are answered. */
  private asking = 0;

  constructor(protected readonly recorder: RemoteRecorder) {}

  overview(): Promise<Overview | 'not-recording' | 'unauthorized'> {
    return this.ask((link) => link.ask<RecordingsOverview>({ op: 'overview' }));
  }

  async spans(camera: string, from: number, to: number): Promise<Span[]> {
    const list = await this.ask((link) => link.ask<RecordingsSpan[]>({ op: 'list', camera, start: from, end: to }));
    return list.map((s) => ({ start: Date.parse(s.start), end: Date.parse(s.start) + s.duration * 1000 }));
  }

  async events(camera: string, from: number, to: number): Promise<EventSpan[]> {
    // A recorder from before event marks answers with an error: no marks then.
    return eventSpans(await this.ask((link) => link.ask<RecordingsEvent[]>({ op: 'events', camera, start: from, end: to })).catch(() => []));
  }

  async recentEvents(from: number, to: number, limit: number): Promise<PastEvent[]> {
    // A recorder from before the list of every camera's events answers with an error: nothing to list then.
    return pastEvents(await this.ask((link) => link.ask<RecordingsEvent[]>({ op: 'events', start: from, end: to, limit })).catch(() => []));
  }

  /** The still as a data: URL (it came over the channel; nothing to fetch). */
  async snapshotUrl(camera: string, event: string): Promise<string | undefined> {
    const still = await this.ask((link) => link.ask<RecordingsSnapshot>({ op: 'snapshot', camera, event })).catch(() => undefined);
    return still ? `data:${still.contentType};base64,${still.base64}` : undefined;
  }

  /** Closes the channel, unless asks are under way (their answers would be lost); the next ask opens it again. */
  release(): void {
    if (this.asking === 0) this.recorder.close();
  }

  private async ask<T>(request: (link: RecordingsLink) => Promise<T>): Promise<T> {
    this.asking++;
    try {
      return await request(await this.recorder.open());
    } finally {
      this.asking--;
    }
  }
}
