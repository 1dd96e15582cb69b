import type { CandidateInit, Emitter } from '../protocol/index.js';
import type { IceServerError } from './ice-diagnosis.js';

/** An ICE server as in RTCConfiguration. */
export interface IceServer {
  readonly urls: string | readonly string[];
  readonly username?: string;
  readonly credential?: string;
}

/** What a peer connection needs to know: ICE servers and the transport policy. */
export interface PeerConfig {
  readonly iceServers: readonly IceServer[];
  /** 'relay' forces TURN (used by tests and by users behind hostile NATs). */
  readonly iceTransportPolicy: 'all' | 'relay';
}

/** A peer connection state, as RTCPeerConnection.connectionState. */
export type PeerState = 'new' | 'connecting' | 'connected' | 'disconnected' | 'failed' | 'closed';

/** Events of a Peer. */
export interface PeerEvents {
  /** A local ICE candidate was gathered. */
  candidate: (candidate: CandidateInit) => void;
  /** Local gathering finished for the current ICE generation. */
  gathered: () => void;
  /** The connection state changed. */
  state: (state: PeerState) => void;
  /** A STUN/TURN server answered with an error while gathering (engines that can tell). */
  iceServerError: (error: IceServerError) => void;
}

/**
 * One WebRTC peer connection as the session layer drives it, whatever implements it: the browser's
 * RTCPeerConnection (web/), node-datachannel (media/) or a fake in unit tests. Media setup (which tracks, which
 * codecs) belongs to the implementation; the session only moves descriptions and candidates.
 */
export interface Peer extends Pick<Emitter<PeerEvents>, 'on'> {
  /** Viewer side: create an offer and set it as local description. `iceRestart` asks for new ICE credentials. */
  createOffer(options: { iceRestart: boolean }): Promise<string>;
  /** Camera side: apply the viewer's offer, create and set the answer, return it. */
  answer(offer: string): Promise<string>;
  /** Viewer side: apply the camera's answer. */
  acceptAnswer(answer: string): Promise<void>;
  /** Apply a remote candidate (only after the remote description is set; the session buffers early ones). */
  addCandidate(candidate: CandidateInit): Promise<void>;
  /** The connection state now (RTCPeerConnection.connectionState); it can stay 'connected' through an ICE restart. */
  readonly state: PeerState;
  /**
   * ICE found a working path in this connection (engines that can tell). A connection that fails with this true failed
   * its DTLS handshake, not ICE: the session starts again without an ICE diagnosis.
   */
  readonly iceConnected?: boolean;
  /**
   * Our offer carries no candidates and they are told only once the answer is applied (engines that must: see the
   * node-datachannel connection's `setOffer`): the session sends the offer at once instead of waiting for them.
   */
  readonly candidatesHeld?: boolean;
  /** Whether this implementation can restart ICE in place; when false the session replaces the peer instead. */
  readonly canRestartIce: boolean;
  /**
   * The local description now, with the candidates gathered so far (engines keep them in it). When present, a session
   * waits a moment for the candidates that come at once and sends this instead, so they travel inside the description.
   */
  currentLocalDescription?(): string | undefined;
  /**
   * When (Date.now()) the current local description was set, for one set ahead of its session (a spare's prepared
   * offer): the wait for the candidates that come at once counts from then, so a description made long ago goes at
   * once and whatever it still gathers is trickled. Absent: the wait counts from the session's call.
   */
  readonly localDescriptionSetAt?: number | undefined;
  /** Type of the local candidate in use once connected (host/srflx/prflx/relay), if known. */
  candidateType(): Promise<string | undefined>;
  close(): void;
}

/** Makes a Peer. Cameras and viewers bring their own (media attached inside). */
export type PeerFactory = (config: PeerConfig) => Peer;
