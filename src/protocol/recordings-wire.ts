export type { RecordingsRequest } from './recordings-request.js';

/**
 * Recordings over a WebRTC data channel (docs/RECORDING.md, "Away from home"): a recorder lists this source in its
 * presence; a member that offers for it gets a data channel instead of media. Requests and replies are JSON text;
 * clip bytes travel as binary messages, each a 4-byte stream id (big-endian) and a payload.
 */
export const RECORDINGS_SOURCE = 'recordings';
export const RECORDINGS_LABEL = 'peercam-recordings';

/** A member whose presence lists the recordings source: a recorder. */
export function isRecorder(presence: { readonly sources?: readonly { readonly id: string }[] | undefined }): boolean {
  return presence.sources?.some((s) => s.id === RECORDINGS_SOURCE) ?? false;
}
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
  /** The camera's recordings name (its folder). */
  readonly camera: string;
  readonly event: string;
  readonly start: string;
  readonly duration: number | null;
  readonly score: number;
  readonly box?: { readonly x: number; readonly y: number; readonly w: number; readonly h: number };
  /** The recorder keeps the camera's still of it (GET /api/recordings/snapshot, the channel's `snapshot`). */
  readonly snapshot?: true;
}

/** The answer to `snapshot`. */
export interface RecordingsSnapshot {
  readonly contentType: 'image/jpeg';
  readonly base64: string;
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
