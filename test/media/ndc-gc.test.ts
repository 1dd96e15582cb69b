import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runTsChild } from '../helpers/procs.js';

const CHILD = join(import.meta.dirname, 'ndc-gc.child.ts');

describe('node-datachannel shutdown after garbage collection', () => {
  it('closed peers whose channels and tracks V8 collected do not crash shutdownNdc()', async () => {
    // Before the fix the child died of SIGBUS/SIGSEGV in DataChannelWrapper::CloseAll, every run.
    const r = await runTsChild(CHILD, [], { timeoutMs: 60_000, nodeFlags: ['--expose-gc'] });
    assert.equal(r.signal, null, `the child died of ${r.signal} (native crash)\n${r.err}`);
    assert.equal(r.code, 0, `the child exited ${r.code}\n${r.out}\n${r.err}`);
    assert.match(r.out, /shut down/);
  });
});
