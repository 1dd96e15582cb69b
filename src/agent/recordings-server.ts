import { cameraFolder, type Logger, silentLogger } from '../protocol/index.js';
import {
  CHUNK_BYTES,
  MAX_CHUNK_BYTES,
  type ClipHeader,
  RECORDINGS_SOURCE,
  type RecordingsOverview,
  type RecordingsReply,
  type RecordingsRequest,
  type RecordingsSnapshot,
  type RecordingsSpan,
} from '../protocol/recordings-wire.js';
import { mergeSpans, recordedCameras, clipMime } from '../record/catalog.js';
import { buildClip, readClip } from '../record/clip.js';
import { eventsJson, readSnapshot } from '../record/event-log.js';
import { parseRecordingsRequest } from '../protocol/recordings-request.js';
import { listSegments } from '../record/store.js';
import { CameraEndpoint, type PeerConfig, type Timeouts } from '../session/index.js';
import { PeercamError } from '../protocol/index.js';
import type { Channel } from '../signaling/channel.js';
import { createDataPeer, type DataPeer, type NdcOptions, type TurnBridge } from '../media/ndc/index.js';

export interface RecordingsServerOptions {
  readonly channel: Channel;
  readonly peerConfig: PeerConfig;
  /** The recordings folder. */
  readonly root: string;
  /** What the recorder says (cameras being recorded, disk state). */
  readonly status: () => { readonly recording: readonly string[]; readonly state: string; readonly error?: string | undefined };
  readonly engine?: NdcOptions;
  readonly turnBridge?: TurnBridge;
  readonly timeouts?: Partial<Timeouts>;
  /** Members served at once. Default 8. */
  readonly maxMembers?: number;
  readonly log?: Logger;
}

/** Longest clip served at once (as over HTTP). */
const MAX_CLIP_MS = 6 * 3_600_000;
/**
 * Sending pauses while more than this waits in the SCTP queue, and goes on once it falls to a quarter: the quarter
 * (1 MiB) lasts about half a second at 8x a 2 Mb/s camera, time for a busy event loop to notice and refill it.
 */
const HIGH_WATER = 4 * 1024 * 1024;

/**
 * Recordings for members that reach the recorder only through the room's broker: each offer for the `recordings`
 * source gets a data channel over which the member lists and streams recordings (protocol/recordings-wire.ts). Only
 * members can offer: the offer arrives sealed with the room key, and the channel's DTLS fingerprints travel inside it.
 */
export class RecordingsServer {
  private readonly endpoint: CameraEndpoint;
  private readonly links = new Set<RecordingsLink>();

  constructor(options: RecordingsServerOptions) {
    const log = options.log ?? silentLogger;
    this.endpoint = new CameraEndpoint({
      channel: options.channel,
      config: options.peerConfig,
      maxViewers: options.maxMembers ?? 8,
      ...(options.timeouts ? { timeouts: options.timeouts } : {}),
      log,
      peerFactory: (config, context) => {
        if (context.source !== RECORDINGS_SOURCE)
          throw new PeercamError('not-found', `This member serves recordings only: offer for the source "${RECORDINGS_SOURCE}".`);
        const link = new RecordingsLink(options, log.child({ member: context.viewer }));
        const peer = createDataPeer(config, {
          ...options.engine,
          ...(options.turnBridge ? { turnBridge: options.turnBridge } : {}),
          log,
          onMessage: (text) => link.onText(text),
          onBufferedLow: () => link.wakeAll(),
          lowWaterBytes: HIGH_WATER / 4,
        });
        link.attach(peer);
        this.links.add(link);
        peer.on('state', (state) => {
          if (state === 'closed' || state === 'failed') {
            link.close();
            this.links.delete(link);
          }
        });
        return peer;
      },
    });
  }

  /** Members connected now. */
  get members(): number {
    return this.endpoint.viewers;
  }

  async close(): Promise<void> {
    for (const link of this.links) link.close();
    this.links.clear();
    await this.endpoint.close();
  }
}

interface Stream {
  credit: number;
  cancelled: boolean;
  wake: (() => void) | undefined;
}

/** One member's data channel: its requests and the clips it streams. */
class RecordingsLink {
  private peer: DataPeer | undefined;
  private readonly streams = new Map<number, Stream>();
  private closed = false;

  constructor(
    private readonly options: RecordingsServerOptions,
    private readonly log: Logger,
  ) {}

  attach(peer: DataPeer): void {
    this.peer = peer;
  }

  close(): void {
    this.closed = true;
    for (const s of this.streams.values()) s.cancelled = true;
    this.wakeAll();
  }

  wakeAll(): void {
    for (const s of this.streams.values()) {
      const wake = s.wake;
      s.wake = undefined;
      wake?.();
    }
  }

  onText(text: string): void {
    const req = parseRecordingsRequest(text);
    if (!req) {
      this.log.debug({ text: text.slice(0, 200) }, 'ignored a recordings request that is not one');
      // One with an id gets an answer, so that its sender (a newer page asking what this recorder lacks) does not wait.
      const id = requestId(text);
      if (id !== undefined) this.reply({ id, ok: false, error: { code: 'bad-request', message: 'This recorder does not understand that request (an older peercam?).' } });
      return;
    }
    try {
      this.handle(req);
    } catch (err) {
      this.reply({ id: req.id, ok: false, error: { code: 'internal', message: String(err) } });
    }
  }

  private handle(req: RecordingsRequest): void {
    const root = this.options.root;
    switch (req.op) {
      case 'overview': {
        const status = this.options.status();
        const body: RecordingsOverview = {
          cameras: recordedCameras(root),
          recording: status.recording,
          state: status.state,
          ...(status.error ? { error: status.error } : {}),
        };
        this.reply({ id: req.id, ok: true, body });
        return;
      }
      case 'list': {
        const body: RecordingsSpan[] = mergeSpans(listSegments(root, req.camera, req.start, req.end)).map((s) => ({
          start: new Date(s.start).toISOString(),
          duration: s.durationMs / 1000,
        }));
        this.reply({ id: req.id, ok: true, body });
        return;
      }
      case 'events':
        this.reply({ id: req.id, ok: true, body: eventsJson(root, req.camera, req.start, req.end, req.limit) });
        return;
      case 'snapshot': {
        const jpeg = readSnapshot(root, req.camera, req.event);
        if (!jpeg) this.reply({ id: req.id, ok: false, error: { code: 'not-found', message: `No still of event "${req.event}" of "${cameraFolder(req.camera)}" is kept.` } });
        else this.reply({ id: req.id, ok: true, body: { contentType: 'image/jpeg', base64: jpeg.toString('base64') } satisfies RecordingsSnapshot });
        return;
      }
      case 'clip':
        void this.stream(req).catch((err: unknown) => this.reply({ id: req.id, ok: false, error: { code: 'internal', message: String(err) } }));
        return;
      case 'credit': {
        const s = this.streams.get(req.id);
        if (s && req.bytes > s.credit) {
          s.credit = req.bytes;
          this.wake(s);
        }
        return;
      }
      case 'cancel': {
        const s = this.streams.get(req.id);
        if (s) {
          s.cancelled = true;
          this.wake(s);
        }
        return;
      }
    }
  }

  private wake(s: Stream): void {
    const wake = s.wake;
    s.wake = undefined;
    wake?.();
  }

  /** Streams one clip: paced by the member's credit and by what waits in the SCTP queue. */
  private async stream(req: Extract<RecordingsRequest, { op: 'clip' }>): Promise<void> {
    const clip = buildClip(this.options.root, req.camera, req.start, Math.min(req.duration * 1000, MAX_CLIP_MS));
    const first = clip?.pieces[0];
    if (!clip || !first || !('data' in first)) {
      this.reply({ id: req.id, ok: false, error: { code: 'not-found', message: `Nothing of "${cameraFolder(req.camera)}" is recorded at ${new Date(req.start).toISOString()}.` } });
      return;
    }
    const header: ClipHeader = { start: clip.start, durationMs: clip.durationMs, size: clip.size, mime: clipMime(first.data) };
    this.reply({ id: req.id, ok: true, body: header });
    const s: Stream = { credit: req.credit, cancelled: false, wake: undefined };
    this.cancel(req.id);
    this.streams.set(req.id, s);
    let sent = 0;
    // Messages as large as the member takes (up to MAX_CHUNK_BYTES), all whole: a fragment's moof (a few hundred
    // bytes, from memory) travels with the start of its mdat, and file reads are a message long, so no message is a
    // small leftover (the receiver's cost is per message: Chromium takes 240 KiB messages ~4x faster than 60 KiB ones).
    const chunkBytes = Math.max(CHUNK_BYTES, Math.min(MAX_CHUNK_BYTES, (this.peer?.maxMessageSize ?? 0) - 4));
    const out = new Uint8Array(chunkBytes + 4);
    new DataView(out.buffer).setUint32(0, req.id);
    let filled = 0;
    const flush = async (): Promise<boolean> => {
      while (!s.cancelled && !this.closed && (sent >= s.credit || (this.peer?.bufferedAmount ?? 0) > HIGH_WATER)) await this.pause(s);
      if (s.cancelled || this.closed || !this.peer?.sendBinary(out.subarray(0, 4 + filled))) return false;
      sent += filled;
      filled = 0;
      return true;
    };
    try {
      for await (const chunk of readClip(clip, 0, clip.size - 1, chunkBytes)) {
        for (let off = 0; off < chunk.length; ) {
          // Near the end of the credit, a smaller message: the member gets at most CHUNK_BYTES more than it allowed.
          const limit = Math.min(chunkBytes, Math.max(CHUNK_BYTES, s.credit - sent));
          const n = Math.max(0, Math.min(limit - filled, chunk.length - off));
          out.set(chunk.subarray(off, off + n), 4 + filled);
          filled += n;
          off += n;
          if (filled >= limit && !(await flush())) return;
        }
      }
      if (filled > 0) await flush();
    } finally {
      if (this.streams.get(req.id) === s) this.streams.delete(req.id);
      this.log.info({ camera: req.camera, id: req.id, bytes: sent, cancelled: s.cancelled }, 'recordings: clip stream ended');
      if (!this.closed) this.reply({ id: req.id, done: true, bytes: sent });
    }
  }

  private cancel(id: number): void {
    const s = this.streams.get(id);
    if (s) {
      s.cancelled = true;
      this.wake(s);
    }
  }

  /** Until credit, room in the queue, or a cancel; a slow timer covers a low-water event that came before we waited. */
  private pause(s: Stream): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        if (s.wake === done) s.wake = undefined;
        resolve();
      }, 100);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      s.wake = done;
    });
  }

  private reply(r: RecordingsReply): void {
    if (!this.closed) this.peer?.send(JSON.stringify(r));
  }
}

/** The id of a request that did not parse, when it has one. */
function requestId(text: string): number | undefined {
  try {
    const id: unknown = (JSON.parse(text) as { id?: unknown } | null)?.id;
    return typeof id === 'number' && Number.isSafeInteger(id) && id >= 0 ? id : undefined;
  } catch {
    return undefined;
  }
}
