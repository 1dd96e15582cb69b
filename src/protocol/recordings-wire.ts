import * as v from 'valibot';

/**
 * Recordings over a WebRTC data channel (docs/RECORDING.md, "Away from home"): a recorder lists this source in its
 * presence; a member that offers for it gets a data channel instead of media. Requests and replies are JSON text;
 * clip bytes travel as binary messages, each a 4-byte stream id (big-endian) and a payload.
 */
export const RECORDINGS_SOURCE = 'recordings';
export const RECORDINGS_LABEL = 'peercam-recordings';
/**
 * Largest clip payload per binary message: with its 4-byte header under 64 KiB, the smallest max-message-size any
 * peer announces (RFC 8841 6.1 defaults to 64 KiB when a=max-message-size is absent).
 */
export const CHUNK_BYTES = 60 * 1024;
/**
 * Largest clip payload per binary message when the receiver announces room for it (Chromium and libdatachannel
 * announce 256 KiB): Chromium takes a clip about 4x faster in 240 KiB messages than in 60 KiB ones on a loaded machine
 * (its cost is per message), docs/RECORDING.md.
 */
export const MAX_CHUNK_BYTES = 240 * 1024;

const id = v.pipe(v.number(), v.safeInteger(), v.minValue(0));
const ms = v.pipe(v.number(), v.finite());
const name = v.pipe(v.string(), v.minLength(1), v.maxLength(128));

const Request = v.variant('op', [
  /** The cameras with recordings, and the recorder's state. */
  v.object({ id, op: v.literal('overview') }),
  /** A camera's recorded spans overlapping [start, end) (ms since the epoch). */
  v.object({ id, op: v.literal('list'), camera: name, start: ms, end: ms }),
  /** The motion events the recorder heard from a camera over [start, end) (the timeline's marks). */
  v.object({ id, op: v.literal('events'), camera: name, start: ms, end: ms }),
  /**
   * One clip (as GET /api/recordings/get) from `start` for `duration` seconds, streamed as binary messages of stream
   * `id`. The sender stops when it has sent `credit` bytes and goes on when a `credit` request raises it: the receiver
   * paces the stream to what it can hold (backpressure from the player, not only from SCTP).
   */
  v.object({ id, op: v.literal('clip'), camera: name, start: ms, duration: v.pipe(v.number(), v.minValue(0.001)), credit: v.pipe(v.number(), v.minValue(0)) }),
  /** Raises the credit of stream `id` to `bytes` in total. */
  v.object({ id, op: v.literal('credit'), bytes: v.pipe(v.number(), v.minValue(0)) }),
  /** Stops stream `id` (a seek elsewhere, the page playing something else). */
  v.object({ id, op: v.literal('cancel') }),
]);

export type RecordingsRequest = v.InferOutput<typeof Request>;

export interface RecordingsOverview {
  readonly cameras: readonly { camera: string; start: string; end: string }[];
  readonly recording: readonly string[];
  readonly state: string;
  readonly error?: string;
}

/** A recorded span: ISO start and seconds, as the HTTP API's /list. */
export interface RecordingsSpan {
  readonly start: string;
  readonly duration: number;
}

/** A motion event the recorder heard, as the HTTP API's /events: ISO start, seconds (null while under way). */
export interface RecordingsEvent {
  readonly event: string;
  readonly start: string;
  readonly duration: number | null;
  readonly score: number;
  readonly box?: { readonly x: number; readonly y: number; readonly w: number; readonly h: number };
}

/** First reply to `clip`: where it really starts (the keyframe at or before the asked start), its length and type. */
export interface ClipHeader {
  readonly start: number;
  readonly durationMs: number;
  readonly size: number;
  /** For MediaSource.addSourceBuffer, e.g. `video/mp4; codecs="avc1.42c01f,opus"`. */
  readonly mime: string;
}

export type RecordingsReply =
  | { readonly id: number; readonly ok: true; readonly body: unknown }
  | { readonly id: number; readonly ok: false; readonly error: { readonly code: string; readonly message: string } }
  /** Stream `id` sent everything (`bytes` in all) or was cancelled. */
  | { readonly id: number; readonly done: true; readonly bytes: number };

/** Parses one request; undefined when it is not one (logged and answered by the caller). */
export function parseRecordingsRequest(text: string): RecordingsRequest | undefined {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return undefined;
  }
  const r = v.safeParse(Request, json);
  return r.success ? r.output : undefined;
}

export function parseRecordingsReply(text: string): RecordingsReply | undefined {
  try {
    const j = JSON.parse(text) as Partial<Record<'id' | 'ok' | 'done', unknown>>;
    return typeof j.id === 'number' && (typeof j.ok === 'boolean' || j.done === true) ? (j as RecordingsReply) : undefined;
  } catch {
    return undefined;
  }
}

/** One binary message of stream `id`. */
export function chunkMessage(id: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + payload.length);
  new DataView(out.buffer).setUint32(0, id);
  out.set(payload, 4);
  return out;
}

export function parseChunk(message: Uint8Array): { id: number; payload: Uint8Array } | undefined {
  if (message.length < 4) return undefined;
  return { id: new DataView(message.buffer, message.byteOffset, 4).getUint32(0), payload: message.subarray(4) };
}
