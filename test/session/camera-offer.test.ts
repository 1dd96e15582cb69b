import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cameraOffer, withH264First, withStartBitrate } from '../../src/session/camera-offer.js';

/** A Chromium-like offer: VP8 without an fmtp line, H.264 with one, their rtx formats, and an audio section. */
const OFFER = [
  'v=0',
  'o=- 1 2 IN IP4 127.0.0.1',
  's=-',
  't=0 0',
  'm=video 9 UDP/TLS/RTP/SAVPF 96 97 102 103',
  'a=mid:0',
  'a=rtpmap:96 VP8/90000',
  'a=rtcp-fb:96 nack',
  'a=rtpmap:97 rtx/90000',
  'a=fmtp:97 apt=96',
  'a=rtpmap:102 H264/90000',
  'a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f',
  'a=rtpmap:103 rtx/90000',
  'a=fmtp:103 apt=102',
  'm=audio 9 UDP/TLS/RTP/SAVPF 111',
  'a=mid:1',
  'a=rtpmap:111 opus/48000/2',
  'a=fmtp:111 minptime=10;useinbandfec=1',
  '',
].join('\r\n');

describe('withStartBitrate (a camera page starts its encoder at 1 Mb/s)', () => {
  it('puts x-google-start-bitrate on every video format, in its section, and nowhere else', () => {
    const lines = withStartBitrate(OFFER, 1000).split('\r\n');
    const video = lines.slice(lines.indexOf('m=video 9 UDP/TLS/RTP/SAVPF 96 97 102 103'), lines.indexOf('m=audio 9 UDP/TLS/RTP/SAVPF 111'));
    assert.ok(video.includes('a=fmtp:96 x-google-start-bitrate=1000'), 'VP8 gets an fmtp line of its own');
    assert.ok(video.includes('a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f;x-google-start-bitrate=1000'));
    assert.ok(video.includes('a=fmtp:97 apt=96') && video.includes('a=fmtp:103 apt=102'), 'rtx formats untouched');
    assert.equal(lines.filter((l) => l.includes('x-google-start-bitrate')).length, 2, 'audio untouched');
    assert.equal(lines.at(-1), '', 'still ends with CRLF');
    assert.equal(lines.filter((l) => l.startsWith('a=fmtp:96')).length, 1, 'one fmtp line per format');
  });

  it('is idempotent, and leaves an offer without video as it was', () => {
    const once = withStartBitrate(OFFER, 1000);
    assert.equal(withStartBitrate(once, 1000), once);
    const audioOnly = OFFER.slice(OFFER.indexOf('m=audio'));
    assert.equal(withStartBitrate(`v=0\r\n${audioOnly}`, 1000), `v=0\r\n${audioOnly}`);
  });
});

describe('withH264First (a camera page that can encode H.264 sends it: its encoder starts sooner than VP8)', () => {
  /** A Chromium-like video section: VP8, VP9, then H.264 in four variants, each with its rtx. */
  const CHROMIUM = [
    'v=0',
    'm=video 9 UDP/TLS/RTP/SAVPF 96 97 98 99 100 101 102 103 104 105',
    'a=rtpmap:96 VP8/90000',
    'a=rtpmap:97 rtx/90000',
    'a=fmtp:97 apt=96',
    'a=rtpmap:98 VP9/90000',
    'a=fmtp:98 profile-id=0',
    'a=rtpmap:99 H264/90000',
    'a=fmtp:99 level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42e01f',
    'a=rtpmap:100 H264/90000',
    'a=fmtp:100 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=64001f',
    'a=rtpmap:101 H264/90000',
    'a=fmtp:101 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f',
    'a=rtpmap:102 H264/90000',
    'a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f',
    'a=rtpmap:103 rtx/90000',
    'a=fmtp:103 apt=102',
    'a=rtpmap:104 red/90000',
    'a=rtpmap:105 ulpfec/90000',
    'm=audio 9 UDP/TLS/RTP/SAVPF 111',
    'a=rtpmap:111 opus/48000/2',
    '',
  ].join('\r\n');

  it('moves H.264 to the front in the order a Node camera chooses (42e01f, 42001f, high profile), mode 0 last, the rest in order', () => {
    const out = withH264First(CHROMIUM).split('\r\n');
    assert.equal(out[1], 'm=video 9 UDP/TLS/RTP/SAVPF 101 102 100 99 96 97 98 103 104 105');
    assert.deepEqual(out.slice(2), CHROMIUM.split('\r\n').slice(2), 'only the m= line changes');
  });

  it('leaves an offer without H.264, and the audio section, as they were', () => {
    const noH264 = OFFER.replace(/a=rtpmap:102 H264/, 'a=rtpmap:102 AV1');
    assert.equal(withH264First(noH264), noH264);
    assert.equal(withH264First(OFFER).split('\r\n').find((l) => l.startsWith('m=audio')), 'm=audio 9 UDP/TLS/RTP/SAVPF 111');
  });

  it('cameraOffer: the start bitrate always, H.264 first only where the browser encodes it', () => {
    assert.match(cameraOffer(OFFER, true), /m=video 9 UDP\/TLS\/RTP\/SAVPF 102 96 97 103\r\n/);
    assert.match(cameraOffer(OFFER, false), /m=video 9 UDP\/TLS\/RTP\/SAVPF 96 97 102 103\r\n/);
    for (const h264 of [true, false]) assert.ok(cameraOffer(OFFER, h264).includes('a=fmtp:96 x-google-start-bitrate=1000'));
  });
});
