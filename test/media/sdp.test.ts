import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chooseH264, chooseOpus, chooseVideo, iceUfragOf, parseSdp } from '../../src/media/sdp.js';
import { parseFmtp } from '../../src/session/h264-formats.js';
import { PeercamError } from '../../src/protocol/index.js';

/** Trimmed from a real Chromium 156 recvonly offer (audio + video, RTX, several H.264 profiles). */
const CHROMIUM_OFFER = [
  'v=0',
  'o=- 4611731400430051336 2 IN IP4 127.0.0.1',
  's=-',
  't=0 0',
  'a=group:BUNDLE 0 1',
  'a=msid-semantic: WMS',
  'm=video 9 UDP/TLS/RTP/SAVPF 96 97 103 104 107 108 109 114 45',
  'c=IN IP4 0.0.0.0',
  'a=ice-ufrag:Xq7b',
  'a=ice-pwd:K1mZ0bJbZ9v0k2hA5r3mJqvD',
  'a=mid:0',
  'a=recvonly',
  'a=rtcp-mux',
  'a=rtpmap:96 VP8/90000',
  'a=rtcp-fb:96 goog-remb',
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
  'm=audio 9 UDP/TLS/RTP/SAVPF 111 63',
  'c=IN IP4 0.0.0.0',
  'a=ice-ufrag:Xq7b',
  'a=ice-pwd:K1mZ0bJbZ9v0k2hA5r3mJqvD',
  'a=mid:1',
  'a=recvonly',
  'a=rtpmap:111 opus/48000/2',
  'a=rtcp-fb:111 transport-cc',
  'a=fmtp:111 minptime=10;useinbandfec=1',
  'a=rtpmap:63 red/48000/2',
  '',
].join('\r\n');

describe('parseSdp', () => {
  it('reads media sections, mids, directions and formats in m-line order', () => {
    const d = parseSdp(CHROMIUM_OFFER);
    assert.deepEqual(d.bundle, ['0', '1']);
    assert.equal(d.media.length, 2);
    const [video, audio] = d.media;
    assert.ok(video && audio);
    assert.equal(video.kind, 'video');
    assert.equal(video.mid, '0');
    assert.equal(video.direction, 'recvonly');
    assert.deepEqual(video.formats.map((f) => f.pt), [96, 97, 103, 104, 107, 108, 109, 114, 45]);
    const h264 = video.formats.find((f) => f.pt === 108);
    assert.equal(h264?.codec, 'H264');
    assert.equal(h264?.clockRate, 90000);
    assert.equal(h264?.fmtp, 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f');
    assert.deepEqual(h264?.rtcpFb, ['ccm fir']);
    assert.deepEqual(video.formats[0]?.rtcpFb, ['goog-remb', 'nack', 'nack pli']);
    assert.equal(video.formats.find((f) => f.pt === 97)?.params.apt, '96');
    assert.equal(audio.mid, '1');
    assert.equal(audio.formats[0]?.channels, 2);
    assert.equal(iceUfragOf(d), 'Xq7b');
    assert.equal(iceUfragOf(CHROMIUM_OFFER), 'Xq7b');
  });

  it('uses the session-level direction and ufrag when a section has none, else sendrecv', () => {
    const d = parseSdp('v=0\r\na=ice-ufrag:top\r\na=sendonly\r\nm=video 9 RTP/AVP 96\r\na=rtpmap:96 VP8/90000\r\n');
    assert.equal(d.media[0]?.direction, 'sendonly');
    assert.equal(iceUfragOf(d), 'top');
    assert.equal(parseSdp('v=0\nm=audio 9 RTP/AVP 0\n').media[0]?.direction, 'sendrecv');
  });

  it('collects a=ssrc ids once each', () => {
    const d = parseSdp('v=0\r\nm=video 9 RTP/AVP 96\r\na=ssrc:42 cname:x\r\na=ssrc:42 msid:a b\r\na=ssrc:43 cname:x\r\n');
    assert.deepEqual(d.media[0]?.ssrcs, [42, 43]);
  });

  it('rejects a text without media or with a malformed m-line, with a PeercamError', () => {
    assert.throws(() => parseSdp('v=0\r\ns=-\r\n'), (e: unknown) => e instanceof PeercamError && e.code === 'media');
    assert.throws(() => parseSdp('v=0\r\nm=video\r\n'), /malformed m-line/);
  });

  it('parses fmtp parameters with lower-cased keys and ignores junk', () => {
    assert.deepEqual(parseFmtp('Profile-Level-Id=42e01f; packetization-mode=1;;junk'), {
      'profile-level-id': '42e01f',
      'packetization-mode': '1',
    });
  });
});

describe('codec choice', () => {
  const video = parseSdp(CHROMIUM_OFFER).media[0]!;
  it('prefers constrained baseline 42e01f with packetization-mode=1 over 42001f and high profile', () => {
    assert.equal(chooseH264(video)?.pt, 108);
  });
  it('takes 42001f when 42e01f is only offered in mode 0, and never mode 0', () => {
    const text = CHROMIUM_OFFER.replace('a=fmtp:108 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f', '');
    assert.equal(chooseH264(parseSdp(text).media[0]!)?.pt, 103);
    const onlyMode0 = parseSdp('v=0\r\nm=video 9 RTP/AVP 98\r\na=rtpmap:98 H264/90000\r\na=fmtp:98 profile-level-id=42e01f\r\n');
    assert.equal(chooseH264(onlyMode0.media[0]!), undefined);
  });
  it('falls back to VP8 only when it is in the preference list', () => {
    const vp8Only = parseSdp('v=0\r\nm=video 9 RTP/AVP 96\r\na=rtpmap:96 VP8/90000\r\n').media[0]!;
    assert.equal(chooseVideo(vp8Only, ['H264']), undefined);
    assert.deepEqual(chooseVideo(vp8Only, ['H264', 'VP8'])?.codec, 'VP8');
    assert.equal(chooseVideo(video, ['H264', 'VP8'])?.format.pt, 108);
    assert.equal(chooseVideo(video, ['VP8', 'H264'])?.format.pt, 96);
  });
  it('finds Opus', () => {
    assert.equal(chooseOpus(parseSdp(CHROMIUM_OFFER).media[1]!)?.pt, 111);
  });
});
