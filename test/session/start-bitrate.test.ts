import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { withStartBitrate } from '../../src/session/w3c-peer.js';

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
