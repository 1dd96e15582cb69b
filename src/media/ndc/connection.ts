import ndc from 'node-datachannel';
import { type CandidateInit, Emitter, type Logger, PeercamError, silentLogger } from '../../protocol/index.js';
import type { PeerConfig, PeerEvents, PeerState } from '../../session/peer.js';
import { hasTurnServer } from '../../session/ice.js';
import { iceCredentialsOf, parseSdp, withoutCandidates } from '../sdp.js';
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
  private readonly config: PeerConfig;
  /** Our offer's candidate and end-of-gathering events, held until its answer is applied (see `setOffer`). */
  private held: (() => void)[] | undefined;

  constructor(name: string, config: PeerConfig, options: NdcOptions) {
    super();
    this.turnBridge = options.turnBridge;
    this.config = config;
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
        const init = { candidate: stripAttribute(candidate), mid };
        this.tell(() => this.emit('candidate', init));
      }),
    );
    this.pc.onGatheringStateChange((s) =>
      this.safely('gathering', () => {
        if (s !== 'complete' || this.closedFlag) return;
        this.tell(() => this.emit('gathered'));
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

  get candidatesHeld(): boolean {
    return this.held !== undefined;
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
   * Applies a remote offer. Our answer says `a=setup:passive` (see `asDtlsServer`) unless `answersActive`: then
   * libdatachannel's own `a=setup:active`. `who` names the offerer in the error.
   */
  protected applyOffer(offer: string, who: string): void {
    try {
      this.pc.setRemoteDescription(answersActive(this.config, offer) ? offer : asDtlsServer(offer), 'offer');
    } catch (err) {
      throw new PeercamError('media', `The WebRTC engine rejected ${who}'s offer: ${String(err)}.`, { cause: err });
    }
  }

  /**
   * Sets our offer (`set` makes libdatachannel create it) and returns it. Unless we have a TURN server (below), it goes
   * without candidates: they, and the end of gathering, are told once the answer is applied (`applyAnswer`).
   *
   * libdatachannel 0.24 hands a remote answer to ICE before it stores it. When the answerer's checks reached us first
   * (they do whenever it has our candidates, which used to travel inside the offer), ICE connects within
   * setRemoteDescription and DTLS starts before the answer's fingerprint is stored: "certificate verify failed", and
   * the connection fails (a session starts over with a new connection). Measured in `bench:connect`, 200 sessions:
   * 39 started over on a quiet machine, 34 on a loaded one; 0 and 0 now. Without our candidates the answerer cannot
   * check us first: we check it once the answer is in, it learns our address from those checks (a peer-reflexive
   * candidate), and our candidates follow. The cost: the answerer connects last, ~50 ms later in ~1 session of 4 (its
   * check waits for libjuice's next 50 ms tick), which is also why it then answers as the DTLS client (`answersActive`).
   *
   * Not with a TURN server: over relays the answerer must have our candidates early, to let its TURN server pass our
   * checks (a permission per peer address). Without them our checks were dropped, the answerer's own check connected
   * first, and its early ClientHello reached us over a relayed pair: the libdatachannel deadlock `answersActive`
   * describes (a relay-only `peercam watch` hung; test/agent/camera-watch.test.ts).
   */
  protected setOffer(set: () => void, what: string): string {
    const hold = !hasTurnServer(this.config.iceServers);
    this.held = hold ? [] : undefined;
    set();
    const sdp = this.localSdp(what);
    return hold ? withoutCandidates(sdp) : sdp;
  }

  /** Applies the answer to our offer and tells the candidates held until then (see `setOffer`). */
  protected applyAnswer(answer: string, who: string): void {
    try {
      this.pc.setRemoteDescription(answer, 'answer');
    } catch (err) {
      throw new PeercamError('media', `The WebRTC engine rejected ${who}'s answer: ${String(err)}.`, { cause: err });
    }
    const held = this.held ?? [];
    this.held = undefined;
    for (const event of held) event();
  }

  /** Tells a local candidate or gathering event now, or once the answer is in while our offer's are held. */
  private tell(event: () => void): void {
    if (this.held) this.held.push(event);
    else event();
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
    this.held = undefined;
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

/**
 * Whether a node-datachannel answerer with this configuration answers this offer as the DTLS client (`a=setup:active`,
 * the engine's default) rather than the server (`asDtlsServer`): when it has a TURN server, so that its selected pair
 * may be relayed, or when the offer carries no candidate.
 *
 * With a TURN server: libdatachannel 0.24 (node-datachannel 0.33) holds the DTLS records that come before its DTLS
 * transport exists and hands them over as that transport starts, on the ICE thread, which still holds the ICE agent's
 * lock. Over a relayed pair of our own, sending the reply needs that lock too (libjuice locks its TURN state to send
 * through a relay), while the starting transport waits for the TLS lock the reply holds: the two threads wait for each
 * other and the process never connects anything again (its main thread blocks at the next close). Fixed upstream in
 * libdatachannel#1630, not yet in a node-datachannel release. As the server, the answerer gets the offerer's
 * ClientHello before its own ICE check succeeded in ~1 of 4 relayed sessions: the offerer, ICE's controlling agent,
 * connects first. As the client, the answerer connects last and sends its ClientHello to an offerer that is already
 * listening. Measured with `peercam camera` and `peercam watch`, both relay-only through a local coturn (TURN over
 * TCP), on a loaded machine: as the server, in 25 watches of a fresh camera it hung twice and waited 1 s for a DTLS
 * retransmit 5 times; as the client, 0 of either in 90 (TURN over TCP and UDP).
 *
 * Without a candidate in the offer (our node-datachannel offerers hold theirs until they have the answer: see
 * `setOffer`), we cannot check the offerer first: it checks us once it has the answer, its ICE connects first, and as
 * the server we would get its ClientHello before our DTLS transport exists, to be resent after 1 s (measured in
 * `bench:connect`: ~1 session in 6). As the client we send ours to an offerer already listening.
 *
 * Otherwise (a browser's offer with its candidates, no TURN) no pair of ours is relayed, sending takes no lock, and
 * we check the offerer as soon as we have its offer: the server role saves the 1 s stalls `asDtlsServer` describes.
 */
export function answersActive(config: PeerConfig, offer: string): boolean {
  return hasTurnServer(config.iceServers) || !/^a=candidate:/m.test(offer);
}

/** libdatachannel writes candidates as SDP attributes (`a=candidate:...`); the browser API wants `candidate:...`. */
export function stripAttribute(candidate: string): string {
  return candidate.startsWith('a=') ? candidate.slice(2) : candidate;
}

const ENGINE_LOG_LEVELS = new Map<string, ndc.LogLevel>([
  ['verbose', 'Verbose'],
  ['debug', 'Debug'],
  ['info', 'Info'],
  ['warning', 'Warning'],
  ['error', 'Error'],
]);

/**
 * PEERCAM_WEBRTC_LOG=verbose|debug|info|warning|error: libdatachannel's (and libjuice's) own log on stderr, one
 * `webrtc: <level> <message>` line each, to see why a connection does not come up (docs/RELIABILITY.md). Unset: off.
 */
export function engineLogFromEnv(value = process.env.PEERCAM_WEBRTC_LOG): void {
  if (value === undefined || value === '' || value === 'off') return;
  const level = ENGINE_LOG_LEVELS.get(value.toLowerCase());
  if (level === undefined) {
    throw PeercamError.config(`PEERCAM_WEBRTC_LOG=${value}: use one of ${[...ENGINE_LOG_LEVELS.keys()].join(', ')} or off.`);
  }
  ndc.initLogger(level, (l, message) => process.stderr.write(`webrtc: ${l.toLowerCase()} ${message}\n`));
}

/** Releases node-datachannel's global threads. Call once at process exit, after every peer is closed. */
export function shutdownNdc(): void {
  ndc.cleanup();
  retained.clear();
}
