import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { after } from 'node:test';
import type { WatchReport } from '../../src/agent/watch.js';
import { Room } from '../../src/protocol/index.js';
import { SealedChannel } from '../../src/signaling/channel.js';
import { MqttTransport } from '../../src/signaling/mqtt.js';
import { newDeviceId } from '../../src/protocol/index.js';
import { type CliProcess, cliHome, runCli, spawnCli } from '../helpers/cli.js';

const MAIN = join(import.meta.dirname, '..', '..', 'dist', 'cli', 'main.js');

/** A room in a fresh data dir, on `broker`, cleaned up after the test. */
export async function faultRoom(broker: string): Promise<{ env: NodeJS.ProcessEnv; dir: string; link: string }> {
  const home = await cliHome();
  after(() => home.remove());
  const made = await runCli(['room', 'new', '--no-qr', '--broker', broker], home.env);
  assert.equal(made.code, 0, made.stderr);
  const link = made.stdout.trim().split('\n').at(-1) ?? '';
  assert.match(link, /k=/, `room new printed a link: ${made.stdout}`);
  return { env: home.env, dir: home.dir, link };
}

/** `peercam camera` running until the test ends; `liveAt` is when it printed that it is live (performance.now()). */
export async function startCamera(env: NodeJS.ProcessEnv, args: readonly string[] = []): Promise<{ proc: CliProcess; liveAt: number }> {
  const proc = spawnCli(['camera', '--source', 'demo', '--name', 'shelf', ...args], env);
  after(() => proc.kill());
  await proc.waitFor(/is live in room/, 30_000);
  return { proc, liveAt: performance.now() };
}

/** A long-running `peercam watch <camera> --json`: its report once it exits, and its stderr for failure messages. */
export interface Watcher {
  readonly pid: number;
  readonly report: Promise<WatchReport>;
  stderr(): string;
}

export function startWatcher(env: NodeJS.ProcessEnv, camera: string, seconds: number, extra: readonly string[] = []): Watcher {
  const child = spawn(process.execPath, [MAIN, 'watch', camera, '--seconds', String(seconds), '--json', ...extra], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-8000)));
  const report = new Promise<WatchReport>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      const line = stdout.split('\n').find((l) => l.startsWith('{'));
      if (!line) return reject(new Error(`watch exited (${code}) without a report:\n${stdout}\n${stderr}`));
      resolve(JSON.parse(line) as WatchReport);
    });
  });
  return { pid: child.pid ?? -1, report, stderr: () => stderr };
}

/**
 * A silent observer of the room (announces nothing), for timing when a device's presence comes back. Fresh per use:
 * started right after a fault ends, its own reconnect backoff never delays what it measures.
 */
export async function presenceWatch(link: string, broker: string): Promise<{ until(name: string, timeoutMs: number): Promise<number>; close(): Promise<void> }> {
  const room = await Room.fromLink(link);
  const channel = new SealedChannel(room, new MqttTransport({ url: broker, connectTimeoutMs: 2000 }), {
    self: newDeviceId(),
    presence: { name: 'observer', role: 'viewer' },
    announce: false,
  });
  after(() => channel.close());
  await channel.start();
  return {
    /** Resolves with performance.now() when a device named `name` is present. */
    async until(name, timeoutMs) {
      const deadline = performance.now() + timeoutMs;
      for (;;) {
        if ([...channel.peers.values()].some((p) => p.name === name)) return performance.now();
        if (performance.now() > deadline) throw new Error(`"${name}" not present ${timeoutMs} ms after the observer joined`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    close: () => channel.close(),
  };
}

/** `peercam ls --json`: the names of the cameras present. */
export async function cameras(env: NodeJS.ProcessEnv): Promise<string[]> {
  const ls = await runCli(['ls', '--json', '--seconds', '1'], env);
  assert.equal(ls.code, 0, ls.stderr);
  return (JSON.parse(ls.stdout) as { name: string; role: string }[]).filter((e) => e.role === 'camera').map((e) => e.name);
}

/** A short `peercam watch` that must see frames: proof that signaling works (a new session can be set up). */
export async function watchOnce(env: NodeJS.ProcessEnv, camera = 'shelf', seconds = 1): Promise<WatchReport> {
  const r = await runCli(['watch', camera, '--seconds', String(seconds), '--json'], env);
  assert.equal(r.code, 0, `watch failed: ${r.stdout}\n${r.stderr}`);
  return JSON.parse(r.stdout) as WatchReport;
}

/** Resolves once `proc`'s output matches, with the time it was seen. */
export async function seen(proc: CliProcess, pattern: RegExp, timeoutMs = 15_000): Promise<number> {
  await proc.waitFor(pattern, timeoutMs);
  return performance.now();
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Resolves with the time `pattern` first shows in `proc`'s output after character `from` (e.g. output().length). */
export async function seenAfter(proc: CliProcess, from: number, pattern: RegExp, timeoutMs = 15_000): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  while (!pattern.test(proc.output().slice(from))) {
    if (proc.child.exitCode !== null) throw new Error(`the process exited waiting for ${pattern}:\n${proc.output()}`);
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${pattern}:\n${proc.output().slice(from)}`);
    await sleep(10);
  }
  return performance.now();
}

/** PIDs of the direct children of `pid` (the camera's ffmpeg), from /proc. */
export async function childrenOf(pid: number): Promise<number[]> {
  const { readdir, readFile } = await import('node:fs/promises');
  const out: number[] = [];
  for (const task of await readdir(`/proc/${pid}/task`)) {
    const text = await readFile(`/proc/${pid}/task/${task}/children`, 'utf8').catch(() => '');
    out.push(...text.split(/\s+/).filter(Boolean).map(Number));
  }
  return out;
}

/** The command name of a process (/proc/<pid>/comm). */
export async function commOf(pid: number): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  return (await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '')).trim();
}

/** The PIDs of `pid`'s children running `comm` (e.g. the camera's ffmpeg). */
export async function childrenNamed(pid: number, comm: string): Promise<number[]> {
  const all = await childrenOf(pid);
  const names = await Promise.all(all.map(commOf));
  return all.filter((_, i) => names[i] === comm);
}
