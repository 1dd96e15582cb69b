import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { chooseOpus, chooseVideo, iceCredentialsOf, iceUfragOf, parseSdp } from '../../src/media/sdp.js';
import { PeercamError } from '../../src/protocol/index.js';
import { anySdp, CHROMIUM_OFFER, NDC_ANSWER, NDC_OFFER } from './corpus.js';
import { INPUT_DEADLINE_MS } from './deadline.js';

/**
 * The SDP reader (src/media/sdp.ts) sees every offer a viewer sends before the native engine does. Whatever arrives,
 * it returns a description or throws PeercamError('media'); what it returns is safe for the codec choosers.
 */
const SEED = 0x5d9;
let inputs = 0;
const started = performance.now();

describe('fuzz: SDP parsing', () => {
  after(() => process.stdout.write(`# fuzz sdp: ${inputs} inputs in ${((performance.now() - started) / 1000).toFixed(1)} s\n`));

  it('the seeds themselves parse', () => {
    for (const s of [CHROMIUM_OFFER, NDC_OFFER, NDC_ANSWER]) assert.ok(parseSdp(s).media.length >= 2);
  });

  it('parseSdp: mutated real offers/answers and noise give a description or a PeercamError, in bounded time', () => {
    let parsed = 0;
    let rejected = 0;
    let slowest = 0;
    fc.assert(
      fc.property(anySdp(), (text) => {
        inputs++;
        const t0 = performance.now();
        let desc: ReturnType<typeof parseSdp> | undefined;
        try {
          desc = parseSdp(text);
        } catch (err) {
          assert.ok(err instanceof PeercamError, `a non-PeercamError escaped: ${String(err)}`);
          assert.equal(err.code, 'media');
          rejected++;
        }
        if (desc) {
          parsed++;
          for (const m of desc.media) {
            assert.ok(Number.isFinite(m.port), `port ${m.port}`);
            for (const f of m.formats) assert.ok(Number.isInteger(f.pt) && f.pt >= 0);
            chooseVideo(m, ['H264', 'VP8']);
            chooseOpus(m);
          }
          iceUfragOf(desc);
          iceCredentialsOf(desc);
        }
        slowest = Math.max(slowest, performance.now() - t0);
        assert.ok(slowest < INPUT_DEADLINE_MS, `one SDP took ${slowest.toFixed(0)} ms to parse`);
      }),
      { numRuns: 30_000, seed: SEED },
    );
    // Most inputs are near-valid: both outcomes are exercised.
    assert.ok(parsed > 1000 && rejected > 100, `parsed ${parsed}, rejected ${rejected}`);
  });

  it('parseSdp: pathological sizes (huge line counts, long lines, deep repetition) stay linear', () => {
    const cases = [
      `m=video 9 UDP/TLS/RTP/SAVPF${' 96'.repeat(20_000)}\r\n`,
      `m=video 9 UDP/TLS/RTP/SAVPF 96\r\n${'a=rtpmap:96 H264/90000\r\n'.repeat(20_000)}`,
      `m=video 9 x${' a'.repeat(20_000)}\t\r\n`,
      `m=video 9 x ${'a'.repeat(200_000)}\r\n`,
      `${'a=ice-ufrag:x\r\n'.repeat(20_000)}`,
      '\r\n'.repeat(100_000),
      `a=fmtp:96 ${'k=v;'.repeat(20_000)}\r\nm=video 9 x 96\r\na=fmtp:96 ${'k=v;'.repeat(20_000)}\r\n`,
    ];
    for (const text of cases) {
      inputs++;
      const t0 = performance.now();
      try {
        parseSdp(text);
      } catch (err) {
        assert.ok(err instanceof PeercamError);
      }
      const ms = performance.now() - t0;
      assert.ok(ms < INPUT_DEADLINE_MS, `a ${text.length}-char SDP took ${ms.toFixed(0)} ms`);
    }
  });
});
