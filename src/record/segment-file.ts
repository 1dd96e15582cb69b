import { closeSync, fdatasync, openSync, unlinkSync, writeSync } from 'node:fs';
import { EncodedAudioPacketSource, EncodedPacket, EncodedVideoPacketSource, Mp4OutputFormat, Output, StreamTarget, type StreamTargetChunk } from 'mediabunny';
import type { VideoConfig } from './assembler.js';
import { repairSegment } from './boxes.js';

export const VIDEO_CLOCK = 90_000;
export const OPUS_CLOCK = 48_000;

/** The tracks of one recording segment (video, and audio when the camera has some). */
export interface SegmentTracks {
  readonly video: VideoConfig;
  /** Opus at 48 kHz when the camera sends audio. */
  readonly audio: { readonly channels: number } | undefined;
}

/** A sample on the session's timeline: ticks of its track's clock since the session's first keyframe. */
export interface Sample {
  readonly ticks: number;
  readonly data: Uint8Array;
  readonly keyframe: boolean;
}

/**
 * One segment file: fragmented MP4 written by mediabunny (ftyp+moov up front, then moof+mdat fragments that each
 * start at a video keyframe). Every fragment is written and flushed to the disk (fdatasync) as soon as the muxer
 * closes it, so a crash or a power cut loses at most the fragment being filled. Timestamps are the session's RTP
 * timeline, continuous from one segment to the next. Each sample is held back until the next one gives its duration.
 */
export class SegmentFile {
  /** Bytes written so far. */
  bytes = 0;
  /** The first write error (ENOSPC, EROFS, EIO...): the file is finished at its last complete fragment. */
  error: NodeJS.ErrnoException | undefined;
  private readonly output: Output;
  private readonly videoSource: EncodedVideoPacketSource;
  private readonly audioSource: EncodedAudioPacketSource | undefined;
  private pendingVideo: Sample | undefined;
  private pendingAudio: Sample | undefined;
  private sentVideoMeta = false;
  private sentAudioMeta = false;
  private closed = false;
  private syncing = false;
  private dirty = false;
  private chain: Promise<void> = Promise.resolve();

  private constructor(
    readonly path: string,
    private readonly fd: number,
    readonly tracks: SegmentTracks,
    /** Session ticks (90 kHz) of the first video sample. */
    readonly startTicks: number,
    /** See `create`. */
    private readonly onWritten: ((belowTicks: number) => void) | undefined,
  ) {
    const sink = new WritableStream<StreamTargetChunk>({
      write: (chunk) => this.write(chunk),
    });
    this.output = new Output({
      format: new Mp4OutputFormat({
        fastStart: 'fragmented',
        // A fragment per keyframe interval: the most a crash can cost.
        minimumFragmentDuration: 0,
        // A fragment's header is written after every sample of the fragments before it, so each video sample before
        // its start has been copied out by then (and its buffer may be used again). Half a tick of margin for the
        // seconds-to-ticks rounding; a start from the audio track is a fraction of a tick. The muxer moves a track
        // that starts below 0 up to 0: its starts are then not ours, and only the close tells.
        onMoof: (_data, _position, start) => {
          if (startTicks >= 0) this.onWritten?.(Math.ceil(start * VIDEO_CLOCK - 0.5));
        },
      }),
      target: new StreamTarget(sink, { chunked: false }),
    });
    this.videoSource = new EncodedVideoPacketSource(tracks.video.codec === 'H264' ? 'avc' : 'vp8');
    // frameRate only sets the track timescale here: 90 kHz keeps the RTP ticks exact.
    this.output.addVideoTrack(this.videoSource, { frameRate: VIDEO_CLOCK });
    if (tracks.audio) {
      this.audioSource = new EncodedAudioPacketSource('opus');
      this.output.addAudioTrack(this.audioSource);
    }
  }

  /**
   * `onWritten(t)`: every video sample handed in with ticks below `t` has been written and is no longer read (at each
   * fragment; with Infinity when the file is closed or abandoned).
   */
  static async create(path: string, tracks: SegmentTracks, startTicks: number, onWritten?: (belowTicks: number) => void): Promise<SegmentFile> {
    const fd = openSync(path, 'wx');
    const file = new SegmentFile(path, fd, tracks, startTicks, onWritten);
    await file.output.start();
    return file;
  }

  /** Ticks (90 kHz) of the last video sample handed in, for the segment's length so far. */
  get lastVideoTicks(): number {
    return this.pendingVideo?.ticks ?? this.startTicks;
  }

  addVideo(sample: Sample): Promise<void> {
    return this.addVideos([sample]);
  }

  /** Video samples in order, handed to the muxer in one step (the recorder gives a fragment's worth at a time). */
  addVideos(samples: readonly Sample[]): Promise<void> {
    return this.enqueue(async () => {
      for (const sample of samples) {
        const prev = this.pendingVideo;
        this.pendingVideo = sample;
        if (prev) await this.writeVideo(prev, sample.ticks - prev.ticks);
      }
    });
  }

  addAudio(sample: Sample): Promise<void> {
    if (!this.audioSource) return Promise.resolve();
    return this.enqueue(async () => {
      const prev = this.pendingAudio;
      // Opus packets are 2.5-60 ms; a later one that overlaps (a resend) is dropped.
      if (prev && sample.ticks <= prev.ticks) return;
      this.pendingAudio = sample;
      if (prev) await this.writeAudio(prev, sample.ticks - prev.ticks);
    });
  }

  /**
   * Writes the held-back samples with the segment's end as their end (the next segment's first keyframe, so the two
   * files meet with no gap and no overlap) and finishes the file.
   */
  close(endVideoTicks: number): Promise<void> {
    return this.enqueue(async () => {
      if (this.closed) return;
      this.closed = true;
      try {
        const v = this.pendingVideo;
        if (v) await this.writeVideo(v, Math.max(1, endVideoTicks - v.ticks));
        const a = this.pendingAudio;
        if (a) await this.writeAudio(a, Math.max(1, Math.round((endVideoTicks * OPUS_CLOCK) / VIDEO_CLOCK) - a.ticks));
        if (!this.error) await this.output.finalize();
      } catch (err) {
        this.noteError(err);
      }
      await new Promise<void>((resolve) => fdatasync(this.fd, () => resolve()));
      closeSync(this.fd);
      this.onWritten?.(Number.POSITIVE_INFINITY);
    });
  }

  /**
   * Gives up at once (after a failed write): no finalize, the file is cut at its last complete fragment. Resolves
   * with the video duration kept (ms), or undefined when nothing was whole and the file was removed.
   */
  abort(): Promise<number | undefined> {
    let kept: number | undefined;
    return this.enqueue(async () => {
      if (!this.closed) {
        this.closed = true;
        closeSync(this.fd);
      }
      kept = this.keepWhole();
      this.onWritten?.(Number.POSITIVE_INFINITY);
    }).then(() => kept);
  }

  private async writeVideo(s: Sample, durationTicks: number): Promise<void> {
    if (this.error) return;
    const packet = new EncodedPacket(s.data, s.keyframe ? 'key' : 'delta', s.ticks / VIDEO_CLOCK, durationTicks / VIDEO_CLOCK);
    const v = this.tracks.video;
    try {
      if (!this.sentVideoMeta) {
        this.sentVideoMeta = true;
        // With the avcC at hand, mediabunny takes the samples as they are (no Annex B scan and copy per frame).
        const decoderConfig = { codec: v.codecString, codedWidth: v.width, codedHeight: v.height, ...(v.description ? { description: v.description } : {}) };
        await this.videoSource.add(packet, { decoderConfig });
      } else await this.videoSource.add(packet);
    } catch (err) {
      this.noteError(err);
    }
  }

  private async writeAudio(s: Sample, durationTicks: number): Promise<void> {
    if (this.error || !this.audioSource) return;
    const packet = new EncodedPacket(s.data, 'key', s.ticks / OPUS_CLOCK, durationTicks / OPUS_CLOCK);
    try {
      if (!this.sentAudioMeta) {
        this.sentAudioMeta = true;
        await this.audioSource.add(packet, {
          decoderConfig: { codec: 'opus', numberOfChannels: this.tracks.audio?.channels ?? 2, sampleRate: OPUS_CLOCK },
        });
      } else await this.audioSource.add(packet);
    } catch (err) {
      this.noteError(err);
    }
  }

  private write(chunk: StreamTargetChunk): void {
    if (this.error) return;
    try {
      let o = 0;
      while (o < chunk.data.length) o += writeSync(this.fd, chunk.data, o, chunk.data.length - o, chunk.position + o);
      this.bytes = Math.max(this.bytes, chunk.position + chunk.data.length);
      this.sync();
    } catch (err) {
      this.noteError(err);
    }
  }

  /** The muxer writes once per finished fragment: put it on the disk now (one fdatasync at a time). */
  private sync(): void {
    if (this.syncing) {
      this.dirty = true;
      return;
    }
    this.syncing = true;
    fdatasync(this.fd, () => {
      this.syncing = false;
      if (this.dirty && !this.closed) {
        this.dirty = false;
        this.sync();
      }
    });
  }

  /** After a failed write: cut the half-written fragment off (returns the ms kept), or remove a file with none whole. */
  private keepWhole(): number | undefined {
    try {
      const layout = repairSegment(this.path);
      if (layout) return layout.fragments.reduce((n, f) => n + f.videoDuration, 0) / (layout.videoTimescale / 1000);
      unlinkSync(this.path);
    } catch {
      // the repair at the next start finishes the job
    }
    return undefined;
  }

  private noteError(err: unknown): void {
    this.error ??= err instanceof Error ? (err as NodeJS.ErrnoException) : new Error(String(err));
  }

  private enqueue(step: () => Promise<void>): Promise<void> {
    const next = this.chain.then(step);
    this.chain = next.catch(() => {});
    return next;
  }
}
