import type { Emitter } from '../../protocol/index.js';
import type { RtpPacket } from '../rtp.js';

export type VideoCodec = 'H264' | 'VP8';
export type MediaKind = 'video' | 'audio';

/**
 * starting: launched, no packet yet. live: packets flow. restarting: the producer died and a restart is scheduled
 * (`reason` says why). failed: given up, `reason` says what to fix. stopped: `stop()` was called.
 */
export type SourceState = 'starting' | 'live' | 'restarting' | 'failed' | 'stopped';

export interface SourceEvents {
  /** One RTP packet as the source produced it (its own SSRC, sequence and timestamps; the fan-out rewrites them). */
  packet: (packet: RtpPacket, kind: MediaKind) => void;
  /** The state changed; `reason` is a sentence for the user when restarting or failed. */
  state: (state: SourceState, reason: string | undefined) => void;
  /** A small decoded picture for motion detection (only from sources opened with `analysis`; see `analysis`). */
  frame: (frame: AnalysisFrame) => void;
}

/** One analysis picture: YUV 4:2:0 planar (the first width*height bytes are the luma), taken at `at` (ms, epoch). */
export interface AnalysisFrame {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
  readonly at: number;
}

/** The audio a source sends beside its video, when it has audio. */
export interface AudioInfo {
  readonly codec: 'opus';
  readonly clockRate: 48000;
  readonly channels: 2;
}

/** One camera, file, test pattern or clip: one encode, shared by every viewer through a Fanout. */
export interface Source extends Pick<Emitter<SourceEvents>, 'on'> {
  /** The spec it was opened from, e.g. "testsrc" or "v4l2:/dev/video0". */
  readonly spec: string;
  readonly codec: VideoCodec;
  /** RTP clock rate of the video (90000 for H.264 and VP8, RFC 6184 8.2.1 / RFC 7741 6.1). */
  readonly clockRate: number;
  readonly audio: AudioInfo | undefined;
  readonly state: SourceState;
  readonly reason: string | undefined;
  /** Asks the encoder for a keyframe now; absent when the producer cannot (ffmpeg, a pre-encoded clip). */
  readonly requestKeyframe?: () => void;
  /**
   * The same picture in another codec without a second encode (the demo's second clip), started now; undefined when
   * the source has none. The camera then makes that codec with a second encode instead (TranscodeSource).
   */
  readonly alternate?: (codec: VideoCodec) => Source | undefined;
  /** The size and rate of its `frame` events; undefined when it sends none (not asked, or cannot). */
  readonly analysis?: { readonly width: number; readonly height: number; readonly fps: number } | undefined;
  /** Stops producing, ends every process and timer it started. Idempotent. */
  stop(): Promise<void>;
}
