import { type CandidateInit, Emitter } from '../../src/protocol/index.js';
import type { IceServerError } from '../../src/session/ice-diagnosis.js';
import type { Peer, PeerEvents, PeerState } from '../../src/session/peer.js';
import { candidatesOfSdp } from '../../src/session/trickle.js';

let counter = 0;

/**
 * A stand-in for a WebRTC peer, for unit tests of the session logic and the signaling benchmark: synthetic SDP of a
 * realistic size, one host candidate per generation, and "connected" once it holds the remote description and a
 * remote candidate of the current ICE generation (never in a generation whose gathering finds nothing). `fail()` and
 * `disconnect()` simulate network trouble. With `carriesCandidates` it keeps its gathered candidate in its local
 * description, as real engines do, and takes the candidates of a remote description.
 */
export class FakePeer extends Emitter<PeerEvents> implements Peer {
  readonly id = ++counter;
  ufrag = `u${this.id}g0`;
  remoteUfrag: string | undefined;
  remoteCandidates: CandidateInit[] = [];
  offers = 0;
  answers = 0;
  closed = false;
  private stateNow: PeerState = 'new';
  private local: string | undefined;
  private localCandidate: string | undefined;
  currentLocalDescription?: () => string | undefined;
  /** As in Peer: set by a test to play a description set ahead (a spare's prepared offer). */
  localDescriptionSetAt: number | undefined;
  /** How long gathering takes to find its candidate. */
  gatherDelayMs = 1;
  /** How many of the next gatherings end with no candidate (no usable address, a TURN allocation that failed). */
  gathersNothing = 0;
  /** What a TURN server says in a gathering that found nothing (as the engines report it), if anything. */
  turnError: IceServerError | undefined;
  /** This generation's gathering finds nothing: no pair, it never connects. */
  private gatheringNothing = false;

  constructor(
    readonly canRestartIce = true,
    carriesCandidates = false,
  ) {
    super();
    if (carriesCandidates)
      this.currentLocalDescription = () => (this.local && this.localCandidate ? `${this.local}a=${this.localCandidate}\r\n` : this.local);
  }

  get state(): PeerState {
    return this.stateNow;
  }

  async createOffer(options: { iceRestart: boolean }): Promise<string> {
    this.offers++;
    if (options.iceRestart) this.ufrag = `u${this.id}g${this.offers}`;
    this.gather();
    this.local = sdp('offer', this.ufrag);
    return this.local;
  }

  async answer(offer: string): Promise<string> {
    this.answers++;
    const remote = ufragOf(offer);
    if (this.remoteUfrag !== undefined && remote !== this.remoteUfrag) this.ufrag = `u${this.id}g${this.answers}`;
    this.remoteUfrag = remote;
    this.remoteCandidates = [];
    this.takeCandidates(offer);
    this.gather();
    this.local = sdp('answer', this.ufrag);
    this.maybeConnect();
    return this.local;
  }

  /** How many of the next answers to reject, as libdatachannel now and then does with a valid one. */
  rejectAnswers = 0;
  /** With `rejectAnswers`: ICE connected before the rejection (libdatachannel's handshake race; see ViewerSession). */
  rejectAfterIce = false;
  /** ICE worked in this connection (set by `failHandshake`, or by a rejection with `rejectAfterIce`). */
  iceConnected = false;

  async acceptAnswer(answer: string): Promise<void> {
    if (this.rejectAnswers > 0) {
      this.rejectAnswers--;
      this.iceConnected = this.rejectAfterIce;
      throw new Error('Got a remote candidate without ICE transport');
    }
    this.remoteUfrag = ufragOf(answer);
    this.remoteCandidates = [];
    this.takeCandidates(answer);
    this.maybeConnect();
  }

  /** The candidates a remote description carries (engines apply them with it). */
  private takeCandidates(remote: string): void {
    for (const c of candidatesOfSdp(remote).candidates) if (c.candidate.includes(`ufrag ${this.remoteUfrag}`)) this.remoteCandidates.push(c);
  }

  async addCandidate(candidate: CandidateInit): Promise<void> {
    if (this.remoteUfrag === undefined) throw new Error('remote description not set');
    if (!candidate.candidate.includes(`ufrag ${this.remoteUfrag}`)) return; // another generation's
    this.remoteCandidates.push(candidate);
    this.maybeConnect();
  }

  async candidateType(): Promise<string | undefined> {
    return 'host';
  }

  fail(): void {
    this.setState('failed');
  }

  /** Fails after ICE connected, as a failed DTLS handshake does. */
  failHandshake(): void {
    this.iceConnected = true;
    this.setState('failed');
  }

  disconnect(): void {
    this.setState('disconnected');
  }

  close(): void {
    this.closed = true;
    this.setState('closed');
  }

  private gather(): void {
    const ufrag = this.ufrag;
    this.localCandidate = undefined;
    const nothing = this.gathersNothing > 0;
    if (nothing) this.gathersNothing--;
    this.gatheringNothing = nothing;
    setTimeout(() => {
      if (this.closed) return;
      if (!nothing) {
        this.localCandidate = `candidate:1 1 udp 2122260223 127.0.0.1 ${40000 + this.id} typ host ufrag ${ufrag}`;
        this.emit('candidate', { candidate: this.localCandidate, mid: '0' });
      } else if (this.turnError) this.emit('iceServerError', this.turnError);
      this.emit('gathered');
    }, this.gatherDelayMs);
  }

  private maybeConnect(): void {
    if (this.remoteUfrag !== undefined && this.remoteCandidates.length > 0 && !this.gatheringNothing) this.setState('connected');
  }

  private setState(state: PeerState): void {
    if (this.stateNow === state || this.stateNow === 'closed') return;
    this.stateNow = state;
    this.emit('state', state);
  }
}

function ufragOf(sdpText: string): string {
  const m = /a=ice-ufrag:(\S+)/.exec(sdpText);
  if (!m?.[1]) throw new Error('no ufrag in SDP');
  return m[1];
}

/** A synthetic SDP of typical browser size (~2.5 KB) so message sizes are realistic. */
function sdp(kind: 'offer' | 'answer', ufrag: string): string {
  const lines = [
    'v=0',
    `o=- ${Date.now()} 2 IN IP4 127.0.0.1`,
    's=-',
    't=0 0',
    'a=group:BUNDLE 0 1',
    'm=video 9 UDP/TLS/RTP/SAVPF 96 97 102 103',
    'c=IN IP4 0.0.0.0',
    `a=ice-ufrag:${ufrag}`,
    'a=ice-pwd:abcdefghijklmnopqrstuvwx',
    'a=fingerprint:sha-256 11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00',
    `a=setup:${kind === 'offer' ? 'actpass' : 'active'}`,
    'a=mid:0',
    kind === 'offer' ? 'a=recvonly' : 'a=sendonly',
  ];
  for (let pt = 96; pt < 120; pt++) lines.push(`a=rtpmap:${pt} H264/90000`, `a=fmtp:${pt} packetization-mode=1;profile-level-id=42e01f`);
  return `${lines.join('\r\n')}\r\n`;
}
