import { withoutCandidates } from '../../media/sdp.js';
import type { CandidateInit } from '../../protocol/index.js';

/** What a PATCH body (application/trickle-ice-sdpfrag, RFC 8840 section 4.3) says. */
export interface SdpFrag {
  readonly ufrag: string | undefined;
  readonly pwd: string | undefined;
  readonly candidates: readonly CandidateInit[];
  /** `a=end-of-candidates` was present (RFC 8838 section 8.2). */
  readonly done: boolean;
}

/** The most a client may send in one PATCH: a browser gathers a handful; anything far beyond is junk. */
const MAX_FRAG_CANDIDATES = 64;
const ICE_CHAR = /^[A-Za-z0-9+/]{1,256}$/; // ice-char (RFC 8839 section 5.4)

/** Parses a trickle-ice-sdpfrag; undefined when it is not one (400). Candidates outside an m-section take `fallbackMid`. */
export function parseSdpFrag(text: string, fallbackMid: string): SdpFrag | undefined {
  let ufrag: string | undefined;
  let pwd: string | undefined;
  let mid = fallbackMid;
  let done = false;
  const candidates: CandidateInit[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '') continue;
    if (!/^[a-z]=/.test(line)) return undefined;
    if (line.startsWith('m=')) {
      mid = fallbackMid;
      continue;
    }
    if (!line.startsWith('a=')) continue;
    const [name = '', ...rest] = line.slice(2).split(':');
    const value = rest.join(':');
    switch (name) {
      case 'ice-ufrag':
        if (!ICE_CHAR.test(value)) return undefined;
        ufrag = value;
        break;
      case 'ice-pwd':
        if (!ICE_CHAR.test(value)) return undefined;
        pwd = value;
        break;
      case 'mid':
        if (value === '' || value.length > 32) return undefined;
        mid = value;
        break;
      case 'candidate':
        if (value.length > 1000 || value.split(' ').length < 8) return undefined;
        if (candidates.length >= MAX_FRAG_CANDIDATES) return undefined;
        candidates.push({ candidate: `candidate:${value}`, mid });
        break;
      case 'end-of-candidates':
        done = true;
        break;
      default:
        break; // other attributes (ice-options, group) carry nothing a gateway needs
    }
  }
  return { ufrag, pwd, candidates, done };
}

/** The ICE credentials of an SDP (session or first media level). */
export function iceCredentials(sdp: string): { ufrag: string; pwd: string } | undefined {
  const ufrag = /^a=ice-ufrag:(\S+)\s*$/m.exec(sdp)?.[1];
  const pwd = /^a=ice-pwd:(\S+)\s*$/m.exec(sdp)?.[1];
  return ufrag && pwd ? { ufrag, pwd } : undefined;
}

/** The mid of the first m-section (candidates of a BUNDLE group all belong to it). */
export function firstMid(sdp: string): string {
  return /^a=mid:(\S+)\s*$/m.exec(sdp)?.[1] ?? '0';
}

/** The same SDP with new ICE credentials and no candidates: an ICE-restart offer built from the original one. */
export function withIceCredentials(sdp: string, ufrag: string, pwd: string): string {
  return lines(withoutCandidates(sdp))
    .map((l) => (l.startsWith('a=ice-ufrag:') ? `a=ice-ufrag:${ufrag}` : l.startsWith('a=ice-pwd:') ? `a=ice-pwd:${pwd}` : l))
    .join('\r\n')
    .concat('\r\n');
}

/**
 * The answer with the camera's candidates written into it, each in the m-section of its mid (the first one when
 * the mid is unknown), and end-of-candidates: a WHEP answer carries all of the server's candidates, since the server
 * never trickles (draft-ietf-wish-whep section 4.1, RFC 9725 section 4.3.1).
 */
export function withCandidates(sdp: string, candidates: readonly CandidateInit[]): string {
  const sections: string[][] = [[]];
  for (const l of lines(sdp)) {
    if (l.startsWith('m=')) sections.push([]);
    if (l.startsWith('a=candidate:') || l === 'a=end-of-candidates') continue;
    sections[sections.length - 1]?.push(l);
  }
  const mids = sections.map((s) => s.find((l) => l.startsWith('a=mid:'))?.slice(6));
  for (let i = 1; i < sections.length; i++) {
    const mine = candidates.filter((c) => c.mid === mids[i] || (i === 1 && !mids.includes(c.mid)));
    sections[i]?.push(...mine.map((c) => `a=${c.candidate.replace(/^a=/, '')}`), 'a=end-of-candidates');
  }
  return `${sections.flat().join('\r\n')}\r\n`;
}

/** The sdpfrag answering an ICE restart (RFC 8840 section 4.4): the new credentials and every candidate, one m-section. */
export function restartFrag(answer: string, candidates: readonly CandidateInit[], mediaLine: string): string {
  const creds = iceCredentials(answer);
  const mid = firstMid(answer);
  return [
    `a=ice-ufrag:${creds?.ufrag ?? ''}`,
    `a=ice-pwd:${creds?.pwd ?? ''}`,
    mediaLine,
    `a=mid:${mid}`,
    ...candidates.map((c) => `a=${c.candidate.replace(/^a=/, '')}`),
    'a=end-of-candidates',
    '',
  ].join('\r\n');
}

/** The first m= line of an SDP with port 9 (an sdpfrag's media line, RFC 8840 section 4.3). */
export function fragMediaLine(sdp: string): string {
  const m = /^m=(\S+) \S+ (\S+) (.*)$/m.exec(sdp);
  return m ? `m=${m[1]} 9 ${m[2]} ${m[3]?.trim()}` : 'm=video 9 UDP/TLS/RTP/SAVPF 96';
}

function lines(sdp: string): string[] {
  return sdp.split(/\r?\n/).filter((l) => l !== '');
}
