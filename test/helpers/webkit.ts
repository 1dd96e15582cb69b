import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { freePort } from './brokers.js';
import { sleep } from './wait.js';
import { stopChild } from './procs.js';

/** Debian's WebKitGTK MiniBrowser (libwebkit2gtk, pulled in by webkit2gtk-driver), the engine of Safari. */
export function findMiniBrowser(): string {
  for (const arch of readdirSync('/usr/lib').filter((d) => d.includes('-linux-'))) {
    for (const api of ['webkit2gtk-4.1', 'webkit2gtk-4.0', 'webkitgtk-6.0']) {
      const path = `/usr/lib/${arch}/${api}/MiniBrowser`;
      if (existsSync(path)) return path;
    }
  }
  throw new Error('No WebKitGTK MiniBrowser under /usr/lib/*/webkit2gtk-4.*/: apt-get install webkit2gtk-driver');
}

interface WebDriverError {
  error: string;
  message: string;
}

/**
 * WebKitGTK driven over classic WebDriver (HTTP + JSON, W3C): Xvfb on a display it picks itself, WebKitWebDriver on a
 * free loopback port, one MiniBrowser session with mock capture devices. Run it inside the test namespace, like the
 * hub it talks to. `close()` ends the session and the two processes it started, by PID.
 */
export class WebKit {
  private constructor(
    private readonly xvfb: ChildProcess,
    private readonly driver: ChildProcess,
    private readonly base: string,
    private readonly session: string,
    readonly version: string,
    private readonly log: () => string,
  ) {}

  static async launch(): Promise<WebKit> {
    const xvfb = spawn('Xvfb', ['-displayfd', '3', '-screen', '0', '1280x800x24', '-nolisten', 'tcp', '-nolisten', 'unix'], {
      stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
    });
    let driver: ChildProcess | undefined;
    try {
      const display = await new Promise<string>((resolve, reject) => {
        let text = '';
        (xvfb.stdio[3] as Readable).on('data', (d: Buffer) => {
          text += d.toString();
          if (text.includes('\n')) resolve(text.trim());
        });
        xvfb.once('exit', (code) => reject(new Error(`Xvfb exited (${code}) before picking a display`)));
        setTimeout(() => reject(new Error('Xvfb did not start within 15 s')), 15_000);
      });
      const port = await freePort();
      let log = '';
      driver = spawn('WebKitWebDriver', [`--port=${port}`, '--host=127.0.0.1'], {
        env: { ...process.env, DISPLAY: `:${display}` },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      driver.stdout?.on('data', (d: Buffer) => (log += d.toString()));
      driver.stderr?.on('data', (d: Buffer) => (log += d.toString()));
      const base = `http://127.0.0.1:${port}`;
      const deadline = Date.now() + 15_000;
      for (;;) {
        const ready = await fetch(`${base}/status`).then((r) => r.ok, () => false);
        if (ready) break;
        if (Date.now() > deadline || driver.exitCode !== null) throw new Error(`WebKitWebDriver did not answer on ${base}\n${log}`);
        await sleep(100);
      }
      const created = (await call(base, 'POST', '/session', {
        capabilities: {
          alwaysMatch: {
            'webkitgtk:browserOptions': {
              binary: findMiniBrowser(),
              args: ['--automation', '--enable-mock-capture-devices=true', '--enable-media-stream=true'],
            },
          },
        },
      })) as { sessionId: string; capabilities: { browserVersion: string } };
      return new WebKit(xvfb, driver, base, created.sessionId, created.capabilities.browserVersion, () => log);
    } catch (err) {
      driver?.kill('SIGKILL');
      xvfb.kill('SIGKILL');
      throw err;
    }
  }

  /** WebDriver "Navigate To": resolves once the page has loaded. */
  async navigate(url: string): Promise<void> {
    await this.cmd('POST', '/url', { url });
  }

  /** Runs a function body in the page (`arguments[0]`... are `args`) and returns its JSON result. */
  async execute<T>(script: string, ...args: unknown[]): Promise<T> {
    return (await this.cmd('POST', '/execute/sync', { script, args })) as T;
  }

  /** Polls `script` (a function body) until it returns something truthy; fails after `timeoutMs` saying what it saw. */
  async waitFor<T>(script: string, timeoutMs: number, what: string): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await this.execute<T>(script);
      if (value) return value;
      if (Date.now() > deadline) {
        const seen = await this.execute<string>('return document.body ? document.body.innerText.slice(0, 2000) : "(no body)"').catch(String);
        throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; the page shows:\n${seen}`);
      }
      await sleep(100);
    }
  }

  async screenshot(path: string): Promise<void> {
    const png = (await this.cmd('GET', '/screenshot')) as string;
    await writeFile(path, Buffer.from(png, 'base64'));
  }

  async close(): Promise<void> {
    await this.cmd('DELETE', '').catch(() => {});
    for (const p of [this.driver, this.xvfb]) await stopChild(p);
  }

  /** The driver's own output (for failure messages). */
  get driverLog(): string {
    return this.log();
  }

  private cmd(method: string, path: string, body?: unknown): Promise<unknown> {
    return call(this.base, method, `/session/${this.session}${path}`, body);
  }
}

async function call(base: string, method: string, path: string, body?: unknown): Promise<unknown> {
  const res = await fetch(`${base}${path}`, {
    method,
    ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
  });
  const json = (await res.json()) as { value: unknown };
  if (!res.ok) {
    const e = json.value as WebDriverError;
    throw new Error(`WebDriver ${method} ${path}: ${e.error}: ${e.message}`);
  }
  return json.value;
}
