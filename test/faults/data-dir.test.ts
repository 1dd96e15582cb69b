import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { startAedes } from '../helpers/brokers.js';
import { runCli } from '../helpers/cli.js';

const MAIN = join(import.meta.dirname, '..', '..', 'dist', 'cli', 'main.js');

/** How the data dir is broken, set up inside a private mount namespace so nothing outside the child sees it. */
type Fault = 'read-only' | 'full';

const SETUP: Record<Fault, string> = {
  // Root ignores mode bits, so read-only means a read-only mount: the dir bound onto itself, then remounted ro.
  'read-only': 'mount --bind "$D" "$D" && mount -o remount,bind,ro "$D"',
  // A tiny tmpfs over the dir, its files copied in, then filled to the last block.
  full: 'cp -a "$D" "$D.seed" && mount -t tmpfs -o size=64k tmpfs "$D" && cp -a "$D.seed/." "$D/" && rm -rf "$D.seed" && { dd if=/dev/zero of="$D/fill" bs=1k 2>/dev/null || true; }',
};

interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** The data dir's files after the command, as the command saw them. */
  files: string[];
}

/** Runs `peercam <args>` with PEERCAM_HOME=dir broken as `fault`; stops it (SIGTERM) once its stdout matches `stopOn`. */
function runBroken(dir: string, fault: Fault, args: string[], env: NodeJS.ProcessEnv = {}, stopOn?: RegExp): Promise<Outcome> {
  const script = `set -e; D="$1"; shift; ${SETUP[fault]}; set +e; "$@"; rc=$?; echo "@@files $(ls -A "$D" | tr '\\n' ' ')" >&2; exit $rc`;
  const child = spawn('unshare', ['-m', '--propagation', 'private', '--', 'sh', '-c', script, 'sh', dir, process.execPath, MAIN, ...args], {
    env: { ...process.env, PEERCAM_HOME: dir, PEERCAM_MDNS: 'off', PEERCAM_ICE_BIND: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  let stdout = '';
  let stderr = '';
  let stopped = false;
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
    // The camera runs as the shell's child: stop it (SIGTERM by its PID) once it said what we waited for.
    if (!stopped && stopOn?.test(stdout)) {
      stopped = true;
      void stopChild(child.pid);
    }
  });
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`peercam ${args.join(' ')} still running:\n${stdout}\n${stderr}`)), 30_000);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const files = (/@@files (.*)/.exec(stderr)?.[1] ?? '').trim().split(/\s+/).filter(Boolean);
      resolve({ code, signal, stdout, stderr: stderr.replace(/@@files.*\n?/, ''), files });
    });
  });
}

async function stopChild(shellPid: number | undefined): Promise<void> {
  if (shellPid === undefined) return;
  const children = await readFile(`/proc/${shellPid}/task/${shellPid}/children`, 'utf8').catch(() => '');
  for (const pid of children.split(/\s+/).filter(Boolean)) process.kill(Number(pid), 'SIGTERM');
}

/** A clean failure: non-zero exit (not a signal), one `peercam:` line saying what and what to do, no stack trace. */
function assertClearError(r: Outcome, what: RegExp): void {
  assert.equal(r.signal, null, 'not killed by a signal');
  assert.ok(r.code !== null && r.code !== 0, `non-zero exit (${r.code})`);
  assert.match(r.stderr, what);
  assert.match(r.stderr, /PEERCAM_HOME/, 'says how to fix it');
  assert.doesNotMatch(r.stderr, /unexpected error|\n\s+at /, `no crash or stack trace:\n${r.stderr}`);
  assert.ok(!r.files.some((f) => f.endsWith('.tmp')), `no temp file left behind: ${r.files.join(' ')}`);
}

async function dataDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'peercam-dd-'));
  after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

describe('fault: data dir read-only or disk full', () => {
  it('room new on a read-only data dir: a clear error, no crash', async () => {
    const r = await runBroken(await dataDir(), 'read-only', ['room', 'new', '--no-qr']);
    assertClearError(r, /^peercam: Cannot write \S+room: the location is read-only or not ours\./m);
  });

  it('room new on a full disk: a clear error, no crash, no partial file', async () => {
    const r = await runBroken(await dataDir(), 'full', ['room', 'new', '--no-qr']);
    assertClearError(r, /^peercam: Cannot write \S+room: the disk is full\./m);
    assert.ok(!r.files.includes('room'), 'no half-written room file');
  });

  it('camera on a read-only or full data dir it never ran from: a clear error naming devices.json', async () => {
    const broker = await startAedes();
    after(() => broker.stop());
    for (const fault of ['read-only', 'full'] as const) {
      const dir = await dataDir();
      assert.equal((await runCli(['room', 'new', '--no-qr', '--broker', broker.url], { ...process.env, PEERCAM_HOME: dir })).code, 0);
      const r = await runBroken(dir, fault, ['camera', '--source', 'demo', '--name', 'shelf']);
      assertClearError(r, fault === 'full' ? /Cannot write \S+devices\.json: the disk is full/ : /Cannot write \S+devices\.json: the location is read-only/);
    }
  });

  it('a camera that ran before keeps working from a read-only data dir (its id is already stored)', async () => {
    const broker = await startAedes();
    after(() => broker.stop());
    const dir = await dataDir();
    const env = { ...process.env, PEERCAM_HOME: dir };
    assert.equal((await runCli(['room', 'new', '--no-qr', '--broker', broker.url], env)).code, 0);
    // What the first run stores: the device id of camera "shelf".
    await writeFile(join(dir, 'devices.json'), `${JSON.stringify({ 'camera:shelf': 'aaaaaaaaaaaaaaaa' })}\n`, { mode: 0o600 });
    const r = await runBroken(dir, 'read-only', ['camera', '--source', 'demo', '--name', 'shelf'], {}, /is live in room/);
    assert.match(r.stdout, /camera "shelf" \(aaaaaaaaaaaaaaaa\) is live in room/);
    assert.match(r.stdout, /stopping/);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
  });
});
