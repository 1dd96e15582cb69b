import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './brokers.js';
import { waitFor } from './wait.js';
import { stopChild } from './procs.js';

export const PROMETHEUS = '/usr/bin/prometheus';

/** One sample of an instant query: the series' labels and its value. */
export interface PromSample {
  readonly metric: Record<string, string>;
  readonly value: number;
}

export interface PrometheusServer {
  /** http://127.0.0.1:<port> */
  readonly url: string;
  /** The directory holding prometheus.yml and the files `start` was given (credentials files). */
  readonly dir: string;
  /** An instant query over the HTTP API (GET /api/v1/query); throws on an error answer. */
  query(promql: string): Promise<PromSample[]>;
  stop(): Promise<void>;
}

/**
 * Debian's Prometheus in the foreground on 127.0.0.1 with a config of the test's own (`config(dir)` gets the directory
 * where `files` were written, for credentials_file) and its TSDB in a temp dir, removed on stop.
 */
export async function startPrometheus(config: (dir: string) => string, files: Readonly<Record<string, string>> = {}): Promise<PrometheusServer> {
  const dir = await mkdtemp(join(tmpdir(), 'peercam-prometheus-'));
  for (const [name, content] of Object.entries(files)) await writeFile(join(dir, name), content, { mode: 0o600 });
  await writeFile(join(dir, 'prometheus.yml'), config(dir));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let output = '';
  const child: ChildProcess = spawn(
    PROMETHEUS,
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--storage.tsdb.retention.time=1h',
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const stop = async () => {
    await stopChild(child);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`prometheus exited (${child.exitCode}) while starting: ${output}`);
        return (await fetch(`${url}/-/ready`).catch(() => undefined))?.ok === true;
      },
      { timeoutMs: 30_000, what: `Prometheus ready at ${url}` },
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    url,
    dir,
    async query(promql) {
      const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(promql)}`);
      const body = (await res.json()) as { status: string; error?: string; data?: { result: { metric: Record<string, string>; value: [number, string] }[] } };
      if (body.status !== 'success') throw new Error(`Prometheus query ${promql}: ${body.error ?? res.status}`);
      return (body.data?.result ?? []).map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
    },
    stop,
  };
}
