import * as v from 'valibot';

/**
 * The requests of the recordings data channel (recordings-wire.ts), checked where they are served. Apart from the
 * rest of the wire so that pages, which only send them, do not load the schema library for them.
 */

/** Most events one `events` answer carries. */
export const MAX_EVENTS = 1000;

const id = v.pipe(v.number(), v.safeInteger(), v.minValue(0));
const ms = v.pipe(v.number(), v.finite());
const name = v.pipe(v.string(), v.minLength(1), v.maxLength(128));

const Request = v.variant('op', [
  /** The cameras with recordings, and the recorder's state. */
  v.object({ id, op: v.literal('overview') }),
  /** A camera's recorded spans overlapping [start, end) (ms since the epoch). */
  v.object({ id, op: v.literal('list'), camera: name, start: ms, end: ms }),
  /**
   * The motion events the recorder heard over [start, end), oldest first, from a camera (the timeline's marks) or from
   * every camera; with `limit`, the newest that many.
   */
  v.object({ id, op: v.literal('events'), camera: v.optional(name), start: ms, end: ms, limit: v.optional(v.pipe(v.number(), v.safeInteger(), v.minValue(1), v.maxValue(MAX_EVENTS))) }),
  /** The camera's JPEG still of one event (`RecordingsEvent.snapshot`): `{contentType, base64}`. */
  v.object({ id, op: v.literal('snapshot'), camera: name, event: v.pipe(v.string(), v.minLength(1), v.maxLength(64)) }),
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
