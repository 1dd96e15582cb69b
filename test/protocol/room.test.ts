import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fromBase64Url, PeercamError, Room, ROOM_ID_PATTERN, toBase32, toBase64Url } from '../../src/protocol/index.js';

describe('base64url and base32', () => {
  it('round-trips every length from 0 to 40', () => {
    for (let n = 0; n <= 40; n++) {
      const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 37 + n) & 0xff);
      const text = toBase64Url(bytes);
      assert.match(text, /^[A-Za-z0-9_-]*$/);
      assert.deepEqual(fromBase64Url(text), bytes);
    }
  });
  it('rejects foreign characters and impossible lengths', () => {
    assert.equal(fromBase64Url('ab+c'), undefined);
    assert.equal(fromBase64Url('abcde'), undefined);
  });
  it('encodes base32 as RFC 4648 test vectors (lower case, no padding)', () => {
    const enc = (s: string) => toBase32(new TextEncoder().encode(s));
    assert.equal(enc('f'), 'my');
    assert.equal(enc('foob'), 'mzxw6yq');
    assert.equal(enc('foobar'), 'mzxw6ytboi');
  });
});

describe('Room', () => {
  it('derives a stable 20-char room id from the secret', async () => {
    const secret = new Uint8Array(32).fill(7);
    const a = await Room.fromSecret(secret);
    const b = await Room.fromSecret(secret.slice());
    assert.match(a.id, ROOM_ID_PATTERN);
    assert.equal(a.id, b.id);
    assert.notEqual((await Room.create()).id, a.id);
  });

  it('derives the HTTP token and broker credentials from the secret, each with its own label', async () => {
    const secret = new Uint8Array(32).fill(7);
    const a = await Room.fromSecret(secret);
    const b = await Room.fromSecret(secret.slice(), { name: 'other options, same secret' });
    assert.deepEqual(a.credentials, b.credentials);
    assert.match(a.credentials.httpToken, /^[A-Za-z0-9_-]{43}$/);
    assert.match(a.credentials.brokerPassword, /^[A-Za-z0-9_-]{43}$/);
    assert.notEqual(a.credentials.httpToken, a.credentials.brokerPassword);
    assert.equal(a.credentials.brokerUsername, `peercam-${a.id}`);
    const other = await Room.create();
    assert.notEqual(other.credentials.httpToken, a.credentials.httpToken);
    assert.notEqual(other.credentials.brokerPassword, a.credentials.brokerPassword);
  });

  it('round-trips the pairing link with broker and name', async () => {
    const room = await Room.create({ broker: 'mqtts://broker.example:8883', name: 'Home' });
    const link = await room.link('https://192.168.1.5:8443/');
    assert.match(link, /^https:\/\/192\.168\.1\.5:8443\/#k=/);
    const back = await Room.fromLink(link);
    assert.equal(back.id, room.id);
    assert.equal(back.options.broker, 'mqtts://broker.example:8883');
    assert.equal(back.options.name, 'Home');
    assert.equal((await Room.fromLink(link.slice(link.indexOf('#') + 1))).id, room.id, 'a bare fragment works too');
  });

  it('explains a truncated, damaged or empty link', async () => {
    const link = await (await Room.create()).link();
    const k = link.slice(link.indexOf('k=') + 2);
    const cases: [string, RegExp][] = [
      ['', /empty/],
      ['https://x/#n=Home', /no room key/],
      [link.slice(0, -5), /truncated/],
      [link.replace(`k=${k}`, `k=${k[0] === 'A' ? 'B' : 'A'}${k.slice(1)}`), /damaged/],
      [link.replace(`k=${k}`, `k=${k.slice(0, 10)}*${k.slice(11)}`), /characters/],
    ];
    for (const [bad, why] of cases) {
      await assert.rejects(Room.fromLink(bad), (e: unknown) => e instanceof PeercamError && e.code === 'bad-link' && why.test(e.message));
    }
  });
});
