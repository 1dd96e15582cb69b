import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Emitter, type Logger, PeercamError, randomBytes, silentLogger } from '../../protocol/index.js';
import { NAL, nalType, packetizeH264, parseSps, splitAccessUnits, splitAnnexB } from '../h264.js';
import { readIvf } from '../ivf.js';
import type { RtpPacket } from '../rtp.js';
import { packetizeVp8 } from '../vp8.js';
import { type AnalysisSize, analysisArgs, analysisSize, findFfmpeg } from './ffmpeg-args.js';
import type { Source, SourceEvents, SourceState, VideoCodec } from './source.js';

/** The clips shipped in the package (scripts/make-demo-clip.sh made them); the same paths from src/ and dist/. */
export const DEMO_CLIP = fileURLToPath(new URL('../../../assets/demo/demo.h264', import.meta.url));
export const DEMO_CLIP_VP8 = fileURLToPath(new URL('../../../assets/demo/demo.ivf', import.meta.url));

export interface DemoSourceOptions {
  /** A clip to loop instead of the shipped one: Annex-B H.264, or VP8 in IVF (told apart by content). */
  readonly file?: string;
  /** Which shipped clip to loop when no `file` is given. Default H264. */
  readonly codec?: VideoCodec;
  /** Frame rate the clip was encoded at. Default 30. */
  readonly fps?: number;
  /** Largest RTP packet, header included. Default 1200. */
  readonly mtu?: number;
  /**
   * Also emit analysis frames (motion detection): the clip is decoded once at open by ffmpeg into small frames kept in
   * memory, then handed out in step with the frames sent. Without ffmpeg the demo simply has none.
   */
  readonly analysis?: { readonly height?: number; readonly fps?: number; readonly env?: NodeJS.ProcessEnv } | undefined;
  readonly logger?: Logger;
}

const CLOCK_RATE = 90000;

/** A clip read into memory, ready to be sent frame by frame. */
interface Clip {
  readonly file: string;
  readonly codec: VideoCodec;
  readonly frames: number;
  readonly width: number;
  readonly height: number;
  /** The RTP payloads of frame `n` of the stream (frame `n % frames` of the clip). */
  payloads(n: number): readonly { readonly payload: Uint8Array; readonly marker: boolean }[];
}

/**
 * Loops a pre-encoded clip (H.264, or VP8 for viewers without H.264) as a live RTP stream, paced at its frame rate,
 * with no ffmpeg: the source that works on any machine. Timestamps and sequence numbers keep increasing across loops
 * under one SSRC, so a viewer sees one endless stream; each clip starts with a keyframe so each loop decodes from the
 * one before. The shipped demo has both clips: `alternate('VP8')` plays the VP8 one, no encoder needed.
 */
export class DemoSource extends Emitter<SourceEvents> implements Source {
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
  /** Decoded analysis frames of the whole clip, at `analysis.fps`. */
  private frames: Uint8Array[] = [];
  analysis: AnalysisSize | undefined;

  private constructor(
    readonly spec: string,
    private readonly clip: Clip,
    /** The shipped clips in every codec, when this source plays one of them. */
    private readonly siblings: ReadonlyMap<VideoCodec, Clip>,
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

  get codec(): VideoCodec {
    return this.clip.codec;
  }

  get width(): number {
    return this.clip.width;
  }

  get height(): number {
    return this.clip.height;
  }

  /** Reads and packetizes the clip, then starts sending; rejects with a PeercamError if the clip is unusable. */
  static async open(options: DemoSourceOptions = {}): Promise<DemoSource> {
    const mtu = options.mtu ?? 1200;
    const log = (options.logger ?? silentLogger).child({ source: 'demo' });
    const siblings = new Map<VideoCodec, Clip>();
    let clip: Clip;
    if (options.file) clip = await loadClip(options.file, mtu);
    else {
      // Both shipped clips: a viewer without H.264 is served the VP8 one later, with no encoder.
      for (const [codec, file] of [['H264', DEMO_CLIP], ['VP8', DEMO_CLIP_VP8]] as const) siblings.set(codec, await loadClip(file, mtu));
      clip = siblings.get(options.codec ?? 'H264')!;
    }
    log.info({ file: clip.file, codec: clip.codec, frames: clip.frames, width: clip.width, height: clip.height }, 'demo clip loaded');
    const fps = options.fps ?? 30;
    const a = options.analysis;
    const source = new DemoSource('demo', clip, siblings, fps, log);
    if (a) {
      // Decoded in the background: the camera goes live at once, analysis frames follow within a second or so.
      const size = analysisSize(clip, a.height, a.fps);
      source.analysis = size;
      void decodeForAnalysis(clip, fps, size, a.env, log).then((d) => {
        if (d && source.state !== 'stopped') source.frames = d.frames;
      });
    }
    return source;
  }

  /** The shipped clip in `codec`, played from now on as a source of its own; undefined for a clip of the user's. */
  alternate(codec: VideoCodec): Source | undefined {
    const clip = this.siblings.get(codec);
    return clip ? new DemoSource(this.spec, clip, this.siblings, this.fps, this.log) : undefined;
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
    while (this.frame < due) {
      this.analyse(this.frame);
      this.send(this.frame++);
    }
    if (this.state === 'starting') this.setState('live');
    this.timer = setTimeout(() => this.tick(), Math.max(0, this.startedAt + this.frame * interval - performance.now()));
  }

  private send(n: number): void {
    const timestamp = (this.ts0 + Math.round((n * CLOCK_RATE) / this.fps)) >>> 0;
    for (const { payload, marker } of this.clip.payloads(n)) {
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

  /** The analysis frame of clip frame `n`, when one falls on it (every fps / analysis.fps frames). */
  private analyse(n: number): void {
    const a = this.analysis;
    if (!a || this.frames.length === 0) return;
    const k = n % this.clip.frames;
    const i = Math.floor((k * a.fps) / this.fps);
    if (Math.floor(((k - 1) * a.fps) / this.fps) === i && k !== 0) return; // not the first clip frame of analysis frame i
    const data = this.frames[Math.min(i, this.frames.length - 1)]!;
    this.emit('frame', { width: a.width, height: a.height, data, at: Date.now() });
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

/**
 * Decodes the whole clip with ffmpeg into analysis frames (clip frames x analysis fps / fps of them); undefined
 * (logged) when ffmpeg is missing or fails. Exported for its test.
 */
export async function decodeForAnalysis(
  clip: Clip,
  fps: number,
  size: AnalysisSize,
  env: NodeJS.ProcessEnv | undefined,
  log: Logger,
): Promise<{ size: AnalysisSize; frames: Uint8Array[] } | undefined> {
  let ffmpeg: string;
  try {
    ffmpeg = findFfmpeg(env);
  } catch (err) {
    log.warn({ err: String(err) }, 'no motion detection on the demo source: ffmpeg is needed to decode its clip once');
    return undefined;
  }
  // Raw H.264 has no timestamps: -framerate gives them (an input -r does not, and the fps filter then made thousands
  // of frames of one 3 s clip: 178 MB read in one go, a 1.6 s stall of the hub). -frames:v bounds it whatever ffmpeg does.
  const input = clip.codec === 'H264' ? ['-f', 'h264', '-framerate', String(fps)] : ['-f', 'ivf'];
  const expected = Math.max(1, Math.ceil((clip.frames * size.fps) / fps));
  const output = [...analysisArgs(size).slice(2, -1), '-frames:v', String(expected), 'pipe:1'];
  const args = ['-hide_banner', '-nostdin', '-loglevel', 'error', ...input, '-i', clip.file, ...output];
  const bytes = await new Promise<Buffer | undefined>((resolve) => {
    const chunks: Buffer[] = [];
    const child = spawn(ffmpeg, args, { stdio: ['ignore', 'pipe', 'ignore'] });
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    child.once('error', () => resolve(undefined));
    child.once('exit', (code) => resolve(code === 0 ? Buffer.concat(chunks) : undefined));
  });
  const frameBytes = (size.width * size.height * 3) / 2;
  if (!bytes || bytes.length < frameBytes) {
    log.warn({ file: clip.file }, 'no motion detection on the demo source: ffmpeg could not decode its clip');
    return undefined;
  }
  const frames: Uint8Array[] = [];
  for (let o = 0; o + frameBytes <= bytes.length; o += frameBytes) frames.push(new Uint8Array(bytes.subarray(o, o + frameBytes)));
  return { size, frames };
}

/** Reads a clip: VP8 in IVF (DKIF magic) or Annex-B H.264 starting with SPS, PPS and an IDR. */
async function loadClip(file: string, mtu: number): Promise<Clip> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (cause) {
    throw new PeercamError('media', `The demo clip ${file} cannot be read; reinstall peercam or pass another file.`, { cause });
  }
  if (bytes[0] === 0x44 && bytes[1] === 0x4b && bytes[2] === 0x49 && bytes[3] === 0x46) {
    const { header, frames } = readIvf(bytes, `The demo clip ${file}`);
    if (header.fourcc !== 'VP80' || !frames.length || (frames[0]!.data[0]! & 0x01) !== 0) {
      throw new PeercamError('media', `The demo clip ${file} must be VP8 in IVF starting with a key frame.`);
    }
    const data = frames.map((f) => f.data);
    // The picture ID keeps counting across loops (15 bits, RFC 7741 4.2): decoders order frames by it.
    return { file, codec: 'VP8', frames: data.length, width: header.width, height: header.height, payloads: (n) => packetizeVp8(data[n % data.length]!, n & 0x7fff, mtu) };
  }
  const units = splitAccessUnits(splitAnnexB(bytes));
  const first = units[0];
  const sps = first?.find((n) => nalType(n) === NAL.SPS);
  if (!first || !sps || !first.some((n) => nalType(n) === NAL.IDR)) {
    throw new PeercamError('media', `The demo clip ${file} must be Annex-B H.264 starting with SPS, PPS and an IDR.`);
  }
  const { width, height } = parseSps(sps);
  const packetized = units.map((nals) => packetizeH264(nals, { mtu }));
  return { file, codec: 'H264', frames: units.length, width, height, payloads: (n) => packetized[n % packetized.length]! };
}
