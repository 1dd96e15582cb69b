import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IceServer } from '../../src/session/peer.js';
import { generate } from 'selfsigned';
import { freePort, untilListening } from './brokers.js';

export interface Coturn {
  /** turn:127.0.0.1:P?transport=udp and ?transport=tcp; with `tls`, turns:127.0.0.1:Q?transport=tcp too. */
  readonly urls: { readonly udp: string; readonly tcp: string; readonly tls?: string };
  /** With `tls`: the PEM file of the server's self-signed certificate (give it to clients as NODE_EXTRA_CA_CERTS). */
  readonly caFile?: string;
  readonly username: string;
  readonly credential: string;
  /** RTCIceServer entries for one transport. */
  iceServer(transport: 'udp' | 'tcp' | 'tls'): IceServer;
  /** The server log so far (for diagnostics when a test fails). */
  log(): Promise<string>;
  /** Stops the server (by its PID) and removes its directory. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts coturn on loopback exactly as DESIGN.md measured it: long-term credentials, no TLS/DTLS, no CLI, loopback
 * peers allowed (all relayed traffic stays on loopback). Resolves once the TCP listener accepts connections.
 *
 * `relayIp` 127.0.0.2 makes "relay" mean relay on loopback: TURN permissions are per peer IP (RFC 8656 9), so with
 * relayed addresses on 127.0.0.1 any host socket on 127.0.0.1 may send to them directly, and libjuice then selects a
 * host/prflx pair even under a relay-only policy.
 *
 * `udp: false` listens for clients on TCP alone (coturn's --no-udp), so a session through it proves that TURN over
 * TCP carried it.
 */
export async function startCoturn(
  options: { relayIp?: string; udp?: boolean; tls?: boolean; authSecret?: string } = {},
): Promise<Coturn> {
  const dir = await mkdtemp(join(tmpdir(), 'peercam-coturn-'));
  const port = await freePort();
  const tlsPort = options.tls ? await freePort() : undefined;
  const caFile = join(dir, 'turn-cert.pem');
  if (options.tls) {
    const pems = await generate([{ name: 'commonName', value: '127.0.0.1' }], {
      keyType: 'ec',
      curve: 'P-256',
      algorithm: 'sha256',
      extensions: [{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] }],
    });
    await writeFile(caFile, pems.cert);
    await writeFile(join(dir, 'turn-key.pem'), pems.private, { mode: 0o600 });
  }
  // A relay range of its own, away from ephemeral ports; the namespace is private to this test run.
  const minPort = 50000 + Math.floor(Math.random() * 100) * 100;
  const username = 'peercam';
  const credential = 'loopback-secret';
  const logFile = join(dir, 'turnserver.log');
  const args = [
    '-n',
    '--listening-ip=127.0.0.1',
    `--relay-ip=${options.relayIp ?? '127.0.0.1'}`,
    `--listening-port=${port}`,
    `--min-port=${minPort}`,
    `--max-port=${minPort + 99}`,
    // `authSecret`: TURN REST (coturn use-auth-secret), credentials are minted from the secret by their users.
    ...(options.authSecret !== undefined ? ['--use-auth-secret', `--static-auth-secret=${options.authSecret}`] : ['--lt-cred-mech', `--user=${username}:${credential}`]),
    '--realm=peercam.test',
    ...(tlsPort ? [`--tls-listening-port=${tlsPort}`, `--cert=${caFile}`, `--pkey=${join(dir, 'turn-key.pem')}`] : ['--no-tls']),
    '--no-dtls',
    '--no-cli',
    '--allow-loopback-peers',
    '--fingerprint',
    ...(options.udp === false ? ['--no-udp'] : []),
    `--pidfile=${join(dir, 'turnserver.pid')}`,
    `--log-file=${logFile}`,
    '--simple-log',
    '--no-stdout-log',
  ];
  const child = spawn('/usr/bin/turnserver', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
      await rm(dir, { recursive: true, force: true });
    })();
    return stopping;
  };
  try {
    for (const p of [port, ...(tlsPort ? [tlsPort] : [])]) await untilListening(p, 5000, () => (child.exitCode !== null ? 'turnserver exited' : undefined));
  } catch (err) {
    const log = await readFile(logFile, 'utf8').catch(() => '');
    await stop();
    throw new Error(`coturn did not start: ${String(err)}\n${stderr}\n${log}`);
  }
  const urls = {
    udp: `turn:127.0.0.1:${port}?transport=udp`,
    tcp: `turn:127.0.0.1:${port}?transport=tcp`,
    ...(tlsPort ? { tls: `turns:127.0.0.1:${tlsPort}?transport=tcp` } : {}),
  };
  return {
    urls,
    ...(options.tls ? { caFile } : {}),
    username,
    credential,
    iceServer: (transport) => {
      const url = urls[transport];
      if (!url) throw new Error(`this coturn was started without ${transport}`);
      return { urls: url, username, credential };
    },
    log: () => readFile(logFile, 'utf8').catch(() => ''),
    stop,
  };
}
