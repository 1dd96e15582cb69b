import { type ChildProcess, spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { type AddressInfo, connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type EmbeddedBroker, startEmbeddedBroker } from '../../src/hub/broker.js';
import type { Logger } from '../../src/protocol/index.js';
import { sleep } from './wait.js';
import { stopChild } from './procs.js';

/** A broker a test can stop and start again on the same port (an empty broker comes back: no persistence). */
export interface TestBroker {
  readonly url: string;
  readonly port: number;
  /** Stops it cleanly (SIGTERM for Mosquitto). Idempotent. */
  stop(): Promise<void>;
  /** Starts it again on the same port after stop(). */
  start(): Promise<void>;
  /** stop() then start(). */
  restart(): Promise<void>;
}

export interface MosquittoBroker extends TestBroker {
  /** PID of the running mosquitto (changes on restart); undefined while stopped. */
  readonly pid: number | undefined;
  /** ws://127.0.0.1:<port> when a WebSocket listener was asked for. */
  readonly wsUrl: string | undefined;
  /** SIGKILL: the broker vanishes without closing anything. */
  kill(): Promise<void>;
}

export const MOSQUITTO = '/usr/sbin/mosquitto';

export interface MosquittoOptions {
  /** Fixed port for the main listener; a free one by default. */
  readonly port?: number;
  /** More mosquitto.conf lines; a function gets the broker's own directory (where `files` are written). */
  readonly extraConfig?: string | ((dir: string) => string);
  /** Files (certificates, password file) written into the broker's directory, readable by the mosquitto user. */
  readonly files?: Readonly<Record<string, string>>;
  /** Adds a WebSocket listener (its bind address is ignored by Mosquitto 2.0.11; tests run in a netns anyway). */
  readonly websockets?: boolean;
}

/** A free TCP port on 127.0.0.1 (asked from the kernel, then released for the broker to take). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Resolves once something accepts TCP connections on 127.0.0.1:port; `dead` returning a reason aborts. */
export async function untilListening(port: number, timeoutMs: number, dead: () => string | undefined = () => undefined): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    const why = dead();
    if (why !== undefined) throw new Error(why);
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await sleep(20);
  }
}

/**
 * Runs apt's Mosquitto in the foreground with its own config in a temp dir: loopback only, anonymous, no persistence,
 * and `max_queued_messages 0` (the default of 1000 silently drops under load).
 */
export async function startMosquitto(options: MosquittoOptions = {}): Promise<MosquittoBroker> {
  const port = options.port ?? (await freePort());
  const wsPort = options.websockets ? await freePort() : undefined;
  const dir = await mkdtemp(join(tmpdir(), 'peercam-mosquitto-'));
  const extra = typeof options.extraConfig === 'function' ? options.extraConfig(dir) : (options.extraConfig ?? '');
  const conf = join(dir, 'mosquitto.conf');
  const lines = [
    `listener ${port} 127.0.0.1`,
    'allow_anonymous true',
    'persistence false',
    'max_queued_messages 0',
    'log_dest stderr',
    'log_type error',
    'log_type warning',
    ...(wsPort !== undefined ? [`listener ${wsPort} 127.0.0.1`, 'protocol websockets'] : []),
    extra,
  ];
  let child: ChildProcess | undefined;
  let output = '';

  const start = async () => {
    if (child) return;
    await mkdir(dir, { recursive: true }); // stop() removed it
    // Run as root, mosquitto drops to its own user before it reads password and certificate files.
    await chmod(dir, 0o755);
    for (const [name, content] of Object.entries(options.files ?? {})) await writeFile(join(dir, name), content, { mode: 0o644 });
    await writeFile(conf, `${lines.join('\n')}\n`);
    output = '';
    const proc = spawn(MOSQUITTO, ['-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-4000);
    };
    proc.stdout?.on('data', keep);
    proc.stderr?.on('data', keep);
    let exited: string | undefined;
    proc.once('error', (err) => {
      exited = `cannot run ${MOSQUITTO}: ${err.message}`;
    });
    proc.once('exit', (code, signal) => {
      exited ??= `mosquitto exited (${code ?? signal}) while starting: ${output.trim()}`;
      if (child === proc) child = undefined;
    });
    try {
      await untilListening(port, 5000, () => exited);
      if (wsPort !== undefined) await untilListening(wsPort, 5000, () => exited);
    } catch (err) {
      await stopWith('SIGKILL');
      throw err;
    }
  };

  const stopWith = async (signal: NodeJS.Signals) => {
    const proc = child;
    child = undefined;
    if (proc) await stopChild(proc, signal, 3000);
  };

  await start();
  return {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    wsUrl: wsPort !== undefined ? `ws://127.0.0.1:${wsPort}` : undefined,
    get pid() {
      return child?.pid;
    },
    start,
    async stop() {
      await stopWith('SIGTERM');
      await rm(dir, { recursive: true, force: true });
    },
    async kill() {
      await stopWith('SIGKILL');
    },
    async restart() {
      await stopWith('SIGTERM');
      await start();
    },
  };
}

export interface AedesBroker extends TestBroker {
  /** The running embedded broker; undefined while stopped. */
  readonly current: EmbeddedBroker | undefined;
}

/** The hub's embedded aedes broker, restartable on the same port like startMosquitto's. */
export async function startAedes(options: { port?: number; log?: Logger } = {}): Promise<AedesBroker> {
  let current: EmbeddedBroker | undefined = await startEmbeddedBroker({ port: options.port ?? 0, ...(options.log ? { log: options.log } : {}) });
  const port = current.port;
  const stop = async () => {
    const b = current;
    current = undefined;
    await b?.close();
  };
  const start = async () => {
    current ??= await startEmbeddedBroker({ port, ...(options.log ? { log: options.log } : {}) });
  };
  return {
    url: current.url,
    port,
    get current() {
      return current;
    },
    stop,
    start,
    async restart() {
      await stop();
      await start();
    },
  };
}
