import { PeercamError } from '../protocol/index.js';
import { h264Rank, parseFmtp } from '../session/h264-formats.js';

/** Minimal SDP reading (RFC 8866) for what the engine adapters need: m-lines, mids, formats, ICE credentials. */

export type SdpDirection = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';

/** One payload type of an m-line with its a=rtpmap, a=fmtp and a=rtcp-fb lines. */
export interface RtpFormat {
  readonly pt: number;
  /** Encoding name as written (e.g. `H264`, `VP8`, `opus`, `rtx`); compare case-insensitively. */
  readonly codec: string;
  readonly clockRate: number;
  readonly channels: number | undefined;
  /** The fmtp parameters as written after the payload type (`packetization-mode=1;profile-level-id=42e01f`). */
  readonly fmtp: string | undefined;
  /** Parsed fmtp parameters; keys lower-cased. */
  readonly params: Readonly<Record<string, string>>;
  /** a=rtcp-fb values for this payload type and for `*` (`nack`, `nack pli`, `ccm fir`, `goog-remb`, ...). */
  readonly rtcpFb: readonly string[];
}

export interface MediaSection {
  /** `video`, `audio`, `application`, ... */
  readonly kind: string;
  readonly port: number;
  readonly protocol: string;
  readonly mid: string | undefined;
  /** sendrecv when the section (and the session) says nothing, as RFC 8866 6.7 prescribes. */
  readonly direction: SdpDirection;
  /** Payload types in m-line order (the offerer's preference order). */
  readonly formats: readonly RtpFormat[];
  readonly iceUfrag: string | undefined;
  readonly icePwd: string | undefined;
  readonly ssrcs: readonly number[];
}

export interface SessionDescription {
  readonly media: readonly MediaSection[];
  /** Session-level ICE credentials (media-level ones win, see MediaSection). */
  readonly iceUfrag: string | undefined;
  readonly icePwd: string | undefined;
  /** Mids of the first a=group:BUNDLE line. */
  readonly bundle: readonly string[];
}

const DIRECTIONS = new Set<string>(['sendrecv', 'sendonly', 'recvonly', 'inactive']);

interface Draft {
  kind: string;
  port: number;
  protocol: string;
  pts: number[];
  mid: string | undefined;
  direction: SdpDirection | undefined;
  rtpmap: Map<number, { codec: string; clockRate: number; channels: number | undefined }>;
  fmtp: Map<number, string>;
  rtcpFb: Map<number | '*', string[]>;
  iceUfrag: string | undefined;
  icePwd: string | undefined;
  ssrcs: Set<number>;
}

/** Parses an SDP text; throws PeercamError('media') when it has no m-line or a malformed one. */
export function parseSdp(text: string): SessionDescription {
  const lines = text.split(/\r?\n/).filter((l) => l.length > 0);
  const drafts: Draft[] = [];
  let sessionUfrag: string | undefined;
  let sessionPwd: string | undefined;
  let sessionDirection: SdpDirection | undefined;
  let bundle: string[] | undefined;
  for (const line of lines) {
    if (line.startsWith('m=')) {
      const m = /^m=(\S+) (\d+)(?:\/\d+)? (\S+)((?: \S+)*)$/.exec(line);
      if (!m) throw badSdp(`malformed m-line "${line}"`);
      const pts = (m[4] ?? '').trim().split(' ').filter((s) => /^\d+$/.test(s)).map(Number);
      drafts.push({
        kind: m[1] ?? '',
        port: Number(m[2]),
        protocol: m[3] ?? '',
        pts,
        mid: undefined,
        direction: undefined,
        rtpmap: new Map(),
        fmtp: new Map(),
        rtcpFb: new Map(),
        iceUfrag: undefined,
        icePwd: undefined,
        ssrcs: new Set(),
      });
      continue;
    }
    if (!line.startsWith('a=')) continue;
    const attr = line.slice(2);
    const colon = attr.indexOf(':');
    const name = colon < 0 ? attr : attr.slice(0, colon);
    const value = colon < 0 ? '' : attr.slice(colon + 1);
    const cur = drafts.at(-1);
    if (!cur) {
      if (name === 'ice-ufrag') sessionUfrag = value;
      else if (name === 'ice-pwd') sessionPwd = value;
      else if (DIRECTIONS.has(name)) sessionDirection = name as SdpDirection;
      else if (name === 'group' && value.startsWith('BUNDLE') && !bundle) bundle = value.split(' ').slice(1);
      continue;
    }
    readMediaAttribute(cur, name, value);
  }
  if (drafts.length === 0) throw badSdp('it has no media section (m-line)');
  return {
    media: drafts.map((d) => finish(d, sessionDirection)),
    iceUfrag: sessionUfrag,
    icePwd: sessionPwd,
    bundle: bundle ?? [],
  };
}

function readMediaAttribute(cur: Draft, name: string, value: string): void {
  switch (name) {
    case 'mid':
      cur.mid = value;
      return;
    case 'ice-ufrag':
      cur.iceUfrag = value;
      return;
    case 'ice-pwd':
      cur.icePwd = value;
      return;
    case 'rtpmap': {
      const m = /^(\d+) ([^/\s]+)\/(\d+)(?:\/(\d+))?/.exec(value);
      if (m) cur.rtpmap.set(Number(m[1]), { codec: m[2] ?? '', clockRate: Number(m[3]), channels: m[4] ? Number(m[4]) : undefined });
      return;
    }
    case 'fmtp': {
      const m = /^(\d+) (.*)$/.exec(value);
      if (m) cur.fmtp.set(Number(m[1]), (m[2] ?? '').trim());
      return;
    }
    case 'rtcp-fb': {
      const m = /^(\d+|\*) (.+)$/.exec(value);
      if (!m) return;
      const key = m[1] === '*' ? '*' : Number(m[1]);
      const list = cur.rtcpFb.get(key) ?? [];
      list.push((m[2] ?? '').trim());
      cur.rtcpFb.set(key, list);
      return;
    }
    case 'ssrc': {
      const m = /^(\d+)/.exec(value);
      if (m) cur.ssrcs.add(Number(m[1]));
      return;
    }
    default:
      if (DIRECTIONS.has(name)) cur.direction = name as SdpDirection;
  }
}

function finish(d: Draft, sessionDirection: SdpDirection | undefined): MediaSection {
  const wildcard = d.rtcpFb.get('*') ?? [];
  const formats = d.pts.map((pt): RtpFormat => {
    const map = d.rtpmap.get(pt);
    const fmtp = d.fmtp.get(pt);
    return {
      pt,
      codec: map?.codec ?? '',
      clockRate: map?.clockRate ?? 0,
      channels: map?.channels,
      fmtp,
      params: parseFmtp(fmtp ?? ''),
      rtcpFb: [...wildcard, ...(d.rtcpFb.get(pt) ?? [])],
    };
  });
  return {
    kind: d.kind,
    port: d.port,
    protocol: d.protocol,
    mid: d.mid,
    direction: d.direction ?? sessionDirection ?? 'sendrecv',
    formats,
    iceUfrag: d.iceUfrag,
    icePwd: d.icePwd,
    ssrcs: [...d.ssrcs],
  };
}

/** The same SDP without its candidates (`a=candidate`) and without `a=end-of-candidates`. */
export function withoutCandidates(sdp: string): string {
  const kept = sdp.split(/\r?\n/).filter((l) => l !== '' && !l.startsWith('a=candidate:') && l !== 'a=end-of-candidates');
  return `${kept.join('\r\n')}\r\n`;
}

/** The ICE username fragment of the first media section (or the session level), if any. */
export function iceUfragOf(sdp: SessionDescription | string): string | undefined {
  const d = typeof sdp === 'string' ? parseSdp(sdp) : sdp;
  return d.media[0]?.iceUfrag ?? d.iceUfrag;
}

export function iceCredentialsOf(sdp: SessionDescription): { ufrag: string | undefined; pwd: string | undefined } {
  const m = sdp.media[0];
  return { ufrag: m?.iceUfrag ?? sdp.iceUfrag, pwd: m?.icePwd ?? sdp.icePwd };
}

export type VideoCodec = 'H264' | 'VP8';

/** The best offered H.264 format we can feed, in our order (`h264Rank`), the offer's order among equals. */
export function chooseH264(section: MediaSection): RtpFormat | undefined {
  let best: { f: RtpFormat; rank: number } | undefined;
  for (const f of section.formats) {
    if (f.codec.toUpperCase() !== 'H264' || f.clockRate !== 90000) continue;
    const rank = h264Rank(f.params);
    if (rank !== undefined && (best === undefined || rank < best.rank)) best = { f, rank };
  }
  return best?.f;
}

/** The first offered VP8 format (RFC 7741). */
export function chooseVp8(section: MediaSection): RtpFormat | undefined {
  return section.formats.find((f) => f.codec.toUpperCase() === 'VP8' && f.clockRate === 90000);
}

/** The first offered Opus format (RFC 7587: always opus/48000/2). */
export function chooseOpus(section: MediaSection): RtpFormat | undefined {
  return section.formats.find((f) => f.codec.toLowerCase() === 'opus' && f.clockRate === 48000);
}

/** Picks the first codec of `preference` that the section offers. */
export function chooseVideo(section: MediaSection, preference: readonly VideoCodec[]): { codec: VideoCodec; format: RtpFormat } | undefined {
  for (const codec of preference) {
    const format = codec === 'H264' ? chooseH264(section) : chooseVp8(section);
    if (format) return { codec, format };
  }
  return undefined;
}

function badSdp(why: string): PeercamError {
  return new PeercamError('media', `The session description is not usable: ${why}. The other side sent a malformed SDP.`);
}
