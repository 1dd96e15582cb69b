import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));
const rigScript = `${root}scripts/netns-rig.sh`;
let rigs = 0;

/** One JSON line a fixture printed, with the time it said it happened. */
export interface Event {
  readonly ev: string;
  readonly t: number;
  readonly [k: string]: unknown;
}

/** A process started in a host namespace; its stdout JSON lines are collected as events. */
export class HostProcess {
  readonly events: Event[] = [];
  stdout = '';
  stderr = '';
  readonly exited: Promise<number | null>;
  /** What `NetnsRig.down()` stops it with (a wrapper that must take its daemons down uses SIGTERM). */
  stopSignal: NodeJS.Signals = 'SIGKILL';
  private readonly waiters = new Set<() => void>();

  constructor(readonly child: ChildProcess) {
    let buffered = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      this.stdout += chunk;
      buffered += chunk;
      let nl = buffered.indexOf('\n');
      while (nl >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (line.startsWith('{')) {
          try {
            this.events.push(JSON.parse(line) as Event);
          } catch {
            // not one of ours (a library printing JSON-looking text); kept in stdout
          }
        }
        nl = buffered.indexOf('\n');
      }
      for (const w of [...this.waiters]) w();
    });
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr += chunk;
      for (const w of [...this.waiters]) w();
    });
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    void this.exited.then(() => {
      for (const w of [...this.waiters]) w();
    });
  }

  get pid(): number {
    if (this.child.pid === undefined) throw new Error('process did not start');
    return this.child.pid;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Resolves with the first event that matches, failing after `timeoutMs` with what was seen. */
  waitFor(match: (e: Event) => boolean, timeoutMs: number, what: string): Promise<Event> {
    return this.until(() => this.events.find(match), timeoutMs, what);
  }

  /** Resolves once `check` returns a value (re-checked on every output and on exit). */
  until<T>(check: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
    return new Promise((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(poll);
      };
      const poll = () => {
        const found = check();
        if (found !== undefined) {
          done();
          resolve(found);
        } else if (!this.running) {
          done();
          reject(new Error(`process exited (${this.child.exitCode ?? this.child.signalCode}) before ${what}\n${this.stdout}\n${this.stderr}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}\nstdout:\n${this.stdout}\nstderr:\n${this.stderr}`));
      }, timeoutMs);
      this.waiters.add(poll);
      poll();
    });
  }

  /** Sends a command and waits for the next event named `ev` printed after it. */
  async ask(command: object, ev: string, timeoutMs = 5_000): Promise<Event> {
    const from = this.events.length;
    this.send(command);
    return this.until(() => this.events.slice(from).find((e) => e.ev === ev), timeoutMs, `${ev} after ${JSON.stringify(command)}`);
  }

  send(command: object): void {
    this.child.stdin?.write(`${JSON.stringify(command)}\n`);
  }

  /** Sends a signal to this process (by its PID) and waits for it to exit. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (!this.running) return;
    process.kill(this.pid, signal);
    const timer = signal === 'SIGKILL' ? undefined : setTimeout(() => this.running && process.kill(this.pid, 'SIGKILL'), 5000);
    await this.exited;
    clearTimeout(timer);
  }
}

/**
 * A namespaced LAN (see scripts/netns-rig.sh): hosts a, b, c ... with lan0 = 10.77.0.1, .2, .3 on one bridge.
 * Names carry our PID, so parallel runs never meet; `down()` kills every process it started, then the namespaces.
 */
export class NetnsRig {
  private readonly procs = new Set<HostProcess>();

  private constructor(
    readonly prefix: string,
    readonly hosts: readonly string[],
  ) {}

  static async up(hosts: readonly string[] = ['a', 'b', 'c']): Promise<NetnsRig> {
    await run('bash', [rigScript, 'sweep']);
    const rig = new NetnsRig(`pc${process.pid}r${rigs++}`, hosts);
    try {
      await run('bash', [rigScript, 'up', rig.prefix, ...hosts]);
    } catch (err) {
      await rig.down();
      throw err;
    }
    return rig;
  }

  ns(host: string): string {
    if (!this.hosts.includes(host)) throw new Error(`no host ${host} in this rig`);
    return `${this.prefix}-${host}`;
  }

  address(host: string): string {
    return `10.77.0.${this.hosts.indexOf(host) + 1}`;
  }

  /** Starts `argv` inside host `host` (ip netns exec). mDNS is allowed there: this LAN is ours. */
  spawn(host: string, argv: readonly string[], env: NodeJS.ProcessEnv = {}): HostProcess {
    const child = spawn('ip', ['netns', 'exec', this.ns(host), ...argv], {
      cwd: root,
      env: { ...process.env, PEERCAM_MDNS: 'on', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const proc = new HostProcess(child);
    this.procs.add(proc);
    void proc.exited.then(() => this.procs.delete(proc));
    return proc;
  }

  /** Starts the LAN fixture (test/fixtures/lan/node.ts) in a host. */
  node(host: string, config: object): HostProcess {
    return this.spawn(host, [process.execPath, '--import', 'tsx', 'test/fixtures/lan/node.ts', JSON.stringify(config)]);
  }

  /** Runs a command in a host to completion. */
  async exec(host: string, argv: readonly string[], timeoutMs = 15_000): Promise<{ stdout: string; stderr: string }> {
    return run('ip', ['netns', 'exec', this.ns(host), ...argv], { cwd: root, timeout: timeoutMs, env: { ...process.env, PEERCAM_MDNS: 'on' } });
  }

  /**
   * Starts dbus-daemon + avahi-daemon in a host, in a mount namespace of their own (private /run/dbus and
   * /run/avahi-daemon). Resolves once Avahi is up; `run` executes an Avahi client (avahi-browse, avahi-publish) there.
   */
  async avahi(host: string, dir: string): Promise<{ daemon: HostProcess; run: (argv: readonly string[], timeoutMs?: number) => Promise<string>; spawn: (argv: readonly string[]) => HostProcess }> {
    const daemon = this.spawn(host, ['unshare', '-m', '--propagation', 'private', 'bash', rigScript, 'avahi', dir, 'lan0']);
    daemon.stopSignal = 'SIGTERM';
    await daemon.until(() => (daemon.stdout.includes('Server startup complete') || daemon.stderr.includes('Server startup complete') ? true : undefined), 15_000, `avahi-daemon up in ${host}`);
    const enter = ['nsenter', '-t', String(daemon.pid), '-m', '-n'];
    return {
      daemon,
      run: async (argv, timeoutMs = 15_000) => (await run(enter[0]!, [...enter.slice(1), ...argv], { timeout: timeoutMs })).stdout,
      spawn: (argv) => {
        const proc = new HostProcess(spawn(enter[0]!, [...enter.slice(1), ...argv], { stdio: ['pipe', 'pipe', 'pipe'] }));
        this.procs.add(proc);
        void proc.exited.then(() => this.procs.delete(proc));
        return proc;
      },
    };
  }

  async down(): Promise<void> {
    await Promise.all([...this.procs].map((p) => p.kill(p.stopSignal)));
    await run('bash', [rigScript, 'down', this.prefix]);
  }
}
