/** Every failure peercam reports carries one of these codes, a message that says what to do, and its cause. */
export type ErrorCode =
  | 'bad-link' // pairing link missing, truncated or damaged
  | 'bad-config' // an option or environment value that cannot be used
  | 'broker-unreachable' // the MQTT broker refused or could not be reached
  | 'broker-auth' // the broker rejected our credentials
  | 'not-found' // a named device is not present in the room
  | 'timeout' // something did not happen in time
  | 'ice-failed' // no network path between the two peers
  | 'media' // a media source or encoder failed
  | 'disk' // recordings cannot be written: disk full, read-only, I/O error
  | 'closed' // used after close()
  | 'internal';

/** The error peercam throws: a code to branch on, a message that says what to do, and its cause. */
export class PeercamError extends Error {
  override readonly name = 'PeercamError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  static badLink(why: string, cause?: unknown): PeercamError {
    return new PeercamError(
      'bad-link',
      `The pairing link is not usable: ${why}. Copy the whole link again (or run \`peercam room show\` on a device of the room).`,
      { cause },
    );
  }

  static config(what: string, cause?: unknown): PeercamError {
    return new PeercamError('bad-config', what, { cause });
  }

  static timeout(what: string): PeercamError {
    return new PeercamError('timeout', what);
  }
}

/** Why a received message was dropped. Each is logged, none is fatal. */
export type DropReason =
  | 'oversize' // > MAX_SEALED_BYTES
  | 'malformed' // not base64url / too short / not JSON / schema mismatch
  | 'bad-tag' // AES-GCM authentication failed: forged, tampered, other room, or moved to another topic
  | 'wrong-recipient' // sealed for someone else
  | 'stale' // clock skew beyond MAX_SKEW_MS
  | 'replay' // (from, seq) seen before
  | 'unknown-version' // v != 1
  | 'rate-limited'; // sender exceeded its budget
