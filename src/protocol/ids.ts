import { randomBytes, toBase32 } from './bytes.js';

/** A device id: 80 random bits in base32 (16 chars). Public: it appears in topics and TXT records. */
export type DeviceId = string;
/** A session id: one viewer<->camera negotiation (kept across ICE restarts). */
export type SessionId = string;

export const DEVICE_ID_PATTERN = /^[a-z2-7]{16}$/;

export function newDeviceId(): DeviceId {
  return toBase32(randomBytes(10));
}

export function newSessionId(): SessionId {
  return toBase32(randomBytes(10));
}

export function isDeviceId(s: string): s is DeviceId {
  return DEVICE_ID_PATTERN.test(s);
}
