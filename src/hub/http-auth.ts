import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** A request handler of the hub's web server. */
export type RouteHandler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

/** What a request says about the room's HTTP token (Room.credentials.httpToken). */
export type Bearer = 'member' | 'none' | 'wrong';

/** A client with a token of its own (client-tokens.ts): the owner's name for it, and an id per issued token. */
export interface Client {
  readonly name: string;
  readonly id: string;
}

/** Per-client tokens a guard also accepts (the WHEP/WHIP doors' guard only). */
export interface ClientCheck {
  /** The client a token belongs to, undefined for any other token (revoked ones included). */
  check(token: string): Client | undefined;
  /** Calls `end` once the client's token is revoked (at once if it already is); `ended` says when to forget it. */
  whenRevoked(client: Client, end: () => void, ended: () => boolean): void;
}

/**
 * The hub's check of the room's HTTP token, for every route beyond the public pages (hub.json's ICE servers today;
 * metrics, recordings, WHEP/WHIP next). Members send `Authorization: Bearer <httpToken>` (RFC 6750 section 2.1).
 */
export class BearerGuard {
  private readonly expected: Buffer;

  /** `clients`: per-client tokens accepted besides the room's (give them only to the guard of the doors they open). */
  constructor(
    token: string,
    readonly clients?: ClientCheck,
  ) {
    this.expected = digest(token);
  }

  /** 'member' with the right token, 'none' without an Authorization header, 'wrong' with any other. */
  check(req: IncomingMessage): Bearer {
    const header = req.headers.authorization;
    if (header === undefined) return 'none';
    const token = bearerToken(req);
    return token !== undefined ? this.checkToken(token) : 'wrong';
  }

  /** The same check for a token given another way (the WHEP door's `access_token` query parameter, RFC 6750 section 2.3). */
  checkToken(token: string): Bearer {
    // Compared as digests: equal lengths, constant time, and nothing learned from how much of the token was right.
    if (timingSafeEqual(digest(token), this.expected)) return 'member';
    return this.clients?.check(token) ? 'member' : 'wrong';
  }

  /** The client a member's token belongs to; undefined for the room's own token. */
  client(token: string): Client | undefined {
    return timingSafeEqual(digest(token), this.expected) ? undefined : this.clients?.check(token);
  }

  /** Runs `handler` for members only; anyone else gets 401 with a WWW-Authenticate challenge. */
  protect(handler: RouteHandler): RouteHandler {
    return (req, res) => {
      const bearer = this.check(req);
      if (bearer === 'member') return handler(req, res);
      unauthorized(res, bearer);
    };
  }
}

/** 401 (RFC 6750 section 3): no token at all gets the bare challenge; a wrong one says invalid_token. */
export function unauthorized(res: ServerResponse, bearer: Exclude<Bearer, 'member'>): void {
  const challenge = bearer === 'wrong' ? 'Bearer realm="peercam", error="invalid_token"' : 'Bearer realm="peercam"';
  res.writeHead(401, { 'www-authenticate': challenge, 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
  res.end('This is for members of the room: send the room\'s HTTP token (Authorization: Bearer; the room link holds it).\n');
}

/** The token of an `Authorization: Bearer <token>` header (RFC 6750 section 2.1), if there is one. */
export function bearerToken(req: IncomingMessage): string | undefined {
  return /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '')?.[1];
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}
