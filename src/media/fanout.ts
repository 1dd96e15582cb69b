import { type Logger, silentLogger } from '../protocol/index.js';
import { startsKeyframe as h264StartsKeyframe } from './h264.js';
import { KeyframeCache, type SourcePacket } from './keyframe-cache.js';
import type { RtpPacket } from './rtp.js';
import { SourceClock } from './source-clock.js';
import type { MediaKind, Source } from './sources/source.js';
import { type FeedHost, ViewerFeed, type ViewerOptions } from './viewer-feed.js';
import { vp8StartsKeyframe } from './vp8.js';

export type FanoutCodec = 'H264' | 'VP8' | 'opus';

export interface FanoutOptions {
  readonly codec: FanoutCodec;
  readonly clockRate: number;
  /** Keep the packets since the last keyframe and start new viewers from them. Default true (off for audio). */
  readonly keyframeCache?: boolean;
  /** Largest GOP the cache holds before giving up on it until the next keyframe. Default 8 MiB. */
  readonly maxCacheBytes?: number;
  /** Pacing of cached-GOP bursts: at most this many payload bytes per tick. Default 32 KiB (about 52 Mb/s). */
  readonly burstBytesPerTick?: number;
  /** Default 5 ms. */
  readonly tickMs?: number;
  /** How long sent packets stay available for NACK. Default 1000 ms. */
  readonly nackHistoryMs?: number;
  /** The source's keyframe request, if it has one (see Source.requestKeyframe). */
  readonly requestKeyframe?: (() => void) | undefined;
  /** At most one source keyframe request per this interval, whatever the number of viewers asking. Default 1000. */
  readonly keyframeRequestIntervalMs?: number;
  /** At most one GOP replay per viewer per this interval. Default 1000. */
  readonly pliReplayIntervalMs?: number;
  readonly logger?: Logger;
}

/**
 * One source stream shared by many viewers: each source packet is parsed once, cached once, and rewritten per viewer
 * by its ViewerFeed. A source restart (new SSRC) is a new epoch: viewers continue seamlessly from the next keyframe.
 */
export class Fanout {
  private readonly feeds = new Set<ViewerFeed>();
  private readonly cache: KeyframeCache | undefined;
  private readonly startsKeyframe: (payload: Uint8Array) => boolean;
  private readonly host: FeedHost;
  private ssrc: number | undefined;
  private epoch = 0;
  private lastTs: number | undefined;
  private ticksPerFrame: number;
  private lastKeyframeRequest = -Infinity;
  /** The source's RTP clock against the wall clock, from its live packets (for viewers' sender reports). */
  private readonly clock: SourceClock;
  private closed = false;
  keyframeRequests = 0;

  constructor(private readonly options: FanoutOptions) {
    const audio = options.codec === 'opus';
    this.startsKeyframe =
      options.codec === 'H264' ? h264StartsKeyframe : options.codec === 'VP8' ? vp8StartsKeyframe : () => true;
    this.cache = !audio && options.keyframeCache !== false ? new KeyframeCache(options.maxCacheBytes) : undefined;
    this.ticksPerFrame = Math.round(options.clockRate / (audio ? 50 : 30));
    this.clock = new SourceClock(options.clockRate);
    const clock = this.clock;
    const log = (options.logger ?? silentLogger).child({ fanout: options.codec });
    const requestKeyframe = options.requestKeyframe;
    this.host = {
      log,
      tickMs: options.tickMs ?? 5,
      burstBytesPerTick: options.burstBytesPerTick ?? 32 * 1024,
      nackHistoryMs: options.nackHistoryMs ?? 1000,
      pliReplayIntervalMs: options.pliReplayIntervalMs ?? 1000,
      sourceMakesKeyframes: requestKeyframe !== undefined,
      frameTicks: () => this.ticksPerFrame,
      cachedGop: () => this.cache?.snapshot() ?? [],
      requestSourceKeyframe: () => {
        const now = performance.now();
        if (!requestKeyframe || now - this.lastKeyframeRequest < (options.keyframeRequestIntervalMs ?? 1000)) return;
        this.lastKeyframeRequest = now;
        this.keyframeRequests++;
        requestKeyframe();
      },
      sourceTsAt: (wallMs) => clock.at(wallMs),
      detach: (feed) => this.feeds.delete(feed),
    };
  }

  /** Feeds one source packet to every viewer. */
  push(packet: RtpPacket): void {
    if (this.closed) return;
    if (packet.ssrc !== this.ssrc) {
      if (this.ssrc !== undefined) {
        this.epoch++;
        this.cache?.clear();
        this.host.log.info({ epoch: this.epoch }, 'source stream restarted');
      }
      this.ssrc = packet.ssrc;
      this.lastTs = undefined;
    }
    if (this.lastTs !== undefined && packet.timestamp !== this.lastTs) {
      const d = (packet.timestamp - this.lastTs) >>> 0;
      if (d < this.options.clockRate) this.ticksPerFrame = d;
    }
    this.lastTs = packet.timestamp;
    this.clock.packet(packet.timestamp, this.epoch, Date.now());
    const p: SourcePacket = {
      packet,
      epoch: this.epoch,
      keyStart: this.startsKeyframe(packet.payload),
      size: packet.payload.length,
    };
    this.cache?.push(p);
    for (const feed of this.feeds) feed.offer(p);
  }

  /** Adds a viewer; it gets the cached GOP at once (paced), or waits for the next keyframe. */
  addViewer(options: ViewerOptions): ViewerFeed {
    const feed = new ViewerFeed(this.host, options);
    if (this.closed) {
      feed.close();
      return feed;
    }
    this.feeds.add(feed);
    feed.start();
    return feed;
  }

  get viewerCount(): number {
    return this.feeds.size;
  }

  /** What the keyframe cache holds now (0/0 when off or empty). */
  get cacheSize(): { packets: number; bytes: number } {
    return this.cache?.size ?? { packets: 0, bytes: 0 };
  }

  /** The cached GOP's source packets, oldest first (empty when caching is off or no keyframe is held). */
  cachedPackets(): readonly RtpPacket[] {
    return (this.cache?.snapshot() ?? []).map((p) => p.packet);
  }

  /** Closes every viewer and drops the cache. */
  close(): void {
    this.closed = true;
    for (const feed of [...this.feeds]) feed.close();
    this.cache?.clear();
  }
}

/** Feeds a source's packets of one kind into a fan-out; returns the unsubscribe closure. */
export function connectSource(source: Source, fanout: Fanout, kind: MediaKind = 'video'): () => void {
  return source.on('packet', (packet, k) => {
    if (k === kind) fanout.push(packet);
  });
}
