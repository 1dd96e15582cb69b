import { Emitter, type Logger, PeercamError, randomBytes } from '../protocol/index.js';
import type { SourcePacket } from './keyframe-cache.js';
import { parseRtcp, serializeSenderReport } from './rtcp.js';
import { RTP_HEADER_SIZE, writeRtpInto } from './rtp.js';

/**
 * waiting: nothing sent yet, waiting for the next keyframe. catching-up: sending the cached GOP (and what arrived
 * meanwhile), paced. live: every source packet is forwarded as it comes. closed: removed; holds nothing.
 */
export type ViewerState = 'waiting' | 'catching-up' | 'live' | 'closed';

export interface ViewerEvents {
  /** The feed moved on: first keyframe reached, caught up with live, or closed. */
  state: (state: ViewerState) => void;
}

export interface ViewerStats {
  packetsSent: number;
  bytesSent: number;
  /** Packets sent from the keyframe cache (at join or after a picture loss), paced. */
  burstPackets: number;
  /** Packets dropped while waiting for a keyframe. */
  skippedPackets: number;
  nacksReceived: number;
  retransmitted: number;
  /** Requested sequence numbers no longer (or never) in the history. */
  nackMisses: number;
  pictureLossReports: number;
  /** Times the cached GOP was re-sent to this viewer after a PLI/FIR. */
  replays: number;
  sinkErrors: number;
}

export interface ViewerOptions {
  /** The payload type this viewer negotiated for the codec. */
  readonly payloadType: number;
  /** The SSRC announced to this viewer (a=ssrc); random when omitted. */
  readonly ssrc?: number;
  /**
   * Sends one RTP packet to the viewer. The bytes are valid only during the call (one buffer is reused for every
   * packet sent): send or copy them before returning, as libdatachannel's send does.
   */
  readonly sink: (packet: Uint8Array) => void;
  /**
   * Send RTCP sender reports (RFC 3550 6.4.1) about once a second while the stream flows, each pairing the wall clock
   * with this stream's RTP clock as the source's live packets set it: receivers line audio up with video by them
   * (browsers, the recorder). `send` gets the compound packet (report + CNAME); its bytes are the caller's to keep.
   */
  readonly senderReports?: { readonly cname: string; readonly send: (packet: Uint8Array) => void };
}

/** Sender reports go out about this often (RFC 3550 6.2 allows far more; browsers send one a second). */
const REPORT_EVERY_MS = 1000;

/** What a ViewerFeed needs from its Fanout. */
export interface FeedHost {
  readonly log: Logger;
  readonly tickMs: number;
  readonly burstBytesPerTick: number;
  readonly nackHistoryMs: number;
  readonly pliReplayIntervalMs: number;
  /** RTP ticks between two frames of the source, to keep timestamps continuous across a jump. */
  frameTicks(): number;
  /** The cached GOP, empty when caching is off or no keyframe is held. */
  cachedGop(): readonly SourcePacket[];
  /** The source can make a keyframe on request (an encoder we drive), unlike ffmpeg or a pre-encoded clip. */
  readonly sourceMakesKeyframes: boolean;
  /** Asks the source for a keyframe, at most once per interval across all viewers; no-op when it cannot. */
  requestSourceKeyframe(): void;
  /** The source's RTP timestamp live at wall time `wallMs` (ms since 1970), and its epoch (see SourceClock). */
  sourceTsAt(wallMs: number): { ts: number; epoch: number } | undefined;
  detach(feed: ViewerFeed): void;
}

/**
 * One viewer's copy of a source stream. Rewrites every packet to the viewer's SSRC and payload type with its own
 * sequence numbers and timestamps, continuous from the first packet on: offsets are chosen at the first packet and
 * re-chosen only where the stream jumps (GOP replay, source restart), so the receiver sees one unbroken stream.
 */
export class ViewerFeed extends Emitter<ViewerEvents> {
  readonly ssrc: number;
  readonly payloadType: number;
  state: ViewerState = 'waiting';
  readonly stats: ViewerStats = {
    packetsSent: 0,
    bytesSent: 0,
    burstPackets: 0,
    skippedPackets: 0,
    nacksReceived: 0,
    retransmitted: 0,
    nackMisses: 0,
    pictureLossReports: 0,
    replays: 0,
    sinkErrors: 0,
  };
  private sink: ViewerOptions['sink'];
  private readonly reports: ViewerOptions['senderReports'];
  private lastReport = Number.NEGATIVE_INFINITY;
  private queue: SourcePacket[] = [];
  private queueHead = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private seqOffset = 0;
  private tsOffset = 0;
  private epoch = -1;
  private rebase = true;
  private lastSeq: number;
  private lastTs: number;
  private lastReplayAt = -Infinity;
  /**
   * What was sent, for NACK (RFC 4585 6.2.1): a ring indexed by our sequence number holding the shared source packet
   * and the timestamp it went out with, so a re-send is rewritten again instead of every packet being kept twice.
   */
  private readonly history = new SendHistory();

  constructor(
    private readonly host: FeedHost,
    options: ViewerOptions,
  ) {
    super();
    const r = new DataView(randomBytes(10).buffer);
    this.ssrc = options.ssrc ?? r.getUint32(0);
    this.payloadType = options.payloadType;
    this.sink = options.sink;
    this.reports = options.senderReports;
    // Random initial sequence number and timestamp (RFC 3550 5.1).
    this.lastSeq = r.getUint16(4);
    this.lastTs = r.getUint32(6);
  }

  /** Starts the feed: from the cached GOP if there is one, else at the next keyframe. */
  start(): void {
    if (!this.replay()) this.host.requestSourceKeyframe();
  }

  /** Called by the Fanout for each new source packet. */
  offer(p: SourcePacket): void {
    if (this.state === 'live') this.send(p, false);
    else if (this.state === 'catching-up') this.queue.push(p);
    else if (this.state === 'waiting') {
      if (!p.keyStart) {
        this.stats.skippedPackets++;
        return;
      }
      this.rebase = true;
      this.setState('live');
      this.send(p, false);
    }
  }

  /** Handles an RTCP packet the viewer sent (compound or not): NACK, PLI, FIR. Malformed input is logged, dropped. */
  handleRtcp(bytes: Uint8Array): void {
    let messages: ReturnType<typeof parseRtcp>;
    try {
      messages = parseRtcp(bytes);
    } catch (e) {
      this.host.log.debug({ err: e instanceof PeercamError ? e.message : String(e) }, 'dropped viewer RTCP');
      return;
    }
    for (const m of messages) {
      if (m.type === 'nack' && m.mediaSsrc === this.ssrc) this.nack(m.lost);
      else if (m.type === 'pli' && m.mediaSsrc === this.ssrc) this.pictureLost();
      else if (m.type === 'fir' && m.entries.some((e) => e.ssrc === this.ssrc)) this.pictureLost();
    }
  }

  /** Re-sends the listed sequence numbers that are still in the last `nackHistoryMs` of history. */
  nack(lost: readonly number[]): void {
    if (this.state === 'closed') return;
    this.stats.nacksReceived++;
    const oldest = performance.now() - this.host.nackHistoryMs;
    for (const seq of lost) {
      const sent = this.history.get(seq, oldest);
      if (!sent) {
        this.stats.nackMisses++;
        continue;
      }
      this.stats.retransmitted++;
      this.deliver(this.write(sent.packet, seq, sent.timestamp));
    }
  }

  /**
   * The viewer cannot decode (PLI, RFC 4585 6.3.1; FIR, RFC 5104 4.3.1). Ask the source for a keyframe if it can make
   * one; otherwise re-send the cached GOP, at most once per `pliReplayIntervalMs`: a decoder keeps sending PLIs until
   * it gets a keyframe, and each replay is a GOP-sized burst.
   */
  pictureLost(): void {
    if (this.state === 'closed') return;
    this.stats.pictureLossReports++;
    if (this.host.sourceMakesKeyframes) {
      this.host.requestSourceKeyframe();
      return;
    }
    if (this.state !== 'live') return; // already starting from a keyframe
    const now = performance.now();
    if (now - this.lastReplayAt < this.host.pliReplayIntervalMs) return;
    this.lastReplayAt = now;
    if (this.replay()) this.stats.replays++;
  }

  /** Removes the feed from its Fanout and lets go of every packet and timer it holds. Idempotent. */
  close(): void {
    if (this.state === 'closed') return;
    this.stopPacer();
    this.queue = [];
    this.history.clear();
    this.sink = () => {};
    this.setState('closed');
    this.host.detach(this);
    this.removeAllListeners();
  }

  /** Queues the cached GOP as a fresh start of the stream; false when there is nothing cached. */
  private replay(): boolean {
    const gop = this.host.cachedGop();
    if (!gop.length) return false;
    this.stopPacer();
    this.queue = gop.slice();
    this.queueHead = 0;
    this.rebase = true;
    this.setState('catching-up');
    this.timer = setTimeout(() => this.drain(), 0);
    return true;
  }

  /** Sends up to `burstBytesPerTick` of the queue (at least one packet), then again after `tickMs` until empty. */
  private drain(): void {
    this.timer = undefined;
    let budget = this.host.burstBytesPerTick;
    while (this.queueHead < this.queue.length && this.state === 'catching-up') {
      const p = this.queue[this.queueHead]!;
      if (budget < p.size && budget !== this.host.burstBytesPerTick) break;
      this.queueHead++;
      budget -= p.size;
      this.send(p, true);
    }
    if (this.state !== 'catching-up') return;
    if (this.queueHead < this.queue.length) {
      this.timer = setTimeout(() => this.drain(), this.host.tickMs);
      return;
    }
    this.queue = [];
    this.queueHead = 0;
    this.setState('live');
  }

  private send(p: SourcePacket, burst: boolean): void {
    const { packet } = p;
    if (this.rebase || p.epoch !== this.epoch) {
      // Continue right after what the viewer last got: next sequence number, one frame later.
      this.seqOffset = (this.lastSeq + 1 - packet.sequenceNumber) & 0xffff;
      this.tsOffset = (this.lastTs + this.host.frameTicks() - packet.timestamp) >>> 0;
      this.epoch = p.epoch;
      this.rebase = false;
    }
    const sequenceNumber = (packet.sequenceNumber + this.seqOffset) & 0xffff;
    const timestamp = (packet.timestamp + this.tsOffset) >>> 0;
    this.lastSeq = sequenceNumber;
    this.lastTs = timestamp;
    this.history.put(sequenceNumber, p, timestamp, performance.now());
    const bytes = this.write(p, sequenceNumber, timestamp);
    this.stats.packetsSent++;
    this.stats.bytesSent += bytes.length;
    if (burst) this.stats.burstPackets++;
    this.deliver(bytes);
    if (this.reports) this.report();
  }

  /**
   * A sender report when one is due. Its RTP time is the source's live time now (not the timestamp of the packet just
   * sent, which is seconds old during a GOP burst) moved by this feed's offset, so it holds for every packet sent.
   */
  private report(): void {
    const now = performance.now();
    if (now - this.lastReport < REPORT_EVERY_MS || !this.reports) return;
    const wallMs = Date.now();
    const at = this.host.sourceTsAt(wallMs);
    if (!at || at.epoch !== this.epoch) return;
    this.lastReport = now;
    const packet = serializeSenderReport({
      ssrc: this.ssrc,
      wallMs,
      rtpTs: (at.ts + this.tsOffset) >>> 0,
      packets: this.stats.packetsSent,
      octets: this.stats.bytesSent - RTP_HEADER_SIZE * this.stats.packetsSent,
      cname: this.reports.cname,
    });
    try {
      this.reports.send(packet);
    } catch (e) {
      if (this.stats.sinkErrors++ === 0) this.host.log.warn({ err: String(e) }, 'viewer sink failed');
    }
  }

  /** The packet as this viewer gets it, in the shared send buffer (valid until the next write). */
  private write(p: SourcePacket, sequenceNumber: number, timestamp: number): Uint8Array {
    const { payload, marker } = p.packet;
    if (sendBuffer.length < RTP_HEADER_SIZE + payload.length) sendBuffer = new Uint8Array(RTP_HEADER_SIZE + payload.length);
    return writeRtpInto(sendBuffer, payload, { marker, payloadType: this.payloadType, sequenceNumber, timestamp, ssrc: this.ssrc });
  }

  private deliver(bytes: Uint8Array): void {
    try {
      this.sink(bytes);
    } catch (e) {
      if (this.stats.sinkErrors++ === 0) this.host.log.warn({ err: String(e) }, 'viewer sink failed');
    }
  }

  private stopPacer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private setState(state: ViewerState): void {
    if (this.state === state) return;
    this.state = state;
    this.emit('state', state);
  }
}

/** One buffer for every packet any feed writes: sinks send it synchronously (see ViewerOptions.sink). */
let sendBuffer = new Uint8Array(1500);

/** Slots in a feed's send history: 2048 packets are over a second of 16 Mb/s video (the history kept is 1 s). */
const HISTORY_SLOTS = 2048;

/** Sent packets by sequence number (mod HISTORY_SLOTS), overwritten as the sequence goes round; no per-packet garbage. */
class SendHistory {
  private readonly packets: (SourcePacket | undefined)[] = new Array(HISTORY_SLOTS);
  private readonly seqs = new Int32Array(HISTORY_SLOTS).fill(-1);
  private readonly timestamps = new Uint32Array(HISTORY_SLOTS);
  private readonly at = new Float64Array(HISTORY_SLOTS);

  put(seq: number, packet: SourcePacket, timestamp: number, now: number): void {
    const i = seq % HISTORY_SLOTS;
    this.packets[i] = packet;
    this.seqs[i] = seq;
    this.timestamps[i] = timestamp;
    this.at[i] = now;
  }

  /** The packet sent as `seq`, if it went out at or after `oldest`. */
  get(seq: number, oldest: number): { packet: SourcePacket; timestamp: number } | undefined {
    const i = seq % HISTORY_SLOTS;
    const packet = this.packets[i];
    if (!packet || this.seqs[i] !== seq || this.at[i]! < oldest) return undefined;
    return { packet, timestamp: this.timestamps[i]! };
  }

  clear(): void {
    this.packets.fill(undefined);
    this.seqs.fill(-1);
  }
}
