import { type ChildProcess, spawn } from 'node:child_process';
import { Emitter, type Logger, PeercamError, silentLogger } from '../../protocol/index.js';
import { type AudioDevice, audioOutputArgs, describeAudioDevice, parseAudioDevice } from '../audio-device.js';
import { OggOpusWriter } from '../ogg-opus.js';
import { OPUS_SILENCE_20MS } from '../opus.js';
import { parseRtp, type RtpPacket, seqDelta } from '../rtp.js';
import { withParentDeath } from '../sources/ffmpeg.js';
import { findFfmpeg } from '../sources/ffmpeg-args.js';
import { DEFAULT_RESTART_POLICY, type RestartPolicy, restartDelay } from '../sources/restart-policy.js';

/** starting: the player is opening the device. ready: it plays what arrives. restarting/failed: `reason` says why. */
export type SpeakerState = 'starting' | 'ready' | 'restarting' | 'failed' | 'stopped';

export interface SpeakerEvents {
  /** The player changed state; `reason` is a sentence for the user when restarting or failed. */
  state: (state: SpeakerState, reason: string | undefined) => void;
  /** A viewer took the speaker (its first sound after silence) or went quiet. */
  talk: (talker: string, change: 'started' | 'stopped') => void;
}

export interface SpeakerOptions {
  /** Where to look for ffmpeg (PEERCAM_FFMPEG, PATH) and the player's environment (PULSE_SERVER...). Default process.env. */
  readonly env?: NodeJS.ProcessEnv;
  readonly logger?: Logger;
  /** How long a talker keeps the speaker after its last packet; others are not heard meanwhile. Default 500 ms. */
  readonly holdMs?: number;
  /** Restart backoff of a player that died (device unplugged, sound server restarted). */
  readonly restart?: Partial<RestartPolicy>;
}

/** Bytes waiting for a stuck player beyond which packets are dropped rather than piled up (about 10 s of voice). */
const MAX_QUEUED = 128 * 1024;
/** Silence written when a talker goes quiet: pushes the last words out of the device's start threshold. */
const TAIL_FRAMES = 10;

/**
 * Plays viewers' talk-back (Opus RTP) on this machine's speaker through one ffmpeg child reading Ogg Opus on stdin
 * (ffmpeg decodes; PulseAudio or ALSA plays). One viewer is heard at a time (last talker wins once the previous one
 * has been quiet for `holdMs`): one stream per device also works on a raw ALSA `hw:` device, which cannot mix.
 * The player is started at once with a few silent frames, so a wrong or missing device is reported at start; when
 * it dies it is started again after a backoff, and talk-back arriving meanwhile is dropped. Never throws at a caller
 * after `open`.
 */
export class Speaker extends Emitter<SpeakerEvents> {
  state: SpeakerState = 'starting';
  reason: string | undefined;
  /** The running player's PID, undefined between runs. */
  pid: number | undefined;
  /** Players started so far (1 + restarts). */
  runs = 0;
  /** Talk-back packets handed to the player so far. */
  played = 0;
  readonly device: AudioDevice;
  private child: ChildProcess | undefined;
  private writer = new OggOpusWriter(1);
  private talker: string | undefined;
  private lastPacketAt = 0;
  private lastSeq: number | undefined;
  private quietTimer: ReturnType<typeof setTimeout> | undefined;
  private restartTimer: ReturnType<typeof setTimeout> | undefined;
  private exited: Promise<void> = Promise.resolve();
  private attempt = 0;
  private readySince: number | undefined;
  private stderrTail: string[] = [];
  private partial = '';
  private stopping = false;
  private readonly holdMs: number;
  private readonly env: NodeJS.ProcessEnv;
  private readonly policy: RestartPolicy;
  private readonly log: Logger;

  private constructor(
    device: AudioDevice,
    private readonly ffmpeg: string,
    options: SpeakerOptions,
  ) {
    super();
    this.env = options.env ?? process.env;
    this.device = device;
    this.holdMs = options.holdMs ?? 500;
    this.policy = { ...DEFAULT_RESTART_POLICY, ...options.restart };
    this.log = (options.logger ?? silentLogger).child({ speaker: describeAudioDevice(device) });
    this.launch();
  }

  /**
   * Starts the player for a `--speaker` value (see parseAudioDevice). Throws PeercamError: 'bad-config' for a value
   * that names no device, 'media' when ffmpeg is missing. A device that cannot be opened shows as a state change.
   */
  static open(device: string | AudioDevice, options: SpeakerOptions = {}): Speaker {
    const parsed = typeof device === 'string' ? parseAudioDevice(device, 'speaker') : device;
    let ffmpeg: string;
    try {
      ffmpeg = findFfmpeg(options.env);
    } catch (err) {
      throw new PeercamError('media', `Talk-back needs ffmpeg to play sound: ${(err as Error).message}`, { cause: err });
    }
    return new Speaker(parsed, ffmpeg, options);
  }

  /**
   * One RTP packet of a viewer's talk-back (`talker` tells viewers apart). Played when this viewer holds the speaker,
   * or takes it because the previous talker has been quiet for `holdMs`; dropped otherwise.
   */
  play(talker: string, rtp: Uint8Array): void {
    if (this.stopping) return;
    let packet: RtpPacket;
    try {
      packet = parseRtp(rtp);
    } catch {
      return;
    }
    if (packet.payload.length === 0) return;
    const now = performance.now();
    if (this.talker !== talker) {
      if (this.talker !== undefined && now - this.lastPacketAt < this.holdMs) return;
      if (this.talker !== undefined) this.emit('talk', this.talker, 'stopped');
      this.talker = talker;
      this.lastSeq = undefined;
      this.emit('talk', talker, 'started');
    }
    // There is no jitter buffer: a packet older than one already played (late or repeated) is dropped, not replayed.
    if (this.lastSeq !== undefined && seqDelta(this.lastSeq, packet.sequenceNumber) <= 0) return;
    this.lastSeq = packet.sequenceNumber;
    this.lastPacketAt = now;
    clearTimeout(this.quietTimer);
    this.quietTimer = setTimeout(() => this.quiet(), this.holdMs);
    if (this.write(this.writer.packet(packet.payload))) this.played++;
  }

  private quiet(): void {
    this.quietTimer = undefined;
    const talker = this.talker;
    if (talker === undefined) return;
    this.talker = undefined;
    for (let i = 0; i < TAIL_FRAMES; i++) this.write(this.writer.packet(OPUS_SILENCE_20MS));
    this.emit('talk', talker, 'stopped');
  }

  /** Hands a page to the player; false when there is none to take it, or it is too far behind. */
  private write(page: Uint8Array | undefined): boolean {
    const stdin = this.child?.stdin;
    if (!page || !stdin?.writable || this.state === 'restarting' || stdin.writableLength > MAX_QUEUED) return false;
    stdin.write(page);
    return true;
  }

  private launch(): void {
    this.restartTimer = undefined;
    if (this.stopping) return;
    const args = [
      ...['-hide_banner', '-nostdin', '-nostats', '-loglevel', 'info'],
      // Start decoding from the first page: the stream's parameters are all in its header.
      ...['-fflags', 'nobuffer', '-probesize', '32', '-analyzeduration', '0', '-f', 'ogg', '-i', 'pipe:0'],
      ...audioOutputArgs(this.device),
    ];
    this.runs++;
    this.stderrTail = [];
    this.partial = '';
    this.readySince = undefined;
    this.writer = new OggOpusWriter(1);
    if (this.state !== 'starting') this.setState('starting');
    const child = spawn(...withParentDeath(this.ffmpeg, args), { env: this.env, stdio: ['pipe', 'ignore', 'pipe'] });
    this.child = child;
    this.pid = child.pid;
    this.log.info({ pid: child.pid, run: this.runs }, 'talk-back player started');
    child.stdin.on('error', (err) => this.log.debug({ err }, 'the talk-back player stopped reading'));
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => this.onStderr(chunk));
    this.exited = new Promise((resolve) => {
      child.once('error', (err) => {
        this.child = undefined;
        this.pid = undefined;
        resolve();
        if (!this.stopping) this.setState('failed', `could not run ${this.ffmpeg}: ${err.message}`);
      });
      child.once('exit', (code, signal) => {
        if (this.child === child) this.child = undefined;
        this.pid = undefined;
        resolve();
        if (this.stopping || this.state === 'failed') return;
        if (this.partial.trim()) this.stderrTail.push(this.partial.trim());
        const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
        const words = lastWords(this.stderrTail);
        this.scheduleRestart(`the player (ffmpeg) for ${describeAudioDevice(this.device)} ${how}${words ? `: ${words}` : ''}`);
      });
    });
    // The header and a few silent frames make ffmpeg open the device now: a wrong device is reported at start.
    child.stdin.write(this.writer.headers());
    for (let i = 0; i < 3; i++) child.stdin.write(this.writer.packet(OPUS_SILENCE_20MS) ?? new Uint8Array());
  }

  private onStderr(chunk: string): void {
    // Chunks end anywhere: keep a partial last line until the rest arrives.
    const lines = (this.partial + chunk).split(/\r?\n/);
    this.partial = lines.pop() ?? '';
    for (const line of lines) {
      const text = line.trim();
      if (!text) continue;
      this.log.debug({ ffmpeg: text }, 'talk-back player says');
      // ffmpeg prints the output's description only after the device opened (write_header succeeded).
      if (/^Output #0/.test(text) && this.state === 'starting') {
        this.readySince = performance.now();
        this.setState('ready');
      }
      this.stderrTail.push(text);
      if (this.stderrTail.length > 12) this.stderrTail.shift();
    }
  }

  private scheduleRestart(reason: string): void {
    if (this.readySince !== undefined && performance.now() - this.readySince >= this.policy.healthyAfterMs) this.attempt = 0;
    const delay = restartDelay(this.policy, this.attempt++);
    this.log.warn({ reason, delayMs: delay }, 'talk-back player restarting');
    this.setState('restarting', `${reason} (trying again in ${Math.round(delay / 1000)} s)`);
    this.restartTimer = setTimeout(() => this.launch(), delay);
  }

  private setState(state: SpeakerState, reason?: string): void {
    this.state = state;
    this.reason = reason;
    this.emit('state', state, reason);
  }

  /** Ends the player by PID (stdin closed, SIGKILL after 2 s). Idempotent. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    clearTimeout(this.quietTimer);
    clearTimeout(this.restartTimer);
    this.setState('stopped');
    const child = this.child;
    if (child) {
      child.stdin?.end();
      const pid = child.pid;
      const force = setTimeout(() => pid !== undefined && killQuietly(pid), 2000);
      await this.exited;
      clearTimeout(force);
    }
    this.removeAllListeners();
  }
}

/**
 * What ffmpeg said that explains its exit: its error lines without the "[muxer @ 0x...]" prefixes and without the
 * generic trailers ("Conversion failed!"), e.g. "Stream failed. / Could not write header for output file #0 ...".
 */
function lastWords(tail: readonly string[]): string {
  const generic = /^(Conversion failed|Error initializing output stream|Input #|Output #|Stream #|Stream mapping|Duration|Metadata|encoder|Press \[q\])/;
  const lines = tail.map((l) => l.replace(/^\[[^\]]*@ 0x[0-9a-f]+\]\s*/, '')).filter((l) => l && !generic.test(l));
  return lines.slice(-2).join(' / ') || tail.at(-1) || '';
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}
