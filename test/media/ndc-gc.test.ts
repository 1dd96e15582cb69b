import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runTsChild } from '../helpers/procs.js';

const CHILD = join(import.meta.dirname, 'ndc-gc.child.ts');

describe('node-datachannel peers after close', () => {
  it('closed peers are garbage collected, and shutdownNdc() after that does not crash', async (t) => {
    // Before the fixes every run died of SIGBUS/SIGSEGV in DataChannelWrapper::CloseAll (a collected channel still
    // listed natively), and no closed viewer or camera peer was ever collected (its tracks' handlers held it).
    const r = await runTsChild(CHILD, [], { timeoutMs: 60_000, nodeFlags: ['--expose-gc'] });
    assert.equal(r.signal, null, `the child died of ${r.signal} (native crash)\n${r.err}`);
    assert.equal(r.code, 0, `the child exited ${r.code}\n${r.out}\n${r.err}`);
    const { peers, collected } = JSON.parse(r.out.trim().split('\n').at(-1) ?? '{}') as { peers: number; collected: number };
    t.diagnostic(`${collected} of ${peers} closed peers collected`);
    assert.ok(collected >= peers * 0.9, `only ${collected} of ${peers} closed peers were collected`);
  });
});
