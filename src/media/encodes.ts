import { type Logger, PeercamError, silentLogger } from '../protocol/index.js';
import { connectSource, Fanout } from './fanout.js';
import type { Source, SourceState, VideoCodec } from './sources/source.js';
import { TranscodeSource, type TranscodeOptions } from './sources/transcode.js';

export interface VideoEncodesOptions {
  /** The camera's source: its codec is the primary encode, always running. */
  readonly source: Source;
  /** Start new viewers from the cached GOP (default true). */
  readonly keyframeCache?: boolean;
  /** How long a second encode keeps running after its last viewer left, for the next one to start at once. Default 10 s. */
  readonly lingerMs?: number;
  /** Options of second encodes: bitrate, keyframe interval, where ffmpeg is. */
  readonly transcode?: Omit<TranscodeOptions, 'logger'>;
  readonly logger?: Logger;
  /** A second encode changed state (started, live, restarting, stopped). */
  readonly onSecondEncode?: (codec: VideoCodec, state: SourceState, reason: string | undefined) => void;
  /**
   * A second encode failed twice without ever sending a frame (e.g. an ffmpeg without libvpx): its viewers will get
   * nothing, so tell them `message`. New viewers of that codec are refused with it until the encode is gone.
   */
  readonly onUnusable?: (codec: VideoCodec, message: string) => void;
}

interface SecondEncode {
  readonly source: Source;
  readonly fanout: Fanout;
  readonly offs: (() => void)[];
  users: number;
  linger: ReturnType<typeof setTimeout> | undefined;
  /** Sent a frame at least once. */
  live: boolean;
  failures: number;
  /** Why it cannot serve anyone, once it failed twice without a frame. */
  unusable: string | undefined;
}

const ALL_CODECS: readonly VideoCodec[] = ['H264', 'VP8'];

/**
 * The camera's video in every codec a viewer may need: the source's own codec, always running, and one second encode
 * per other codec, started by the first viewer that needs it, shared by every viewer of that codec and stopped
 * `lingerMs` after the last of them left. Each codec has its own fan-out: keyframe cache, NACK and PLI work alike.
 */
export class VideoEncodes {
  readonly primary: Fanout;
  private readonly second = new Map<VideoCodec, SecondEncode>();
  private readonly offPrimary: () => void;
  private readonly log: Logger;
  private closed = false;

  constructor(private readonly options: VideoEncodesOptions) {
    this.log = (options.logger ?? silentLogger).child({ encodes: true });
    this.primary = this.fanoutOf(options.source);
    this.offPrimary = connectSource(options.source, this.primary);
  }

  /** Every codec this camera can try to send, its own first (the preference when a viewer decodes several). */
  get codecs(): readonly VideoCodec[] {
    const own = this.options.source.codec;
    return [own, ...ALL_CODECS.filter((c) => c !== own)];
  }

  /** The second encodes running right now (lingering ones included), with their viewer counts. */
  get running(): ReadonlyMap<VideoCodec, number> {
    return new Map([...this.second].map(([codec, e]) => [codec, e.users]));
  }

  /**
   * The fan-out of `codec` for one more viewer, starting its encode when none runs. Throws PeercamError('media') when
   * that encode cannot start on this machine (no ffmpeg), with what to install. Pair each call with `release`.
   */
  acquire(codec: VideoCodec): Fanout {
    if (this.closed) throw new PeercamError('closed', 'The camera is stopping.');
    if (codec === this.options.source.codec) return this.primary;
    const running = this.second.get(codec);
    if (running?.unusable) throw new PeercamError('media', running.unusable);
    if (running) {
      running.users++;
      if (running.linger) clearTimeout(running.linger);
      running.linger = undefined;
      return running.fanout;
    }
    const source = this.startSecond(codec);
    const fanout = this.fanoutOf(source);
    const entry: SecondEncode = { source, fanout, offs: [], users: 1, linger: undefined, live: false, failures: 0, unusable: undefined };
    entry.offs.push(
      connectSource(source, fanout),
      source.on('state', (state, reason) => {
        if (state === 'live') entry.live = true;
        if (state === 'restarting' || state === 'failed') {
          this.log.warn({ codec, state, reason }, 'second encode trouble');
          if (!entry.live && (++entry.failures >= 2 || state === 'failed') && !entry.unusable) {
            entry.unusable = `the ${codec} encode this viewer needs fails on this camera (${reason ?? state}). Fix the camera's ffmpeg, or watch from a browser that decodes ${this.options.source.codec}.`;
            this.options.onUnusable?.(codec, entry.unusable);
          }
        }
        this.options.onSecondEncode?.(codec, state, reason);
      }),
    );
    this.second.set(codec, entry);
    this.log.info({ codec, from: this.options.source.codec }, 'second encode started for a viewer');
    this.options.onSecondEncode?.(codec, 'starting', undefined);
    return fanout;
  }

  /** One viewer of `codec` left; the second encode stops `lingerMs` after its last viewer. */
  release(codec: VideoCodec): void {
    const e = this.second.get(codec);
    if (!e || e.users === 0) return;
    if (--e.users > 0) return;
    e.linger = setTimeout(() => void this.stopSecond(codec), this.options.lingerMs ?? 10_000);
  }

  /** Stops every second encode and closes every fan-out. Leaves the source to its owner. */
  async close(): Promise<void> {
    this.closed = true;
    this.offPrimary();
    this.primary.close();
    await Promise.all([...this.second.keys()].map((codec) => this.stopSecond(codec)));
  }

  private startSecond(codec: VideoCodec): Source {
    const source = this.options.source;
    const alternate = source.alternate?.(codec);
    if (alternate) return alternate;
    return TranscodeSource.start({ source, gop: () => this.primary.cachedPackets() }, codec, {
      ...this.options.transcode,
      ...(this.options.logger ? { logger: this.options.logger } : {}),
    });
  }

  private async stopSecond(codec: VideoCodec): Promise<void> {
    const e = this.second.get(codec);
    if (!e) return;
    this.second.delete(codec);
    if (e.linger) clearTimeout(e.linger);
    for (const off of e.offs) off();
    e.fanout.close();
    await e.source.stop();
    this.log.info({ codec }, 'second encode stopped: no viewer needs it');
    this.options.onSecondEncode?.(codec, 'stopped', undefined);
  }

  private fanoutOf(source: Source): Fanout {
    return new Fanout({
      codec: source.codec,
      clockRate: source.clockRate,
      keyframeCache: this.options.keyframeCache ?? true,
      requestKeyframe: source.requestKeyframe?.bind(source),
      ...(this.options.logger ? { logger: this.options.logger } : {}),
    });
  }
}
