import type { DeviceId, Envelope, EnvelopeOf, Logger, SessionId } from '../protocol/index.js';
import type { Channel } from '../signaling/channel.js';
import { Negotiation, type Timeouts } from './negotiation.js';
import type { PeerConfig, Peer } from './peer.js';

/** What a camera needs to know to build the peer for one viewer. */
export interface OfferContext {
  readonly viewer: DeviceId;
  readonly sid: SessionId;
  readonly source: string | undefined;
  /** The viewer takes its media in bursts of at most this many ms (a recorder); undefined: live. */
  readonly batchMs: number | undefined;
}

/** Builds the camera's peer for one viewer's offer (which source, which viewer). */
export type CameraPeerFactory = (config: PeerConfig, context: OfferContext) => Peer;

/** The camera's side of one session: answers each offer generation, asks the viewer to restart when ICE fails. */
export class CameraSession extends Negotiation {
  private lastAnswer: { gen: number; sdp: string; restartable: boolean } | undefined;
  protected readonly names = { self: 'this camera', other: 'the viewer' } as const;

  constructor(
    channel: Channel,
    viewer: DeviceId,
    sid: SessionId,
    private readonly peerFactory: CameraPeerFactory,
    private readonly config: PeerConfig,
    log: Logger,
    timeouts: Partial<Timeouts>,
  ) {
    super(channel, viewer, sid, log.child({ viewer, sid }), timeouts);
  }

  protected async onEnvelope(e: Envelope): Promise<void> {
    switch (e.type) {
      case 'offer':
        return this.onOffer(e);
      case 'candidates':
        return this.onCandidates(e.body);
      case 'hangup':
        return this.close('hangup', `The viewer left: ${e.body.reason}`, false);
      default:
        this.log.debug({ type: e.type }, 'ignored a message a camera does not expect');
    }
  }

  private async onOffer(e: EnvelopeOf<'offer'>): Promise<void> {
    const { gen, sdp } = e.body;
    if (this.lastAnswer && gen === this.lastAnswer.gen) {
      // A redelivered or re-sent offer: answer again with the same description, build nothing new.
      this.send('answer', { sdp: this.lastAnswer.sdp, gen, restartable: this.lastAnswer.restartable });
      return;
    }
    if (this.lastAnswer && gen < this.lastAnswer.gen) return;
    this.gen = gen;
    this.startedAt = Date.now();
    if (this.lastAnswer) this.setState('restarting');
    // Not a peer whose DTLS handshake failed: an ICE restart would keep that transport.
    const reuse = this.peer?.canRestartIce && !(this.peer.state === 'failed' && this.peer.iceConnected === true);
    this.usedConfig = this.config;
    const peer = reuse && this.peer ? this.peer : this.peerFactory(this.config, { viewer: this.remote, sid: this.sid, source: e.body.source, batchMs: e.body.batchMs || undefined });
    this.usePeer(peer);
    this.remoteDescriptionCandidates(sdp);
    const answer = await this.withReadyCandidates(peer, await peer.answer(sdp));
    if (this.stateNow === 'closed') return;
    this.lastAnswer = { gen, sdp: answer, restartable: peer.canRestartIce };
    this.send('answer', { sdp: answer, gen, restartable: peer.canRestartIce });
    this.localDescriptionSent(answer);
    await this.remoteDescriptionSet();
    // If the viewer never connects (it vanished, or no path), free the resources; it can always offer again.
    this.arm('ice', this.timeouts.iceMs, () => {
      // Said in the camera's log within the ICE timeout; the resources wait as long again for a restart.
      const d = this.troubled();
      this.arm('ice', this.timeouts.iceMs, () => this.close('ice-failed', `The viewer never connected: ${d.message}`));
    });
  }

  protected onIceTrouble(why: string): void {
    this.troubled();
    this.askForOffer(why);
  }

  protected onHandshakeFailure(why: string): void {
    this.askForOffer(why);
  }

  /** The viewer offers again (only a viewer can); the resources wait twice the ICE timeout for it. */
  private askForOffer(why: string): void {
    this.send('restart', { reason: why, gen: this.gen });
    this.arm('ice', 2 * this.timeouts.iceMs, () => this.close('ice-failed', `The viewer did not restart after: ${why}.`));
  }
}
