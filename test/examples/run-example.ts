import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import type { PackedProject } from './package.js';

/** One example run with node from the temp project: its output so far, and stop by PID. */
export interface Example {
  output(): string;
  exited: Promise<number | null>;
  stop(): Promise<void>;
}

export function runExample(project: PackedProject, file: string, args: readonly string[], env: NodeJS.ProcessEnv): Example {
  const child: ChildProcess = spawn(process.execPath, [join(project.dir, 'examples', 'node', file), ...args], {
    cwd: project.dir,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return {
    output: () => out,
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

