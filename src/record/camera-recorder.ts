import { statSync } from 'node:fs';
import { type Logger, silentLogger } from '../protocol/index.js';
import { opusSample, RtpClock, VideoAssembler, type VideoConfig, type VideoFrame } from './assembler.js';
import { FramePool, HandedFrames } from './frame-pool.js';
import { OPUS_CLOCK, type Sample, SegmentFile, type SegmentTracks, VIDEO_CLOCK } from './segment-file.js';
import { makeSegmentDir, newSegmentPath, sealSegment } from './store.js';

/** What a camera recorder asks before it opens a file, and tells when a write failed. */
export interface DiskGate {
  /** False while the disk is full or read-only: frames are dropped, no file is opened. */
  canWrite(): boolean;
  /** A write failed (ENOSPC, EROFS, EIO...): stop writing everywhere until the space comes back. */
  failed(err: NodeJS.ErrnoException): void;
}

/** Options of the recorder of one camera: where to write, segment length, retention. */
export interface CameraRecorderOptions {
  readonly root: string;
  /** The camera's name (its folder). */
  readonly camera: string;
  /** Target segment length; a segment ends at the first keyframe after it. Default 60 s. */
  readonly segmentMs?: number;
  /** A gap between two frames (RTP time or arrival) longer than this ends the segment. Default 2 s. */
  readonly gapMs?: number;
  readonly disk?: DiskGate;
  readonly log?: Logger;
  /** Wall clock (ms since the epoch), injectable for tests. */
  readonly now?: () => number;
  /** A segment was finished (closed and renamed with its duration). */
  readonly onSegment?: (path: string, startMs: number, durationMs: number, bytes: number) => void;
  /**
   * Events mode (`peercam record --mode events`, docs/EVENTS.md): write only while `recording(wallMs)` says so (an
   * event and its post-roll), starting from frames kept in memory since a keyframe at least `preRollMs` before.
   * Video only (audio is not kept in the pre-roll).
   */
  readonly gate?: { readonly preRollMs: number; readonly since?: number | undefined; recording(wallMs: number): boolean };
  /** Where frames are built (tests give a small one to see its slabs used again). */
  readonly framePool?: FramePool;
}

/** Longest pre-roll buffer whatever the GOP (a camera that never sends a keyframe must not fill the memory). */
const MAX_PRE_ROLL_MS = 60_000;
/**
 * How much longer than the pre-roll the buffer holds: the start message arrives this long after the motion began at
 * most (detection's minimum duration, the analysis lag, the network), and the pre-roll counts back from the motion.
 */
const DETECTION_SLACK_MS = 5000;

interface Session {
  readonly codec: 'H264' | 'VP8';
  readonly assembler: VideoAssembler;
  readonly videoClock: RtpClock;
  readonly audioClock: RtpClock;
  /**
   * Wall time (ms) of session tick `ticks`. Set at the first keyframe, then lowered to the earliest arrival the RTP
   * clock allows during the first seconds: a camera starts a new viewer with its cached keyframe, seconds old, in a
   * burst, so arrival times only settle once the burst has caught up with live. Fixed once a segment has been sealed
   * with it (`sealed`): a later refinement would leave a gap or an overlap between that file and the next.
   */
  anchor: { wallMs: number; ticks: number; setAt: number; sealed?: boolean } | undefined;
  /**
   * Audio session ticks (48 kHz) = unwrapped audio RTP ticks + this: from the camera's RTCP sender reports when both
   * tracks have one, else from the first audio packet's arrival.
   */
  audioOffset: number | undefined;
  /** The latest RTCP sender report of each track: the sender's wall clock (ms) at an RTP timestamp. */
  reports: { video?: SenderReport; audio?: SenderReport };
  /** The offset came from arrival times: sender reports that arrive later take over at the next segment. */
  audioByArrival?: boolean;
  lastAudioWall: number;
  lastVideoTicks: number | undefined;
  lastVideoWall: number;
}

/** What an RTCP sender report says (RFC 3550 6.4.1): the sender's NTP wall clock, in ms, at an RTP timestamp. */
export interface SenderReport {
  readonly ntpMs: number;
  readonly rtpTs: number;
}

/** The segment being written. Its file is created in the write queue, so every step queued after it finds it. */
interface Open {
  file: SegmentFile | undefined;
  path: string;
  startMs: number;
  readonly startTicks: number;
  readonly config: VideoConfig;
  readonly tracks: SegmentTracks;
  lastTicks: number;
  /** Spacing of the last two frames: the length given to the last frame when no next keyframe ends the segment. */
  lastDelta: number;
  /**
   * Video frames not handed to the file yet. They go in one queued step per fragment (at the frame after each
   * keyframe) instead of a step per frame: the muxer writes a fragment when it is given the keyframe that starts the
   * next one, which the file does when the frame after it tells the keyframe's duration, so fragments reach the
   * disk exactly as early as with a step per frame (what a crash loses is unchanged).
   */
  batch: HeldFrame[];
  /** The last frame put in `batch` was a keyframe: hand the batch over with the next one. */
  keyInBatch: boolean;
}

/** A video sample and its number in the recorder's FramePool. */
interface HeldFrame extends Sample {
  readonly seq: number;
}

/** How long the wall-clock anchor of a session is refined, and after how long audio is lined up against it. */
const REFINE_MS = 10_000;
const SETTLE_MS = 1500;

const sameConfig = (a: VideoConfig, b: VideoConfig) => a.codecString === b.codecString && a.width === b.width && a.height === b.height;

/**
 * Records one camera: received RTP in, segment files out, no decoding. A session (one WebRTC connection) is one
 * continuous timeline from its first keyframe; segments cut it at keyframes every `segmentMs`, so consecutive files
 * meet exactly. A gap (frames stop, the RTP clock jumps), a new session, a change of codec or size, or audio that
 * starts or stops ends the segment; the next one starts at the next keyframe.
 */
export class CameraRecorder {
  private session: Session | undefined;
  private open: Open | undefined;
  private chain: Promise<void> = Promise.resolve();
  private readonly segmentTicks: number;
  private readonly gapMs: number;
  private readonly log: Logger;
  private readonly now: () => number;
  /** Frames handed to files, for tests and stats. */
  frames = 0;
  /** RTP bytes received (video and audio packets, headers included). */
  receivedBytes = 0;
  /** RTP packets received (video and audio). */
  receivedPackets = 0;
  /** Bytes of finished segment files. */
  writtenBytes = 0;
  /** Wall time of the last keyframe received (ask the camera for one when it gets old: browsers send them rarely). */
  lastKeyframeWall = Number.NEGATIVE_INFINITY;
  /** Events mode: the frames since a keyframe at least the pre-roll ago (whole GOPs), oldest first. */
  private readonly preRoll: { ticks: number; wall: number; frame: VideoFrame }[] = [];
  private readonly pool: FramePool;
  /** Frames handed to files that the files have not written yet. */
  private readonly unwritten = new HandedFrames<Open>();

  constructor(private readonly options: CameraRecorderOptions) {
    this.segmentTicks = ((options.segmentMs ?? 60_000) * VIDEO_CLOCK) / 1000;
    this.gapMs = options.gapMs ?? 2000;
    this.log = options.log ?? silentLogger;
    this.now = options.now ?? Date.now;
    this.pool = options.framePool ?? new FramePool();
  }

  /** A new connection to the camera: a new RTP stream (new SSRC, sequence and timestamp bases). */
  startSession(codec: 'H264' | 'VP8'): void {
    this.endSession();
    this.session = {
      codec,
      assembler: new VideoAssembler(codec, this.pool),
      videoClock: new RtpClock(),
      audioClock: new RtpClock(),
      anchor: undefined,
      audioOffset: undefined,
      reports: {},
      lastAudioWall: Number.NEGATIVE_INFINITY,
      lastVideoTicks: undefined,
      lastVideoWall: 0,
    };
  }

  /**
   * Frames that stopped without the session ending (the camera's source died) end the segment: the owner calls this
   * about once a second (one timer for all cameras: src/agent/recorder.ts). Frames that come back start the next one.
   */
  checkStalled(): void {
    const s = this.session;
    if (s?.anchor && this.open && this.now() - s.lastVideoWall > this.gapMs) {
      this.log.info({ camera: this.options.camera }, 'recording: no frames, segment ended');
      this.closeOpen(undefined);
      s.anchor = undefined;
      s.audioOffset = undefined;
      s.lastVideoTicks = undefined;
    }
  }

  /** The connection ended: finish the segment at its last frame. */
  endSession(): void {
    this.closeOpen(undefined);
    this.session = undefined;
  }

  video(packet: Uint8Array): void {
    const s = this.session;
    if (!s) return;
    this.receivedBytes += packet.length;
    this.receivedPackets++;
    const frames = s.assembler.push(packet);
    if (frames.length === 0) return;
    for (const frame of frames) this.onFrame(s, frame);
    this.releaseFrames();
  }

  /** An RTCP sender report of the camera's video or audio: lines audio up with video by the camera's own clock. */
  senderReport(kind: 'video' | 'audio', report: SenderReport): void {
    const s = this.session;
    if (s) s.reports[kind] = report;
  }

  audio(packet: Uint8Array): void {
    const s = this.session;
    if (!s) return;
    this.receivedBytes += packet.length;
    this.receivedPackets++;
    const wall = this.now();
    s.lastAudioWall = wall;
    if (!s.anchor || wall - s.anchor.setAt < SETTLE_MS) return;
    const sample = opusSample(packet);
    if (!sample) return;
    const ticks = s.audioClock.unwrap(sample.rtpTs);
    // Line audio up with video once, then follow the RTP clock: by the camera's sender reports when it sends them
    // (browsers do), else by arrival time (tens of ms off: the two tracks travel and are paced separately).
    if (s.audioOffset === undefined) {
      const reported = offsetFromReports(s);
      s.audioOffset = reported ?? Math.round(((wall - s.anchor.wallMs) * OPUS_CLOCK) / 1000 + (s.anchor.ticks * OPUS_CLOCK) / VIDEO_CLOCK) - ticks;
      s.audioByArrival = reported === undefined;
      this.log.info({ camera: this.options.camera, by: reported === undefined ? 'arrival' : 'sender-reports' }, 'recording: audio lined up with video');
    }
    const open = this.open;
    if (!open?.tracks.audio) return;
    const at = ticks + s.audioOffset;
    if (at < (open.startTicks * OPUS_CLOCK) / VIDEO_CLOCK) return;
    this.enqueue(async () => {
      await open.file?.addAudio({ ticks: at, data: sample.data, keyframe: true });
      this.check(open);
    }, true);
  }

  /** Finishes the open segment and waits until everything is on disk. */
  async close(): Promise<void> {
    this.endSession();
    await this.chain;
  }

  /** Hands over the batched frames and waits for queued writes (tests, benches). */
  flush(): Promise<void> {
    if (this.open) this.handOver(this.open);
    return this.chain;
  }

  private onFrame(s: Session, frame: VideoFrame): void {
    const wall = this.now();
    const ticks = s.videoClock.unwrap(frame.rtpTs);
    if (s.lastVideoTicks !== undefined) {
      const gapTicks = ticks - s.lastVideoTicks;
      const stalled = wall - s.lastVideoWall > this.gapMs;
      if (gapTicks <= 0 || gapTicks > (this.gapMs * VIDEO_CLOCK) / 1000 || stalled) {
        // A hole in the timeline: end the file at its last frame and start a new timeline at the next keyframe.
        this.log.info({ camera: this.options.camera, gapMs: Math.round(gapTicks / 90), stalled }, 'recording: gap, segment ended');
        this.closeOpen(undefined);
        s.anchor = undefined;
        s.audioOffset = undefined;
      }
    }
    s.lastVideoTicks = ticks;
    s.lastVideoWall = wall;
    if (frame.keyframe) this.lastKeyframeWall = wall;
    if (!s.anchor) {
      if (!frame.keyframe || !frame.config) return;
      s.anchor = { wallMs: wall, ticks, setAt: wall };
    } else if (!s.anchor.sealed && wall - s.anchor.setAt < REFINE_MS) {
      s.anchor.wallMs = Math.min(s.anchor.wallMs, wall - ((ticks - s.anchor.ticks) * 1000) / VIDEO_CLOCK);
    }
    // Audio joins once the timeline has settled (see `anchor`), at the next keyframe.
    const withAudio = !this.options.gate && wall - s.lastAudioWall < 1000 && wall - s.anchor.setAt >= SETTLE_MS;
    if (this.options.gate && this.gated(s, ticks, frame, wall)) return;
    const open = this.open;
    if (open && frame.keyframe && frame.config) {
      const full = ticks - open.startTicks >= this.segmentTicks;
      const changed = !sameConfig(open.config, frame.config) || (open.tracks.audio !== undefined) !== withAudio;
      if (full || changed) this.closeOpen(ticks);
    } else if (open?.tracks.audio && !withAudio && wall - s.lastAudioWall > 3000) {
      // Audio stopped mid-segment: the muxer would wait for it forever. End here; the next keyframe starts anew.
      this.closeOpen(ticks);
    }
    if (!this.open) {
      if (!frame.keyframe || !frame.config) return;
      if (this.options.disk && !this.options.disk.canWrite()) return;
      this.openSegment(s, ticks, frame.config, withAudio);
    }
    const current = this.open;
    if (!current) return;
    this.write(current, ticks, frame);
  }

  /**
   * Events mode: keeps the pre-roll and decides. True when the frame is dealt with here (not recording, or a segment
   * just opened with the pre-roll, this frame included); false when it goes the usual way into the open segment.
   */
  private gated(s: Session, ticks: number, frame: VideoFrame, wall: number): boolean {
    const gate = this.options.gate!;
    const pre = this.preRoll;
    if (frame.keyframe && frame.config) pre.push({ ticks, wall, frame });
    else if (pre.length > 0) pre.push({ ticks, wall, frame });
    // Drop whole GOPs while the next keyframe is itself at least the pre-roll (and the detection delay) ago.
    const dropBefore = (t: number) => {
      for (;;) {
        const next = pre.findIndex((f, i) => i > 0 && f.frame.keyframe && f.frame.config);
        if (next < 0 || pre[next]!.wall > t) break;
        pre.splice(0, next);
      }
    };
    dropBefore(wall - gate.preRollMs - DETECTION_SLACK_MS);
    if (pre.length > 0 && pre[0]!.wall < wall - MAX_PRE_ROLL_MS) pre.length = 0;
    if (!gate.recording(wall)) {
      if (this.open) this.closeOpen(ticks);
      return true;
    }
    if (this.open) return false;
    // The clip starts at the last keyframe at or before the pre-roll counted back from when the motion began: between
    // the pre-roll and the pre-roll plus one keyframe interval before it (docs/EVENTS.md).
    dropBefore(Math.min(wall, gate.since ?? wall) - gate.preRollMs);
    const first = pre[0];
    if (!first?.frame.config || (this.options.disk && !this.options.disk.canWrite())) return true;
    this.openSegment(s, first.ticks, first.frame.config, false);
    const opened = this.open;
    if (opened) for (const f of pre) this.write(opened, f.ticks, f.frame);
    return true;
  }

  private write(current: Open, ticks: number, frame: VideoFrame): void {
    this.frames++;
    if (ticks > current.lastTicks) current.lastDelta = ticks - current.lastTicks;
    current.lastTicks = ticks;
    current.batch.push({ ticks, data: frame.data, keyframe: frame.keyframe, seq: frame.seq });
    if (current.keyInBatch) this.handOver(current);
    current.keyInBatch = frame.keyframe;
  }

  /** Queues the frames of `open` not handed to its file yet (see Open.batch). */
  private handOver(open: Open): void {
    const samples = open.batch;
    if (samples.length === 0) return;
    open.batch = [];
    this.unwritten.hand(open, samples);
    this.chain = this.chain
      .then(async () => {
        await open.file?.addVideos(samples);
        // No file (it could not be created, or a write failed): nothing holds these frames now.
        if (!open.file) this.written(open, Number.POSITIVE_INFINITY);
        this.check(open);
      })
      .catch((err: unknown) => this.log.warn({ err: String(err) }, 'recording: step failed'));
  }

  private openSegment(s: Session, ticks: number, config: VideoConfig, withAudio: boolean): void {
    const anchor = s.anchor!;
    // Sender reports came after the sound joined (a browser's first audio report can take seconds): a new file is
    // where the audio may move onto them without a jump inside one file.
    const reported = s.audioByArrival ? offsetFromReports(s) : undefined;
    if (reported !== undefined) {
      s.audioOffset = reported;
      s.audioByArrival = false;
      this.log.info({ camera: this.options.camera, by: 'sender-reports' }, 'recording: audio lined up with video');
    }
    const tracks: SegmentTracks = { video: config, audio: withAudio ? { channels: 2 } : undefined };
    const startMs = () => Math.round(anchor.wallMs + ((ticks - anchor.ticks) * 1000) / VIDEO_CLOCK);
    const open: Open = {
      file: undefined,
      path: '',
      startMs: startMs(),
      startTicks: ticks,
      config,
      tracks,
      lastTicks: ticks,
      lastDelta: 3000,
      batch: [],
      keyInBatch: false,
    };
    this.open = open;
    this.enqueue(async () => {
      // Name the file once the session's clock has settled (see Session.anchor); its frames wait in the queue.
      const settle = anchor.setAt + SETTLE_MS - this.now();
      if (settle > 0 && this.options.now === undefined) await new Promise((r) => setTimeout(r, settle));
      open.startMs = startMs();
      open.path = newSegmentPath(this.options.root, this.options.camera, open.startMs);
      try {
        makeSegmentDir(open.path);
        open.file = await SegmentFile.create(open.path, tracks, ticks, (below) => this.written(open, below));
      } catch (err) {
        if (this.open === open) this.open = undefined;
        this.options.disk?.failed(err as NodeJS.ErrnoException);
      }
    });
  }

  /** Ends the open segment at `endTicks` (the keyframe that starts the next one), or at its last frame. */
  private closeOpen(endTicks: number | undefined): void {
    const open = this.open;
    if (!open) return;
    this.handOver(open);
    this.open = undefined;
    // The anchor as refined so far names the file (the open file's name used the first guess), and stays as it is.
    if (this.session?.anchor) this.session.anchor.sealed = true;
    const anchor = this.session?.anchor ? { ...this.session.anchor } : undefined;
    this.enqueue(async () => {
      const file = open.file;
      if (!file || file.error) return;
      // Without a next keyframe, the last frame lasts as long as the one before it.
      const end = endTicks ?? open.lastTicks + Math.max(1, open.lastDelta);
      await file.close(end);
      if (file.error) {
        this.options.disk?.failed(file.error);
        await this.keepWhatIsWhole(open, file);
        return;
      }
      const durationMs = ((end - open.startTicks) * 1000) / VIDEO_CLOCK;
      const startMs = anchor ? Math.round(anchor.wallMs + ((open.startTicks - anchor.ticks) * 1000) / VIDEO_CLOCK) : open.startMs;
      try {
        const sealed = sealSegment(file.path, startMs, durationMs);
        this.writtenBytes += file.bytes;
        this.options.onSegment?.(sealed, startMs, durationMs, file.bytes);
      } catch (err) {
        this.options.disk?.failed(err as NodeJS.ErrnoException);
      }
    });
  }

  /** `open`'s file has written its frames below `belowTicks`: their memory may be used again. */
  private written(open: Open, belowTicks: number): void {
    this.unwritten.written(open, belowTicks);
    this.releaseFrames();
  }

  /** Tells the pool the oldest frame still held: in the pre-roll, in a file's muxer, or not handed over yet. */
  private releaseFrames(): void {
    const oldest = Math.min(
      this.unwritten.oldestSeq,
      this.open?.batch[0]?.seq ?? Number.POSITIVE_INFINITY,
      this.preRoll[0]?.frame.seq ?? Number.POSITIVE_INFINITY,
    );
    this.pool.release(oldest);
  }

  private check(open: Open): void {
    const file = open.file;
    if (!file?.error) return;
    this.log.warn({ camera: this.options.camera, err: file.error.message }, 'recording: write failed');
    if (this.open === open) this.open = undefined;
    open.file = undefined;
    this.options.disk?.failed(file.error);
    this.enqueue(() => this.keepWhatIsWhole(open, file));
  }

  /** A write failed: keep the whole fragments as a finished segment (retention can then delete it like any other). */
  private async keepWhatIsWhole(open: Open, file: SegmentFile): Promise<void> {
    const keptMs = await file.abort();
    if (keptMs === undefined) return;
    try {
      const sealed = sealSegment(file.path, open.startMs, keptMs);
      const bytes = statSync(sealed).size;
      this.writtenBytes += bytes;
      this.options.onSegment?.(sealed, open.startMs, keptMs, bytes);
    } catch {
      // left open: the repair at the next start seals it
    }
  }

  /**
   * Queues a step after everything before it, the open segment's batched frames included (audio samples are queued
   * as they come, `audio`: the muxer orders the two tracks by time itself).
   */
  private enqueue(step: () => Promise<void>, audio = false): void {
    if (!audio && this.open) this.handOver(this.open);
    this.chain = this.chain.then(step).catch((err: unknown) => this.log.warn({ err: String(err) }, 'recording: step failed'));
  }
}

/**
 * The audio offset (see Session) from one sender report of each track: both map RTP time to the camera's wall
 * clock, so the audio sample of report A sits at video tick vTicks(V) + (ntpA - ntpV) * 90 kHz.
 */
function offsetFromReports(s: Session): number | undefined {
  const { video, audio } = s.reports;
  if (!video || !audio) return undefined;
  const v = s.videoClock.peek(video.rtpTs);
  const a = s.audioClock.peek(audio.rtpTs);
  if (v === undefined || a === undefined) return undefined;
  const videoTicks = v + ((audio.ntpMs - video.ntpMs) * VIDEO_CLOCK) / 1000;
  return Math.round((videoTicks * OPUS_CLOCK) / VIDEO_CLOCK) - a;
}
