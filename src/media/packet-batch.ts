/** A batch's bytes before it is sent early, whatever its age: keeps one burst inside a receiver's socket buffer. */
const DEFAULT_MAX_BYTES = 128 * 1024;

export interface PacketBatchOptions {
  /** The longest a packet is held: the batch goes out this long after its first packet. */
  readonly intervalMs: number;
  /** Send the batch early when holding one more packet would pass this many bytes. Default 128 KiB. */
  readonly maxBytes?: number;
}

/**
 * Holds the packets bound for one viewer that takes its media in bursts (a recorder: `batchMs` in its offer) and sends
 * them together, in order, `intervalMs` after the first one: the receiver's threads wake a few times a second instead
 * of once per frame. Every packet keeps its RTP timestamps, so the media's timing is unchanged. Packets are copied into
 * one reused buffer (senders reuse theirs: see ViewerOptions.sink); sinks must send synchronously, as
 * libdatachannel's send does. No timer runs while nothing is held.
 */
export class PacketBatch {
  private readonly maxBytes: number;
  private buffer: Uint8Array;
  private used = 0;
  private readonly ends: number[] = [];
  private readonly sinks: ((packet: Uint8Array) => unknown)[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private closed = false;
  /** Bursts sent (by the timer or early), for tests and stats. */
  bursts = 0;

  constructor(private readonly options: PacketBatchOptions) {
    this.maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
    this.buffer = new Uint8Array(Math.min(this.maxBytes, 64 * 1024));
  }

  /** A sink that holds what it is given for `sink` (copied: the caller may reuse its bytes after the call). */
  wrap(sink: (packet: Uint8Array) => unknown): (packet: Uint8Array) => void {
    return (packet) => this.hold(sink, packet);
  }

  /** Holds `packet` for `sink`; sends the batch first when the packet would not fit in it. */
  hold(sink: (packet: Uint8Array) => unknown, packet: Uint8Array): void {
    if (this.closed) return;
    if (this.used > 0 && this.used + packet.length > this.maxBytes) this.flush();
    if (this.used + packet.length > this.buffer.length) {
      const grown = new Uint8Array(Math.max(this.buffer.length * 2, this.used + packet.length));
      grown.set(this.buffer.subarray(0, this.used));
      this.buffer = grown;
    }
    this.buffer.set(packet, this.used);
    this.used += packet.length;
    this.ends.push(this.used);
    this.sinks.push(sink);
    if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), this.options.intervalMs);
      this.timer.unref?.();
    }
  }

  /** Sends everything held now, in the order it came. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.used === 0) return;
    this.bursts++;
    let start = 0;
    try {
      for (let i = 0; i < this.ends.length; i++) {
        const end = this.ends[i]!;
        this.sinks[i]!(this.buffer.subarray(start, end));
        start = end;
      }
    } finally {
      this.used = 0;
      this.ends.length = 0;
      this.sinks.length = 0;
    }
  }

  /** Drops what is held (the peer is closing: a send after its close is not allowed) and stops the timer. */
  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.used = 0;
    this.ends.length = 0;
    this.sinks.length = 0;
  }
}
