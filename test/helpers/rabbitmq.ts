import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, untilListening } from './brokers.js';

const run = promisify(execFile);
const BIN = '/usr/lib/rabbitmq/bin';

export interface RabbitNode {
  /** Erlang node name, e.g. rabbit1@localhost. */
  readonly name: string;
  /** mqtt://127.0.0.1:<port> (rabbitmq_mqtt: MQTT 3.1.1 only in 3.10). */
  readonly url: string;
  /** ws://127.0.0.1:<port>/ws (rabbitmq_web_mqtt). */
  readonly wsUrl: string;
  readonly mqttPort: number;
}

export interface RabbitCluster {
  readonly nodes: readonly RabbitNode[];
  /** The running nodes as the first node's `rabbitmqctl cluster_status` lists them. */
  runningNodes(): Promise<string[]>;
  /** `rabbitmqctl stop_app` then `start_app` on node `index`: its clients are cut, the cluster keeps it. */
  restartApp(index: number, downMs: number): Promise<void>;
  /** rabbitmqctl stop on every node, then `epmd -kill` of this cluster's own epmd; removes its directory. */
  stop(): Promise<void>;
}

/**
 * A real RabbitMQ cluster from apt's binaries (Debian `rabbitmq-server` 3.10, `rabbitmq_mqtt` + `rabbitmq_web_mqtt`),
 * every node in the foreground on loopback with its own config, ports and mnesia dir under one temp dir, an epmd on a
 * port of its own, one Erlang cookie. Nodes after the first are joined with rabbitmqctl. Starting takes 10-60 s.
 */
export async function startRabbitCluster(size = 2): Promise<RabbitCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'peercam-rabbitmq-'));
  const home = join(dir, 'home');
  await mkdir(home);
  await writeFile(join(home, '.erlang.cookie'), `PEERCAM${Math.random().toString(36).slice(2)}`.toUpperCase());
  await chmod(join(home, '.erlang.cookie'), 0o400);
  const epmdPort = await freePort();
  const base = { ...process.env, HOME: home, ERL_EPMD_ADDRESS: '127.0.0.1', ERL_EPMD_PORT: String(epmdPort) };
  const children: ChildProcess[] = [];
  const nodes: RabbitNode[] = [];
  const outputs: string[] = [];
  const ctl = (node: string, ...args: string[]) => run(`${BIN}/rabbitmqctl`, ['-n', node, ...args], { env: base, timeout: 120_000 });

  // A test file that is cancelled (its timeout) exits without its after hooks: the nodes and epmd must not outlive it.
  const orphans = () => {
    for (const child of children) killGroup(child);
    try {
      execFileSync('epmd', ['-kill'], { env: base, stdio: 'ignore', timeout: 5000 });
    } catch {}
    rmSync(dir, { recursive: true, force: true });
  };
  // The runner ends a file that overran its timeout with SIGTERM, which skips 'exit' handlers by default.
  const terminated = () => {
    orphans();
    process.exit(143);
  };
  process.once('exit', orphans);
  process.once('SIGTERM', terminated);
  const stop = async () => {
    process.off('exit', orphans);
    process.off('SIGTERM', terminated);
    await Promise.all(nodes.map((n) => ctl(n.name, 'stop').catch(() => {})));
    for (const child of children) killGroup(child);
    await run('epmd', ['-kill'], { env: base }).catch(() => {});
    await rm(dir, { recursive: true, force: true });
  };

  try {
    for (let i = 1; i <= size; i++) {
      const nodeDir = join(dir, `node${i}`);
      await mkdir(nodeDir);
      const [amqp, mqtt, ws, dist] = [await freePort(), await freePort(), await freePort(), await freePort()];
      const conf = join(nodeDir, 'rabbitmq.conf');
      await writeFile(
        conf,
        [
          `listeners.tcp.default = 127.0.0.1:${amqp}`,
          `mqtt.listeners.tcp.default = 127.0.0.1:${mqtt}`,
          'mqtt.allow_anonymous = true',
          `web_mqtt.tcp.port = ${ws}`,
          'web_mqtt.tcp.ip = 127.0.0.1',
          // The guest user (what anonymous MQTT clients log in as) is allowed from loopback only anyway.
          'loopback_users = none',
          'log.console = true',
          'log.console.level = warning',
          '',
        ].join('\n'),
      );
      await writeFile(join(nodeDir, 'enabled_plugins'), '[rabbitmq_mqtt,rabbitmq_web_mqtt].\n');
      const name = `rabbit${i}@localhost`;
      const child = spawn(`${BIN}/rabbitmq-server`, [], {
        env: {
          ...base,
          RABBITMQ_NODENAME: name,
          RABBITMQ_CONFIG_FILE: conf,
          RABBITMQ_ADVANCED_CONFIG_FILE: join(nodeDir, 'advanced.config'),
          RABBITMQ_ENABLED_PLUGINS_FILE: join(nodeDir, 'enabled_plugins'),
          RABBITMQ_MNESIA_BASE: join(nodeDir, 'mnesia'),
          RABBITMQ_LOG_BASE: join(nodeDir, 'log'),
          RABBITMQ_GENERATED_CONFIG_DIR: join(nodeDir, 'generated'),
          RABBITMQ_PID_FILE: join(nodeDir, 'pid'),
          RABBITMQ_DIST_PORT: String(dist),
          RABBITMQ_LOGS: '-',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
        // Its own process group: the script runs beam.smp as a child, and both must go if the node must be killed.
        detached: true,
      });
      const index = i - 1;
      outputs[index] = '';
      const keep = (chunk: Buffer) => {
        outputs[index] = (outputs[index] + chunk.toString()).slice(-4000);
      };
      child.stdout?.on('data', keep);
      child.stderr?.on('data', keep);
      children.push(child);
      nodes.push({ name, url: `mqtt://127.0.0.1:${mqtt}`, wsUrl: `ws://127.0.0.1:${ws}/ws`, mqttPort: mqtt });
    }
    // A node listens for MQTT once its boot finished (plugins start last).
    await Promise.all(
      nodes.map((n, i) =>
        untilListening(n.mqttPort, 150_000, () => {
          const c = children[i]!;
          return c.exitCode !== null ? `${n.name} exited (${c.exitCode}) while starting: ${outputs[i]}` : undefined;
        }),
      ),
    );
    for (const n of nodes.slice(1)) {
      await ctl(n.name, 'stop_app');
      await ctl(n.name, 'join_cluster', nodes[0]!.name);
      await ctl(n.name, 'start_app');
      await untilListening(n.mqttPort, 120_000);
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    nodes,
    runningNodes: async () => {
      const { stdout } = await ctl(nodes[0]!.name, 'cluster_status', '--formatter', 'json');
      return ((JSON.parse(stdout) as { running_nodes?: string[] }).running_nodes ?? []).sort();
    },
    async restartApp(index, downMs) {
      const n = nodes[index]!;
      await ctl(n.name, 'stop_app');
      await new Promise((r) => setTimeout(r, downMs));
      await ctl(n.name, 'start_app');
      await untilListening(n.mqttPort, 120_000);
    },
    stop,
  };
}

/** SIGKILL to the process group of a node started by this helper (the script and its beam.smp), if still running. */
function killGroup(child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {}
}
