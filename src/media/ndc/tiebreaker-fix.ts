import { createHmac } from 'node:crypto';

/**
 * Chromium sends ICE-CONTROLLING / ICE-CONTROLLED with a zero tie-breaker on checks that leave through a TURN/TCP or
 * TURN/TLS allocation; libjuice reads zero as "attribute absent" and answers 400, so the pair dies
 * (https://github.com/paullouisageneau/libjuice/issues/355). RFC 8445 16.1 allows any 64-bit value, zero included.
 *
 * Checks that reach libjuice through our TURN bridge can be mended on the way: we know the local ICE password the
 * check is signed with (the USERNAME starts with our ufrag), so we set the tie-breaker to 1 and sign the message
 * again (MESSAGE-INTEGRITY, RFC 8489 14.5; FINGERPRINT, 14.7). A tie-breaker only matters in a role conflict, which
 * these checks do not carry (Chromium and libjuice agree on roles from the offer/answer).
 */
const COOKIE = 0x2112a442;
const BINDING_REQUEST = 0x0001;
const DATA_INDICATION = 0x0017;
const USERNAME = 0x0006;
const MESSAGE_INTEGRITY = 0x0008;
const FINGERPRINT = 0x8028;
const ICE_CONTROLLED = 0x8029;
const ICE_CONTROLLING = 0x802a;
const DATA = 0x0013;

/** Local ICE password by local ufrag; undefined when the check is not for one of our agents. */
export type PasswordOf = (ufrag: string) => string | undefined;

/**
 * Mends a frame the TURN server sends to libjuice (ChannelData or a Data indication) whose payload is a Binding
 * request with a zero tie-breaker. Returns the mended copy, or undefined to pass the frame on unchanged.
 */
export function mendRelayedCheck(frame: Buffer, passwordOf: PasswordOf): Buffer | undefined {
  const first = frame[0] ?? 0;
  if (first >= 0x40 && first <= 0x4f) {
    const payload = frame.subarray(4, 4 + frame.readUInt16BE(2));
    const mended = mendCheck(payload, passwordOf);
    return mended ? Buffer.concat([frame.subarray(0, 4), mended]) : undefined;
  }
  if (frame.length < 20 || frame.readUInt16BE(0) !== DATA_INDICATION || frame.readUInt32BE(4) !== COOKIE) return undefined;
  const data = findAttribute(frame, DATA);
  if (!data) return undefined;
  const mended = mendCheck(frame.subarray(data.start, data.start + data.length), passwordOf);
  if (!mended) return undefined;
  const copy = Buffer.from(frame);
  mended.copy(copy, data.start); // same length: only the tie-breaker and the two trailing attributes changed
  signFingerprint(copy); // coturn --fingerprint signs the indication too, over the data we just changed
  return copy;
}

/** The Binding request itself: a mended copy, or undefined when it needs nothing (or is not ours to sign). */
export function mendCheck(msg: Buffer, passwordOf: PasswordOf): Buffer | undefined {
  if (msg.length < 20 || msg.readUInt16BE(0) !== BINDING_REQUEST || msg.readUInt32BE(4) !== COOKIE) return undefined;
  if (20 + msg.readUInt16BE(2) !== msg.length) return undefined;
  const role = findAttribute(msg, ICE_CONTROLLING) ?? findAttribute(msg, ICE_CONTROLLED);
  const integrity = findAttribute(msg, MESSAGE_INTEGRITY);
  const username = findAttribute(msg, USERNAME);
  if (!role || !integrity || !username || role.length !== 8 || integrity.length !== 20) return undefined;
  if (msg.readBigUInt64BE(role.start) !== 0n) return undefined;
  const ufrag = msg.toString('utf8', username.start, username.start + username.length).split(':')[0] ?? '';
  const password = passwordOf(ufrag);
  if (password === undefined) return undefined;

  const out = Buffer.from(msg);
  out.writeBigUInt64BE(1n, role.start);
  // MESSAGE-INTEGRITY covers the message up to itself, with the header length counting through it (RFC 8489 14.5).
  // Through the end of MESSAGE-INTEGRITY: its value ends at integrity.start + 20, minus the 20-byte header.
  out.writeUInt16BE(integrity.start, 2);
  createHmac('sha1', password).update(out.subarray(0, integrity.start - 4)).digest().copy(out, integrity.start);
  out.writeUInt16BE(msg.length - 20, 2);
  signFingerprint(out);
  return out;
}

/** Rewrites FINGERPRINT, if the message has one, for its current content (RFC 8489 14.7). */
function signFingerprint(msg: Buffer): void {
  const fingerprint = findAttribute(msg, FINGERPRINT);
  if (fingerprint) msg.writeUInt32BE((crc32(msg.subarray(0, fingerprint.start - 4)) ^ 0x5354554e) >>> 0, fingerprint.start);
}

/** The value position and length of the first attribute of that type, if any. */
function findAttribute(msg: Buffer, type: number): { start: number; length: number } | undefined {
  let at = 20;
  while (at + 4 <= msg.length) {
    const t = msg.readUInt16BE(at);
    const length = msg.readUInt16BE(at + 2);
    if (at + 4 + length > msg.length) return undefined;
    if (t === type) return { start: at + 4, length };
    at += 4 + ((length + 3) & ~3);
  }
  return undefined;
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

/** CRC-32 (ISO 3309), as FINGERPRINT uses it. */
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = (CRC_TABLE[(c ^ b) & 0xff] ?? 0) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
