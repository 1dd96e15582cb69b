import { type ChildProcess, spawn } from 'node:child_process';
import type { Socket } from 'node:dgram';
import { Emitter, type Logger, PeercamError, silentLogger } from '../../protocol/index.js';
import { H264Depacketizer, toAnnexB } from '../h264.js';
import { writeIvfFrame, writeIvfHeader } from '../ivf.js';
import { isRtcp, parseRtp, type RtpPacket } from '../rtp.js';
import { Vp8Depacketizer } from '../vp8.js';
import { bindLoopback, killQuietly, withParentDeath } from './ffmpeg.js';
import { type EncodeOptions, findFfmpeg, transcodeArgs } from './ffmpeg-args.js';
import { DEFAULT_RESTART_POLICY, type RestartPolicy, restartDelay } from './restart-policy.js';
import type { Source, SourceEvents, SourceState, VideoCodec } from './source.js';

export interface TranscodeOptions extends Partial<Pick<EncodeOptions, 'fps' | 'gopSeconds' | 'bitrate' | 'preset'>> {
  /** Restart backoff when ffmpeg dies; the same defaults as a source's. */
  readonly restart?: Partial<RestartPolicy>;
  /** Where to look for ffmpeg (PEERCAM_FFMPEG, PATH). Default process.env. */
  readonly env?: NodeJS.ProcessEnv;
  /** Most bytes waiting for ffmpeg before frames are dropped up to the next keyframe. Default 4 MiB. */
  readonly maxBacklogBytes?: number;
  readonly logger?: Logger;
}

/** The running stream a second encode is made from. */
export interface TranscodeInput {
  readonly source: Pick<Source, 'on' | 'codec' | 'spec'>;
  /** Its packets from the last keyframe up to now (the fan-out's cache): the encode starts from them, not a GOP later. */
  readonly gop: () => readonly RtpPacket[];
}

/** A frame rebuilt from the input's RTP, as ffmpeg gets it. */
interface InputFrame {
  readonly timestamp: number;
  readonly data: Uint8Array;
  readonly keyframe: boolean;
}

/** Ten seconds of 90 kHz ticks: a bigger jump between two frames is a restart of the input, not a pause. */
const MAX_FRAME_GAP = 10 * 90000;
const ONE_FRAME = 3000;

/**
 * The camera's stream in another codec, for viewers that cannot decode the first: one ffmpeg that decodes the frames
 * the camera already has (H.264 or VP8 RTP from the running source, rebuilt into frames and written to its stdin in
 * IVF with their own timestamps) and encodes them again. It never opens the camera a second time (a V4L2 device
 * cannot be opened twice, an IP camera may allow one client) and starts from the cached GOP, so its first frame
 * leaves within the time of decoding one GOP. Supervised like FfmpegSource: restarted with backoff when it dies.
 */
export class TranscodeSource extends Emitter<SourceEvents> implements Source {
  readonly clockRate = 90000;
  readonly audio = undefined;
  readonly spec: string;
  state: SourceState = 'starting';
  reason: string | undefined;
  /** The running ffmpeg's PID, undefined between runs. */
  pid: number | undefined;
  runs = 0;
  private socket: Socket | undefined;
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private stopping = false;
  private restartTimer: ReturnType<typeof setTimeout> | undefined;
  private attempt = 0;
  private liveSince: number | undefined;
  private stderrTail: string[] = [];
  private readonly policy: RestartPolicy;
  private readonly log: Logger;
  private readonly offInput: () => void;
  /** Per run: frames go in only from a keyframe on, with timestamps that always increase. */
  private depacketize: (packet: RtpPacket) => InputFrame[] = () => [];
  private inputSsrc: number | undefined;
  private keyed = false;
  private lastTs: number | undefined;
  private pts = 0;
  private backlogWarned = false;

  private constructor(
    private readonly input: TranscodeInput,
    readonly codec: VideoCodec,
    private readonly ffmpeg: string,
    private readonly options: TranscodeOptions,
  ) {
    super();
    this.spec = `${input.source.spec} as ${codec}`;
    this.policy = { ...DEFAULT_RESTART_POLICY, ...options.restart };
    this.log = (options.logger ?? silentLogger).child({ source: this.spec });
    this.offInput = input.source.on('packet', (packet, kind) => {
      if (kind === 'video') this.take(packet);
    });
    bindLoopback().then(
      (socket) => {
        if (this.stopping) {
          socket.close();
          return;
        }
        this.socket = socket;
        socket.on('message', (msg) => this.onDatagram(msg));
        this.launch();
      },
      (err: unknown) => this.setState('failed', `no loopback UDP socket for the ${codec} encode: ${String(err)}`),
    );
  }

  /**
   * Starts a second encode of `input` in `codec`. Throws PeercamError('media') at once when it cannot run here: no
   * ffmpeg (the message says how to install it) or nothing to convert.
   */
  static start(input: TranscodeInput, codec: VideoCodec, options: TranscodeOptions = {}): TranscodeSource {
    if (input.source.codec === codec) {
      throw new PeercamError('internal', `The source is ${codec} already: there is nothing to transcode.`);
    }
    const ffmpeg = findFfmpeg(options.env);
    return new TranscodeSource(input, codec, ffmpeg, options);
  }

  private launch(): void {
    this.restartTimer = undefined;
    if (this.stopping || !this.socket) return;
    const args = transcodeArgs(this.socket.address().port, {
      codec: this.codec,
      fps: this.options.fps ?? 30,
      gopSeconds: this.options.gopSeconds ?? 4,
      bitrate: this.options.bitrate ?? 2_000_000,
      preset: this.options.preset ?? 'veryfast',
    });
    this.stderrTail = [];
    this.liveSince = undefined;
    this.runs++;
    const child = spawn(...withParentDeath(this.ffmpeg, args), { stdio: ['pipe', 'ignore', 'pipe'] });
    this.child = child;
    this.pid = child.pid;
    this.log.info({ pid: child.pid, run: this.runs }, 'second encode started');
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => this.onStderr(chunk));
    child.stdin?.on('error', (err) => this.log.debug({ err: err.message }, 'the second encode stopped reading'));
    this.exited = new Promise((resolve) => {
      child.once('error', (err) => {
        this.child = undefined;
        this.pid = undefined;
        if (!this.stopping) this.setState('failed', `could not run ${this.ffmpeg}: ${err.message}`);
        resolve();
      });
      child.once('exit', (code, signal) => {
        this.child = undefined;
        this.pid = undefined;
        resolve();
        if (this.stopping || this.state === 'failed') return;
        const last = this.stderrTail.at(-1);
        const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
        this.scheduleRestart(last ? `ffmpeg ${how}: ${last}` : `ffmpeg ${how}`);
      });
    });
    this.pts = -ONE_FRAME; // the run's first frame is at 0
    child.stdin?.write(writeIvfHeader({ fourcc: this.input.source.codec === 'H264' ? 'H264' : 'VP80', width: 0, height: 0, rate: 90000, scale: 1 }));
    this.restartInput();
    for (const packet of this.input.gop()) this.take(packet);
  }

  /** Forgets the input's frame state: the next frame written is a keyframe. */
  private restartInput(): void {
    if (this.input.source.codec === 'H264') {
      const d = new H264Depacketizer();
      this.depacketize = (p) => d.push(p).map((u) => ({ timestamp: u.timestamp, data: toAnnexB(u.nals), keyframe: u.keyframe }));
    } else {
      const d = new Vp8Depacketizer();
      this.depacketize = (p) => d.push(p);
    }
    this.keyed = false;
    this.lastTs = undefined;
  }

  /** One packet of the input stream: rebuilt into frames, written to ffmpeg. */
  private take(packet: RtpPacket): void {
    const stdin = this.child?.stdin;
    if (!stdin || this.stopping) return;
    if (packet.ssrc !== this.inputSsrc) {
      if (this.inputSsrc !== undefined) this.restartInput(); // the input restarted: a new stream from its next keyframe
      this.inputSsrc = packet.ssrc;
    }
    for (const frame of this.depacketize(packet)) {
      if (!this.keyed && !frame.keyframe) continue;
      if (stdin.writableLength > (this.options.maxBacklogBytes ?? 4 * 1024 * 1024)) {
        // ffmpeg is not keeping up (an overloaded machine): skip to the next keyframe rather than fall further behind.
        if (!this.backlogWarned) this.log.warn({ backlog: stdin.writableLength }, 'the second encode is behind; skipping to the next keyframe');
        this.backlogWarned = true;
        this.keyed = false;
        continue;
      }
      this.keyed = true;
      // Timestamps must increase: after a restart of the input or a jump, continue one frame later.
      const delta = this.lastTs === undefined ? 0 : (frame.timestamp - this.lastTs) >>> 0;
      this.pts += delta > 0 && delta < MAX_FRAME_GAP ? delta : ONE_FRAME;
      this.lastTs = frame.timestamp;
      stdin.write(writeIvfFrame(this.pts, frame.data));
    }
  }

  private scheduleRestart(reason: string): void {
    const now = performance.now();
    if (this.liveSince !== undefined && now - this.liveSince >= this.policy.healthyAfterMs) this.attempt = 0;
    const delay = restartDelay(this.policy, this.attempt++);
    this.log.warn({ reason, delayMs: delay, attempt: this.attempt }, 'second encode restarting');
    this.setState('restarting', reason);
    this.restartTimer = setTimeout(() => this.launch(), delay);
  }

  private onStderr(chunk: string): void {
    for (const line of chunk.split(/\r?\n/)) {
      const text = line.trim();
      if (!text) continue;
      this.log.debug({ ffmpeg: text }, 'ffmpeg says');
      this.stderrTail.push(text);
      if (this.stderrTail.length > 8) this.stderrTail.shift();
    }
  }

  private onDatagram(msg: Buffer): void {
    if (!this.child || this.stopping || isRtcp(msg)) return;
    let packet: RtpPacket;
    try {
      packet = parseRtp(msg);
    } catch (err) {
      this.log.debug({ err }, 'dropped a datagram that is not RTP');
      return;
    }
    if (this.state !== 'live') {
      this.liveSince = performance.now();
      this.setState('live');
    }
    this.emit('packet', packet, 'video');
  }

  private setState(state: SourceState, reason?: string): void {
    this.state = state;
    this.reason = reason;
    this.emit('state', state, reason);
  }

  /** Ends ffmpeg by PID (SIGTERM, SIGKILL after 2 s), stops reading the input, closes the socket. Idempotent. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.offInput();
    this.setState('stopped');
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    this.child?.stdin?.destroy();
    const pid = this.pid;
    if (pid !== undefined) {
      killQuietly(pid, 'SIGTERM');
      const force = setTimeout(() => killQuietly(pid, 'SIGKILL'), 2000);
      await this.exited;
      clearTimeout(force);
    }
    this.socket?.close();
    this.removeAllListeners();
  }
}
