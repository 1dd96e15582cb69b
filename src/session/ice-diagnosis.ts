import { isTurnUrl, urlsOf } from './ice.js';
import type { PeerConfig } from './peer.js';

/** Candidates one side gathered, by type (RFC 8445 5.1.1: host, server reflexive, peer reflexive, relayed). */
export interface CandidateCounts {
  host: number;
  srflx: number;
  prflx: number;
  relay: number;
}

/** Candidate counts, all zero. */
export const noCandidates = (): CandidateCounts => ({ host: 0, srflx: 0, prflx: 0, relay: 0 });

/** Counts one `a=candidate` line by its `typ`. */
export function countCandidate(counts: CandidateCounts, candidate: string): void {
  const typ = /\styp\s+(host|srflx|prflx|relay)\b/.exec(candidate)?.[1] as keyof CandidateCounts | undefined;
  if (typ) counts[typ]++;
}

/** A STUN/TURN server that answered with an error while gathering (RTCPeerConnectionIceErrorEvent). */
export interface IceServerError {
  readonly url: string;
  /** STUN error code (401 unauthorized, 403 forbidden), or 701 when the server could not be reached. */
  readonly code: number;
  readonly text: string;
}

/** A TURN server refused us (credentials, forbidden, allocation mismatch, wrong credentials): trying again will not help. */
export function isTurnRefusal(e: IceServerError): boolean {
  return isTurnUrl(e.url) && (e.code === 401 || e.code === 403 || e.code === 437 || e.code === 441);
}

/** The kinds of ICE trouble a diagnosis tells apart. */
export type IceProblem = 'no-local-candidates' | 'no-ice-servers' | 'turn-refused' | 'turn-unreachable' | 'turn-needed' | 'no-path';

/** What both sides gathered and heard, from which a diagnosis is made. */
export interface IceFacts {
  /** The ICE servers this side used (its own plus the ones lent by the room). */
  readonly config: PeerConfig;
  readonly local: CandidateCounts;
  readonly remote: CandidateCounts;
  readonly localDone: boolean;
  readonly remoteDone: boolean;
  readonly serverErrors: readonly IceServerError[];
  /** "this page", "this device" */
  readonly self: string;
  /** "the camera", "the viewer" */
  readonly other: string;
}

/** Why ICE is stuck, in one code and a sentence for the user. */
export interface IceDiagnosis {
  readonly problem: IceProblem;
  /** What happened, what each side gathered, and what to do; shown as is to the user. */
  readonly message: string;
}

const TURN_FLAG = '--ice-server turn:user:password@host:3478';

/**
 * Why no candidate pair works, from what both sides gathered: the first cause that explains it, with its fix. The
 * text starts with a short label the user can search for ("TURN needed", "TURN refused (credentials)").
 */
export function diagnoseIce(f: IceFacts): IceDiagnosis {
  const urls = f.config.iceServers.flatMap(urlsOf);
  const turn = urls.filter(isTurnUrl);
  const gathered = `${f.self} gathered ${fmt(f.local)}${f.localDone ? '' : ' so far'}; ${f.other} ${fmt(f.remote)}${f.remoteDone ? '' : ' so far'}`;
  const refused = f.serverErrors.find(isTurnRefusal);
  if (refused && f.local.relay === 0)
    return {
      problem: 'turn-refused',
      message:
        `TURN refused (credentials): ${refused.url} answered ${refused.code}${refused.text ? ` ${refused.text}` : ''}, so ${f.self} has no relay (${gathered}). ` +
        'Check the TURN username and password, or that --turn-secret is the static-auth-secret of that coturn (and the clocks are right).',
    };
  const total = f.local.host + f.local.srflx + f.local.relay + f.local.prflx;
  if (total === 0 && f.localDone)
    return {
      problem: 'no-local-candidates',
      message: `No network path: ${gathered}. ${cap(f.self)} has no usable network address${turn.length ? ' and no TURN relay' : ''}: check its network connection${turn.length ? ' and that the TURN server is reachable' : ''}.`,
    };
  if (urls.length === 0 && f.local.srflx + f.local.relay + f.remote.srflx + f.remote.relay === 0)
    return {
      problem: 'no-ice-servers',
      message:
        `No STUN/TURN server known to ${f.self} or ${f.other}: ${gathered}, local addresses only, and they do not reach each other. ` +
        `On different networks a STUN server (and behind strict NATs a TURN server) is needed: give the hub or the camera ${TURN_FLAG} ` +
        '(or stun:host:3478); the room passes it on to every member.',
    };
  if (turn.length > 0 && f.local.relay === 0 && f.localDone) {
    const unreachable = f.serverErrors.find((e) => isTurnUrl(e.url));
    return {
      problem: 'turn-unreachable',
      message:
        `TURN gave no relay: ${gathered}${unreachable ? ` (${unreachable.url}: ${unreachable.code} ${unreachable.text})` : ''}. ` +
        `Check that ${turn[0]} is reachable from ${f.self} (port, firewall) and that its credentials are right.`,
    };
  }
  if (f.local.relay + f.remote.relay === 0)
    return {
      problem: 'turn-needed',
      message:
        `TURN needed (symmetric NAT or firewall): ${gathered}, and no direct or STUN path worked. ` +
        `Add a TURN server: ${TURN_FLAG} on the hub or the camera (the room lends it to every member).`,
    };
  return { problem: 'no-path', message: `No candidate pair worked: ${gathered}.` };
}

function fmt(c: CandidateCounts): string {
  return `host ${c.host}, srflx ${c.srflx}, relay ${c.relay}${c.prflx ? `, prflx ${c.prflx}` : ''}`;
}

function cap(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
