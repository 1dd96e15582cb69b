import { type ChildProcess, spawn } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { existsSync } from 'node:fs';
import { Emitter, type Logger, PeercamError, silentLogger } from '../../protocol/index.js';
import { type AudioDevice, describeAudioDevice, parseAudioDevice } from '../audio-device.js';
import { isRtcp, parseRtp } from '../rtp.js';
import { type AnalysisSize, analysisSize, canDrawText, type EncodeOptions, ffmpegArgs, findFfmpeg, probeInput } from './ffmpeg-args.js';
import { DEFAULT_RESTART_POLICY, type RestartPolicy, restartDelay } from './restart-policy.js';
import type { AudioInfo, MediaKind, Source, SourceEvents, SourceState, VideoCodec } from './source.js';
import { describeSourceSpec, type SourceSpec } from './spec.js';

const SETPRIV = '/usr/bin/setpriv';

/**
 * An encoder that outlives a camera killed with SIGKILL keeps encoding for a socket nobody reads, forever (seen: a
 * dozen orphans after a day of tests). setpriv (util-linux, on every Debian) execs ffmpeg with PR_SET_PDEATHSIG, so
 * the kernel ends it with us; the PID stays ffmpeg's.
 */
export function withParentDeath(command: string, args: string[]): [string, string[]] {
  return existsSync(SETPRIV) ? [SETPRIV, ['--pdeathsig', 'SIGKILL', '--', command, ...args]] : [command, args];
}

export interface FfmpegSourceOptions extends Partial<Omit<EncodeOptions, 'clock' | 'mic' | 'analysis'>> {
  /** Restart backoff; defaults to 1 s doubling to 30 s with 20% jitter, reset after a healthy minute. */
  readonly restart?: Partial<RestartPolicy>;
  /**
   * Send the input's audio as Opus when the input has audio ('auto': files and RTSP streams, found with ffprobe). testsrc and
   * V4L2 cameras have none of their own (give them `mic`). Default 'auto'.
   */
  readonly audio?: 'auto' | false;
  /**
   * A microphone to send as the audio of a testsrc or V4L2 source (`--mic`: see parseAudioDevice), captured and
   * Opus-encoded by the same ffmpeg. A microphone that fails stops that ffmpeg: the source restarts as a whole.
   */
  readonly mic?: string | AudioDevice;
  /** Also emit small decoded frames for motion detection (`frame` events), `height` px high at `fps`. */
  readonly analysis?: { readonly height?: number; readonly fps?: number } | undefined;
  /** Where to look for ffmpeg (PEERCAM_FFMPEG, PATH). Default process.env. */
  readonly env?: NodeJS.ProcessEnv;
  readonly logger?: Logger;
}

const DEFAULTS: Omit<EncodeOptions, 'clock' | 'analysis'> = {
  width: 1280,
  height: 720,
  fps: 30,
  bitrate: 2_000_000,
  gopSeconds: 4,
  preset: 'veryfast',
  codec: 'H264',
};

type FfmpegSpec = Exclude<SourceSpec, { kind: 'demo' }>;

/**
 * A source produced by an ffmpeg child writing RTP to a UDP socket we bind on 127.0.0.1. The child is supervised:
 * when it exits or is killed the source goes 'restarting' with ffmpeg's last words as the reason and starts it again
 * after a backoff, so an unplugged camera or a dropped RTSP feed comes back by itself.
 */
export class FfmpegSource extends Emitter<SourceEvents> implements Source {
  readonly codec: VideoCodec;
  readonly clockRate = 90000;
  readonly audio: AudioInfo | undefined;
  readonly spec: string;
  readonly analysis: AnalysisSize | undefined;
  state: SourceState = 'starting';
  reason: string | undefined;
  /** The running child's PID, undefined between runs. */
  pid: number | undefined;
  /** Children started so far (1 + restarts). */
  runs = 0;
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private stopping = false;
  private restartTimer: ReturnType<typeof setTimeout> | undefined;
  private attempt = 0;
  private liveSince: number | undefined;
  private stderrTail: string[] = [];
  private readonly policy: RestartPolicy;
  private readonly log: Logger;

  private constructor(
    private readonly source: FfmpegSpec,
    private readonly ffmpeg: string,
    private readonly socket: Socket,
    private readonly audioSocket: Socket | undefined,
    private readonly encode: EncodeOptions,
    options: FfmpegSourceOptions,
  ) {
    super();
    this.spec = describeSourceSpec(source);
    this.codec = encode.codec;
    this.policy = { ...DEFAULT_RESTART_POLICY, ...options.restart };
    this.log = (options.logger ?? silentLogger).child({ source: this.spec });
    this.audio = audioSocket ? { codec: 'opus', clockRate: 48000, channels: 2 } : undefined;
    this.analysis = encode.analysis;
    socket.on('message', (msg) => this.onDatagram(msg, 'video'));
    audioSocket?.on('message', (msg) => this.onDatagram(msg, 'audio'));
    this.launch();
  }

  /**
   * Finds ffmpeg, binds the socket and starts the first run. Rejects with a PeercamError when ffmpeg is missing or a
   * file does not exist; a missing camera is not an error here, it shows as 'restarting' until it is plugged in.
   */
  static async open(spec: FfmpegSpec, options: FfmpegSourceOptions = {}): Promise<FfmpegSource> {
    const ffmpeg = findFfmpeg(options.env);
    if (spec.kind === 'file' && !existsSync(spec.path)) {
      throw new PeercamError('media', `The video file ${spec.path} does not exist. Check the path after "file:".`);
    }
    const mic = micOf(spec, options.mic);
    const probed = await probeInput(ffmpeg, spec);
    const base = encodeOptions(options, spec.kind === 'testsrc' && (await canDrawText(ffmpeg)));
    const a = options.analysis;
    // RTSP keeps the camera's own size (unknown here): 16:9 assumed, a distortion the detector does not mind.
    const analysis = a ? analysisSize(spec.kind === 'rtsp' ? undefined : base, a.height, a.fps) : undefined;
    const encode = { ...base, inputCodec: probed.video, ...(mic ? { mic } : {}), ...(analysis ? { analysis } : {}) };
    if (spec.kind === 'rtsp' && probed.video !== undefined && probed.video !== 'h264' && encode.codec === 'H264') {
      (options.logger ?? silentLogger).warn(
        { input: probed.video },
        `the RTSP stream is ${probed.video}, not H.264: re-encoding it to H.264 (costs CPU; set the camera to H.264 to avoid it)`,
      );
    }
    const withAudio = mic !== undefined || (options.audio !== false && probed.audio);
    const socket = await bindLoopback();
    const audioSocket = withAudio ? await bindLoopback() : undefined;
    return new FfmpegSource(spec, ffmpeg, socket, audioSocket, encode, options);
  }

  private launch(): void {
    this.restartTimer = undefined;
    if (this.stopping) return;
    if (this.source.kind === 'v4l2' && !existsSync(this.source.device)) {
      this.scheduleRestart(`camera ${this.source.device} not found (unplugged?)`);
      return;
    }
    const ports = { video: this.socket.address().port, audio: this.audioSocket?.address().port };
    const args = ffmpegArgs(this.source, ports, this.encode);
    this.stderrTail = [];
    this.liveSince = undefined;
    this.runs++;
    const child = spawn(...withParentDeath(this.ffmpeg, args), { stdio: ['ignore', 'ignore', 'pipe', ...(this.analysis ? ['pipe' as const] : [])] });
    this.child = child;
    if (this.analysis) this.readFrames(child, this.analysis);
    this.pid = child.pid;
    this.log.info({ pid: child.pid, run: this.runs }, 'ffmpeg started');
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => this.onStderr(chunk));
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
  }

  /** Cuts fd 3 into frames. Always read, so the pipe never fills and stalls the encode of the same ffmpeg. */
  private readFrames(child: ChildProcess, a: AnalysisSize): void {
    const size = (a.width * a.height * 3) / 2;
    const pipe = child.stdio[3];
    if (!pipe || !('on' in pipe)) return;
    let buf: Buffer = Buffer.alloc(0);
    pipe.on('data', (chunk: Buffer) => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      while (buf.length >= size) {
        const data = new Uint8Array(buf.subarray(0, size));
        buf = buf.subarray(size);
        if (!this.stopping && this.child === child) this.emit('frame', { width: a.width, height: a.height, data, at: Date.now() });
      }
    });
    pipe.on('error', () => {}); // ends with the child; its exit is what counts
  }

  private scheduleRestart(reason: string): void {
    const now = performance.now();
    if (this.liveSince !== undefined && now - this.liveSince >= this.policy.healthyAfterMs) this.attempt = 0;
    const delay = restartDelay(this.policy, this.attempt++);
    this.log.warn({ reason, delayMs: delay, attempt: this.attempt }, 'source restarting');
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

  private onDatagram(msg: Buffer, kind: MediaKind): void {
    // No child: packets a killed ffmpeg left in the socket buffer must not make a restarting source look live.
    if (!this.child || this.stopping || isRtcp(msg)) return; // RTCP: ffmpeg's sender reports, nothing to act on
    let packet: ReturnType<typeof parseRtp>;
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
    this.emit('packet', packet, kind);
  }

  private setState(state: SourceState, reason?: string): void {
    this.state = state;
    this.reason = reason;
    this.emit('state', state, reason);
  }

  /** Ends the child by PID (SIGTERM, SIGKILL after 2 s), closes the socket. Idempotent. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.setState('stopped');
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    const pid = this.pid;
    if (pid !== undefined) {
      killQuietly(pid, 'SIGTERM');
      const force = setTimeout(() => killQuietly(pid, 'SIGKILL'), 2000);
      await this.exited;
      clearTimeout(force);
    }
    this.socket.close();
    this.audioSocket?.close();
    this.removeAllListeners();
  }
}

/** The `--mic` device, checked against the source: only sources without audio of their own take a microphone. */
function micOf(spec: FfmpegSpec, mic: string | AudioDevice | undefined): AudioDevice | undefined {
  if (mic === undefined) return undefined;
  const device = typeof mic === 'string' ? parseAudioDevice(mic, 'microphone') : mic;
  if (spec.kind !== 'testsrc' && spec.kind !== 'v4l2') {
    throw PeercamError.config(
      `--mic ${describeAudioDevice(device)} works with testsrc and v4l2 sources; ${describeSourceSpec(spec)} sends the audio it carries (if any).`,
    );
  }
  return device;
}

export async function bindLoopback(): Promise<Socket> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind({ address: '127.0.0.1', port: 0 }, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  // ffmpeg's RTP muxer sends a keyframe in one burst; a larger buffer avoids drops while we are busy.
  socket.setRecvBufferSize(4 * 1024 * 1024);
  return socket;
}

export function killQuietly(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

/** Options with defaults filled in; throws PeercamError('bad-config') for values no encoder accepts. */
function encodeOptions(o: FfmpegSourceOptions, clock: boolean): Omit<EncodeOptions, 'analysis'> {
  const e: Omit<EncodeOptions, 'analysis'> = {
    width: o.width ?? DEFAULTS.width,
    height: o.height ?? DEFAULTS.height,
    fps: o.fps ?? DEFAULTS.fps,
    bitrate: o.bitrate ?? DEFAULTS.bitrate,
    gopSeconds: o.gopSeconds ?? DEFAULTS.gopSeconds,
    preset: o.preset ?? DEFAULTS.preset,
    codec: o.codec ?? DEFAULTS.codec,
    clock,
  };
  const even = (n: number) => Number.isInteger(n) && n >= 16 && n <= 7680 && n % 2 === 0;
  if (!even(e.width) || !even(e.height)) {
    throw PeercamError.config(`The video size ${e.width}x${e.height} is not usable: use even numbers, e.g. 1280x720.`);
  }
  if (!(e.fps >= 1 && e.fps <= 120)) throw PeercamError.config(`The frame rate ${e.fps} is not usable: use 1 to 120.`);
  if (!(e.bitrate >= 50_000)) throw PeercamError.config(`The bitrate ${e.bitrate} b/s is too low: use at least 50000.`);
  if (!(e.gopSeconds > 0 && e.gopSeconds <= 60)) {
    throw PeercamError.config(`The keyframe interval ${e.gopSeconds} s is not usable: use more than 0 and at most 60.`);
  }
  if (!/^[a-z]+$/.test(e.preset)) throw PeercamError.config(`The x264 preset "${e.preset}" is not valid, e.g. veryfast.`);
  return e;
}
