import {
  type Body,
  type CandidateInit,
  type DeviceId,
  Emitter,
  type Envelope,
  type Logger,
  type MessageType,
  type SessionId,
} from '../protocol/index.js';
import type { Channel } from '../signaling/channel.js';
import { countCandidate, diagnoseIce, type IceDiagnosis, type IceServerError, isTurnRefusal, noCandidates } from './ice-diagnosis.js';
import type { Peer, PeerConfig, PeerState } from './peer.js';
import { hasTurnServer } from './ice.js';
import { candidatesInSdp, candidatesOfSdp, TrickleBatcher } from './trickle.js';

/** Where a session stands. */
export type SessionState = 'negotiating' | 'connected' | 'restarting' | 'closed';

/** Why a session ended. Each comes with a message that tells the user what to do. */
export type CloseReason =
  | 'local' // we closed it
  | 'hangup' // the other side closed it
  | 'peer-gone' // the other side left the room
  | 'no-answer' // the camera never answered the offer
  | 'ice-failed' // no network path, even after restarts
  | 'rejected' // the camera refused (busy, unknown source)
  | 'error'; // something broke locally

/** Events of a viewer or camera session. */
export interface SessionEvents {
  /** The negotiation state changed. */
  state: (state: SessionState) => void;
  /** Media can flow; `ms` since the session (or the current restart) began. */
  connected: (info: { ms: number; gen: number; candidateType: string | undefined }) => void;
  /**
   * ICE is in trouble (failed, or not connected within the ICE timeout): why, from what both sides gathered, with the
   * fix. Comes once per session, before the restarts that may still save it, so the user learns it within the timeout.
   */
  trouble: (diagnosis: IceDiagnosis) => void;
  /** The session is over; it will not be used again. */
  closed: (reason: CloseReason, message: string) => void;
  /** A negotiation step of generation `gen`: our description handed to the channel, or the other side's applied. */
  step: (step: 'offer-sent' | 'answer-received', gen: number) => void;
}

/** How long a session waits for each step before it acts. */
export interface Timeouts {
  /** Wait for an answer before re-sending the offer once, then give up. */
  readonly answerMs: number;
  /** Wait for ICE to connect after the answer. */
  readonly iceMs: number;
  /** A `disconnected` that lasts this long is treated as a failure (restart). */
  readonly disconnectedGraceMs: number;
  /** Trickle batching window. */
  readonly trickleWindowMs: number;
  /** At most this long, a description waits for the candidates that come at once, to carry them. */
  readonly readyCandidatesMs: number;
  /** Gathering found nothing although a TURN server is known: wait this long for its error (the Node engine asks it). */
  readonly turnVerdictMs: number;
}

/**
 * Session timeouts unless overridden: answer 5 s, ICE 15 s, disconnected grace 3 s, trickle window 100 ms, up to
 * 40 ms for ready candidates (host candidates come within a few ms; srflx and relay ones are trickled), and 3 s for a
 * TURN server's verdict (the Node engine's probe gives up after 2 s).
 */
export const DEFAULT_TIMEOUTS: Timeouts = {
  answerMs: 5000,
  iceMs: 15000,
  disconnectedGraceMs: 3000,
  trickleWindowMs: 100,
  readyCandidatesMs: 40,
  turnVerdictMs: 3000,
};

/** What viewer and camera sessions share: peer wiring, trickle, candidate buffering, ordered sends and timers. */
export abstract class Negotiation extends Emitter<SessionEvents> {
  protected peer: Peer | undefined;
  protected gen = 0;
  protected stateNow: SessionState = 'negotiating';
  protected startedAt = Date.now();
  protected readonly timeouts: Timeouts;
  private batcher: TrickleBatcher | undefined;
  private peerOff: (() => void)[] = [];
  private remoteReady = false;
  private early: { gen: number; candidate: CandidateInit }[] = [];
  /** The newest generation whose remote candidates are all in (the remote sent `done`). */
  private remoteDoneGen = -1;
  private sendChain: Promise<void> = Promise.resolve();
  private inbox: Promise<void> = Promise.resolve();
  private readonly timers = new Map<string, ReturnType<typeof setTimeout>>();
  private connectedGen = -1;
  /** What each side gathered in the current generation, and what the ICE servers said: for the failure diagnosis. */
  private gathered = { local: noCandidates(), remote: noCandidates(), localDone: false, errors: [] as IceServerError[], gaveUp: false };
  private troubleTold = false;
  /** The ICE servers of the current peer (own plus lent), set by the subclass when it makes one. */
  protected usedConfig: PeerConfig = { iceServers: [], iceTransportPolicy: 'all' };
  /** How the two sides are called in diagnoses. */
  protected abstract readonly names: { readonly self: string; readonly other: string };

  constructor(
    protected readonly channel: Channel,
    readonly remote: DeviceId,
    readonly sid: SessionId,
    protected readonly log: Logger,
    timeouts: Partial<Timeouts>,
  ) {
    super();
    this.timeouts = { ...DEFAULT_TIMEOUTS, ...timeouts };
  }

  get state(): SessionState {
    return this.stateNow;
  }

  get generation(): number {
    return this.gen;
  }

  /** Feeds one envelope of this session; envelopes are handled strictly in arrival order. */
  handle(envelope: Envelope): Promise<void> {
    this.inbox = this.inbox.then(async () => {
      if (this.stateNow === 'closed') return;
      try {
        await this.onEnvelope(envelope);
      } catch (err) {
        this.log.warn({ err, type: envelope.type }, 'could not apply a signaling message');
        this.close('error', `Negotiation failed while applying ${envelope.type}: ${String(err)}`);
      }
    });
    return this.inbox;
  }

  /** Resolves once every message queued so far (a closing hangup included) has been handed to the channel. */
  drain(): Promise<void> {
    return this.sendChain;
  }

  close(reason: CloseReason = 'local', message = 'closed', notify = reason === 'local' || reason === 'error'): void {
    if (this.stateNow === 'closed') return;
    if (notify) this.send('hangup', { reason: message.slice(0, 256) });
    this.setState('closed');
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    this.dropPeer();
    this.emit('closed', reason, message);
    this.removeAllListeners();
  }

  protected abstract onEnvelope(envelope: Envelope): Promise<void>;
  /**
   * The connection failed after ICE connected: its DTLS handshake did (a certificate that does not match the signed
   * description, or libdatachannel checking it while the answer is still being applied). Not an ICE problem: the
   * session starts again, bounded as restarts are, without an ICE diagnosis.
   */
  protected abstract onHandshakeFailure(why: string): void;
  /** ICE failed, or stayed disconnected past the grace period. */
  protected abstract onIceTrouble(why: string): void;

  protected setState(state: SessionState): void {
    if (this.stateNow === state || this.stateNow === 'closed') return;
    this.stateNow = state;
    this.emit('state', state);
  }

  /** Installs a peer for generation `this.gen` (replacing any previous one) or re-arms trickle on the same peer. */
  protected usePeer(peer: Peer): void {
    if (peer !== this.peer) {
      this.dropPeer();
      this.peer = peer;
      this.peerOff = [
        peer.on('candidate', (c) => {
          countCandidate(this.gathered.local, c.candidate);
          this.batcher?.add(c);
        }),
        peer.on('gathered', () => {
          this.gathered.localDone = true;
          this.batcher?.gathered();
          this.hopeless();
        }),
        peer.on('state', (s) => this.onPeerState(peer, s)),
        peer.on('iceServerError', (e) => {
          if (this.gathered.errors.length < 16) this.gathered.errors.push(e);
          this.hopeless();
        }),
      ];
    }
    this.gathered = { local: noCandidates(), remote: noCandidates(), localDone: false, errors: [], gaveUp: false };
    this.disarm('gathering');
    this.batcher?.stop();
    const gen = this.gen;
    this.batcher = new TrickleBatcher(
      (batch) => this.send('candidates', { gen, candidates: batch.candidates, ...(batch.done ? { done: true } : {}) }),
      this.timeouts.trickleWindowMs,
    );
    this.remoteReady = false;
  }

  /**
   * Our description with the candidates gathered at once (host candidates: a few ms after it is set), so they travel
   * inside it instead of in a batch a trickle window later; what comes later (srflx, relay) is trickled.
   */
  protected async withReadyCandidates(peer: Peer, sdp: string): Promise<string> {
    if (!peer.currentLocalDescription || peer.candidatesHeld === true || !this.batcher) return sdp;
    const waited = peer.localDescriptionSetAt === undefined ? 0 : Date.now() - peer.localDescriptionSetAt;
    // No timer when the wait is over: on a busy page even a 0 ms one runs only after the tasks queued before it.
    if (waited < this.timeouts.readyCandidatesMs) await this.batcher.ready(this.timeouts.readyCandidatesMs - waited);
    if (peer !== this.peer) return sdp;
    return peer.currentLocalDescription() ?? sdp;
  }

  /** Our description `sdp` for this generation was sent: candidates may follow it, but not those it carries. */
  protected localDescriptionSent(sdp: string): void {
    this.batcher?.release(candidatesInSdp(sdp));
  }

  /** The remote description of this generation carries candidates (and maybe their end): count them. */
  protected remoteDescriptionCandidates(sdp: string): void {
    const carried = candidatesOfSdp(sdp);
    for (const c of carried.candidates) countCandidate(this.gathered.remote, c.candidate);
    if (carried.complete) this.remoteDoneGen = Math.max(this.remoteDoneGen, this.gen);
  }

  /** The remote description of this generation is applied: buffered candidates can go in. */
  protected async remoteDescriptionSet(): Promise<void> {
    this.remoteReady = true;
    const ready = this.early.filter((e) => e.gen === this.gen);
    this.early = this.early.filter((e) => e.gen > this.gen);
    for (const e of ready) await this.applyCandidate(e.candidate);
    // An ICE restart on a path that still works never leaves 'connected', so no state event will come.
    if (this.peer?.state === 'connected') this.onPeerState(this.peer, 'connected');
    // Gathering may have ended with nothing before the exchange was complete.
    this.hopeless();
  }

  protected async onCandidates(body: Body<'candidates'>): Promise<void> {
    if (body.gen < this.gen) return; // from an abandoned ICE generation
    if (body.done) this.remoteDoneGen = Math.max(this.remoteDoneGen, body.gen);
    if (body.gen === this.gen) for (const c of body.candidates) countCandidate(this.gathered.remote, c.candidate);
    if (body.gen > this.gen || !this.remoteReady) {
      this.early.push(...body.candidates.map((candidate) => ({ gen: body.gen, candidate })));
      if (this.early.length > 256) this.early.splice(0, this.early.length - 256);
      return;
    }
    for (const c of body.candidates) await this.applyCandidate(c);
  }

  /** Why ICE has no working pair in this generation, from what both sides gathered. */
  diagnose(): IceDiagnosis {
    return diagnoseIce({
      config: this.usedConfig,
      local: { ...this.gathered.local },
      remote: { ...this.gathered.remote },
      localDone: this.gathered.localDone,
      remoteDone: this.remoteDoneGen >= this.gen,
      serverErrors: this.gathered.errors,
      ...this.names,
    });
  }

  /**
   * Gathering ended with no candidate at all: say why at once. Where a new connection may gather what this one did
   * not (a TURN server that did not refuse us: its allocation failed or timed out this once), start over as soon as the
   * descriptions are exchanged instead of waiting out the ICE timeout; this connection can never connect. Without a
   * TURN server, or refused by it, a new connection would find the same: the ICE timeout stays the pace.
   */
  private hopeless(): void {
    const l = this.gathered.local;
    if (!this.gathered.localDone || l.host + l.srflx + l.relay + l.prflx > 0 || this.stateNow === 'closed') return;
    const turn = hasTurnServer(this.usedConfig.iceServers);
    // With TURN servers, wait for what they say (the Node engine asks them after gathering): the better reason.
    if (turn && this.gathered.errors.length === 0) {
      if (!this.timers.has('gathering')) this.arm('gathering', this.timeouts.turnVerdictMs, () => this.noCandidate(true));
      return;
    }
    this.noCandidate(turn && !this.gathered.errors.some(isTurnRefusal));
  }

  private noCandidate(startOver: boolean): void {
    this.disarm('gathering');
    this.troubled();
    // Not before the other side has our description and we have theirs: a restart would cross the answer in flight.
    if (!startOver || !this.remoteReady || this.gathered.gaveUp) return;
    this.gathered.gaveUp = true;
    this.onIceTrouble(`${this.names.self} gathered no ICE candidate`);
  }

  /** Tells the diagnosis once per session (the first time ICE is in trouble), and returns it. */
  protected troubled(): IceDiagnosis {
    const d = this.diagnose();
    if (!this.troubleTold) {
      this.troubleTold = true;
      this.log.warn({ problem: d.problem }, d.message);
      this.emit('trouble', d);
    }
    return d;
  }

  protected send<T extends Exclude<MessageType, 'presence'>>(type: T, body: Body<T>): void {
    this.sendChain = this.sendChain.then(() =>
      this.channel.send(this.remote, type, this.sid, body).catch((err: unknown) => {
        this.log.warn({ err, type }, 'could not send a signaling message');
      }),
    );
  }

  protected arm(name: string, ms: number, fire: () => void): void {
    this.disarm(name);
    this.timers.set(
      name,
      setTimeout(() => {
        this.timers.delete(name);
        if (this.stateNow !== 'closed') fire();
      }, ms),
    );
  }

  protected disarm(name: string): void {
    const t = this.timers.get(name);
    if (t) clearTimeout(t);
    this.timers.delete(name);
  }

  private async applyCandidate(candidate: CandidateInit): Promise<void> {
    try {
      await this.peer?.addCandidate(candidate);
    } catch (err) {
      this.log.debug({ err, candidate: candidate.candidate }, 'ignored a remote candidate');
    }
  }

  private onPeerState(peer: Peer, state: PeerState): void {
    if (peer !== this.peer || this.stateNow === 'closed') return;
    if (state === 'connected') {
      this.disarm('ice');
      this.disarm('disconnected');
      this.setState('connected');
      if (this.connectedGen !== this.gen) {
        this.connectedGen = this.gen;
        const gen = this.gen;
        const ms = Date.now() - this.startedAt;
        void peer.candidateType().then(
          (candidateType) => this.stateNow !== 'closed' && this.emit('connected', { ms, gen, candidateType }),
          () => this.stateNow !== 'closed' && this.emit('connected', { ms, gen, candidateType: undefined }),
        );
      }
    } else if (state === 'disconnected') {
      this.arm('disconnected', this.timeouts.disconnectedGraceMs, () =>
        this.onIceTrouble(`disconnected for ${this.timeouts.disconnectedGraceMs} ms`),
      );
    } else if (state === 'failed' && peer.iceConnected === true) {
      this.log.info({ gen: this.gen }, 'the DTLS handshake failed after ICE connected; starting again');
      this.onHandshakeFailure('the DTLS handshake failed after ICE connected');
    } else if (state === 'failed') {
      // Chromium declares failure as soon as every pair it has failed, even while the remote is still trickling
      // (a TURN allocation over TCP takes a while); it comes back to checking when more candidates arrive. Only a
      // failure with all remote candidates in is final at once; before that it gets the disconnected grace.
      if (this.remoteDoneGen >= this.gen) this.onIceTrouble('ICE failed');
      else this.arm('disconnected', this.timeouts.disconnectedGraceMs, () => this.onIceTrouble('ICE failed'));
    }
  }

  private dropPeer(): void {
    for (const off of this.peerOff) off();
    this.peerOff = [];
    this.batcher?.stop();
    this.batcher = undefined;
    this.peer?.close();
    this.peer = undefined;
  }
}
