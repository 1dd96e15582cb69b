import { createHmac } from 'node:crypto';
import { PeercamError } from '../protocol/index.js';
import { type IceServer, isTurnUrl, type PeerConfig, urlsOf } from '../session/index.js';

/** How long minted TURN credentials live by default: a day (members get fresh ones long before, see refreshMs). */
export const DEFAULT_TURN_TTL_S = 24 * 3600;

export interface TurnRestOptions {
  /** coturn's `static-auth-secret` (with `use-auth-secret`): stays with the owner, never sent to members. */
  readonly secret: string;
  /** Lifetime of each minted credential, seconds. */
  readonly ttlS?: number;
  /** The name part of the username (`<expiry>:<name>`), shown in the TURN server's logs. */
  readonly name?: string;
  readonly now?: () => number;
}

/**
 * TURN REST credentials (draft-uberti-behave-turn-rest-00, coturn `use-auth-secret`): username `<expiry>:<name>`,
 * credential base64(HMAC-SHA1(secret, username)). The TURN server checks the HMAC and the expiry, so a member that
 * got these can relay until `expiry` and no longer; the lasting secret never leaves the owner's device.
 */
export function mintTurnCredentials(secret: string, name: string, expiresAtS: number): { username: string; credential: string } {
  const username = `${expiresAtS}:${name}`;
  return { username, credential: createHmac('sha1', secret).update(username).digest('base64') };
}

/**
 * A PeerConfig whose TURN servers without credentials get minted ones, re-minted once half their life is over (a
 * getter: whoever reads `iceServers` — a new session, the presence refresh — gets ones with at least ttl/2 left).
 */
export function turnRestConfig(base: PeerConfig, options: TurnRestOptions): PeerConfig & { readonly refreshMs: number } {
  const ttlS = options.ttlS ?? DEFAULT_TURN_TTL_S;
  if (!Number.isInteger(ttlS) || ttlS < 60) throw PeercamError.config(`The TURN credential lifetime must be at least 60 s, not ${ttlS}.`);
  if (options.secret === '') throw PeercamError.config('The TURN secret is empty: pass the static-auth-secret of your coturn.');
  const now = options.now ?? Date.now;
  const name = options.name ?? 'peercam';
  const needsMint = (s: IceServer) => s.username === undefined && urlsOf(s).some(isTurnUrl);
  if (!base.iceServers.some(needsMint))
    throw PeercamError.config('A TURN secret was given but no TURN server without credentials to use it with: add --ice-server turn:host:3478.');
  let minted: { until: number; servers: readonly IceServer[] } | undefined;
  return {
    iceTransportPolicy: base.iceTransportPolicy,
    refreshMs: (ttlS * 1000) / 2,
    get iceServers(): readonly IceServer[] {
      const t = now();
      if (!minted || t >= minted.until) {
        const creds = mintTurnCredentials(options.secret, name, Math.floor(t / 1000) + ttlS);
        minted = { until: t + (ttlS * 1000) / 2, servers: base.iceServers.map((s) => (needsMint(s) ? { ...s, ...creds } : s)) };
      }
      return minted.servers;
    },
  };
}
