import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runTsChild } from '../helpers/procs.js';
import type { NdcFuzzSummary } from './ndc-answer.child.js';

const CHILD = join(import.meta.dirname, 'ndc-answer.child.ts');
const OFFERS = 300;

/** Runs the child to completion: its exit status and last stdout line. A native crash shows as a signal. */
const runChild = (args: string[], timeoutMs: number) => runTsChild(CHILD, args, { timeoutMs });

describe('fuzz: node-datachannel camera peer (native) under mutated offers and candidates', () => {
  it(`answers or rejects ${OFFERS} mutated offers with an error, and never crashes the process`, async (t) => {
    const r = await runChild([String(OFFERS), String(0x4dc)], 120_000);
    assert.equal(r.signal, null, `the child died of ${r.signal} (native crash)\n${r.err}`);
    assert.equal(r.code, 0, `the child exited ${r.code}\n${r.out}\n${r.err}`);
    const summary = JSON.parse(r.out.trim().split('\n').at(-1) ?? '{}') as NdcFuzzSummary;
    t.diagnostic(JSON.stringify({ ...summary, rawErrors: summary.rawErrors.length }));
    process.stdout.write(
      `# fuzz ndc: ${summary.offers} offers (${summary.answered} answered, ${summary.rejected} rejected), ` +
        `${summary.candidates} candidates (${summary.candidatesRejected} rejected) in ${(summary.ms / 1000).toFixed(1)} s\n`,
    );
    assert.equal(summary.offers, OFFERS);
    assert.deepEqual(summary.failures, []);
    assert.ok(summary.answered > 20 && summary.rejected > 20, 'both outcomes exercised');
    assert.deepEqual(summary.rawErrors, [], 'every rejection is a PeercamError saying what was wrong');
  });
});
