import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Emitter, type Logger, PeercamError, randomBytes, silentLogger } from '../../protocol/index.js';
import { type H264Payload, NAL, nalType, packetizeH264, parseSps, splitAccessUnits, splitAnnexB } from '../h264.js';
import type { RtpPacket } from '../rtp.js';
import type { Source, SourceEvents, SourceState } from './source.js';

/** The clip shipped in the package (scripts/make-demo-clip.sh made it); the same path from src/ and dist/. */
export const DEMO_CLIP = fileURLToPath(new URL('../../../assets/demo/demo.h264', import.meta.url));

export interface DemoSourceOptions {
  /** An Annex-B H.264 file to loop instead of the shipped clip. */
  readonly file?: string;
  /** Frame rate the clip was encoded at. Default 30. */
  readonly fps?: number;
  /** Largest RTP packet, header included. Default 1200. */
  readonly mtu?: number;
  readonly logger?: Logger;
}

const CLOCK_RATE = 90000;

/**
 * Loops a pre-encoded H.264 clip as a live RTP stream, paced at its frame rate, with no ffmpeg: the source that works
 * on any machine. Timestamps and sequence numbers keep increasing across loops under one SSRC, so a viewer sees one
 * endless stream; the clip starts with an IDR so each loop decodes from the one before.
 */
export class DemoSource extends Emitter<SourceEvents> implements Source {
  readonly codec = 'H264' as const;
  readonly clockRate = CLOCK_RATE;
  readonly audio = undefined;
  state: SourceState = 'starting';
  reason: string | undefined;
  private readonly ssrc: number;
  private seq: number;
  private readonly ts0: number;
  private frame = 0;
  private startedAt = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;

  private constructor(
    readonly spec: string,
    private readonly units: readonly (readonly H264Payload[])[],
    readonly width: number,
    readonly height: number,
    private readonly fps: number,
    private readonly log: Logger,
  ) {
    super();
    const r = new DataView(randomBytes(10).buffer);
    this.ssrc = r.getUint32(0);
    this.seq = r.getUint16(4);
    this.ts0 = r.getUint32(6);
    this.startedAt = performance.now();
    this.timer = setTimeout(() => this.tick(), 0);
  }

  /** Reads and packetizes the clip, then starts sending; rejects with a PeercamError if the clip is unusable. */
  static async open(options: DemoSourceOptions = {}): Promise<DemoSource> {
    const file = options.file ?? DEMO_CLIP;
    let bytes: Uint8Array;
    try {
      bytes = await readFile(file);
    } catch (cause) {
      throw new PeercamError('media', `The demo clip ${file} cannot be read; reinstall peercam or pass another file.`, {
        cause,
      });
    }
    const units = splitAccessUnits(splitAnnexB(bytes));
    const first = units[0];
    const sps = first?.find((n) => nalType(n) === NAL.SPS);
    if (!first || !sps || !first.some((n) => nalType(n) === NAL.IDR)) {
      throw new PeercamError('media', `The demo clip ${file} must be Annex-B H.264 starting with SPS, PPS and an IDR.`);
    }
    const { width, height } = parseSps(sps);
    const mtu = options.mtu ?? 1200;
    const packetized = units.map((nals) => packetizeH264(nals, { mtu }));
    const log = (options.logger ?? silentLogger).child({ source: 'demo' });
    log.info({ file, frames: units.length, width, height }, 'demo clip loaded');
    return new DemoSource('demo', packetized, width, height, options.fps ?? 30, log);
  }

  /** Sends every frame that is due, then sleeps until the next one; late timers catch up instead of drifting. */
  private tick(): void {
    this.timer = undefined;
    if (this.state === 'stopped') return;
    const interval = 1000 / this.fps;
    let due = Math.floor((performance.now() - this.startedAt) / interval) + 1;
    if (due - this.frame > this.fps) {
      // The process stalled for over a second: skip ahead rather than flood viewers with stale frames.
      this.log.warn({ behind: due - this.frame }, 'demo source fell behind; skipping ahead');
      this.startedAt = performance.now() - this.frame * interval;
      due = this.frame + 1;
    }
    while (this.frame < due) this.send(this.frame++);
    if (this.state === 'starting') this.setState('live');
    this.timer = setTimeout(() => this.tick(), Math.max(0, this.startedAt + this.frame * interval - performance.now()));
  }

  private send(n: number): void {
    const unit = this.units[n % this.units.length]!;
    const timestamp = (this.ts0 + Math.round((n * CLOCK_RATE) / this.fps)) >>> 0;
    for (const { payload, marker } of unit) {
      const packet: RtpPacket = {
        marker,
        payloadType: 96,
        sequenceNumber: this.seq,
        timestamp,
        ssrc: this.ssrc,
        csrcs: [],
        payload,
        paddingSize: 0,
      };
      this.seq = (this.seq + 1) & 0xffff;
      this.emit('packet', packet, 'video');
    }
  }

  private setState(state: SourceState, reason?: string): void {
    this.state = state;
    this.reason = reason;
    this.emit('state', state, reason);
  }

  async stop(): Promise<void> {
    if (this.state === 'stopped') return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.setState('stopped');
    this.removeAllListeners();
  }
}
