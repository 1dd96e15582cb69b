import type { ChannelMessage, PeerChannel } from '../../api/peer-channel.js';
import { PeercamError } from '../../protocol/errors.js';
import {
  type ClipHeader,
  parseChunk,
  parseRecordingsReply,
  type RecordingsRequest,
} from '../../protocol/recordings-wire.js';

/** What a clip stream tells its reader. */
export interface ClipReader {
  /** Bytes of the clip, in order. */
  readonly onBytes: (bytes: Uint8Array) => void;
  /** The recorder sent everything it will send (`bytes` in all), or the stream was cancelled. */
  readonly onDone: (bytes: number) => void;
}

/** A reply takes a few ms; a clip's header one file read more. */
const REPLY_TIMEOUT_MS = 20_000;

type Ask = RecordingsRequest extends infer R ? (R extends unknown ? Omit<R, 'id'> : never) : never;

/**
 * Requests over one open recordings data channel (protocol/recordings-wire.ts): JSON asks and replies, binary clips.
 * The recorder paces clips by the credit the reader gives (no queue builds up here: the page sends small asks only).
 */
export class RecordingsLink {
  private next = 1;
  private readonly pending = new Map<number, { resolve: (body: unknown) => void; reject: (err: Error) => void }>();
  private readonly readers = new Map<number, ClipReader>();
  private closedWith: Error | undefined;

  constructor(
    private readonly channel: PeerChannel,
    /** How long an ask waits for its reply (a recorder that never answers, a reply lost with a dropped channel). */
    private readonly replyTimeoutMs = REPLY_TIMEOUT_MS,
  ) {
    channel.on('message', (data) => this.onMessage(data));
    channel.on('close', () => this.fail(new PeercamError('closed', 'The recorder closed the connection.')));
  }

  get open(): boolean {
    return this.channel.open && !this.closedWith;
  }

  /** One request and its reply's body (rejects with the recorder's error, or when no reply comes in time). */
  ask<T>(request: Ask): Promise<T> {
    const id = this.next++;
    return new Promise<T>((resolve, reject) => {
      if (this.closedWith) return reject(this.closedWith);
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(PeercamError.timeout(`The recorder did not answer "${request.op}" within ${this.replyTimeoutMs / 1000} s.`));
      }, this.replyTimeoutMs);
      const done = () => clearTimeout(timer);
      this.pending.set(id, {
        resolve: (body) => {
          done();
          resolve(body as T);
        },
        reject: (err) => {
          done();
          reject(err);
        },
      });
      this.send({ ...request, id });
    });
  }

  /** Starts a clip stream: its header, then the bytes to `reader` as the credit allows. */
  async clip(camera: string, start: number, seconds: number, credit: number, reader: ClipReader): Promise<{ id: number; header: ClipHeader }> {
    const id = this.next;
    this.readers.set(id, reader);
    try {
      const header = await this.ask<ClipHeader>({ op: 'clip', camera, start, duration: seconds, credit });
      return { id, header };
    } catch (err) {
      this.readers.delete(id);
      throw err;
    }
  }

  /** Lets stream `id` send up to `bytes` in total. */
  credit(id: number, bytes: number): void {
    if (this.open) this.send({ id, op: 'credit', bytes });
  }

  cancel(id: number): void {
    this.readers.delete(id);
    if (this.open) this.send({ id, op: 'cancel' });
  }

  close(): void {
    this.fail(new PeercamError('closed', 'The recordings connection was closed.'));
    this.channel.close();
  }

  /** One request; a channel that closed meanwhile fails every pending ask (its `close` event). */
  private send(request: RecordingsRequest): void {
    try {
      this.channel.send(JSON.stringify(request));
    } catch (err) {
      this.fail(err instanceof Error ? err : new PeercamError('closed', String(err)));
    }
  }

  private onMessage(data: ChannelMessage): void {
    if (typeof data !== 'string') {
      const chunk = parseChunk(data);
      if (chunk) this.readers.get(chunk.id)?.onBytes(chunk.payload);
      return;
    }
    const reply = parseRecordingsReply(data);
    if (!reply) return;
    if ('done' in reply) {
      const reader = this.readers.get(reply.id);
      this.readers.delete(reply.id);
      reader?.onDone(reply.bytes);
      return;
    }
    const waiting = this.pending.get(reply.id);
    this.pending.delete(reply.id);
    if (!waiting) return;
    if (reply.ok) waiting.resolve(reply.body);
    else waiting.reject(new PeercamError(reply.error.code === 'not-found' ? 'not-found' : 'internal', reply.error.message));
  }

  private fail(err: Error): void {
    if (this.closedWith) return;
    this.closedWith = err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    for (const r of this.readers.values()) r.onDone(-1);
    this.readers.clear();
  }
}
