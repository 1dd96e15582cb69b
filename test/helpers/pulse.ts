import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from './wait.js';

/**
 * A PulseAudio daemon of the test's own (runs as root too: --system=false with a private HOME and runtime dir), with
 * a null sink `speaker` (what is played there can be recorded from `speaker.monitor`) and a source `mic` that
 * produces a 440 Hz sine, reached by clients through PULSE_SERVER on a private unix socket. No sound card needed.
 */
export interface PulseServer {
  /** Environment for clients (ffmpeg, parec, peercam): PULSE_SERVER and friends. */
  readonly env: NodeJS.ProcessEnv;
  readonly pid: number | undefined;
  /** Starts recording a source (e.g. `speaker.monitor`) as 48 kHz mono s16; resolves once samples flow. */
  record(source: string): Promise<Recording>;
  stop(): Promise<void>;
}

export interface Recording {
  /** Samples recorded so far. */
  samples(): Int16Array;
  stop(): Promise<void>;
}

/** Largest absolute sample value: 0 for digital silence. */
export function peak(samples: Int16Array): number {
  let max = 0;
  for (const s of samples) max = Math.max(max, Math.abs(s));
  return max;
}

/** Mean energy (mean square of samples scaled to [-1, 1]) of a stretch of samples. */
export function energy(samples: Int16Array): number {
  let sum = 0;
  for (const s of samples) sum += (s / 32768) ** 2;
  return samples.length ? sum / samples.length : 0;
}

export async function startPulse(): Promise<PulseServer> {
  const dir = await mkdtemp(join(tmpdir(), 'peercam-pulse-'));
  const runtime = join(dir, 'run');
  await mkdir(runtime);
  const socket = join(dir, 'native');
  const env = { ...process.env, HOME: dir, PULSE_RUNTIME_PATH: runtime, XDG_RUNTIME_DIR: runtime, PULSE_SERVER: `unix:${socket}` };
  const args = [
    ...['--daemonize=no', '--system=false', '--exit-idle-time=-1', '--disallow-exit', '--use-pid-file=no', '-n', '--log-target=stderr'],
    ...['-L', 'module-null-sink sink_name=speaker rate=48000'],
    ...['-L', 'module-sine-source source_name=mic rate=48000 frequency=440'],
    ...['-L', `module-native-protocol-unix auth-anonymous=1 socket=${socket}`],
  ];
  const daemon: ChildProcess = spawn('pulseaudio', args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  daemon.stderr?.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<void>((resolve) => daemon.once('exit', () => resolve()));
  const children = new Set<ChildProcess>();
  const stop = async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    if (daemon.exitCode === null) daemon.kill('SIGTERM');
    await exited;
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(
      async () => {
        if (daemon.exitCode !== null) throw new Error(`pulseaudio exited (${daemon.exitCode}):\n${log}`);
        return (await run('pactl', ['info'], env)) === 0;
      },
      { timeoutMs: 60_000, what: 'the test PulseAudio daemon to accept clients', intervalMs: 100 },
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    env,
    pid: daemon.pid,
    async record(source) {
      const child = spawn('parec', ['-d', source, '--format=s16le', '--rate=48000', '--channels=1', '--raw', '--latency-msec=20'], {
        env,
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      children.add(child);
      const chunks: Buffer[] = [];
      child.stdout?.on('data', (d: Buffer) => chunks.push(d));
      const done = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      await waitFor(
        () => {
          if (child.exitCode !== null) throw new Error(`parec -d ${source} exited (${child.exitCode})`);
          return chunks.reduce((n, c) => n + c.length, 0) >= 1920;
        },
        { timeoutMs: 30_000, what: `parec to record ${source}`, intervalMs: 20 },
      );
      return {
        samples() {
          const all = Buffer.concat(chunks);
          const n = Math.floor(all.length / 2);
          return new Int16Array(all.buffer.slice(all.byteOffset, all.byteOffset + 2 * n));
        },
        async stop() {
          if (child.exitCode === null) child.kill('SIGTERM');
          await done;
          children.delete(child);
        },
      };
    },
    stop,
  };
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<number | null> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { env, stdio: 'ignore' });
    child.once('error', () => resolve(null));
    child.once('exit', (code) => resolve(code));
  });
}
