import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseVp8Descriptor, vp8KeyframeSize, vp8StartsKeyframe } from '../../src/media/vp8.js';

const hex = (s: string) => Uint8Array.from(Buffer.from(s, 'hex'));

describe('VP8 payload descriptor (RFC 7741)', () => {
  it('reads the descriptors ffmpeg sends (X, S, 15-bit picture ID)', () => {
    // First packets of an ffmpeg libvpx RTP stream: key frame start, then two continuation packets.
    assert.deepEqual(parseVp8Descriptor(hex('90808000304a')), { start: true, partition: 0, pictureId: 0, size: 4 });
    assert.equal(vp8StartsKeyframe(hex('90808000304a')), true);
    assert.equal(vp8StartsKeyframe(hex('808080004304')), false, 'not the start of a partition');
    assert.equal(vp8StartsKeyframe(hex('9080812c31aa')), false, 'interframe: P bit set');
  });

  it('skips the optional L, T and K fields and the 7-bit picture ID form', () => {
    // X=1 S=1; I L T set; 7-bit picture ID 0x25; TL0PICIDX; TID byte; then a key frame header (P = 0).
    const d = parseVp8Descriptor(hex('90e025074000'));
    assert.deepEqual(d, { start: true, partition: 0, pictureId: 0x25, size: 5 });
    assert.equal(vp8StartsKeyframe(hex('90e025074000')), true);
    assert.equal(vp8StartsKeyframe(hex('1000')), true, 'no extension: one-byte descriptor');
    assert.equal(vp8StartsKeyframe(hex('1100')), false, 'partition 1');
  });

  it('rejects truncated descriptors instead of reading past the end', () => {
    for (const s of ['', '90', '9080', '908080']) assert.equal(parseVp8Descriptor(hex(s)), undefined, s);
    assert.equal(vp8StartsKeyframe(hex('90808000')), false);
  });

  it('reads the size from a key frame header (RFC 6386 9.1), and only from one', () => {
    // Descriptor 90808000, frame tag 304a01 (key frame), start code 9d012a, 640 (0x0280) x 360 (0x0168) little-endian.
    assert.deepEqual(vp8KeyframeSize(hex('90808000304a019d012a80026801')), { width: 640, height: 360 });
    assert.deepEqual(vp8KeyframeSize(hex('90808000304a019d012a8042684')), undefined, 'odd hex: truncated');
    assert.equal(vp8KeyframeSize(hex('9080812c31aa019d012a80026801')), undefined, 'interframe');
    assert.equal(vp8KeyframeSize(hex('90808000304a01000000800268 01'.replace(' ', ''))), undefined, 'no start code');
  });
});
