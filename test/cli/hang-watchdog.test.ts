import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DEFAULT_HANG_EXIT_S, hangExitSeconds } from '../../src/cli/hang-watchdog.js';
import { PeercamError } from '../../src/protocol/index.js';

const CHILD = join(import.meta.dirname, 'hang-watchdog.child.ts');

function run(args: string[]): Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string; err: string; ms: number }> {
  const started = Date.now();
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  return new Promise((resolve) =>
    child.on('exit', (code, signal) => {
      clearTimeout(killer);
      resolve({ code, signal, out, err, ms: Date.now() - started });
    }),
  );
}

describe('the hang watchdog of long-running commands', () => {
  it('ends a process whose main thread stays blocked, and says why on stderr', async () => {
    // Blocked for 30 s, with a 2 s limit: without the watchdog the child would live those 30 s and exit 0.
    const r = await run(['2', '30']);
    assert.equal(r.signal, 'SIGKILL', `exit ${r.code} ${r.signal}: ${r.err}`);
    assert.match(r.out, /watching/);
    assert.match(r.err, /peercam: the main thread has not run for \d+ s \(a native WebRTC engine hang, docs\/RELIABILITY\.md\); exiting so that a supervisor/);
    assert.ok(r.ms < 25_000, `ended after ${r.ms} ms`);
  });

  it('leaves a healthy process alone and does not keep it alive', async () => {
    const r = await run(['2', 'idle']);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.signal, null);
    assert.match(r.out, /done/);
    assert.equal(r.err, '');
  });

  it('PEERCAM_HANG_EXIT_S: seconds, 0 or off for none, a clear error otherwise', () => {
    assert.equal(hangExitSeconds(undefined), DEFAULT_HANG_EXIT_S);
    assert.equal(hangExitSeconds('120'), 120);
    assert.equal(hangExitSeconds('0'), 0);
    assert.equal(hangExitSeconds('off'), 0);
    for (const bad of ['-1', 'soon', 'Infinity']) {
      assert.throws(() => hangExitSeconds(bad), (e: unknown) => e instanceof PeercamError && /PEERCAM_HANG_EXIT_S=.*: give the seconds/.test(e.message));
    }
  });
});
