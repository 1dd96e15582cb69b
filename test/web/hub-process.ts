import { freePort, untilListening } from '../helpers/brokers.js';
import { type CliProcess, cliHome, spawnCli } from '../helpers/cli.js';

/** A real `peercam up --demo` child process on free ports, with its own data dir; restartable on the same ports. */
export interface HubProcess {
  readonly port: number;
  readonly mqttPort: number;
  /** The banner's http://127.0.0.1:PORT/#k=... link. */
  readonly link: string;
  readonly env: NodeJS.ProcessEnv;
  /** PID of the running hub (undefined while stopped), e.g. to read its memory in /proc. */
  readonly pid: number | undefined;
  output(): string;
  stop(): Promise<void>;
  restart(): Promise<void>;
  /** Stops the hub and removes its data dir. */
  close(): Promise<void>;
}

export async function startHubProcess(options: { demo?: boolean; args?: readonly string[] } = {}): Promise<HubProcess> {
  const home = await cliHome();
  const port = await freePort();
  const mqttPort = await freePort();
  const args = ['up', ...(options.demo === false ? [] : ['--demo']), '--no-mdns', '--port', String(port), '--mqtt-port', String(mqttPort), ...(options.args ?? [])];
  let proc: CliProcess | undefined;
  let link = '';
  let before = '';
  const start = async () => {
    proc = spawnCli(args, home.env);
    await proc.waitFor(/Watch on this computer:\s+(\S+)/, 30_000);
    link = /Watch on this computer:\s+(\S+)/.exec(proc.output())?.[1] ?? '';
    await untilListening(port, 5000);
  };
  await start();
  const stop = async () => {
    const p = proc;
    proc = undefined;
    if (p) {
      before += p.output();
      const timer = setTimeout(() => void p.kill(), 5000);
      await p.stop();
      clearTimeout(timer);
    }
  };
  return {
    port,
    mqttPort,
    get link() {
      return link;
    },
    env: home.env,
    get pid() {
      return proc?.child.pid;
    },
    output: () => before + (proc?.output() ?? ''),
    stop,
    async restart() {
      await stop();
      await start();
    },
    async close() {
      await stop();
      await home.remove();
    },
  };
}
