import { PeercamError } from '../../protocol/errors.js';
import type { RecordingsLink } from './link.js';

/** Credit of a new stream: a keyframe and a few seconds, before the clip's bitrate is known. */
const FIRST_CREDIT = 256 * 1024;
/** Smallest credit granted at once. */
const MIN_GRANT = 256 * 1024;
/** Seconds of media buffered ahead of the playhead (times the playback rate) before the stream is held back. */
export const DEFAULT_AHEAD_S = 20;
/** Media kept behind the playhead; older is removed (MSE buffers have a quota, ~150 MB in Chromium). */
const BEHIND_S = 30;
/** Under a managed source that says "not now" (`streaming` false), still keep this much ahead of the playhead. */
const MANAGED_MIN_AHEAD_S = 5;
/** How many times one play recovers from the element's failure (its demuxer or decoder refused media). */
const MAX_RECOVERIES = 3;

/**
 * WebKit's Managed Media Source (Safari 17.1+, the only MSE an iPhone has): a MediaSource whose browser says when to
 * fetch (`streaming`, `startstreaming`) and may drop buffered media under memory pressure.
 */
interface ManagedSource extends MediaSource {
  readonly streaming?: boolean;
}
type SourceClass = new () => ManagedSource;

/** The page's MSE: MediaSource where it exists (Chromium, Firefox, Safari on a Mac), else ManagedMediaSource (iPhone). */
export function mediaSourceClass(): { Source: SourceClass; managed: boolean } | undefined {
  const w = window as unknown as { MediaSource?: SourceClass; ManagedMediaSource?: SourceClass };
  if (w.MediaSource) return { Source: w.MediaSource, managed: false };
  return w.ManagedMediaSource ? { Source: w.ManagedMediaSource, managed: true } : undefined;
}

/** Why a clip cannot be streamed into this browser's player; said on the page instead of a bare script error. */
export const NO_MSE_MESSAGE =
  'This browser cannot play recordings streamed over the room: it has no Media Source Extensions (on an iPhone they ' +
  'come with iOS 17.1). Downloads still work here; at home, the hub’s own Recordings page plays them in every browser.';

/**
 * Plays clips streamed over a recordings data channel in a `<video>` through Media Source Extensions. The bytes are an
 * fMP4 whose fragments each start at a keyframe; the stream is paced by credit (what the buffer can take), and a seek
 * outside what is buffered cancels it and asks for the fragment at the new time, placed on the same timeline.
 */
export class MsePlayer {
  private source: ManagedSource | undefined;
  private buffer: SourceBuffer | undefined;
  private queue: Uint8Array<ArrayBuffer>[] = [];
  /** The current stream: its id, what arrived, what we allowed. */
  private stream: { id: number; received: number; credit: number; done: boolean; bytesPerSecond: number } | undefined;
  private camera = '';
  /** Wall time (ms) of the timeline's 0: the first clip's start. */
  private base = 0;
  private generation = 0;
  private reseeking = false;
  /** Where to start showing once buffered: the asked time, after the keyframe the clip starts at. */
  private skipTo: number | undefined;
  private recoveries = 0;
  /** What the current play asked for (wall ms, seconds). */
  private asked = { from: 0, seconds: 0 };

  constructor(
    private readonly video: HTMLVideoElement,
    private readonly link: () => Promise<RecordingsLink>,
    /** Seconds buffered ahead at 1x: less on a metered link, more on a shaky one. */
    private readonly aheadS = DEFAULT_AHEAD_S,
  ) {
    video.addEventListener('timeupdate', () => this.pump());
    video.addEventListener('seeking', () => void this.seeked());
    video.addEventListener('waiting', () => this.stalled());
    video.addEventListener('error', () => void this.recover().catch((err: unknown) => (video.dataset.error = String(err))));
  }

  /** Plays `camera` from `from` (wall ms) for `seconds`; resolves with the wall time of the timeline's 0. */
  async play(camera: string, from: number, seconds: number): Promise<number | undefined> {
    // A new source resets the element's rate: keep the one chosen.
    const rate = this.video.playbackRate;
    this.recoveries = 0;
    this.asked = { from, seconds };
    const start = await this.load(camera, from, seconds);
    if (start === undefined) return undefined;
    await this.video.play().catch(() => {});
    this.video.playbackRate = rate;
    return start;
  }

  /** A new source from `from`; on the timeline of the play it replaces when `timeline` says where that one began. */
  private async load(camera: string, from: number, seconds: number, timeline?: { base: number; duration: number }): Promise<number | undefined> {
    const mse = mediaSourceClass();
    if (!mse) throw new PeercamError('media', NO_MSE_MESSAGE);
    const gen = ++this.generation;
    this.stop();
    const link = await this.link();
    const source = new mse.Source();
    this.source = source;
    this.camera = camera;
    // A managed source opens only for an element that cannot be sent to AirPlay (it has no URL to hand over).
    if (mse.managed) this.video.disableRemotePlayback = true;
    source.addEventListener('startstreaming', () => this.pump());
    this.video.src = URL.createObjectURL(source);
    await new Promise<void>((resolve) => source.addEventListener('sourceopen', () => resolve(), { once: true }));
    const started = await this.request(link, from, seconds, 0);
    if (!started || gen !== this.generation) return undefined;
    this.base = timeline?.base ?? started.start;
    // The clip starts at the keyframe at or before `from`: placed where that is on the timeline, shown from `from`
    // (on a timeline that began earlier, the new source's playhead must move there: nothing is buffered before it).
    const offset = (started.start - this.base) / 1000;
    this.skipTo = (from - this.base) / 1000 > 0.05 ? (from - this.base) / 1000 : undefined;
    const buffer = source.addSourceBuffer(started.mime);
    buffer.timestampOffset = offset;
    this.buffer = buffer;
    buffer.addEventListener('updateend', () => {
      if (this.skipTo !== undefined && inBuffered(this.video, this.skipTo)) {
        this.video.currentTime = this.skipTo;
        this.skipTo = undefined;
      }
      this.append();
    });
    source.duration = timeline?.duration ?? started.durationMs / 1000;
    this.append();
    return this.base;
  }

  /**
   * The element failed: its demuxer or decoder refused media (Chromium, rarely, after a stream asked again). A new
   * source on the same timeline plays on from the playhead; a few times per play, then the failure stands.
   */
  private async recover(): Promise<void> {
    const source = this.source;
    const error = this.video.error;
    if (!source || !error || this.recoveries >= MAX_RECOVERIES) return;
    this.recoveries++;
    // Said on the element (tests, bug reports).
    this.video.dataset.recovered = `${this.recoveries}: ${error.message}`;
    const t = this.video.currentTime;
    const rate = this.video.playbackRate;
    // Before its length was known (nothing played yet): the play again as asked.
    const duration = Number.isFinite(source.duration) && source.duration > 0 ? source.duration : undefined;
    if (duration !== undefined && t >= duration - 0.1) return;
    const started = duration
      ? await this.load(this.camera, this.base + t * 1000, Math.max(1, duration - t), { base: this.base, duration })
      : await this.load(this.camera, this.asked.from, this.asked.seconds);
    if (started === undefined) {
      this.video.dataset.recovered += ' (the recorder did not send it again)';
      return;
    }
    await this.video.play().catch(() => {});
    this.video.playbackRate = rate;
  }

  stop(): void {
    const id = this.stream?.id;
    // (The id, not this.stream, in the callback: that is cleared below before it runs.)
    if (id) void this.link().then((l) => l.cancel(id));
    this.stream = undefined;
    this.queue = [];
    this.buffer = undefined;
    this.source = undefined;
    this.skipTo = undefined;
  }

  private async request(link: RecordingsLink, from: number, seconds: number, offsetS: number) {
    const state = { id: 0, received: 0, credit: FIRST_CREDIT, done: false, bytesPerSecond: 0 };
    this.video.dataset.requests = String(Number(this.video.dataset.requests ?? 0) + 1);
    const gen = this.generation;
    try {
      const { id, header } = await link.clip(this.camera, from, seconds, FIRST_CREDIT, {
        onBytes: (bytes) => {
          if (this.stream !== state) return;
          state.received += bytes.length;
          this.queue.push(bytes.slice());
          this.append();
        },
        onDone: () => {
          if (this.stream !== state) return;
          state.done = true;
          this.append();
        },
      });
      if (gen !== this.generation) {
        link.cancel(id);
        return undefined;
      }
      state.id = id;
      state.bytesPerSecond = header.size / Math.max(1, header.durationMs / 1000);
      this.stream = state;
      if (this.buffer) this.buffer.timestampOffset = offsetS;
      return header;
    } catch {
      return undefined;
    }
  }

  /** Feeds what arrived into the SourceBuffer, one append at a time; ends the stream when all is in. */
  private append(): void {
    const buffer = this.buffer;
    const source = this.source;
    if (!buffer || !source || buffer.updating || source.readyState !== 'open' || this.reseeking) return;
    if (this.queue.length > 0) {
      const bytes = this.queue.length === 1 ? this.queue[0]! : concat(this.queue);
      this.queue = [];
      try {
        buffer.appendBuffer(bytes);
      } catch (err) {
        // QuotaExceededError: make room behind the playhead, then try again.
        this.queue.unshift(bytes);
        if (err instanceof DOMException && err.name === 'QuotaExceededError') this.evict(5);
      }
      return;
    }
    if (this.stream?.done) {
      source.endOfStream();
      return;
    }
    this.pump();
  }

  /** Grants more credit while the buffer ahead of the playhead is short; drops what is long played. */
  private pump(): void {
    const s = this.stream;
    if (!s || s.done || !this.buffer || this.buffer.updating) return;
    const now = this.video.currentTime;
    const end = bufferedEnd(this.video, now);
    const aheadS = this.aheadS * Math.max(1, this.video.playbackRate);
    const grant = Math.max(MIN_GRANT, s.bytesPerSecond * aheadS);
    // A managed source's browser asks for media when it wants it (power, memory): beyond a few seconds, wait for it.
    const held = this.source?.streaming === false && end - now >= MANAGED_MIN_AHEAD_S;
    if (!held && end - now < aheadS && s.credit - s.received < grant / 2) {
      s.credit = s.received + grant;
      const id = s.id;
      void this.link().then((l) => l.credit(id, s.credit));
    }
    this.evict(BEHIND_S);
  }

  private evict(keepS: number): void {
    const buffer = this.buffer;
    const cut = this.video.currentTime - keepS;
    if (!buffer || buffer.updating || buffer.buffered.length === 0 || cut <= 0 || buffer.buffered.start(0) >= cut - 1) return;
    buffer.remove(0, cut);
  }

  /**
   * Playback waits for media. While the stream is coming in order that is normal; but media the browser dropped
   * (a managed source under memory pressure) or a stream that ended short leaves a hole nothing will fill: ask again
   * from the playhead, as a seek there would.
   */
  private stalled(): void {
    const t = this.video.currentTime;
    if (!this.buffer || this.reseeking || inBuffered(this.video, t)) return;
    const b = this.video.buffered;
    const mediaAfter = b.length > 0 && b.end(b.length - 1) > t + 0.1;
    const ended = this.stream === undefined || this.stream.done;
    if (mediaAfter || (ended && t < (this.source?.duration ?? 0) - 0.5)) void this.seeked();
  }

  /** A seek outside what is buffered: cancel the stream, ask for the fragment at that time. */
  private async seeked(): Promise<void> {
    const buffer = this.buffer;
    const t = this.video.currentTime;
    if (!buffer || this.reseeking || inBuffered(this.video, t)) return;
    const gen = this.generation;
    this.reseeking = true;
    try {
      if (this.stream) {
        const id = this.stream.id;
        void this.link().then((l) => l.cancel(id));
      }
      this.stream = undefined;
      this.queue = [];
      if (this.source?.readyState === 'open') buffer.abort();
      await untilIdle(buffer);
      if (buffer.buffered.length > 0) {
        buffer.remove(0, buffer.buffered.end(buffer.buffered.length - 1));
        await untilIdle(buffer);
      }
      const link = await this.link();
      const total = this.source?.duration ?? 0;
      const header = await this.request(link, this.base + t * 1000, Math.max(1, total - t), 0);
      if (!header || gen !== this.generation) return;
      // The clip starts at 0 at the keyframe at or before t: put it where that keyframe is on our timeline.
      buffer.timestampOffset = (header.start - this.base) / 1000;
    } catch (err) {
      // Said on the element (tests, bug reports); the next seek or play starts afresh.
      this.video.dataset.error = String(err);
    } finally {
      this.reseeking = false;
      this.append();
    }
  }
}

function concat(parts: readonly Uint8Array<ArrayBuffer>[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function bufferedEnd(video: HTMLVideoElement, t: number): number {
  const b = video.buffered;
  for (let i = 0; i < b.length; i++) if (b.start(i) <= t + 0.5 && b.end(i) >= t) return b.end(i);
  return t;
}

function inBuffered(video: HTMLVideoElement, t: number): boolean {
  const b = video.buffered;
  for (let i = 0; i < b.length; i++) if (b.start(i) <= t && b.end(i) > t + 0.1) return true;
  return false;
}

function untilIdle(buffer: SourceBuffer): Promise<void> {
  return buffer.updating ? new Promise((resolve) => buffer.addEventListener('updateend', () => resolve(), { once: true })) : Promise.resolve();
}
