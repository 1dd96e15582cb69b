import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { crc32, mendCheck, mendRelayedCheck } from '../../src/media/ndc/tiebreaker-fix.js';

const PASSWORD = 'camera-ice-password-24ch';

function attr(type: number, value: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt16BE(type, 0);
  head.writeUInt16BE(value.length, 2);
  return Buffer.concat([head, value, Buffer.alloc((4 - (value.length % 4)) % 4)]);
}

/** A Binding request as Chromium sends it through a TURN/TCP allocation, signed with the camera's ICE password. */
function chromiumCheck(tiebreaker: bigint, role = 0x802a): Buffer {
  const tb = Buffer.alloc(8);
  tb.writeBigUInt64BE(tiebreaker);
  const priority = Buffer.alloc(4);
  priority.writeUInt32BE(1853825023);
  const body = Buffer.concat([attr(0x0006, Buffer.from('cAmU:chRm')), attr(0xc057, Buffer.alloc(4)), attr(role, tb), attr(0x0025, Buffer.alloc(0)), attr(0x0024, priority)]);
  const header = Buffer.alloc(20);
  header.writeUInt16BE(0x0001, 0);
  header.writeUInt32BE(0x2112a442, 4);
  Buffer.from('0123456789ab').copy(header, 8);
  header.writeUInt16BE(body.length + 24, 2);
  const mi = createHmac('sha1', PASSWORD).update(Buffer.concat([header, body])).digest();
  const signed = Buffer.concat([header, body, attr(0x0008, mi)]);
  signed.writeUInt16BE(signed.length - 20 + 8, 2);
  const fp = Buffer.alloc(4);
  fp.writeUInt32BE((crc32(signed) ^ 0x5354554e) >>> 0);
  return Buffer.concat([signed, attr(0x8028, fp)]);
}

/** Checks MESSAGE-INTEGRITY and FINGERPRINT of a message the way a receiver does (RFC 8489 14.5, 14.7). */
function verify(msg: Buffer): { integrity: boolean; fingerprint: boolean; tiebreaker: bigint } {
  const miAt = msg.length - 8 - 24;
  const forMi = Buffer.from(msg.subarray(0, miAt));
  forMi.writeUInt16BE(miAt + 24 - 20, 2);
  const integrity = createHmac('sha1', PASSWORD).update(forMi).digest().equals(msg.subarray(miAt + 4, miAt + 24));
  const fingerprint = ((crc32(msg.subarray(0, msg.length - 8)) ^ 0x5354554e) >>> 0) === msg.readUInt32BE(msg.length - 4);
  // USERNAME (4+12) and GOOG (4+4) come first, then the role attribute.
  return { integrity, fingerprint, tiebreaker: msg.readBigUInt64BE(20 + 16 + 8 + 4) };
}

const passwordOf = (ufrag: string) => (ufrag === 'cAmU' ? PASSWORD : undefined);

describe('mending Chromium zero tie-breakers for libjuice (libjuice#355)', () => {
  it('computes CRC-32 as ISO 3309 does', () => {
    assert.equal(crc32(Buffer.from('123456789')), 0xcbf43926);
  });

  it('sets a zero ICE-CONTROLLING or ICE-CONTROLLED to 1 and signs the check again', () => {
    for (const role of [0x802a, 0x8029]) {
      const original = chromiumCheck(0n, role);
      assert.deepEqual(verify(original), { integrity: true, fingerprint: true, tiebreaker: 0n });
      const mended = mendCheck(original, passwordOf);
      assert.ok(mended);
      assert.equal(mended.length, original.length);
      assert.deepEqual(verify(mended), { integrity: true, fingerprint: true, tiebreaker: 1n });
    }
  });

  it('leaves alone a nonzero tie-breaker, a check for another agent, and anything that is not a Binding request', () => {
    assert.equal(mendCheck(chromiumCheck(42n), passwordOf), undefined);
    assert.equal(mendCheck(chromiumCheck(0n), () => undefined), undefined);
    assert.equal(mendCheck(Buffer.from([0x80, 0x60, 0, 1, 0, 0, 0, 0]), passwordOf), undefined);
    assert.equal(mendCheck(chromiumCheck(0n).subarray(0, 40), passwordOf), undefined, 'truncated');
  });

  it('mends inside ChannelData and inside a fingerprinted Data indication', () => {
    const check = chromiumCheck(0n);
    const channel = Buffer.concat([Buffer.from([0x40, 0x00, check.length >> 8, check.length & 0xff]), check]);
    const viaChannel = mendRelayedCheck(channel, passwordOf);
    assert.ok(viaChannel);
    assert.deepEqual(verify(viaChannel.subarray(4)), { integrity: true, fingerprint: true, tiebreaker: 1n });

    const peer = attr(0x0012, Buffer.from([0, 1, 0x12, 0x34, 1, 2, 3, 4]));
    const unsigned = Buffer.concat([Buffer.alloc(20), peer, attr(0x0013, check)]);
    unsigned.writeUInt16BE(0x0017, 0);
    unsigned.writeUInt32BE(0x2112a442, 4);
    unsigned.writeUInt16BE(unsigned.length - 20 + 8, 2);
    const fp = Buffer.alloc(4);
    fp.writeUInt32BE((crc32(unsigned) ^ 0x5354554e) >>> 0);
    const indication = Buffer.concat([unsigned, attr(0x8028, fp)]);
    const viaIndication = mendRelayedCheck(indication, passwordOf);
    assert.ok(viaIndication);
    const inner = viaIndication.subarray(20 + peer.length + 4, 20 + peer.length + 4 + check.length);
    assert.deepEqual(verify(inner), { integrity: true, fingerprint: true, tiebreaker: 1n });
    const outerOk = ((crc32(viaIndication.subarray(0, viaIndication.length - 8)) ^ 0x5354554e) >>> 0) === viaIndication.readUInt32BE(viaIndication.length - 4);
    assert.ok(outerOk, 'the indication fingerprint matches the mended data');
  });
});
