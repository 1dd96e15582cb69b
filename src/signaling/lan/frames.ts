import * as v from 'valibot';
import { DEVICE_ID_PATTERN, MAX_SEALED_BYTES, PROTOCOL_VERSION, ROOM_ID_PATTERN } from '../../protocol/index.js';

/**
 * The framing of a LAN link (one WebSocket text message = one JSON frame). The link carries only sealed payloads,
 * opened by the Channel above; the transport itself reads just the frame type and the unauthenticated hello.
 *
 *   hello     {t:'hello', v:1, r:<roomId>, id:<deviceId>}  first frame each way; a foreign room is closed at once
 *   presence  {t:'presence', p?:<sealed>}                  the sender's presence, or no `p` once cleared
 *   msg       {t:'msg', p:<sealed>}                        one sealed envelope for the receiver's inbox
 *   ping/pong {t:'ping'} / {t:'pong'}                      heartbeat; any frame counts as a sign of life
 */
/** A frame holds at most one sealed payload plus its few bytes of JSON framing. */
export const MAX_FRAME_BYTES = MAX_SEALED_BYTES + 256;

const sealed = v.pipe(v.string(), v.minLength(1), v.maxLength(MAX_SEALED_BYTES));
const FrameSchema = v.variant('t', [
  v.strictObject({
    t: v.literal('hello'),
    v: v.pipe(v.number(), v.integer()),
    r: v.pipe(v.string(), v.regex(ROOM_ID_PATTERN)),
    id: v.pipe(v.string(), v.regex(DEVICE_ID_PATTERN)),
  }),
  v.strictObject({ t: v.literal('presence'), p: v.optional(sealed) }),
  v.strictObject({ t: v.literal('msg'), p: sealed }),
  v.strictObject({ t: v.literal('ping') }),
  v.strictObject({ t: v.literal('pong') }),
]);
export type Frame = v.InferOutput<typeof FrameSchema>;

export type ParsedFrame = { ok: true; frame: Frame } | { ok: false; why: string };

/** Parses one received WebSocket message. Never throws: a bad frame comes back with the reason to close the link. */
export function parseFrame(data: string | Buffer | ArrayBuffer | Buffer[], isBinary: boolean): ParsedFrame {
  if (isBinary) return { ok: false, why: 'binary frame (the LAN link speaks JSON text frames)' };
  const text = typeof data === 'string' ? data : Buffer.isBuffer(data) ? data.toString('utf8') : Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data).toString('utf8');
  if (text.length > MAX_FRAME_BYTES) return { ok: false, why: `frame of ${text.length} bytes, limit ${MAX_FRAME_BYTES}` };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, why: 'frame is not JSON' };
  }
  const result = v.safeParse(FrameSchema, json);
  if (!result.success) {
    const t = typeof json === 'object' && json !== null && 't' in json ? String(json.t).slice(0, 32) : '?';
    return { ok: false, why: `unknown or malformed frame (t=${t}): ${result.issues[0]?.message ?? 'schema mismatch'}` };
  }
  return { ok: true, frame: result.output };
}

export function hello(room: string, id: string): Frame {
  return { t: 'hello', v: PROTOCOL_VERSION, r: room, id };
}

export function encodeFrame(frame: Frame): string {
  return JSON.stringify(frame);
}
