import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { PeercamError } from '../../src/protocol/index.js';
import { exponentialBackoff } from '../../src/signaling/backoff.js';

describe('exponentialBackoff', () => {
  it('doubles from 250 ms up to a 10 s ceiling by default (no jitter)', () => {
    const policy = exponentialBackoff({ jitter: 'none' });
    assert.deepEqual(
      [0, 1, 2, 3, 4, 5, 6, 10, 100].map((n) => policy.nextDelayMs(n)),
      [250, 500, 1000, 2000, 4000, 8000, 10_000, 10_000, 10_000],
    );
  });

  it('spreads full jitter over [0, d] and equal jitter over [d/2, d]', () => {
    for (const r of [0, 0.25, 0.999]) {
      assert.equal(exponentialBackoff({ random: () => r }).nextDelayMs(2), Math.round(1000 * r));
      assert.equal(exponentialBackoff({ jitter: 'equal', random: () => r }).nextDelayMs(2), Math.round(500 + 500 * r));
    }
  });

  it('stays within [0, maxMs] for any attempt and random value', () => {
    fc.assert(
      fc.property(fc.nat(10_000), fc.double({ min: 0, max: 1, noNaN: true }), fc.constantFrom('full' as const, 'equal' as const, 'none' as const), (attempt, r, jitter) => {
        const d = exponentialBackoff({ initialMs: 100, maxMs: 3000, jitter, random: () => r }).nextDelayMs(attempt);
        return d !== null && d >= 0 && d <= 3000;
      }),
    );
  });

  it('gives up after maxAttempts', () => {
    const policy = exponentialBackoff({ maxAttempts: 2 });
    assert.notEqual(policy.nextDelayMs(1), null);
    assert.equal(policy.nextDelayMs(2), null);
  });

  it('explains unusable options', () => {
    for (const bad of [{ initialMs: 0 }, { maxMs: -1 }, { factor: 0.5 }, { initialMs: 500, maxMs: 100 }, { initialMs: Number.NaN }])
      assert.throws(() => exponentialBackoff(bad), (e: unknown) => e instanceof PeercamError && e.code === 'bad-config' && /backoff/.test(e.message));
  });
});
