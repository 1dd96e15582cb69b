import { execFile, spawn } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type Browser, chromium } from 'playwright-core';
import { CHROMIUM_ARGS } from './chromium.js';
import { HostProcess } from './netns.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));
const rigScript = `${root}scripts/netns-rig.sh`;

export type Site = 'home' | 'office';
export type Place = Site | 'cloud';
export type NatMode = 'cone' | 'symmetric';

/** The cloud host's address on the rig's "internet" (broker, TURN, static web host). */
export const CLOUD = '203.0.113.10';

/**
 * Home and office behind NAT routers, and a cloud, in network namespaces (scripts/netns-rig.sh nat). Names carry our
 * PID like NetnsRig's, so `sweep` clears rigs of dead test runs; `down()` kills what it started, then the namespaces.
 */
export class NatRig {
  private readonly procs = new Set<HostProcess>();
  private readonly browsers: Browser[] = [];

  private constructor(
    readonly prefix: string,
    readonly dir: string,
  ) {}

  static async up(): Promise<NatRig> {
    await run('bash', [rigScript, 'sweep']);
    const rig = new NatRig(`pc${process.pid}rn`, await mkdtemp(join(tmpdir(), 'peercam-nat-')));
    try {
      await run('bash', [rigScript, 'nat', rig.prefix]);
    } catch (err) {
      await rig.down();
      throw err;
    }
    return rig;
  }

  ns(place: Place): string {
    return `${this.prefix}-${place}`;
  }

  async natMode(site: Site, mode: NatMode): Promise<void> {
    await run('bash', [rigScript, 'natmode', this.prefix, site, mode]);
  }

  /** Starts `argv` in a place (mDNS off: these are not LANs under test). */
  spawn(place: Place, argv: readonly string[], env: NodeJS.ProcessEnv = {}): HostProcess {
    const child = spawn('ip', ['netns', 'exec', this.ns(place), ...argv], {
      cwd: root,
      env: { ...process.env, PEERCAM_MDNS: 'off', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const proc = new HostProcess(child);
    this.procs.add(proc);
    void proc.exited.then(() => this.procs.delete(proc));
    return proc;
  }

  /** Waits until something in `place` accepts TCP connections on `port` (checked from inside that namespace). */
  async untilListening(place: Place, port: number, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const ok = await run('ip', ['netns', 'exec', this.ns(place), 'bash', '-c', `exec 3<>/dev/tcp/127.0.0.1/${port}`]).then(
        () => true,
        () => false,
      );
      if (ok) return;
      if (Date.now() > deadline) throw new Error(`nothing listens on port ${port} in ${place} after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Chromium running inside `site` (its only route is the site's NAT router), with DESIGN.md's flags. */
  async browser(site: Site): Promise<Browser> {
    const wrapper = join(this.dir, `chromium-${site}.sh`);
    // ip netns exec keeps the inherited descriptors, so playwright's debugging pipe (fds 3 and 4) reaches Chromium.
    await writeFile(wrapper, `#!/bin/sh\nexec ip netns exec ${this.ns(site)} /usr/bin/chromium "$@"\n`);
    await chmod(wrapper, 0o755);
    // No loopback candidates: a browser at home or at work has real interfaces, and a loopback candidate only makes
    // the TURN server refuse a permission (403) for 127.0.0.1.
    const args = CHROMIUM_ARGS.filter((a) => a !== '--allow-loopback-in-peer-connection');
    const browser = await chromium.launch({ executablePath: wrapper, args: [...args, '--use-fake-ui-for-media-stream'] });
    this.browsers.push(browser);
    return browser;
  }

  async down(): Promise<void> {
    for (const b of this.browsers.splice(0)) await b.close().catch(() => {});
    await Promise.all([...this.procs].map((p) => p.kill(p.stopSignal)));
    await run('bash', [rigScript, 'down', this.prefix]);
    await rm(this.dir, { recursive: true, force: true });
  }
}
