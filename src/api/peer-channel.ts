import { type DeviceId, Emitter, PeercamError } from '../protocol/index.js';

/** A message on a PeerChannel: text arrives as a string, binary as bytes. */
export type ChannelMessage = string | Uint8Array;

/** What PeerChannel needs of an engine's data channel (the browser's RTCDataChannel, node-datachannel's). */
export interface RawChannel {
  /** Whether messages can be sent now. */
  readonly isOpen: boolean;
  /** Bytes queued in the engine, not yet handed to the network. */
  readonly bufferedAmount: number;
  /** Queues one message. */
  send(data: ChannelMessage): void;
  /** `low` fires once bufferedAmount falls to this many bytes. */
  setLowThreshold(bytes: number): void;
  /** Sets the callbacks (once). */
  bind(handlers: RawChannelHandlers): void;
  /** Closes the channel. */
  close(): void;
}

/** Callbacks a RawChannel calls. */
export interface RawChannelHandlers {
  /** The channel opened. */
  open(): void;
  /** A message arrived. */
  message(data: ChannelMessage): void;
  /** bufferedAmount fell to the low threshold. */
  low(): void;
  /** The channel closed (not by us). */
  closed(): void;
}

/** Events of a PeerChannel. */
export interface PeerChannelEvents {
  /** A message from the other device. */
  message: (data: ChannelMessage, from: DeviceId) => void;
  /** The queue fell back below `lowWaterMark` after send() returned false: sending may go on. */
  drain: () => void;
  /** The channel closed (either side, or the connection was lost); `reason` says why. */
  close: (reason: string) => void;
}

/** Backpressure limits of a PeerChannel, in bytes. */
export interface ChannelLimits {
  /** send() returns false once this much is queued. Default 1 MiB. */
  readonly highWaterMark?: number;
  /** `drain` fires once the queue is back down to this. Default 256 KiB. */
  readonly lowWaterMark?: number;
}

/**
 * A data channel to one device of the room, peer to peer (the broker carries only the sealed handshake). Messages keep
 * their order and arrive reliably. Backpressure like a Node stream: `send()` returns false when the queue passed the
 * high-water mark; wait for `drain()` (or the `drain` event) before sending more.
 */
export class PeerChannel extends Emitter<PeerChannelEvents> {
  private raw: RawChannel | undefined;
  private ended: string | undefined;
  private opened = false;
  private readonly high: number;
  private readonly low: number;
  private readonly waiters = new Set<{ resolve: () => void; reject: (err: PeercamError) => void }>();
  private readonly openWaiters = new Set<{ resolve: () => void; reject: (err: PeercamError) => void }>();
  private onClose: (() => void) | undefined;
  /** Messages that arrived before anyone listened (the `channel` event fires a tick after the channel opened). */
  private early: ChannelMessage[] | undefined = [];

  constructor(
    /** The device at the other end. */
    readonly device: DeviceId,
    /** The label both ends gave this channel. */
    readonly label: string,
    limits: ChannelLimits = {},
  ) {
    super();
    this.high = limits.highWaterMark ?? 1024 * 1024;
    this.low = Math.min(limits.lowWaterMark ?? 256 * 1024, this.high);
  }

  /** Whether messages can be sent now. */
  get open(): boolean {
    return this.ended === undefined && this.opened && this.raw?.isOpen === true;
  }

  /** Bytes queued locally, not yet sent. */
  get bufferedAmount(): number {
    return this.raw?.bufferedAmount ?? 0;
  }

  /**
   * Sends a text or binary message. Returns false when the queue is above the high-water mark (the message is still
   * queued): wait for `drain()` before sending more. Throws a PeercamError 'closed' once the channel is closed.
   */
  send(data: ChannelMessage): boolean {
    if (!this.open || !this.raw) throw new PeercamError('closed', `The channel to ${this.device} is closed${this.ended ? ` (${this.ended})` : ''}; open a new one.`);
    this.raw.send(data);
    return this.raw.bufferedAmount < this.high;
  }

  /** The first `message` listener also gets the messages that arrived before it (in order, at once). */
  override on<K extends keyof PeerChannelEvents>(event: K, listener: PeerChannelEvents[K]): () => void {
    const off = super.on(event, listener);
    if (event === 'message' && this.early) {
      const early = this.early;
      this.early = undefined;
      for (const data of early) this.emit('message', data, this.device);
    }
    return off;
  }

  /** Resolves once the queue is at or below the low-water mark; rejects with 'closed' if the channel closes first. */
  drain(): Promise<void> {
    if (this.ended !== undefined) return Promise.reject(new PeercamError('closed', `The channel to ${this.device} closed: ${this.ended}.`));
    if (this.bufferedAmount <= this.low) return Promise.resolve();
    return new Promise((resolve, reject) => this.waiters.add({ resolve, reject }));
  }

  /** Closes the channel and its peer connection; the other side gets `close`. Idempotent. */
  close(): void {
    this.end('closed by this side');
  }

  /** @internal Binds the engine's channel once the peer has one. */
  attach(raw: RawChannel): void {
    if (this.ended !== undefined) {
      raw.close();
      return;
    }
    // A new connection's channel replaces a failed attempt's (openChannel tries again until one opens): the old one's
    // late callbacks are not this channel's any more.
    this.raw?.close();
    this.raw = raw;
    const current = () => this.raw === raw;
    raw.setLowThreshold(this.low);
    raw.bind({
      open: () => current() && this.markOpen(),
      message: (data) => {
        if (this.ended !== undefined || !current()) return;
        if (this.early) this.early.push(data);
        else this.emit('message', data, this.device);
      },
      low: () => {
        if (!current()) return;
        for (const w of this.waiters) w.resolve();
        this.waiters.clear();
        this.emit('drain');
      },
      closed: () => current() && this.end('the other side closed it'),
    });
    if (raw.isOpen) this.markOpen();
  }

  /** @internal Resolves when open; rejects when it ends first. */
  whenOpen(): Promise<void> {
    if (this.opened) return Promise.resolve();
    if (this.ended !== undefined) return Promise.reject(new PeercamError('closed', `The channel to ${this.device} closed: ${this.ended}.`));
    return new Promise((resolve, reject) => this.openWaiters.add({ resolve, reject }));
  }

  /** @internal What to do when the channel ends (close the session carrying it). */
  onEnd(fn: () => void): void {
    this.onClose = fn;
  }

  /** @internal The channel or its session ended. */
  end(reason: string, code: PeercamError['code'] = 'closed'): void {
    if (this.ended !== undefined) return;
    this.ended = reason;
    const err = new PeercamError(code, `The channel to ${this.device} closed: ${reason}.`);
    for (const w of [...this.waiters, ...this.openWaiters]) w.reject(err);
    this.waiters.clear();
    this.openWaiters.clear();
    try {
      this.raw?.close();
    } catch {
      // the engine closed it already
    }
    this.onClose?.();
    this.emit('close', reason);
    this.removeAllListeners();
  }

  private markOpen(): void {
    if (this.opened || this.ended !== undefined) return;
    this.opened = true;
    for (const w of this.openWaiters) w.resolve();
    this.openWaiters.clear();
  }
}
