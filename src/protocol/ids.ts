import { randomBytes, toBase32 } from './bytes.js';

/** A device id: 80 random bits in base32 (16 chars). Public: it appears in topics and TXT records. */
export type DeviceId = string;
/** A session id: one viewer<->camera negotiation (kept across ICE restarts). */
export type SessionId = string;

/** A device id: 16 base32 characters (80 random bits). */
export const DEVICE_ID_PATTERN = /^[a-z2-7]{16}$/;

/** A fresh random device id. */
export function newDeviceId(): DeviceId {
  return toBase32(randomBytes(10));
}

/** A fresh random session id. */
export function newSessionId(): SessionId {
  return toBase32(randomBytes(10));
}

/** Whether a string is a well-formed device id. */
export function isDeviceId(s: string): s is DeviceId {
  return DEVICE_ID_PATTERN.test(s);
}

/**
 * The name a recorder keeps a camera's recordings under (its folder, and the `camera` of its HTTP API and data channel),
 * from the name the camera shows: letters, digits, dot, dash and underscore; the rest becomes '_'. Pages use it to
 * find a live camera's recordings.
 */
export function cameraFolder(name: string): string {
  const safe = name.normalize('NFKC').replace(/[^\p{L}\p{N}._-]+/gu, '_').replace(/^[._]+/, '').slice(0, 80);
  return safe || 'camera';
}
