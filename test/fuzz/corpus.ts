import fc from 'fast-check';

/**
 * Seeds for the fuzzers: real descriptions and candidates as peercam's peers and Chromium produce them, and
 * fast-check arbitraries that mutate them (character, range and line level), so most inputs are near-valid and reach
 * deep into the parsers instead of failing at the first byte.
 */

/** A Chromium 156 recvonly offer (audio + video, RTX, several H.264 profiles, extmaps, trickled host candidate). */
export const CHROMIUM_OFFER = [
  'v=0',
  'o=- 4611731400430051336 2 IN IP4 127.0.0.1',
  's=-',
  't=0 0',
  'a=group:BUNDLE 0 1',
  'a=extmap-allow-mixed',
  'a=msid-semantic: WMS',
  'm=video 9 UDP/TLS/RTP/SAVPF 96 97 103 104 107 108 109 114 45',
  'c=IN IP4 0.0.0.0',
  'a=rtcp:9 IN IP4 0.0.0.0',
  'a=ice-ufrag:Xq7b',
  'a=ice-pwd:K1mZ0bJbZ9v0k2hA5r3mJqvD',
  'a=ice-options:trickle',
  'a=fingerprint:sha-256 7B:8B:F0:65:5F:78:E2:51:3B:AC:6F:F3:3F:46:1B:35:DC:B8:5F:64:1A:24:C2:43:F0:A1:58:D0:A1:2C:19:08',
  'a=setup:actpass',
  'a=mid:0',
  'a=extmap:1 urn:ietf:params:rtp-hdrext:toffset',
  'a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01',
  'a=recvonly',
  'a=rtcp-mux',
  'a=rtcp-rsize',
  'a=rtpmap:96 VP8/90000',
  'a=rtcp-fb:96 goog-remb',
  'a=rtcp-fb:96 transport-cc',
  'a=rtcp-fb:96 ccm fir',
  'a=rtcp-fb:96 nack',
  'a=rtcp-fb:96 nack pli',
  'a=rtpmap:97 rtx/90000',
  'a=fmtp:97 apt=96',
  'a=rtpmap:103 H264/90000',
  'a=rtcp-fb:103 nack pli',
  'a=fmtp:103 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f',
  'a=rtpmap:104 rtx/90000',
  'a=fmtp:104 apt=103',
  'a=rtpmap:107 H264/90000',
  'a=fmtp:107 level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42e01f',
  'a=rtpmap:108 H264/90000',
  'a=rtcp-fb:108 ccm fir',
  'a=fmtp:108 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f',
  'a=rtpmap:109 H264/90000',
  'a=fmtp:109 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=640034',
  'a=rtpmap:114 VP9/90000',
  'a=rtpmap:45 AV1/90000',
  'a=candidate:1467250027 1 udp 2122260223 127.0.0.1 54321 typ host generation 0 network-id 1',
  'm=audio 9 UDP/TLS/RTP/SAVPF 111 63',
  'c=IN IP4 0.0.0.0',
  'a=ice-ufrag:Xq7b',
  'a=ice-pwd:K1mZ0bJbZ9v0k2hA5r3mJqvD',
  'a=fingerprint:sha-256 7B:8B:F0:65:5F:78:E2:51:3B:AC:6F:F3:3F:46:1B:35:DC:B8:5F:64:1A:24:C2:43:F0:A1:58:D0:A1:2C:19:08',
  'a=setup:actpass',
  'a=mid:1',
  'a=recvonly',
  'a=rtcp-mux',
  'a=rtpmap:111 opus/48000/2',
  'a=rtcp-fb:111 transport-cc',
  'a=fmtp:111 minptime=10;useinbandfec=1',
  'a=rtpmap:63 red/48000/2',
  'a=fmtp:63 111/111',
  '',
].join('\r\n');

/** A real node-datachannel viewer offer (recvonly H.264/VP8 + Opus), captured from createViewerPeer. */
export const NDC_OFFER = [
  "v=0",
  "o=rtc 4031404905 0 IN IP4 127.0.0.1",
  "s=-",
  "t=0 0",
  "a=group:BUNDLE 0 1",
  "a=group:LS 0 1",
  "a=msid-semantic:WMS *",
  "a=ice-options:ice2,trickle",
  "a=fingerprint:sha-256 08:84:FC:F2:20:81:76:D3:E1:C8:F7:24:81:B4:8D:E4:22:E2:44:AD:F3:67:CF:AD:B7:7F:09:91:52:48:F2:51",
  "m=video 55807 UDP/TLS/RTP/SAVPF 102 96",
  "c=IN IP4 127.0.0.1",
  "a=mid:0",
  "a=recvonly",
  "a=ssrc:1988299360 cname:peercam-viewer",
  "a=rtcp-mux",
  "a=rtpmap:96 VP8/90000",
  "a=rtcp-fb:96 nack",
  "a=rtcp-fb:96 nack pli",
  "a=rtcp-fb:96 goog-remb",
  "a=rtpmap:102 H264/90000",
  "a=rtcp-fb:102 nack",
  "a=rtcp-fb:102 nack pli",
  "a=rtcp-fb:102 goog-remb",
  "a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
  "a=setup:actpass",
  "a=ice-ufrag:g+3T",
  "a=ice-pwd:zZ+17zk2mhoesB6fuw3sBL",
  "a=candidate:1 1 UDP 2114977791 127.0.0.1 55807 typ host",
  "a=end-of-candidates",
  "m=audio 55807 UDP/TLS/RTP/SAVPF 111",
  "c=IN IP4 127.0.0.1",
  "a=mid:1",
  "a=recvonly",
  "a=rtcp-mux",
  "a=rtpmap:111 opus/48000/2",
  "a=fmtp:111 minptime=10;maxaveragebitrate=96000;stereo=1;sprop-stereo=1;useinbandfec=1",
  "a=setup:actpass",
  "a=ice-ufrag:g+3T",
  "a=ice-pwd:zZ+17zk2mhoesB6fuw3sBL",
  '',
].join('\r\n');

/** The camera peer's answer to it. */
export const NDC_ANSWER = [
  "v=0",
  "o=rtc 513525728 0 IN IP4 127.0.0.1",
  "s=-",
  "t=0 0",
  "a=group:BUNDLE 0 1",
  "a=group:LS 0 1",
  "a=msid-semantic:WMS *",
  "a=ice-options:ice2,trickle",
  "a=fingerprint:sha-256 45:4E:0C:9D:0E:A8:6C:72:D8:77:9A:73:5B:88:41:11:52:80:AE:74:48:C9:F0:E7:54:75:13:9E:EC:58:4A:AA",
  "m=video 54162 UDP/TLS/RTP/SAVPF 102",
  "c=IN IP4 127.0.0.1",
  "a=mid:0",
  "a=sendonly",
  "a=ssrc:2875819741 cname:peercam",
  "a=ssrc:2875819741 msid:peercam video",
  "a=msid:peercam video",
  "a=rtcp-mux",
  "a=rtpmap:102 H264/90000",
  "a=rtcp-fb:102 nack",
  "a=rtcp-fb:102 nack pli",
  "a=rtcp-fb:102 goog-remb",
  "a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
  "a=setup:active",
  "a=ice-ufrag:+WQm",
  "a=ice-pwd:l9MYT5JoElAhKui1FEhuD1",
  "a=candidate:1 1 UDP 2114977791 127.0.0.1 54162 typ host",
  "a=end-of-candidates",
  "m=audio 54162 UDP/TLS/RTP/SAVPF 111",
  "c=IN IP4 127.0.0.1",
  "a=mid:1",
  "a=sendonly",
  "a=ssrc:4078908319 cname:peercam",
  "a=ssrc:4078908319 msid:peercam audio",
  "a=msid:peercam audio",
  "a=rtcp-mux",
  "a=rtpmap:111 opus/48000/2",
  "a=fmtp:111 minptime=10;maxaveragebitrate=96000;stereo=1;sprop-stereo=1;useinbandfec=1",
  "a=setup:active",
  "a=ice-ufrag:+WQm",
  "a=ice-pwd:l9MYT5JoElAhKui1FEhuD1",
  '',
].join('\r\n');

/** ICE candidates of every shape a peer may trickle (RFC 8839 5.1), end-of-candidates included. */
export const CANDIDATES: readonly { candidate: string; mid: string }[] = [
  { candidate: 'candidate:1 1 UDP 2114977791 127.0.0.1 55807 typ host', mid: '0' },
  { candidate: 'candidate:1467250027 1 udp 2122260223 127.0.0.1 54321 typ host generation 0 network-id 1', mid: '0' },
  { candidate: 'candidate:842163049 1 udp 1677729535 127.0.0.1 61000 typ srflx raddr 0.0.0.0 rport 0 generation 0', mid: '0' },
  { candidate: 'candidate:3 1 udp 41885439 127.0.0.1 3478 typ relay raddr 127.0.0.1 rport 50000', mid: '1' },
  { candidate: 'candidate:4 1 tcp 1518280447 127.0.0.1 9 typ host tcptype active', mid: '0' },
  { candidate: 'candidate:5 1 udp 2122262783 ::1 50000 typ host generation 0', mid: '0' },
  { candidate: 'a=candidate:6 1 UDP 2114977791 127.0.0.1 55808 typ host', mid: '0' },
  { candidate: '', mid: '0' },
];

export interface TextMutation {
  readonly op: 'flip' | 'delete' | 'insert' | 'duplicate' | 'truncate';
  readonly at: number;
  readonly len: number;
  readonly text: string;
}

const textMutation: fc.Arbitrary<TextMutation> = fc.record({
  op: fc.constantFrom('flip', 'delete', 'insert', 'duplicate', 'truncate'),
  at: fc.nat(),
  len: fc.integer({ min: 1, max: 64 }),
  text: fc.oneof(
    fc.string({ maxLength: 8 }),
    fc.string({ unit: 'binary', maxLength: 8 }),
    fc.constantFrom('\r\n', '\n', ' ', ':', '=', '/', '\0', '\u{1F600}', '-1', '99999999999999999999', 'NaN', '%'),
  ),
});

/** Applies character-level mutations (positions wrap around the text's length). */
export function applyText(base: string, mutations: readonly TextMutation[]): string {
  let s = base;
  for (const m of mutations) {
    const at = s.length === 0 ? 0 : m.at % s.length;
    switch (m.op) {
      case 'flip':
        s = s.slice(0, at) + (m.text || 'x') + s.slice(at + 1);
        break;
      case 'delete':
        s = s.slice(0, at) + s.slice(at + m.len);
        break;
      case 'insert':
        s = s.slice(0, at) + m.text + s.slice(at);
        break;
      case 'duplicate':
        s = s.slice(0, at + m.len) + s.slice(at, at + m.len) + s.slice(at + m.len);
        break;
      case 'truncate':
        s = s.slice(0, at);
        break;
    }
  }
  return s;
}

/** A text with 1..n character-level mutations. */
export function mutatedText(base: string, max = 4): fc.Arbitrary<string> {
  return fc.array(textMutation, { minLength: 1, maxLength: max }).map((ms) => applyText(base, ms));
}

/** SDP-shaped noise: attribute lines with plausible names and hostile values. */
const sdpLine: fc.Arbitrary<string> = fc.oneof(
  fc
    .tuple(
      fc.constantFrom('mid', 'rtpmap', 'fmtp', 'rtcp-fb', 'ssrc', 'ice-ufrag', 'ice-pwd', 'group', 'setup', 'fingerprint', 'candidate', 'extmap', 'msid', 'recvonly', 'sendrecv', 'inactive'),
      fc.oneof(
        fc.string({ maxLength: 40 }),
        fc.constantFrom('102 H264/90000', '96 VP8/90000/9999999999', '111 opus/48000/2', '4294967296 H264/1', '-1 x/y', '102 packetization-mode=1', '* nack', 'BUNDLE 0 1 2 3', 'sha-256 ZZ', 'actpass', ''),
      ),
    )
    .map(([name, value]) => `a=${name}:${value}`),
  fc.constantFrom('m=video 9 UDP/TLS/RTP/SAVPF 102', 'm=audio 0 RTP/AVP 0', 'm=application 9 UDP/DTLS/SCTP webrtc-datachannel', 'm=video 99999999999 x', 'm=', 'c=IN IP6 ::', 'v=1', 'a=', 'a=:', '='),
  fc.string({ maxLength: 80 }),
);

type LineMutation = { op: 'delete' | 'duplicate' | 'swap' | 'replace' | 'insert' | 'edit'; at: number; to: number; line: string; edit: TextMutation[] };
const lineMutation: fc.Arbitrary<LineMutation> = fc.record({
  op: fc.constantFrom('delete', 'duplicate', 'swap', 'replace', 'insert', 'edit'),
  at: fc.nat(),
  to: fc.nat(),
  line: sdpLine,
  edit: fc.array(textMutation, { minLength: 1, maxLength: 3 }),
});

/** An SDP with line-level mutations (delete, duplicate, swap, replace, insert, edit a line), CRLF or LF. */
export function mutatedSdp(base: string, max = 6): fc.Arbitrary<string> {
  return fc.tuple(fc.array(lineMutation, { minLength: 1, maxLength: max }), fc.boolean()).map(([ms, lf]) => {
    const lines = base.split('\r\n').filter((l) => l !== '');
    for (const m of ms) {
      if (lines.length === 0) lines.push(m.line);
      const at = m.at % lines.length;
      const to = m.to % lines.length;
      switch (m.op) {
        case 'delete':
          lines.splice(at, 1);
          break;
        case 'duplicate':
          lines.splice(at, 0, lines[at] ?? '');
          break;
        case 'swap': {
          const a = lines[at] ?? '';
          lines[at] = lines[to] ?? '';
          lines[to] = a;
          break;
        }
        case 'replace':
          lines[at] = m.line;
          break;
        case 'insert':
          lines.splice(at, 0, m.line);
          break;
        case 'edit':
          lines[at] = applyText(lines[at] ?? '', m.edit);
          break;
      }
    }
    return `${lines.join(lf ? '\n' : '\r\n')}\r\n`;
  });
}

/** Any SDP-ish input: mutated real ones (most), SDP-shaped noise, or arbitrary text. */
export function anySdp(): fc.Arbitrary<string> {
  const seeds = [CHROMIUM_OFFER, NDC_OFFER, NDC_ANSWER];
  return fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...seeds).chain((s) => mutatedSdp(s)) },
    { weight: 2, arbitrary: fc.constantFrom(...seeds).chain((s) => mutatedText(s)) },
    { weight: 1, arbitrary: fc.array(sdpLine, { maxLength: 30 }).map((ls) => ls.join('\r\n')) },
    { weight: 1, arbitrary: fc.string({ maxLength: 2000 }) },
  );
}

/** Any candidate-ish input: mutated real candidates or noise, with a plausible or hostile mid. */
export function anyCandidate(): fc.Arbitrary<{ candidate: string; mid: string }> {
  return fc.record({
    candidate: fc.oneof(
      { weight: 5, arbitrary: fc.constantFrom(...CANDIDATES.map((c) => c.candidate)).chain((c) => mutatedText(c, 3)) },
      { weight: 1, arbitrary: fc.constantFrom(...CANDIDATES.map((c) => c.candidate)) },
      { weight: 1, arbitrary: fc.string({ maxLength: 200 }) },
    ),
    mid: fc.oneof(fc.constantFrom('0', '1', '2', '', 'video', '\0'), fc.string({ maxLength: 8 })),
  });
}
