import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, untilListening } from './brokers.js';
import { stopChild } from './procs.js';

/** Where scripts/simple-whip-server.sh unpacks Meetecho's simple-whip-server (.ci/run does it). */
export const SIMPLE_WHIP_SERVER_DIR = process.env.SIMPLE_WHIP_SERVER_DIR ?? '/opt/simple-whip-server';

export interface JanusWhip {
  /** The WHIP endpoint that publishes into VideoRoom `room`: POST here with `Authorization: Bearer <token>`. */
  readonly whipUrl: string;
  readonly token: string;
  readonly room: number;
  /** Janus Admin API request (HTTP, 127.0.0.1): the reply's JSON. */
  admin(request: Record<string, unknown>): Promise<Record<string, unknown>>;
  output(): string;
  close(): Promise<void>;
}

/**
 * Debian's Janus (its own config in a temp dir: HTTP, WebSocket and Admin API on 127.0.0.1 only, VideoRoom with one
 * H.264 room, ICE on `iceInterface` only) behind Meetecho's simple-whip-server with one endpoint.
 */
export async function startJanusWhip(options: { iceInterface: string }): Promise<JanusWhip> {
  const dir = await mkdtemp(join(tmpdir(), 'peercam-janus-'));
  const [wsPort, adminPort, whipPort] = [await freePort(), await freePort(), await freePort()];
  const adminSecret = 'peercam-admin';
  const room = 4242;
  const token = 'janus-whip-token';
  await writeJanusConfig(dir, { plugin: 'videoroom', iceInterface: options.iceInterface, wsPort, admin: { port: adminPort, secret: adminSecret } });
  await writeFile(join(dir, 'janus.plugin.videoroom.jcfg'), `general: { }\nroom-${room}: { description = "peercam", publishers = 4, videocodec = "h264", audiocodec = "opus", bitrate = 4000000, fir_freq = 5 }\n`);

  const procs = childProcesses(dir);
  const close = async () => {
    await procs.stop();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    procs.start('janus', ['--configs-folder', dir, '--config', join(dir, 'janus.jcfg'), '--disable-colors']);
    await untilListening(wsPort, 30_000);
    await untilListening(adminPort, 10_000);

    // simple-whip-server reads ./config.js beside its server.js and serves ./web from its working directory.
    if (!existsSync(join(SIMPLE_WHIP_SERVER_DIR, 'src', 'server.js')))
      throw new Error(`simple-whip-server is not unpacked in ${SIMPLE_WHIP_SERVER_DIR}: run scripts/simple-whip-server.sh as root (.ci/run does)`);
    const app = join(dir, 'whip');
    await cp(join(SIMPLE_WHIP_SERVER_DIR, 'src'), join(app, 'src'), { recursive: true });
    await cp(join(SIMPLE_WHIP_SERVER_DIR, 'web'), join(app, 'web'), { recursive: true });
    await writeFile(
      join(app, 'src', 'config.js'),
      `module.exports = { janus: { address: 'ws://127.0.0.1:${wsPort}' }, port: ${whipPort}, rest: '/whip', allowTrickle: true, strictETags: false, iceServers: [] };\n`,
    );
    procs.start(process.execPath, ['src/server.js'], { cwd: app, env: { ...process.env, NODE_PATH: join(SIMPLE_WHIP_SERVER_DIR, 'node_modules'), DEBUG: 'whip:*,-whip:debug' } });
    await untilListening(whipPort, 30_000);
    const base = `http://127.0.0.1:${whipPort}/whip`;
    const created = await fetch(`${base}/create`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'peercam', room, token, label: 'peercam camera' }),
    });
    if (created.status !== 200) throw new Error(`simple-whip-server /create answered ${created.status}: ${await created.text()}`);
    return {
      whipUrl: `${base}/endpoint/peercam`,
      token,
      room,
      async admin(request) {
        const res = await fetch(`http://127.0.0.1:${adminPort}/admin`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ transaction: Math.random().toString(36).slice(2), admin_secret: adminSecret, ...request }),
        });
        return (await res.json()) as Record<string, unknown>;
      },
      output: procs.output,
      close,
    };
  } catch (err) {
    await close();
    throw new Error(`${String(err)}\n${procs.output()}`);
  }
}

const JANUS_LIB = '/usr/lib/x86_64-linux-gnu/janus';
const JANUS_PLUGINS = ['audiobridge', 'duktape', 'echotest', 'lua', 'nosip', 'recordplay', 'sip', 'streaming', 'textroom', 'videocall', 'videoroom', 'voicemail'];

/**
 * Debian's Janus configured in `dir` (its own folder, nothing of /etc/janus): the WebSocket API on 127.0.0.1:`wsPort`,
 * ICE on `iceInterface` only, one plugin loaded (its own .jcfg is the caller's), and the Admin API over HTTP on
 * 127.0.0.1 when `admin` is given (else no HTTP transport at all). Logs at `debugLevel` (Janus's default, 4, if absent).
 */
export async function writeJanusConfig(
  dir: string,
  o: { plugin: string; iceInterface: string; wsPort: number; admin?: { port: number; secret: string }; debugLevel?: number },
): Promise<void> {
  const plugins = JANUS_PLUGINS.filter((p) => p !== o.plugin).map((p) => `libjanus_${p}.so`);
  const transports = ['mqtt', 'nanomsg', 'pfunix', 'rabbitmq', ...(o.admin ? [] : ['http'])].map((t) => `libjanus_${t}.so`);
  await writeFile(
    join(dir, 'janus.jcfg'),
    `general: {
  configs_folder = "${dir}"
  plugins_folder = "${JANUS_LIB}/plugins"
  transports_folder = "${JANUS_LIB}/transports"
  events_folder = "${JANUS_LIB}/events"
  loggers_folder = "${JANUS_LIB}/loggers"
  debug_level = ${o.debugLevel ?? 4}
${o.admin ? `  admin_secret = "${o.admin.secret}"\n` : ''}}
media: { rtp_port_range = "43000-43200" }
nat: { ice_enforce_list = "${o.iceInterface}" }
plugins: { disable = "${plugins.join(',')}" }
transports: { disable = "${transports.join(',')}" }
loggers: { disable = "libjanus_jsonlog.so" }
events: { broadcast = false }
`,
  );
  await writeFile(join(dir, 'janus.transport.websockets.jcfg'), `general: { ws = true, ws_port = ${o.wsPort}, ws_ip = "127.0.0.1", wss = false }\nadmin: { admin_ws = false, admin_wss = false }\n`);
  if (o.admin)
    await writeFile(
      join(dir, 'janus.transport.http.jcfg'),
      `general: { http = false, https = false }\nadmin: { admin_http = true, admin_port = ${o.admin.port}, admin_ip = "127.0.0.1", admin_base_path = "/admin", admin_https = false }\n`,
    );
}

/** Child processes started in `cwd`, their output together (the last 200 KB), stopped newest first. */
export function childProcesses(cwd: string): {
  start(cmd: string, args: string[], o?: { cwd?: string; env?: NodeJS.ProcessEnv }): ChildProcess;
  output(): string;
  /** SIGTERM to each still running, SIGKILL after 5 s, one after the other. */
  stop(): Promise<void>;
} {
  const procs: ChildProcess[] = [];
  let out = '';
  const keep = (d: Buffer) => {
    out = (out + d.toString()).slice(-200_000);
  };
  return {
    start(cmd, args, o = {}) {
      const child = spawn(cmd, args, { cwd: o.cwd ?? cwd, env: o.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout?.on('data', keep);
      child.stderr?.on('data', keep);
      procs.push(child);
      return child;
    },
    output: () => out,
    async stop() {
      for (const p of procs.splice(0).reverse()) await stopChild(p);
    },
  };
}
