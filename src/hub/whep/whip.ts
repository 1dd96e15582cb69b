import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type CameraAgent, startCamera } from '../../agent/camera.js';
import { createPublisherPeer, type NdcOptions, type PublisherPeer } from '../../media/ndc/index.js';
import { IngestSource } from '../../media/sources/index.js';
import { type CandidateInit, type Logger, newDeviceId, PeercamError } from '../../protocol/index.js';
import type { PeerConfig } from '../../session/index.js';
import type { SealedChannel } from '../../signaling/channel.js';
import { RateLimiter } from '../../signaling/rate-limit.js';
import type { BearerGuard, Client, RouteHandler } from '../http-auth.js';
import type { JoinRoom } from '../hub.js';
import { WhepError } from './errors.js';
import { authorize, CORS, decode, iceLinks, mediaType, offerProblem, preflight, readBody } from './routes.js';
import { parseSdpFrag, withCandidates } from './sdpfrag.js';

export const WHIP_PREFIX = '/whip/';

export interface WhipDoorOptions {
  /** The hub's way into the room (set once the hub is up); each publisher joins as a camera through it. */
  readonly join: () => JoinRoom | undefined;
  /** Whether a camera of that name is in the room now (a second publisher under one name gets 409). */
  readonly nameTaken: (name: string) => boolean;
  readonly guard: BearerGuard;
  readonly config: PeerConfig;
  readonly engine?: NdcOptions;
  readonly rateLimit?: { readonly burst: number; readonly perSecond: number };
  /** WHIP publishers at once. Default 16. */
  readonly maxIngests?: number;
  readonly log: Logger;
}

/**
 * WHIP ingest (RFC 9725): an external publisher (OBS, GStreamer, a browser) becomes a camera of the room named in the
 * URL. The hub answers recvonly and fans the received media out to viewers like a copied RTSP stream: keyframe
 * cache, a viewer's PLI forwarded to the publisher, one upload for many viewers.
 */
export class WhipDoor {
  private readonly ingests = new Map<string, WhipIngest>();
  readonly route: RouteHandler;

  constructor(private readonly options: WhipDoorOptions) {
    const limiter = new RateLimiter({ burst: 40, perSecond: 10, ...options.rateLimit, maxSenders: 1024 });
    this.route = async (req, res) => {
      try {
        await this.serve(req, res, limiter);
      } catch (err) {
        const e = err instanceof WhepError ? err : new WhepError(500, `The WHIP door failed: ${String(err)}. See the hub log.`);
        if (res.headersSent) return void res.end();
        res.writeHead(e.status, { ...CORS, ...e.headers, 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
        res.end(`${e.message}\n`);
      }
    };
  }

  /** Publishers now. */
  get size(): number {
    return this.ingests.size;
  }

  async close(): Promise<void> {
    await Promise.all([...this.ingests.values()].map((i) => i.close('The hub stopped.')));
  }

  private async serve(req: IncomingMessage, res: ServerResponse, limiter: RateLimiter): Promise<void> {
    const parts = new URL(req.url ?? '/', 'http://hub').pathname.split('/');
    if (parts.length < 3 || parts.length > 4 || parts[2] === '') throw new WhepError(404, 'A WHIP URL is /whip/<camera name>.');
    const name = decode(parts[2] ?? '');
    const id = parts[3];
    const method = req.method ?? 'GET';
    if (method === 'OPTIONS') return preflight(res, id !== undefined);
    const allowed = id === undefined ? ['POST', 'OPTIONS'] : ['PATCH', 'DELETE', 'OPTIONS'];
    if (!allowed.includes(method)) throw new WhepError(405, `${method} is not used here; this resource takes ${allowed.join(', ')}.`, { allow: allowed.join(', ') });
    const client = authorize(req, this.options.guard, method, limiter);
    if (id === undefined) return this.post(req, res, name, parts[2] ?? '', client);
    const ingest = this.ingests.get(id);
    if (!ingest || ingest.name !== name) throw new WhepError(404, 'No such WHIP session (it ended, or was never made here). POST a new offer.');
    if (method === 'DELETE') {
      await ingest.close('The publisher ended the session (DELETE).');
      res.writeHead(200, { ...CORS, 'cache-control': 'no-store' });
      return void res.end();
    }
    if (mediaType(req) !== 'application/trickle-ice-sdpfrag')
      throw new WhepError(415, 'A PATCH carries Content-Type: application/trickle-ice-sdpfrag.', { 'accept-patch': 'application/trickle-ice-sdpfrag' });
    const frag = parseSdpFrag(await readBody(req, 16 * 1024), ingest.mid);
    if (!frag) throw new WhepError(400, 'The PATCH body is not a trickle-ice-sdpfrag (RFC 8840).');
    const ifMatch = req.headers['if-match'];
    if (ifMatch !== undefined && ifMatch.trim() !== '*' && ifMatch.trim() !== ingest.etag)
      throw new WhepError(412, `If-Match ${ifMatch} is not this session's current ETag ${ingest.etag}.`, { etag: ingest.etag });
    if (frag.ufrag !== undefined && frag.ufrag !== ingest.ufrag) {
      if (ifMatch === undefined) throw new WhepError(428, 'An ICE restart needs If-Match: "*" (RFC 9725 section 4.3.2).');
      throw new WhepError(422, 'This hub cannot restart ICE of a WHIP session in place (libdatachannel); DELETE it and POST a new offer.');
    }
    for (const c of frag.candidates) await ingest.peer.addCandidate(c).catch(() => {});
    res.writeHead(204, { ...CORS, etag: ingest.etag, 'cache-control': 'no-store' });
    res.end();
  }

  private async post(req: IncomingMessage, res: ServerResponse, name: string, namePath: string, client: Client | undefined): Promise<void> {
    if (mediaType(req) !== 'application/sdp') throw new WhepError(415, 'POST an SDP offer with Content-Type: application/sdp.', { 'accept-post': 'application/sdp' });
    const offer = await readBody(req, 48 * 1024);
    const problem = offerProblem(offer, 'whip');
    if (problem) throw new WhepError(400, `The body is not a usable SDP offer: ${problem}.`);
    if (name.length > 64) throw new WhepError(400, 'A camera name has at most 64 characters.');
    const join = this.options.join();
    if (!join) throw new WhepError(503, 'The hub is still joining its room; try again in a moment.', { 'retry-after': '1' });
    const max = this.options.maxIngests ?? 16;
    if (this.ingests.size >= max) throw new WhepError(503, `This hub takes at most ${max} WHIP publishers at once.`, { 'retry-after': '5' });
    if (this.options.nameTaken(name) || [...this.ingests.values()].some((i) => i.name === name))
      throw new WhepError(409, `A camera named "${name}" is already in the room; publish under another name.`);
    const ingest = new WhipIngest(name, this.options, (i) => this.ingests.delete(i.id));
    this.ingests.set(ingest.id, ingest);
    let answer: string;
    try {
      answer = await ingest.start(offer, join);
    } catch (err) {
      await ingest.close(String(err));
      if (err instanceof PeercamError && err.code === 'media') throw new WhepError(400, err.message);
      throw err;
    }
    // A publisher with its own token is cut off (its camera leaves) when the owner revokes the token.
    if (client) this.options.guard.clients?.whenRevoked(client, () => void ingest.close(`The token of client "${client.name}" was revoked.`), () => ingest.isClosed);
    res.writeHead(201, {
      ...CORS,
      'content-type': 'application/sdp',
      location: `${WHIP_PREFIX}${namePath}/${ingest.id}${req.headers.authorization === undefined ? new URL(req.url ?? '/', 'http://hub').search : ''}`,
      etag: ingest.etag,
      'accept-patch': 'application/trickle-ice-sdpfrag',
      'cache-control': 'no-store',
      ...(this.options.config.iceServers.length > 0 ? { link: iceLinks(this.options.config.iceServers) } : {}),
    });
    res.end(answer);
  }
}

/** One publisher: its peer connection, the source it feeds, and the camera that serves the room from it. */
class WhipIngest {
  readonly id = randomBytes(16).toString('base64url');
  readonly etag = `"${randomBytes(9).toString('base64url')}"`;
  peer!: PublisherPeer;
  ufrag: string | undefined;
  mid = '0';
  private source: IngestSource | undefined;
  private camera: CameraAgent | undefined;
  private channel: SealedChannel | undefined;
  private closed = false;

  get isClosed(): boolean {
    return this.closed;
  }

  constructor(
    readonly name: string,
    private readonly options: WhipDoorOptions,
    private readonly forget: (ingest: WhipIngest) => void,
  ) {}

  async start(offer: string, join: JoinRoom): Promise<string> {
    const log = this.options.log.child({ whip: this.name });
    const candidates: CandidateInit[] = [];
    let gathered!: () => void;
    const done = new Promise<void>((resolve) => (gathered = resolve));
    this.peer = createPublisherPeer(this.options.config, { ...this.options.engine, log, onRtp: (p, kind) => this.source?.push(p, kind) });
    this.peer.on('candidate', (c) => candidates.push(c));
    this.peer.on('gathered', () => gathered());
    this.peer.on('state', (s) => {
      if (s === 'failed' || s === 'closed') void this.close(`The publisher's connection ${s}.`);
    });
    this.ufrag = /^a=ice-ufrag:(\S+)/m.exec(offer)?.[1];
    this.mid = /^a=mid:(\S+)/m.exec(offer)?.[1] ?? '0';
    const answer = await this.peer.answer(offer);
    const negotiated = this.peer.negotiated;
    if (!negotiated) throw new PeercamError('internal', 'The WHIP answer settled nothing.');
    this.source = new IngestSource({ spec: `whip:${this.name}`, codec: negotiated.codec, audio: negotiated.audioPt !== undefined, requestKeyframe: () => this.peer.requestKeyframe(), logger: log });
    this.channel = await join({ id: newDeviceId(), name: this.name, role: 'camera' });
    this.camera = await startCamera({ channel: this.channel, source: this.source, name: this.name, peerConfig: this.options.config, ...(this.options.engine ? { engine: this.options.engine } : {}), log });
    // A WHIP answer carries all of the server's candidates (RFC 9725 section 4.3.1): wait for gathering, at most 2 s.
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([done, new Promise<void>((resolve) => (timer = setTimeout(resolve, 2000)))]);
    clearTimeout(timer);
    log.info({ codec: negotiated.codec, audio: negotiated.audioPt !== undefined }, 'WHIP publisher joined the room as a camera');
    return withCandidates(answer, candidates.filter((c) => !/\btcptype active\b/.test(c.candidate)));
  }

  async close(reason: string): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.forget(this);
    this.options.log.info({ whip: this.name, reason }, 'WHIP publisher left');
    this.source?.end(reason);
    await this.camera?.close();
    await this.channel?.close();
    this.peer?.close();
  }
}
