import { randomBytes } from 'node:crypto';
import { type Body, type CandidateInit, type DeviceId, type Envelope, type Logger, newSessionId, type SessionId, silentLogger } from '../../protocol/index.js';
import type { Channel, PeerInfo } from '../../signaling/channel.js';
import { candidateKey, candidatesOfSdp } from '../../session/index.js';
import { WhepError } from './errors.js';
import type { NdcOptions } from '../../media/ndc/index.js';
import type { PeerConfig } from '../../session/index.js';
import { choosePath, type WhepRelayMode } from './path.js';
import { type WhepRelay, WhepRelays } from './relay.js';
import { firstMid, fragMediaLine, iceCredentials, restartFrag, type SdpFrag, withCandidates, withIceCredentials } from './sdpfrag.js';

export interface WhepGatewayOptions {
  /** The hub's own member of the room (a viewer with no presence of its own is enough). */
  readonly channel: Channel;
  /** WHEP sessions at once, all cameras together. Default 64. */
  readonly maxSessions?: number;
  /** How long a camera has to answer (the offer is re-sent once halfway). Default 8 s. */
  readonly answerMs?: number;
  /** How long to wait after the answer for the camera's last candidate batch (`done`). Default 2 s. */
  readonly candidatesMs?: number;
  /** Which path media takes (docs/WHEP.md): `auto` (default) decides per client, `always` relays, `never` does not. */
  readonly relay?: WhepRelayMode;
  /** The hub's ICE servers and engine options, for its relays (none: relays use no STUN/TURN and the default engine). */
  readonly config?: PeerConfig;
  readonly engine?: NdcOptions;
  /** How long a relay outlives its last client. Default 5 s. */
  readonly relayLingerMs?: number;
  readonly log?: Logger;
}

/** How a POST wants its media to come: the door's or the request's mode, and the client's address for `auto`. */
export interface PathRequest {
  readonly mode: WhepRelayMode;
  readonly client: string;
}

/** How long the camera's candidates from a direct answer (or a failed direct session) decide `auto` without asking it. */
const CAMERA_FACTS_MS = 5 * 60_000;

/** Retry-After (seconds) for a camera that is offline or a hub that is full. */
export const RETRY_AFTER_S = 5;

/**
 * The hub's WHEP door as a signaling gateway: a WHEP offer becomes a peercam `offer` to the camera over the room's
 * sealed channel and the camera's answer (with all its candidates) goes back in the 201, so media flows camera ->
 * client directly, with the camera's one encode. PATCHed candidates become `candidates` messages, an ICE restart a
 * new offer generation, DELETE a `hangup`.
 */
export class WhepGateway {
  private readonly sessions = new Map<string, WhepSession>();
  /** Cameras seen since the hub started (id -> name): an offline one gets 409, an unknown one 404. */
  private readonly seen = new Map<DeviceId, string>();
  private readonly offs: (() => void)[];
  /** The candidates of each camera's last direct answer (for `auto`), and when they came. */
  private readonly cameraFacts = new Map<DeviceId, { candidates: string[]; at: number }>();
  /** When a direct session of (camera, client address) last failed ICE: `auto` relays that client for a while. */
  private readonly directFailures = new Map<string, number>();
  readonly relays: WhepRelays;
  readonly log: Logger;

  constructor(readonly options: WhepGatewayOptions) {
    this.log = (options.log ?? silentLogger).child({ component: 'whep' });
    const config = options.config ?? { iceServers: [], iceTransportPolicy: 'all' };
    this.relays = new WhepRelays(
      {
        channel: options.channel,
        config,
        ...(options.engine ? { engine: options.engine } : {}),
        ...(options.relayLingerMs !== undefined ? { lingerMs: options.relayLingerMs } : {}),
        log: this.log,
      },
      {
        route: (e) => this.route(e),
        // Its clients' sessions end with it.
        closed: (relay) => {
          for (const s of [...this.sessions.values()]) if (s.relay === relay) s.close('The hub stopped relaying this camera.', false);
        },
      },
    );
    const remember = (p: PeerInfo) => {
      if (p.role === 'camera') this.seen.set(p.id, p.name);
    };
    for (const p of options.channel.peers.values()) remember(p);
    this.offs = [
      options.channel.on('peer', remember),
      options.channel.on('message', (e) => this.route(e)),
      options.channel.on('gone', (id) => {
        for (const s of [...this.sessions.values()]) if (s.camera === id) s.close('The camera left the room.', false);
      }),
    ];
  }

  /** Live WHEP sessions now. */
  get size(): number {
    return this.sessions.size;
  }

  /** Whether a camera of that name or id is in the room now. */
  isLive(key: string): boolean {
    return [...this.options.channel.peers.values()].some((p) => p.role === 'camera' && (p.id === key || p.name === key));
  }

  /** The camera a WHEP URL names (its device id, or its name), or a 404 / 409 WhepError. */
  camera(key: string): PeerInfo {
    const peers = [...this.options.channel.peers.values()].filter((p) => p.role === 'camera');
    const live = peers.find((p) => p.id === key) ?? peers.find((p) => p.name === key);
    if (live) return live;
    if (this.seen.has(key) || [...this.seen.values()].includes(key))
      throw new WhepError(409, `The camera "${key}" is offline: it was in the room but left. Try again when it is back.`, {
        'retry-after': String(RETRY_AFTER_S),
      });
    throw new WhepError(404, `No camera "${key}" in this room. The names and ids of the cameras: peercam ls.`);
  }

  /**
   * Sends the WHEP client's offer to the camera, directly or through the hub's relay of it (`path`); resolves with the
   * session and the answer once every candidate is in.
   */
  async open(camera: PeerInfo, offer: string, source?: string, path: PathRequest = { mode: this.options.relay ?? 'auto', client: '127.0.0.1' }): Promise<{ session: WhepSession; answer: string }> {
    const max = this.options.maxSessions ?? 64;
    if (this.sessions.size >= max)
      throw new WhepError(503, `This hub serves at most ${max} WHEP sessions at once; try later.`, { 'retry-after': String(RETRY_AFTER_S) });
    const decided = path.mode === 'auto' ? this.decide(camera, path.client) : undefined;
    if (path.mode === 'always' || decided === 'relay') return this.start(camera, offer, source, await this.relayOf(camera, source), path.client);
    const direct = await this.start(camera, offer, source, undefined, path.client);
    this.cameraFacts.set(camera.id, { candidates: direct.session.cameraCandidates, at: Date.now() });
    if (decided !== 'ask' || this.decide(camera, path.client) === 'direct') return direct;
    // The camera's own answer showed that this client cannot reach it: the hub relays instead.
    direct.session.close('The hub relays this client instead (auto).', true);
    return this.start(camera, offer, source, await this.relayOf(camera, source), path.client);
  }

  /**
   * `auto`'s choice for this client and camera (docs/WHEP.md): `relay` after a direct session of this client with
   * this camera failed ICE lately, else from the camera's candidates of its last direct answer, or `ask` (answer
   * directly first, then decide from that answer) when there is none.
   */
  decide(camera: PeerInfo, client: string): 'direct' | 'relay' | 'ask' {
    const failed = this.directFailures.get(`${camera.id} ${client}`);
    if (failed !== undefined && Date.now() - failed < CAMERA_FACTS_MS) {
      this.log.info({ camera: camera.name, client, path: 'relay', why: 'a direct session of this client failed ICE lately' }, 'WHEP path chosen (auto)');
      return 'relay';
    }
    const facts = this.cameraFacts.get(camera.id);
    if (!facts || Date.now() - facts.at >= CAMERA_FACTS_MS) return 'ask';
    const d = choosePath({ client, camera: facts.candidates, clientHasIceServers: (this.options.config?.iceServers.length ?? 0) > 0 });
    this.log.info({ camera: camera.name, client, path: d.path, why: d.why }, 'WHEP path chosen (auto)');
    return d.path;
  }

  /** @internal A direct session's camera saw ICE fail (it asked for a restart, which only the client can do). */
  directFailed(camera: DeviceId, client: string): void {
    if (this.directFailures.size >= 1024) this.directFailures.clear(); // a bound, not an LRU: a hint, not state
    this.directFailures.set(`${camera} ${client}`, Date.now());
  }

  private async relayOf(camera: PeerInfo, source: string | undefined): Promise<WhepRelay> {
    try {
      return await this.relays.get(camera, source);
    } catch (err) {
      if (err instanceof WhepError) throw err;
      throw new WhepError(502, `The hub could not relay the camera "${camera.name}": ${String(err)}`);
    }
  }

  private async start(camera: PeerInfo, offer: string, source: string | undefined, relay: WhepRelay | undefined, client: string): Promise<{ session: WhepSession; answer: string }> {
    const session = new WhepSession(this, camera, offer, source, client, relay);
    this.sessions.set(session.id, session);
    try {
      const answer = await session.start();
      return { session, answer };
    } catch (err) {
      session.close(err instanceof WhepError ? err.message : String(err), true);
      throw err;
    }
  }

  session(id: string): WhepSession | undefined {
    return this.sessions.get(id);
  }

  /** Hangs up every WHEP session (their cameras hear of it), stops the relays and stops listening. */
  async close(): Promise<void> {
    for (const s of [...this.sessions.values()]) s.close('The hub stopped.', true);
    for (const off of this.offs) off();
    await this.relays.close();
  }

  /** @internal */
  forget(session: WhepSession): void {
    this.sessions.delete(session.id);
  }

  private route(e: Envelope): void {
    for (const s of this.sessions.values())
      if (s.peer === e.from && s.sid === e.sid) {
        s.handle(e);
        return;
      }
  }
}

/** One exchange (offer -> answer + candidates) waiting for the camera. */
interface Exchange {
  readonly gen: number;
  answer: { sdp: string; restartable: boolean } | undefined;
  readonly candidates: CandidateInit[];
  resolve(value: { sdp: string; restartable: boolean; candidates: CandidateInit[] }): void;
  reject(err: WhepError): void;
  timer: ReturnType<typeof setTimeout> | undefined;
}

/** One WHEP client's session with one camera, behind an unguessable resource URL. */
export class WhepSession {
  /** 128 random bits: the session URL is the capability to PATCH or DELETE it (with the token). */
  readonly id = randomBytes(16).toString('base64url');
  readonly sid: SessionId = newSessionId();
  readonly camera: DeviceId;
  readonly cameraName: string;
  /** Who answers this session's offers: the camera itself, or the hub's relay of it. */
  readonly peer: DeviceId;
  /** The candidates of the answer (`candidate:...`): the camera's own, or the relay's when relayed. */
  cameraCandidates: string[] = [];
  etag = newEtag();
  private gen = 0;
  private client: { ufrag: string; pwd: string };
  private restartable = false;
  private exchange: Exchange | undefined;
  private closed = false;
  private readonly mid: string;
  private readonly createdAt = Date.now();

  constructor(
    private readonly gateway: WhepGateway,
    camera: PeerInfo,
    private readonly offer: string,
    private readonly source: string | undefined,
    /** The client's address as the HTTP server saw it. */
    readonly clientAddress: string,
    /** Set when the hub relays this session (docs/WHEP.md): the offer goes to the relay's camera. */
    readonly relay?: WhepRelay,
  ) {
    this.camera = camera.id;
    this.cameraName = camera.name;
    this.peer = relay ? relay.device : camera.id;
    const creds = iceCredentials(offer);
    if (!creds) throw new WhepError(400, 'The offer has no ICE credentials (a=ice-ufrag / a=ice-pwd).');
    this.client = creds;
    this.mid = firstMid(offer);
  }

  /** The client's current ICE username fragment: a PATCH with another one is an ICE restart. */
  get clientUfrag(): string {
    return this.client.ufrag;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  async start(): Promise<string> {
    const got = await this.ask(this.offer);
    this.restartable = got.restartable;
    this.cameraCandidates = got.candidates.map((c) => c.candidate);
    this.gateway.log.info({ camera: this.cameraName, session: this.id, relayed: this.relay !== undefined, ms: Date.now() - this.createdAt, candidates: got.candidates.length }, 'WHEP session answered');
    return withCandidates(got.sdp, got.candidates);
  }

  /** Trickled candidates of the client (PATCH, 204). */
  trickle(frag: SdpFrag): void {
    if (frag.candidates.length === 0 && !frag.done) return;
    const candidates = frag.candidates.map((c) => ({ candidate: c.candidate, mid: c.mid === '' ? this.mid : c.mid }));
    this.send('candidates', { gen: this.gen, ufrag: this.client.ufrag, candidates, ...(frag.done ? { done: true } : {}) });
  }

  /** An ICE restart (PATCH with new credentials, 200): a new offer generation to the camera; the sdpfrag answer. */
  async restart(frag: SdpFrag & { ufrag: string; pwd: string }): Promise<string> {
    if (!this.restartable)
      throw new WhepError(
        422,
        `${this.relay ? `The hub's relay of "${this.cameraName}"` : `The camera "${this.cameraName}"`} cannot restart ICE (node-datachannel's ICE agent, libjuice, refuses new ICE credentials on a live session; docs/WHEP.md). The session goes on over its current ICE path (RFC 9725 section 4.3.2); to start over, DELETE it and POST a new offer.`,
      );
    if (this.exchange) throw new WhepError(409, 'An ICE restart of this session is already under way; wait for it to finish.');
    this.gen++;
    this.client = { ufrag: frag.ufrag, pwd: frag.pwd };
    const got = await this.ask(withIceCredentials(this.offer, frag.ufrag, frag.pwd));
    this.trickle(frag);
    this.etag = newEtag();
    return restartFrag(got.sdp, got.candidates, fragMediaLine(this.offer));
  }

  /** Ends the session; `notify` tells the camera (a DELETE, a failed POST), not when the camera ended it. */
  close(reason: string, notify: boolean): void {
    if (this.closed) return;
    this.closed = true;
    if (notify) this.send('hangup', { reason: reason.slice(0, 256) });
    const ex = this.exchange;
    this.exchange = undefined;
    if (ex) {
      clearTimeout(ex.timer);
      ex.reject(new WhepError(502, `The session ended before the camera answered: ${reason}`));
    }
    this.gateway.forget(this);
    this.gateway.log.info({ camera: this.cameraName, session: this.id, reason }, 'WHEP session closed');
  }

  /** @internal An envelope of this session from the camera. */
  handle(e: Envelope): void {
    const ex = this.exchange;
    switch (e.type) {
      case 'answer':
        if (!ex || e.body.gen !== ex.gen || ex.answer) return;
        ex.answer = { sdp: e.body.sdp, restartable: e.body.restartable === true };
        // A camera sends the candidates it has inside its answer; when that is all of them, no batch follows.
        if (this.takeCandidates(ex, candidatesOfSdp(e.body.sdp))) this.finish(ex);
        else this.armCandidates(ex);
        return;
      case 'candidates':
        if (!ex || e.body.gen !== ex.gen) return; // late ones after the answer went out: a WHEP server never trickles
        if (this.takeCandidates(ex, { candidates: e.body.candidates, complete: e.body.done === true }) && ex.answer) this.finish(ex);
        return;
      case 'hangup':
        this.close(`The camera ended the session: ${e.body.reason}`, false);
        return;
      case 'error':
        if (ex) {
          clearTimeout(ex.timer);
          this.exchange = undefined;
          ex.reject(new WhepError(503, `The camera refused: ${e.body.message}`, { 'retry-after': String(RETRY_AFTER_S) }));
        }
        this.close(`The camera refused: ${e.body.message}`, false);
        return;
      case 'restart':
        // The camera sees ICE fail, but only the WHEP client can restart ICE (by PATCH). `auto` learns from it: this
        // client's next POST for this camera goes through the relay.
        this.gateway.log.info({ camera: this.cameraName, session: this.id, client: this.clientAddress, reason: e.body.reason }, 'the camera sees ICE trouble with a WHEP client');
        if (!this.relay) this.gateway.directFailed(this.camera, this.clientAddress);
        return;
      default:
        this.gateway.log.debug({ type: e.type, session: this.id }, 'ignored a message the WHEP gateway does not use');
    }
  }

  private ask(sdp: string): Promise<{ sdp: string; restartable: boolean; candidates: CandidateInit[] }> {
    const gen = this.gen;
    const answerMs = this.gateway.options.answerMs ?? 8000;
    return new Promise((resolve, reject) => {
      const ex: Exchange = { gen, answer: undefined, candidates: [], resolve, reject, timer: undefined };
      this.exchange = ex;
      // The relay watches the requested source already: its own camera has just the one.
      const offer = () => this.send('offer', { sdp, gen, ...(this.source && !this.relay ? { source: this.source } : {}) });
      offer();
      // Offers are idempotent at the camera (same sid and gen): a lost one is simply sent again.
      ex.timer = setTimeout(() => {
        if (ex.answer) return;
        offer();
        ex.timer = setTimeout(() => {
          if (this.exchange !== ex || ex.answer) return;
          this.exchange = undefined;
          reject(new WhepError(504, `The camera "${this.cameraName}" did not answer within ${answerMs / 1000} s. Is it running? Try again.`));
        }, answerMs / 2);
      }, answerMs / 2);
    });
  }

  /** Keeps the camera's candidates a WHEP client can use; true when they are all there. */
  private takeCandidates(ex: Exchange, got: { candidates: readonly CandidateInit[]; complete: boolean }): boolean {
    const known = new Set(ex.candidates.map((c) => candidateKey(c.candidate)));
    // An active TCP candidate (port 9) only dials out (RFC 6544 section 4.5): a WHEP client cannot reach it.
    ex.candidates.push(...got.candidates.filter((c) => !/\btcptype active\b/.test(c.candidate) && !known.has(candidateKey(c.candidate))));
    return got.complete;
  }

  private armCandidates(ex: Exchange): void {
    clearTimeout(ex.timer);
    // The camera's candidates follow its answer in one or two batches (docs/PROTOCOL.md); a camera whose last
    // batch never says `done` (a TURN server that does not answer) still gets its answer out with what came.
    ex.timer = setTimeout(() => this.finish(ex), this.gateway.options.candidatesMs ?? 2000);
  }

  private finish(ex: Exchange): void {
    if (this.exchange !== ex || !ex.answer) return;
    clearTimeout(ex.timer);
    this.exchange = undefined;
    ex.resolve({ ...ex.answer, candidates: ex.candidates });
  }

  private send<T extends 'offer' | 'candidates' | 'hangup'>(type: T, body: Body<T>): void {
    const channel = this.relay ? this.relay.link : this.gateway.options.channel;
    channel.send(this.peer, type, this.sid, body).catch((err: unknown) => {
      this.gateway.log.warn({ err: String(err), type, session: this.id }, 'could not send to the camera');
    });
  }
}

function newEtag(): string {
  return `"${randomBytes(9).toString('base64url')}"`;
}
