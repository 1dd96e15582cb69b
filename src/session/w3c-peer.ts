import { type CandidateInit, Emitter, PeercamError } from '../protocol/index.js';
import { browserEncodesH264, cameraOffer } from './camera-offer.js';
import type { Peer, PeerConfig, PeerEvents, PeerState } from './peer.js';

/** The W3C RTCPeerConnection constructor, injected (the browser's, or any compatible one). */
export type RTCPeerConnectionCtor = new (configuration?: RTCConfiguration) => RTCPeerConnection;

/** What each side puts on the connection. */
export type W3cMedia =
  | {
      /**
       * Viewer: receives video, and audio on a sendrecv transceiver whose sender starts without a track, so
       * push-to-talk is `talkBack.replaceTrack(mic)` with no renegotiation.
       */
      readonly role: 'viewer';
      /**
       * false: no audio transceiver (a camera whose presence says it has no sound and plays no talk-back). Each
       * transceiver costs the page's main thread blocking calls into the browser's WebRTC threads at every
       * description, which a grid of connections being set up keeps busy. Default true.
       */
      readonly audio?: boolean;
    }
  | {
      /**
       * Camera: the tracks of this stream (read when answering, so a re-acquired camera is what new viewers get) are
       * attached to the viewer's offered transceivers.
       */
      readonly role: 'camera';
      readonly stream: () => MediaStream;
    };


/** Options of a W3cPeer: the RTCPeerConnection to use, ICE servers, which side it is. */
export interface W3cPeerOptions {
  readonly RTCPeerConnection: RTCPeerConnectionCtor;
  readonly config: PeerConfig;
  readonly media: W3cMedia;
  /** A remote track arrived (camera video/audio at a viewer; talk-back audio at a camera). */
  readonly onTrack?: (track: MediaStreamTrack, stream: MediaStream) => void;
}

/** A `Peer` over a W3C RTCPeerConnection: what the web app uses on both sides. */
export class W3cPeer extends Emitter<PeerEvents> implements Peer {
  readonly canRestartIce = true;
  readonly pc: RTCPeerConnection;
  private stateNow: PeerState = 'new';
  private closed = false;
  /**
   * Settles when close() runs. A W3C operation pending at close never settles (the spec aborts its steps when the
   * connection closes), and a session awaiting one would wait forever: every operation races this.
   */
  private readonly closing: Promise<void>;
  private markClosed: () => void = () => {};
  /** The viewer's talk-back sender (audio transceiver); undefined on the camera side. */
  readonly talkBack: RTCRtpSender | undefined;
  /** Where remote tracks go (options.onTrack; a spare gets its own when it is taken). */
  onTrack: ((track: MediaStreamTrack, stream: MediaStream) => void) | undefined;
  /** See Peer: a prepared offer's is when prepareOffer() set it, long before its session sends it. */
  localDescriptionSetAt: number | undefined;
  /** The offer prepareOffer() made ahead; the next createOffer without a restart returns it. */
  private prepared: Promise<unknown> | undefined;
  /** What gathering told before anyone listened (prepareOffer); told again at the next createOffer. */
  private held: (() => void)[] | undefined;

  constructor(private readonly options: W3cPeerOptions) {
    super();
    this.onTrack = options.onTrack;
    this.closing = new Promise((resolve) => {
      this.markClosed = resolve;
    });
    const { config } = options;
    this.pc = new options.RTCPeerConnection({
      iceServers: config.iceServers.map((s) => ({
        urls: typeof s.urls === 'string' ? s.urls : [...s.urls],
        ...(s.username !== undefined ? { username: s.username } : {}),
        ...(s.credential !== undefined ? { credential: s.credential } : {}),
      })),
      iceTransportPolicy: config.iceTransportPolicy,
      bundlePolicy: 'max-bundle',
    });
    if (options.media.role === 'viewer') {
      this.pc.addTransceiver('video', { direction: 'recvonly' });
      if (options.media.audio !== false) this.talkBack = this.pc.addTransceiver('audio', { direction: 'sendrecv' }).sender;
    }
    this.pc.addEventListener('icecandidate', (e) => {
      if (this.closed) return;
      // A null candidate ends gathering; an empty one is the legacy per-section end-of-candidates marker.
      const c = e.candidate;
      if (c === null) this.tell(() => this.emit('gathered'));
      else if (c.candidate !== '') this.tell(() => this.emit('candidate', { candidate: c.candidate, mid: c.sdpMid ?? '0' }));
    });
    // A TURN server that refuses our credentials (401) or cannot be reached (701) says so only here.
    this.pc.addEventListener('icecandidateerror', (e) => {
      const err = e as RTCPeerConnectionIceErrorEvent;
      if (!this.closed) this.tell(() => this.emit('iceServerError', { url: err.url, code: err.errorCode, text: err.errorText }));
    });
    this.pc.addEventListener('connectionstatechange', () => this.setState(this.pc.connectionState));
    this.pc.addEventListener('track', (e) => {
      if (this.closed) return;
      this.onTrack?.(e.track, e.streams[0] ?? new MediaStream([e.track]));
    });
  }

  get state(): PeerState {
    return this.stateNow;
  }

  get iceConnected(): boolean {
    const ice = this.pc.iceConnectionState;
    return ice === 'connected' || ice === 'completed';
  }

  /**
   * A spare's head start (a viewer made before any camera is known): makes the first offer now, so the session that
   * takes this peer sends it without waiting for the browser's WebRTC set-up. What gathering finds meanwhile is held
   * and told at that session's createOffer, when it listens.
   */
  prepareOffer(): void {
    if (this.prepared || this.closed) return;
    this.held ??= [];
    this.prepared = this.makeOffer(false);
    this.prepared.catch(() => {}); // a spare closed unused: nobody waits for it
  }

  async createOffer(options: { iceRestart: boolean }): Promise<string> {
    this.assertOpen('make an offer');
    const held = this.held ?? [];
    this.held = undefined;
    for (const f of held) f();
    const prepared = this.prepared;
    this.prepared = undefined;
    if (prepared) {
      await this.unlessClosed(prepared, 'make an offer');
      if (!options.iceRestart) return this.localSdp();
    }
    return this.makeOffer(options.iceRestart);
  }

  private async makeOffer(iceRestart: boolean): Promise<string> {
    const offer = await this.unlessClosed(this.pc.createOffer({ iceRestart }), 'make an offer');
    await this.unlessClosed(this.pc.setLocalDescription(offer), 'make an offer');
    this.localDescriptionSetAt = Date.now();
    return this.localSdp();
  }

  async answer(offer: string): Promise<string> {
    this.assertOpen('answer');
    const remote = this.options.media.role === 'camera' ? cameraOffer(offer, browserEncodesH264()) : offer;
    await this.unlessClosed(this.pc.setRemoteDescription({ type: 'offer', sdp: remote }), 'answer');
    if (this.options.media.role === 'camera') this.attachCameraTracks(this.options.media.stream());
    const answer = await this.unlessClosed(this.pc.createAnswer(), 'answer');
    await this.unlessClosed(this.pc.setLocalDescription(answer), 'answer');
    this.localDescriptionSetAt = Date.now();
    return this.localSdp();
  }

  async acceptAnswer(answer: string): Promise<void> {
    this.assertOpen('apply an answer');
    await this.unlessClosed(this.pc.setRemoteDescription({ type: 'answer', sdp: answer }), 'apply an answer');
  }

  async addCandidate(candidate: CandidateInit): Promise<void> {
    if (this.closed) return;
    // A candidate for a connection that closed meanwhile has nothing left to do: done, not an error.
    await Promise.race([this.pc.addIceCandidate({ candidate: candidate.candidate, sdpMid: candidate.mid }), this.closing]);
  }

  currentLocalDescription(): string | undefined {
    return this.closed ? undefined : this.pc.localDescription?.sdp;
  }

  /** The local candidate type of the selected pair (host/srflx/prflx/relay), from getStats. */
  async candidateType(): Promise<string | undefined> {
    if (this.closed) return undefined;
    const stats = await Promise.race([this.pc.getStats(), this.closing]);
    return stats ? selectedPair(stats)?.localType : undefined;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.markClosed();
    this.pc.close();
    this.setState('closed');
    this.removeAllListeners();
  }

  private async unlessClosed<T>(op: Promise<T>, what: string): Promise<T> {
    const result = await Promise.race([op.then((value) => ({ value })), this.closing.then(() => undefined)]);
    if (!result || this.closed) throw new PeercamError('closed', `Cannot ${what}: this peer connection was closed meanwhile.`);
    return result.value;
  }

  /** Swaps the sending track of `kind` (a re-acquired camera or microphone), with no renegotiation. */
  async replaceTrack(track: MediaStreamTrack): Promise<void> {
    const t = this.pc.getTransceivers().find((x) => x.receiver.track.kind === track.kind && x.direction !== 'stopped');
    if (t && !this.closed) await t.sender.replaceTrack(track);
  }

  /**
   * Puts each camera track on the transceiver the viewer offered for its kind; a re-offer (ICE restart) finds them
   * already sending. A kind the viewer did not offer is simply not sent.
   */
  private attachCameraTracks(stream: MediaStream): void {
    for (const track of stream.getTracks()) {
      const t = this.pc.getTransceivers().find((x) => x.receiver.track.kind === track.kind && x.direction !== 'stopped');
      if (!t || t.sender.track === track) continue;
      void t.sender.replaceTrack(track);
      t.sender.setStreams?.(stream);
      // The answer intersects this with the offer: recvonly video becomes sendonly, sendrecv audio stays sendrecv
      // (so the viewer's talk-back reaches us).
      t.direction = 'sendrecv';
    }
  }

  /** Tells listeners now, or at the next createOffer while a prepared offer waits for its session. */
  private tell(f: () => void): void {
    if (this.held) this.held.push(f);
    else f();
  }

  private localSdp(): string {
    const sdp = this.pc.localDescription?.sdp;
    if (!sdp) throw new PeercamError('internal', 'The browser produced no local description.');
    return sdp;
  }

  private assertOpen(what: string): void {
    if (this.closed) throw new PeercamError('closed', `This peer connection was closed; cannot ${what}.`);
  }

  private setState(state: RTCPeerConnectionState | 'closed'): void {
    if (state === this.stateNow) return;
    this.stateNow = state;
    this.emit('state', state);
  }
}

/** The candidate pair a connection uses: local and remote types, round-trip time. */
export interface SelectedPair {
  readonly localType: string | undefined;
  readonly remoteType: string | undefined;
  /** Seconds. */
  readonly rtt: number | undefined;
}

/** The candidate pair in use according to a getStats report (transport.selectedCandidatePairId, else the nominated one). */
export function selectedPair(report: RTCStatsReport): SelectedPair | undefined {
  let pairId: string | undefined;
  report.forEach((s: { type: string; selectedCandidatePairId?: string }) => {
    if (s.type === 'transport' && s.selectedCandidatePairId) pairId = s.selectedCandidatePairId;
  });
  let pair: RTCIceCandidatePairStats | undefined;
  report.forEach((s: RTCIceCandidatePairStats) => {
    if (s.type !== 'candidate-pair') return;
    if (pairId ? s.id === pairId : s.nominated && s.state === 'succeeded') pair = s;
  });
  if (!pair) return undefined;
  const local = report.get(pair.localCandidateId) as { candidateType?: string } | undefined;
  const remote = report.get(pair.remoteCandidateId) as { candidateType?: string } | undefined;
  return { localType: local?.candidateType, remoteType: remote?.candidateType, rtt: pair.currentRoundTripTime };
}
