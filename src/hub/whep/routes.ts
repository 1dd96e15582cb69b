import type { IncomingMessage, ServerResponse } from 'node:http';
import type { IceServer } from '../../session/index.js';
import { RateLimiter } from '../../signaling/rate-limit.js';
import { type BearerGuard, bearerToken, type Client, type RouteHandler } from '../http-auth.js';
import { WhepError } from './errors.js';
import type { WhepGateway } from './gateway.js';
import { isRelayMode, WHEP_RELAY_MODES } from './path.js';
import { parseSdpFrag } from './sdpfrag.js';

export interface WhepRoutesOptions {
  /** Set once the hub has joined the room; until then requests get 503. */
  readonly gateway: () => WhepGateway | undefined;
  readonly guard: BearerGuard;
  /** The hub's ICE servers, announced in Link rel="ice-server" headers of a 201. */
  readonly iceServers: readonly IceServer[];
  /** POST/PATCH/DELETE per client address. Default 40 at once, 10 a second. */
  readonly rateLimit?: { readonly burst: number; readonly perSecond: number };
}

/** The path prefix of the WHEP door: POST /whep/<camera name or id>; sessions at /whep/<camera>/<session id>. */
export const WHEP_PREFIX = '/whep/';
/** An offer bigger than a sealed envelope's SDP could not reach the camera anyway (src/protocol/envelope.ts). */
const MAX_OFFER_BYTES = 48 * 1024;
const MAX_FRAG_BYTES = 16 * 1024;

export const CORS = {
  'access-control-allow-origin': '*',
  'access-control-expose-headers': 'Location, ETag, Link, Accept-Post, Accept-Patch, Retry-After, WWW-Authenticate',
} as const;

/**
 * The WHEP HTTP surface (draft-ietf-wish-whep-03; RFC 9725 for what WHEP borrows from WHIP): status codes and headers
 * here, the signaling in gateway.ts. Members only: the room's HTTP token as `Authorization: Bearer`.
 */
export function whepRoutes(options: WhepRoutesOptions): RouteHandler {
  // POST/PATCH/DELETE per client address: a browser needs a handful per session, a flood gets 429.
  const limiter = new RateLimiter({ burst: 40, perSecond: 10, ...options.rateLimit, maxSenders: 1024 });
  return async (req, res) => {
    try {
      await serve(req, res, options, limiter);
    } catch (err) {
      const e = err instanceof WhepError ? err : new WhepError(500, `The WHEP gateway failed: ${String(err)}. See the hub log.`);
      if (res.headersSent) return void res.end();
      res.writeHead(e.status, { ...CORS, ...e.headers, 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
      res.end(`${e.message}\n`);
    }
  };
}

async function serve(req: IncomingMessage, res: ServerResponse, options: WhepRoutesOptions, limiter: RateLimiter): Promise<void> {
  const parts = new URL(req.url ?? '/', 'http://hub').pathname.split('/');
  // ['', 'whep', camera, session?]
  if (parts.length < 3 || parts.length > 4 || parts[2] === '') throw new WhepError(404, 'A WHEP URL is /whep/<camera name or id>.');
  const cameraKey = decode(parts[2] ?? '');
  const sessionId = parts[3];
  const method = req.method ?? 'GET';
  if (method === 'OPTIONS') return preflight(res, sessionId !== undefined);
  const allowed = sessionId === undefined ? ['POST', 'HEAD', 'OPTIONS'] : ['PATCH', 'DELETE', 'OPTIONS'];
  if (!allowed.includes(method)) throw new WhepError(405, `${method} is not used here; this resource takes ${allowed.join(', ')}.`, { allow: allowed.join(', ') });
  const client = authorize(req, options.guard, method, limiter);
  const gateway = options.gateway();
  if (!gateway) throw new WhepError(503, 'The hub is still joining its room; try again in a moment.', { 'retry-after': '1' });
  if (sessionId === undefined) {
    const camera = gateway.camera(cameraKey);
    if (method === 'HEAD') {
      res.writeHead(200, { ...CORS, 'accept-post': 'application/sdp', 'cache-control': 'no-store' });
      return void res.end();
    }
    return post(req, res, gateway, camera.id, options, client);
  }
  const session = gateway.session(sessionId);
  if (!session || session.isClosed || (session.camera !== cameraKey && session.cameraName !== cameraKey))
    throw new WhepError(404, 'No such WHEP session (it ended, or was never made here). POST a new offer.');
  if (method === 'DELETE') {
    session.close('The WHEP client ended the session (DELETE).', true);
    res.writeHead(200, { ...CORS, 'cache-control': 'no-store' });
    return void res.end();
  }
  // PATCH (RFC 9725 section 4.3.1): trickle (204) or ICE restart (200 with an sdpfrag).
  if (mediaType(req) !== 'application/trickle-ice-sdpfrag')
    throw new WhepError(415, 'A PATCH carries Content-Type: application/trickle-ice-sdpfrag.', { 'accept-patch': 'application/trickle-ice-sdpfrag' });
  const body = await readBody(req, MAX_FRAG_BYTES);
  const frag = parseSdpFrag(body, '');
  if (!frag) throw new WhepError(400, 'The PATCH body is not a trickle-ice-sdpfrag (RFC 8840).');
  const ifMatch = req.headers['if-match'];
  if (ifMatch !== undefined && ifMatch.trim() !== '*' && ifMatch.trim() !== session.etag)
    throw new WhepError(412, `If-Match ${ifMatch} is not this session's current ETag ${session.etag}.`, { etag: session.etag });
  const restart = frag.ufrag !== undefined && frag.ufrag !== session.clientUfrag;
  if (!restart) {
    session.trickle(frag);
    res.writeHead(204, { ...CORS, etag: session.etag, 'cache-control': 'no-store' });
    return void res.end();
  }
  if (ifMatch === undefined) throw new WhepError(428, 'An ICE restart needs If-Match: "*" (RFC 9725 section 4.3.2).');
  if (frag.pwd === undefined) throw new WhepError(400, 'An ICE restart carries both a=ice-ufrag and a=ice-pwd.');
  const answer = await session.restart({ ...frag, ufrag: frag.ufrag, pwd: frag.pwd });
  res.writeHead(200, { ...CORS, 'content-type': 'application/trickle-ice-sdpfrag', etag: session.etag, 'cache-control': 'no-store' });
  res.end(answer);
}

async function post(req: IncomingMessage, res: ServerResponse, gateway: WhepGateway, camera: string, options: WhepRoutesOptions, client: Client | undefined): Promise<void> {
  if (mediaType(req) !== 'application/sdp') throw new WhepError(415, 'POST an SDP offer with Content-Type: application/sdp.', { 'accept-post': 'application/sdp' });
  const offer = await readBody(req, MAX_OFFER_BYTES);
  const problem = offerProblem(offer);
  if (problem) throw new WhepError(400, `The body is not a usable SDP offer: ${problem}.`);
  const query = new URL(req.url ?? '/', 'http://hub').searchParams;
  const source = query.get('source') ?? undefined;
  // ?relay=auto|always|never overrides the hub's --whep-relay for this session (docs/WHEP.md).
  const relay = query.get('relay') ?? gateway.options.relay ?? 'auto';
  if (!isRelayMode(relay)) throw new WhepError(400, `relay=${relay.slice(0, 20)} is not one of ${WHEP_RELAY_MODES.join(', ')}.`);
  const found = gateway.camera(camera);
  const { session, answer } = await gateway.open(found, offer, source, { mode: relay, client: req.socket.remoteAddress ?? '' });
  // A client with its own token loses its session when the owner revokes the token (docs/WHEP.md).
  if (client) options.guard.clients?.whenRevoked(client, () => session.close(`The token of client "${client.name}" was revoked.`, true), () => session.isClosed);
  const cameraPath = new URL(req.url ?? '/', 'http://hub').pathname.split('/')[2] ?? '';
  res.writeHead(201, {
    ...CORS,
    'content-type': 'application/sdp',
    // A client that authenticated by URL (no header) gets a session URL that does too, so its DELETE is accepted.
    location: `${WHEP_PREFIX}${cameraPath}/${session.id}${req.headers.authorization === undefined ? new URL(req.url ?? '/', 'http://hub').search : ''}`,
    etag: session.etag,
    'accept-patch': 'application/trickle-ice-sdpfrag',
    'cache-control': 'no-store',
    ...(options.iceServers.length > 0 ? { link: iceLinks(options.iceServers) } : {}),
  });
  res.end(answer);
}

/** CORS preflight (RFC 9725 section 4.6): no token needed, no Link headers. */
export function preflight(res: ServerResponse, session: boolean): void {
  res.writeHead(204, {
    ...CORS,
    'access-control-allow-methods': session ? 'PATCH, DELETE, OPTIONS' : 'POST, HEAD, OPTIONS',
    'access-control-allow-headers': 'Authorization, Content-Type, If-Match',
    'access-control-max-age': '600',
    ...(session ? { 'accept-patch': 'application/trickle-ice-sdpfrag' } : { 'accept-post': 'application/sdp' }),
  });
  res.end();
}

/** Link headers for the hub's ICE servers (RFC 9725 section 4.6, RFC 8288): one per URL, TURN with its credentials. */
export function iceLinks(servers: readonly IceServer[]): string {
  const links: string[] = [];
  for (const s of servers)
    for (const url of typeof s.urls === 'string' ? [s.urls] : s.urls) {
      const creds = s.username !== undefined && s.credential !== undefined ? `; username="${quote(s.username)}"; credential="${quote(s.credential)}"; credential-type="password"` : '';
      links.push(`<${url}>; rel="ice-server"${creds}`);
    }
  return links.join(', ');
}

/** Why an SDP cannot be an offer for a camera (undefined when it can). */
export function offerProblem(sdp: string, role: 'whep' | 'whip' = 'whep'): string | undefined {
  if (!sdp.startsWith('v=0')) return 'it does not start with v=0';
  if (!/^m=(video|audio) /m.test(sdp)) return 'it has no audio or video m-line';
  if (!/^a=ice-ufrag:\S+/m.test(sdp) || !/^a=ice-pwd:\S+/m.test(sdp)) return 'it has no ICE credentials (a=ice-ufrag, a=ice-pwd)';
  if (!/^a=fingerprint:\S+ \S+/m.test(sdp)) return 'it has no DTLS fingerprint';
  if (role === 'whep' && /^a=(sendonly|inactive)\s*$/m.test(sdp) && !/^a=(recvonly|sendrecv)\s*$/m.test(sdp)) return 'it receives nothing (a WHEP offer is recvonly)';
  if (role === 'whip' && /^a=(recvonly|inactive)\s*$/m.test(sdp) && !/^a=(sendonly|sendrecv)\s*$/m.test(sdp)) return 'it sends nothing (a WHIP offer is sendonly)';
  for (const line of sdp.split(/\r?\n/)) if (line !== '' && !/^[a-z]=/.test(line)) return `a line is not SDP: "${line.slice(0, 40)}"`;
  return undefined;
}

export function mediaType(req: IncomingMessage): string {
  return (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

export function readBody(req: IncomingMessage, max: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      // Read on to the end (the 413 must reach the client) but keep nothing more.
      if (size <= max) chunks.push(chunk);
    });
    req.on('end', () => {
      if (size > max) reject(new WhepError(413, `The body is larger than ${max} bytes.`));
      else resolve(Buffer.concat(chunks).toString('utf8'));
    });
    req.on('error', (err) => reject(new WhepError(400, `The request body could not be read: ${err.message}.`)));
  });
}

export function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new WhepError(400, 'The camera name in the URL is not valid percent-encoding.');
  }
}

function quote(value: string): string {
  return value.replace(/["\\\r\n]/g, '');
}

/**
 * 401 without the room's HTTP token or a client's own token (header, or access_token in the URL), 429 beyond the rate
 * limit. Returns the client whose own token it was (undefined for the room's token).
 */
export function authorize(req: IncomingMessage, guard: BearerGuard, method: string, limiter: RateLimiter): Client | undefined {
  // Players that cannot set a header (go2rtc's WHEP source) put the token in the URL instead (RFC 6750 section 2.3).
  const query = new URL(req.url ?? '/', 'http://hub').searchParams.get('access_token');
  const byQuery = req.headers.authorization === undefined && query !== null;
  const bearer = byQuery ? guard.checkToken(query) : guard.check(req);
  if (bearer !== 'member') {
    const challenge = bearer === 'wrong' ? 'Bearer realm="peercam", error="invalid_token"' : 'Bearer realm="peercam"';
    throw new WhepError(401, "This is for members of the room: send the room's HTTP token (Authorization: Bearer; `peercam room show --json` prints it as httpToken) or a client token (`peercam whep token add NAME`).", {
      'www-authenticate': challenge,
    });
  }
  if (method !== 'HEAD' && !limiter.take(req.socket.remoteAddress ?? '?'))
    throw new WhepError(429, 'Too many WHEP requests from this address; slow down.', { 'retry-after': '1' });
  const token = byQuery ? query : bearerToken(req);
  return token === undefined ? undefined : guard.client(token);
}
