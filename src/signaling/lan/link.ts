import type { WebSocket } from 'ws';
import { type DeviceId, Emitter, type Logger, PROTOCOL_VERSION, type RoomId } from '../../protocol/index.js';
import { encodeFrame, type Frame, hello, parseFrame } from './frames.js';

/**
 * A link must say a valid hello within this time, or it is closed (slow-loris guard). Each end sends its hello the
 * moment the socket opens, so an honest peer needs one round trip.
 */
export const HELLO_TIMEOUT_MS = 2_000;
/** Silence longer than this many heartbeat intervals means the other end is gone. */
export const DEAD_AFTER_BEATS = 2.5;

/** WebSocket close codes of the LAN link (4000-4999 are application codes, RFC 6455 7.4.2). */
export const CloseCode = {
  normal: 1000,
  policy: 1008, // unknown, malformed or out-of-order frame (RFC 6455 7.4.1)
  tooBig: 1009,
  duplicate: 4000, // another link to the same device is kept
  foreignRoom: 4003,
  wrongDevice: 4004, // the device at this address is not the one its advertisement named
  version: 4026,
  noHello: 4008,
  busy: 4029, // too many links (in all, or to one device id)
} as const;

export interface LinkEvents {
  /** The hello checked out: the other end is `remote`, of our room. */
  ready: (remote: DeviceId) => void;
  /** The other end's sealed presence, or null once it cleared it. */
  presence: (payload: string | null) => void;
  /** A sealed payload for our inbox. */
  message: (payload: string) => void;
  /** The link is over (closed by either end, rejected, or silent too long). Emitted once. */
  closed: (why: string) => void;
}

export interface LinkOptions {
  readonly room: RoomId;
  readonly self: DeviceId;
  readonly direction: 'in' | 'out';
  /** For outbound links: the device the advertisement promised; anyone else is closed. */
  readonly expect?: DeviceId;
  readonly heartbeatMs: number;
  readonly now: () => number;
  readonly log: Logger;
}

/**
 * One WebSocket between two devices of a room, either direction: hello handshake, heartbeats, frame checks.
 * It never throws on bad input; every violation closes the link with a code and a logged reason.
 */
export class Link extends Emitter<LinkEvents> {
  remote: DeviceId | undefined;
  private lastHeard: number;
  private lastPing = 0;
  private readonly helloTimer: ReturnType<typeof setTimeout>;
  private beat: ReturnType<typeof setInterval> | undefined;
  private over = false;
  /** A retired duplicate still hands over messages already in flight on it, until its close handshake ends. */
  private retired = false;

  constructor(
    readonly socket: WebSocket,
    readonly options: LinkOptions,
  ) {
    super();
    this.lastHeard = options.now();
    this.helloTimer = setTimeout(() => this.close(CloseCode.noHello, `no valid hello within ${HELLO_TIMEOUT_MS} ms`), HELLO_TIMEOUT_MS);
    socket.on('message', (data, isBinary) => this.onData(data, isBinary));
    socket.on('close', (code, reason) => this.finish(`closed by the other end (${code}${reason.length ? ` ${reason.toString()}` : ''})`));
    socket.on('error', (err) => this.finish(`socket error: ${err.message}`));
    if (socket.readyState === socket.OPEN) this.start();
    else socket.once('open', () => this.start());
  }

  get direction(): 'in' | 'out' {
    return this.options.direction;
  }

  get isReady(): boolean {
    return this.remote !== undefined && !this.over;
  }

  /** Said hello, is not over, and something arrived on it within the last `ms`. */
  heardWithin(ms: number): boolean {
    return this.isReady && !this.retired && this.options.now() - this.lastHeard <= ms;
  }

  /** Sends a frame if the socket is open; false when it could not (the link is going down). */
  send(frame: Frame): boolean {
    if (this.over || this.retired || this.socket.readyState !== this.socket.OPEN) return false;
    this.socket.send(encodeFrame(frame));
    return true;
  }

  /** Closes with a reason the other end sees; `finish` runs on our side at once. */
  close(code: number, why: string): void {
    if (this.over) return;
    if (code !== CloseCode.normal) this.options.log.warn({ remote: this.remote, code, why }, 'closing LAN link');
    try {
      this.socket.close(code, why.slice(0, 120));
    } catch {
      this.socket.terminate();
    }
    this.finish(why);
  }

  /**
   * Retires this link in favour of another one to the same device: stops its heartbeat and presence, but still
   * delivers messages that were in flight on it, so a send racing with the switch-over is not lost.
   */
  retire(why: string): void {
    if (this.over || this.retired) return;
    this.retired = true;
    clearTimeout(this.helloTimer);
    if (this.beat) clearInterval(this.beat);
    this.socket.close(CloseCode.duplicate, why.slice(0, 120));
  }

  private start(): void {
    this.send(hello(this.options.room, this.options.self));
  }

  /** Runs 4 times per heartbeat interval, so silence is noticed within a quarter beat of the deadline. */
  private tick(): void {
    const now = this.options.now();
    const silent = now - this.lastHeard;
    if (silent > this.options.heartbeatMs * DEAD_AFTER_BEATS) {
      this.socket.terminate();
      this.finish(`no heartbeat for ${silent} ms`);
      return;
    }
    if (now - this.lastPing >= this.options.heartbeatMs) {
      this.lastPing = now;
      this.send({ t: 'ping' });
    }
  }

  private onData(data: Parameters<typeof parseFrame>[0], isBinary: boolean): void {
    if (this.over) return;
    const parsed = parseFrame(data, isBinary);
    if (this.retired) {
      if (parsed.ok && parsed.frame.t === 'msg') this.emit('message', parsed.frame.p);
      return;
    }
    if (!parsed.ok) {
      this.close(CloseCode.policy, parsed.why);
      return;
    }
    const frame = parsed.frame;
    if (this.remote === undefined) {
      // Only a hello may come first: anything else is a stranger (or a slow-loris) and is closed at once.
      if (frame.t === 'hello') this.onHello(frame);
      else this.close(CloseCode.policy, `first frame was '${frame.t}', expected hello`);
      return;
    }
    this.lastHeard = this.options.now();
    switch (frame.t) {
      case 'hello':
        this.close(CloseCode.policy, 'second hello on one link');
        break;
      case 'presence':
        this.emit('presence', frame.p ?? null);
        break;
      case 'msg':
        this.emit('message', frame.p);
        break;
      case 'ping':
        this.send({ t: 'pong' });
        break;
      case 'pong':
        break;
    }
  }

  private onHello(frame: Extract<Frame, { t: 'hello' }>): void {
    const { room, self, expect } = this.options;
    const refusal =
      frame.v !== PROTOCOL_VERSION
        ? ([CloseCode.version, `protocol v${frame.v}, we speak v${PROTOCOL_VERSION}`] as const)
        : frame.r !== room
          ? ([CloseCode.foreignRoom, `device ${frame.id} is in another room`] as const)
          : frame.id === self
            ? ([CloseCode.wrongDevice, 'that is ourselves'] as const)
            : expect !== undefined && frame.id !== expect
              ? ([CloseCode.wrongDevice, `expected device ${expect}, found ${frame.id}`] as const)
              : undefined;
    if (refusal) {
      this.close(refusal[0], refusal[1]);
      return;
    }
    clearTimeout(this.helloTimer);
    this.lastHeard = this.options.now();
    this.remote = frame.id;
    // Heartbeats start with the hello: before it, only the hello deadline applies.
    this.lastPing = this.options.now();
    this.send({ t: 'ping' });
    this.beat = setInterval(() => this.tick(), this.options.heartbeatMs / 4);
    this.emit('ready', frame.id);
  }

  private finish(why: string): void {
    if (this.over) return;
    this.over = true;
    clearTimeout(this.helloTimer);
    if (this.beat) clearInterval(this.beat);
    this.emit('closed', why);
    this.removeAllListeners();
  }
}
