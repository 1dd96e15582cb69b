import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const MAIN = join(import.meta.dirname, '..', '..', 'dist', 'cli', 'main.js');

/** A data dir of its own for one test, with mDNS off and ICE on loopback (tests run in a loopback-only namespace). */
export async function cliHome(): Promise<{ env: NodeJS.ProcessEnv; dir: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'peercam-home-'));
  const env = { ...process.env, PEERCAM_HOME: dir, PEERCAM_MDNS: 'off', PEERCAM_ICE_BIND: '127.0.0.1' };
  return { env, dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `peercam <args>` (the built CLI) to completion. */
export function runCli(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 60_000): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`peercam ${args.join(' ')} did not finish in ${timeoutMs} ms\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** A long-running `peercam <args>` (camera, up): its output so far, and stop/kill by PID. */
export interface CliProcess {
  readonly child: ChildProcess;
  output(): string;
  /** Resolves when the output matches. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>;
  /** SIGTERM and wait for exit. */
  stop(): Promise<number | null>;
  kill(): Promise<void>;
}

/** `nodeArgs`: flags for node itself (e.g. `--cpu-prof`, which NODE_OPTIONS does not allow). */
export function spawnCli(args: string[], env: NodeJS.ProcessEnv, nodeArgs: readonly string[] = []): CliProcess {
  return spawnNode(MAIN, args, env, nodeArgs);
}

/** `node [nodeArgs] script args`, watched like a `peercam` process (a bench's own camera script, for one). */
export function spawnNode(script: string, args: string[], env: NodeJS.ProcessEnv, nodeArgs: readonly string[] = []): CliProcess {
  const child = spawn(process.execPath, [...nodeArgs, script, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const name = script === MAIN ? 'peercam' : script;
  return {
    child,
    output: () => out,
    async waitFor(pattern, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      while (!pattern.test(out)) {
        if (child.exitCode !== null) throw new Error(`${name} ${args.join(' ')} exited (${child.exitCode}):\n${out}`);
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern} from ${name} ${args.join(' ')}:\n${out}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
    async kill() {
      if (child.exitCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
