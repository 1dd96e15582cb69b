import ndc from 'node-datachannel';
import { type CandidateInit, Emitter, type Logger, PeercamError, silentLogger } from '../../protocol/index.js';
import type { PeerConfig, PeerEvents, PeerState } from '../../session/peer.js';
import { iceCredentialsOf, parseSdp } from '../sdp.js';
import { type NdcOptions, toRtcConfig } from './config.js';
import { probeTurnServers } from './turn-probe.js';

/** Every native DataChannel and Track handed out since the last `cleanup()`: see NdcConnection's pitfalls. */
const retained = new Set<object>();

const STATES = new Set<string>(['new', 'connecting', 'connected', 'disconnected', 'failed', 'closed']);

/**
 * What every node-datachannel peer shares: one PeerConnection with its callbacks registered first thing (before any
 * track or channel exists, or early events are lost), candidates and states turned into PeerEvents, and a close that
 * runs the owner's stop hooks before the native close so nothing sends on a closed transport (a send after close
 * crashed Node with a bus error).
 *
 * Measured pitfalls of node-datachannel 0.33 (libdatachannel 0.24), each of which kills or hangs the process:
 * - an exception escaping a native callback aborts it ("terminate called after throwing an instance of
 *   'Napi::Error'"): every handler is wrapped in `safely`;
 * - a `Track.onClosed` handler keeps the event loop alive forever if the loop turns between `close()` and
 *   `cleanup()`: we never register one (the connection state says when tracks are gone);
 * - `setLocalDescription` with new ICE credentials on a live connection aborts it (std::invalid_argument), and a
 *   remote offer with new credentials is refused ("Invalid ICE settings"): no ICE restart, `canRestartIce` is false;
 * - the process does not exit until `cleanup()` (`shutdownNdc`) ran once after the last peer closed;
 * - a DataChannel or Track whose JS object is garbage collected stays in the native list that `cleanup()` walks, so
 *   `cleanup()` then crashes the process (SIGSEGV in DataChannelWrapper::CloseAll): every one is `retain`ed until
 *   `shutdownNdc` (a closed one is a few hundred bytes);
 * - closing the PeerConnection leaves its Tracks' and DataChannels' JS handlers registered natively (strong roots), so
 *   the closed peer and everything its handlers reach was never collected (~25 KB per session): close() closes each
 *   retained one itself, which drops its handlers.
 */
export class NdcConnection extends Emitter<PeerEvents> {
  protected readonly pc: ndc.PeerConnection;
  protected readonly log: Logger;
  private stateNow: PeerState = 'new';
  private closedFlag = false;
  private readonly stopHooks: (() => void)[] = [];
  /** This connection's Tracks and DataChannels, closed with it. */
  private readonly natives: { close(): void }[] = [];
  private readonly turnBridge: NdcOptions['turnBridge'];
  private localUfrag: string | undefined;
  private relayGathered = false;
  private iceConnectedFlag = false;

  constructor(name: string, config: PeerConfig, options: NdcOptions) {
    super();
    this.turnBridge = options.turnBridge;
    this.log = (options.log ?? silentLogger).child({ peer: name });
    this.pc = new ndc.PeerConnection(name, toRtcConfig(config, options));
    // Registered before the connection state: node-datachannel delivers each callback kind through its own async
    // handle, which libuv runs in the order they were made, so an ICE 'connected' is seen before a 'failed' after it.
    this.pc.onIceStateChange((s) => {
      if (s === 'connected' || s === 'completed') this.iceConnectedFlag = true;
    });
    this.pc.onStateChange((s) => this.safely('state', () => this.onNativeState(s)));
    this.pc.onLocalCandidate((candidate, mid) =>
      this.safely('candidate', () => {
        if (this.closedFlag) return;
        if (/\styp relay\b/.test(candidate)) this.relayGathered = true;
        this.emit('candidate', { candidate: stripAttribute(candidate), mid });
      }),
    );
    this.pc.onGatheringStateChange((s) =>
      this.safely('gathering', () => {
        if (s !== 'complete' || this.closedFlag) return;
        this.emit('gathered');
        // No relay although TURN was given: ask the server why (libjuice does not say), for the failure diagnosis.
        if (!this.relayGathered) void this.probeTurn(config);
      }),
    );
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  get state(): PeerState {
    return this.stateNow;
  }

  get iceConnected(): boolean {
    return this.iceConnectedFlag;
  }

  /** Runs `fn` from a native callback: never lets an exception reach node-datachannel. */
  protected safely(what: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.log.error({ err, what }, 'a node-datachannel callback handler threw');
    }
  }

  /** Keeps a native DataChannel or Track reachable until `shutdownNdc`, and closes it with the connection (see above). */
  protected retain<T extends { close(): void }>(native: T): T {
    retained.add(native);
    if (this.closedFlag) this.safely('closing a late track or channel', () => native.close());
    else this.natives.push(native);
    return native;
  }

  /** Adds a track to the connection, retained (see the pitfalls above). */
  protected addTrack(media: ndc.Video | ndc.Audio): ndc.Track {
    return this.retain(this.pc.addTrack(media));
  }

  /** Registers something to stop (timers, senders) before the native connection closes. */
  protected beforeClose(hook: () => void): void {
    this.stopHooks.push(hook);
  }

  /** Fails with PeercamError('closed') when used after close(). */
  protected assertOpen(what: string): void {
    if (this.closedFlag) throw new PeercamError('closed', `Cannot ${what}: this peer connection is closed.`);
  }

  /** The current local description (libdatachannel creates it synchronously inside set*Description). */
  protected localSdp(what: string): string {
    const local = this.pc.localDescription();
    if (!local) throw new PeercamError('internal', `node-datachannel produced no local description after ${what}.`);
    if (this.turnBridge) {
      const { ufrag, pwd } = iceCredentialsOf(parseSdp(local.sdp));
      if (ufrag && pwd) {
        this.turnBridge.trust(ufrag, pwd);
        this.localUfrag = ufrag;
      }
    }
    return local.sdp;
  }

  /**
   * Applies a remote offer; our answer then says `a=setup:passive` (see `asDtlsServer`). `who` names the offerer in
   * the error.
   */
  protected applyOffer(offer: string, who: string): void {
    try {
      this.pc.setRemoteDescription(asDtlsServer(offer), 'offer');
    } catch (err) {
      throw new PeercamError('media', `The WebRTC engine rejected ${who}'s offer: ${String(err)}.`, { cause: err });
    }
  }

  currentLocalDescription(): string | undefined {
    return this.closedFlag ? undefined : this.pc.localDescription()?.sdp;
  }

  async addCandidate(candidate: CandidateInit): Promise<void> {
    this.assertOpen('add a candidate');
    const text = stripAttribute(candidate.candidate).trim();
    if (text === '') return; // end-of-candidates marker (RFC 8838 8.2): nothing to apply
    try {
      this.pc.addRemoteCandidate(text, candidate.mid);
    } catch (err) {
      throw new PeercamError('ice-failed', `The remote ICE candidate "${text}" was rejected: ${String(err)}.`, { cause: err });
    }
  }

  async candidateType(): Promise<string | undefined> {
    if (this.closedFlag) return undefined;
    try {
      return this.pc.getSelectedCandidatePair()?.local.type;
    } catch {
      return undefined;
    }
  }

  private async probeTurn(config: PeerConfig): Promise<void> {
    for (const error of await probeTurnServers(config.iceServers)) {
      this.log.warn({ url: error.url, code: error.code }, `TURN server error: ${error.text}`);
      if (!this.closedFlag) this.emit('iceServerError', error);
    }
  }

  close(): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    if (this.localUfrag) this.turnBridge?.forget(this.localUfrag);
    for (const hook of this.stopHooks.splice(0)) this.safely('stop hook', hook);
    for (const native of this.natives.splice(0)) this.safely('closing a track or channel', () => native.close());
    try {
      this.pc.close();
    } catch (err) {
      this.log.warn({ err }, 'closing the peer connection failed');
    }
    this.setState('closed');
    this.removeAllListeners();
  }

  private onNativeState(s: string): void {
    if (this.closedFlag) return;
    if (!STATES.has(s)) {
      this.log.debug({ state: s }, 'ignored an unknown native state');
      return;
    }
    this.setState(s as PeerState);
  }

  private setState(s: PeerState): void {
    if (s === this.stateNow) return;
    this.stateNow = s;
    this.log.debug({ state: s }, 'peer state');
    this.emit('state', s);
  }
}

/**
 * An offer whose `a=setup:actpass` reads `a=setup:active`, so that libdatachannel answers `a=setup:passive` and is the
 * DTLS server (RFC 8842 5.3 lets the answerer take either role; the offerer learns its role from the answer).
 * Answering `active`, libdatachannel sends its ClientHello the moment its own ICE check succeeds, which on a LAN is
 * before the offerer has even received the answer; a libdatachannel offerer drops a DTLS record that comes before its
 * DTLS transport exists (Chromium keeps it), and OpenSSL resends only after 1 s. Measured between two
 * node-datachannel peers in one process: 6 of 30 sessions connected in ~1,005 ms instead of 5-30 ms. As the server,
 * we are ready before the offerer, which starts the handshake once the answer is in and its ICE connected.
 */
export function asDtlsServer(offer: string): string {
  return offer.replace(/^a=setup:actpass(?=\r?$)/gm, 'a=setup:active');
}

/** libdatachannel writes candidates as SDP attributes (`a=candidate:...`); the browser API wants `candidate:...`. */
export function stripAttribute(candidate: string): string {
  return candidate.startsWith('a=') ? candidate.slice(2) : candidate;
}

/** Releases node-datachannel's global threads. Call once at process exit, after every peer is closed. */
export function shutdownNdc(): void {
  ndc.cleanup();
  retained.clear();
}
