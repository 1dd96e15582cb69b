import { type DeviceId, type Envelope, type Logger, newSessionId, silentLogger } from '../protocol/index.js';
import type { Channel } from '../signaling/channel.js';
import { Negotiation, type Timeouts } from './negotiation.js';
import { iceFailureAdvice, withLentIce } from './ice.js';
import type { PeerConfig, PeerFactory } from './peer.js';

/** What a ViewerSession needs: the channel, the camera, how to build peers, ICE servers. */
export interface ViewerSessionOptions {
  readonly channel: Channel;
  readonly camera: DeviceId;
  readonly peerFactory: PeerFactory;
  readonly config: PeerConfig;
  /** Which of the camera's sources to watch (default: its first). */
  readonly source?: string;
  /**
   * Ask the camera for the media in bursts of at most this many ms (`batchMs` in the offer): a recorder, which needs
   * no low latency and wakes up less often. Cameras that cannot (browsers, older ones) send live. Default: live.
   */
  readonly batchMs?: number;
  /** ICE restarts tried in a row before giving up with 'ice-failed'. */
  readonly maxRestarts?: number;
  readonly timeouts?: Partial<Timeouts>;
  readonly log?: Logger;
  /** How failure messages call this side: "this page" in the web app (default "this device"). */
  readonly selfName?: string;
}

/**
 * The viewer's side of one viewer<->camera negotiation. Only viewers ever offer (the WHEP model), so restarts can
 * never collide: the camera asks for one with `restart`, and the viewer re-offers with a higher generation.
 */
export class ViewerSession extends Negotiation {
  private offerSdp: string | undefined;
  private answered = false;
  private restarts = 0;
  /** The last failure was the DTLS handshake's, not ICE's (the message when the restarts run out). */
  private handshakeFailed = false;
  private offering = false;
  private remoteRestartable = false;
  private readonly off: () => void;
  private readonly offGone: () => void;
  private readonly offState: () => void;
  protected readonly names: { readonly self: string; readonly other: string };

  constructor(private readonly options: ViewerSessionOptions) {
    super(
      options.channel,
      options.camera,
      newSessionId(),
      (options.log ?? silentLogger).child({ camera: options.camera }),
      options.timeouts ?? {},
    );
    this.names = { self: options.selfName ?? 'this device', other: 'the camera' };
    this.off = options.channel.on('message', (e) => {
      if (e.from === this.remote && e.sid === this.sid) void this.handle(e);
    });
    this.offGone = options.channel.on('gone', (id) => {
      if (id === this.remote) this.close('peer-gone', 'The camera left the room.', false);
    });
    // An offer sent while the signaling link was down is lost: send it again the moment the link is back, instead of
    // waiting out the answer timer (a viewer whose network was cut rejoins as soon as it can).
    this.offState = options.channel.on('state', (state) => {
      if (state === 'online' && !this.answered && !this.offering && this.offerSdp !== undefined && this.stateNow !== 'closed') this.sendOffer(false);
    });
    // ICE servers lent after we offered (the hub's presence arrived after the camera's): start again with them at
    // once instead of failing first without them.
    const offLent = options.channel.on('peer', (p) => {
      if (!p.ice || (p.id !== this.remote && p.role !== 'hub') || this.stateNow === 'connected' || this.offerSdp === undefined) return;
      if (this.config().iceServers.length !== this.usedConfig.iceServers.length || this.config().iceTransportPolicy !== this.usedConfig.iceTransportPolicy)
        void this.restart('the room lent ICE servers', true);
    });
    this.once('closed', () => {
      this.off();
      this.offGone();
      this.offState();
      offLent();
    });
  }

  /** Sends the first offer. */
  async start(): Promise<void> {
    await this.offer(false);
  }

  protected async onEnvelope(e: Envelope): Promise<void> {
    switch (e.type) {
      case 'answer': {
        if (e.body.gen !== this.gen || this.answered) return; // duplicate, or for an offer we replaced
        this.answered = true;
        this.remoteRestartable = e.body.restartable === true;
        this.disarm('answer');
        try {
          await this.peer?.acceptAnswer(e.body.sdp);
          this.remoteDescriptionCandidates(e.body.sdp);
          this.emit('step', 'answer-received', e.body.gen);
          await this.remoteDescriptionSet();
        } catch (err) {
          // libdatachannel now and then fails the DTLS handshake while it still applies the answer (ICE connects at
          // once when the camera's checks came first, and the certificate is checked before the answer is stored),
          // then throws "remote candidate without ICE transport": a fresh attempt, not a dead session.
          // Its ICE state may not have reached us yet (the call blocked the thread it comes on): the error says it.
          if (this.peer?.iceConnected === true || /without ICE transport/.test(String(err))) {
            return this.onHandshakeFailure(`the DTLS handshake failed while the answer was applied: ${String(err)}`);
          }
          this.log.warn({ err }, 'the WebRTC engine rejected the answer');
          return this.restart(`the engine rejected the answer: ${String(err)}`);
        }
        this.arm('ice', this.timeouts.iceMs, () => this.onIceTrouble(`not connected ${this.timeouts.iceMs} ms after the answer`));
        return;
      }
      case 'candidates':
        return this.onCandidates(e.body);
      case 'restart':
        // For a generation we already replaced (we saw the same failure first): nothing more to do.
        if (e.body.gen !== undefined && e.body.gen < this.gen) return;
        return this.restart(`camera asked: ${e.body.reason}`);
      case 'hangup':
        return this.close('hangup', `The camera ended the session: ${e.body.reason}`, false);
      case 'error':
        return this.close('rejected', `The camera refused: ${e.body.message}`, false);
      default:
        this.log.debug({ type: e.type }, 'ignored a message a viewer does not expect');
    }
  }

  protected onIceTrouble(why: string): void {
    // Said at the first trouble, not after the restarts: the user learns why within the ICE timeout.
    this.troubled();
    this.handshakeFailed = false;
    void this.restart(why);
  }

  protected onHandshakeFailure(why: string): void {
    this.handshakeFailed = true;
    // A new connection: an ICE restart in place keeps the failed DTLS transport.
    void this.restart(why, false, true);
  }

  /**
   * `fresh`: a new peer even where ICE could restart in place (new ICE servers need a new connection), not counted as
   * a restart. `replace`: a new peer, counted.
   */
  private async restart(why: string, fresh = false, replace = fresh): Promise<void> {
    if (this.stateNow === 'closed' || this.offering) return;
    if (!fresh && this.restarts >= (this.options.maxRestarts ?? 3)) {
      if (this.handshakeFailed) {
        this.close('error', `The secure connection (DTLS) to the camera failed after ICE connected (${why}, ${this.restarts} restarts): its certificate did not match the fingerprint in its signed answer, or a WebRTC engine failed the handshake. Try again; if it persists, update peercam on both devices.`);
        return;
      }
      const d = this.diagnose();
      const advice = d.problem === 'no-path' ? ` ${iceFailureAdvice(this.config(), this.options.channel.peers.get(this.options.camera)?.agent)}` : '';
      // Hung up: the camera frees the session now rather than when its own timers run out (a watch that tries again
      // at once would otherwise find the camera's per-viewer sessions all taken).
      this.close('ice-failed', `${d.message}${advice} (${why}, ${this.restarts} restarts)`, true);
      return;
    }
    if (!fresh) this.restarts++;
    this.log.info({ why, gen: this.gen + 1 }, 'restarting ICE');
    this.setState('restarting');
    await this.offer(true, replace);
  }

  private async offer(restart: boolean, fresh = false): Promise<void> {
    if (restart) this.gen++;
    this.answered = false;
    this.startedAt = Date.now();
    const inPlace = restart && !fresh && this.peer?.canRestartIce === true && this.remoteRestartable;
    if (!inPlace) this.usedConfig = this.config();
    const peer = inPlace && this.peer ? this.peer : this.options.peerFactory(this.usedConfig);
    this.usePeer(peer);
    this.offering = true;
    try {
      this.offerSdp = await this.withReadyCandidates(peer, await peer.createOffer({ iceRestart: inPlace }));
    } finally {
      this.offering = false;
    }
    if (this.stateNow === 'closed') return;
    this.sendOffer(false);
    this.localDescriptionSent(this.offerSdp);
  }

  /** Our ICE servers plus those the camera and the room's hubs lend in their sealed presence (read at each offer). */
  private config(): PeerConfig {
    return withLentIce(this.options.config, this.options.channel.peers.values(), this.remote);
  }

  private sendOffer(retry: boolean): void {
    const sdp = this.offerSdp;
    if (sdp === undefined) return;
    const { source, batchMs } = this.options;
    this.send('offer', { sdp, gen: this.gen, ...(source ? { source } : {}), ...(batchMs ? { batchMs } : {}) });
    if (!retry) this.emit('step', 'offer-sent', this.gen);
    this.arm('answer', this.timeouts.answerMs, () => {
      if (!retry) return this.sendOffer(true); // offers are idempotent at the camera: a lost one is simply re-sent
      this.close(
        'no-answer',
        `The camera did not answer within ${(2 * this.timeouts.answerMs) / 1000} s. Is it running and in this room?`,
      );
    });
  }

  /** A connection that stays up for a while resets the restart budget. */
  protected override setState(state: Parameters<Negotiation['setState']>[0]): void {
    if (state === 'connected') this.arm('stable', this.timeouts.iceMs, () => (this.restarts = 0));
    else this.disarm('stable');
    super.setState(state);
  }
}
