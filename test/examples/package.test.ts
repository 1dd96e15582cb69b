import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { build } from 'vite';
import { Room } from '../../src/protocol/index.js';
import { type MosquittoBroker, startMosquitto } from '../helpers/brokers.js';
import { launchBrowser } from '../helpers/chromium.js';
import { startStaticHost } from '../helpers/static-host.js';
import { waitFor } from '../helpers/wait.js';
import { type HubProcess, startHubProcess } from '../web/hub-process.js';
import { extractApi } from '../../scripts/api-docs.js';
import { bin, type PackedProject, packedProject } from './package.js';

/** One example run with node from the temp project: its output so far, and stop by PID. */
interface Example {
  output(): string;
  exited: Promise<number | null>;
  stop(): Promise<void>;
}

function runExample(project: PackedProject, file: string, args: readonly string[], env: NodeJS.ProcessEnv): Example {
  const child: ChildProcess = spawn(process.execPath, [join(project.dir, 'examples', 'node', file), ...args], {
    cwd: project.dir,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return {
    output: () => out,
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

describe('the npm package: its contents, exports and types, and examples/ run from it (import "peercam" by name)', () => {
  let project: PackedProject;
  let broker: MosquittoBroker;
  let env: NodeJS.ProcessEnv;
  const running: Example[] = [];
  let echo: Example;
  let camera: Example;
  before(async () => {
    project = await packedProject();
    broker = await startMosquitto();
    const link = await (await Room.create({ broker: broker.url })).link();
    env = { ...process.env, PEERCAM_ROOM: link, PEERCAM_ICE_BIND: '127.0.0.1', PEERCAM_MDNS: 'off' };
    // Both long-running examples start side by side: loading the library dominates their start on a busy machine.
    echo = runExample(project, 'echo.mjs', [], env);
    camera = runExample(project, 'camera.mjs', ['demo'], env);
    running.push(echo, camera);
  });
  after(async () => {
    for (const e of running) await e.stop();
    await broker?.stop();
    await project?.remove();
  });

  it('ships the build, the demo clips, docs and README, and nothing of tests, sources or web source maps', () => {
    const files = project.files;
    for (const needed of [
      'package.json',
      'README.md',
      'dist/node.js',
      'dist/node.d.ts',
      'dist/browser.js',
      'dist/browser.d.ts',
      'dist/api/room.js',
      'dist/cli/main.js',
      'dist/web/index.html',
      'assets/demo/demo.h264',
      'assets/demo/demo.ivf',
      'docs/PROTOCOL.md',
      'docs/LIBRARY.md',
    ])
      assert.ok(files.includes(needed), `${needed} is in the package`);
    const unwanted = files.filter(
      (f) =>
        /^(test|src|bench|scripts|examples|\.ci|seed|node_modules)\//.test(f) ||
        /\.test\.|fixtures/.test(f) ||
        /^dist\/web\/.*\.map$/.test(f) ||
        (f.startsWith('assets/') && !f.startsWith('assets/demo/demo.')),
    );
    assert.deepEqual(unwanted, []);
    assert.ok(files.length < 600, `${files.length} files`);
  });

  it('passes publint (strict) and arethetypeswrong (ESM-only profile) on the packed files', async () => {
    const lint = await bin('publint', ['--strict', '--pack', 'false', project.pkgDir], project.dir);
    assert.match(lint, /All good!/, lint);
    const types = await bin('attw', [project.tarball, '--profile', 'esm-only', '--format', 'ascii'], project.dir);
    // attw exits non-zero on any problem its profile counts; ESM-only ignores node10 and require() from CJS.
    const counted = types.split('\n').filter((l) => !l.includes('(ignored'));
    assert.deepEqual(counted.filter((l) => /💀|❌|⚠️|failed/u.test(l)), [], types);
    assert.equal(counted.filter((l) => /node16 \(from ESM\): 🟢|bundler: 🟢/u.test(l)).length, 4, types);
  });

  it('documents every export (and every member of the high-level API) in the reference API Extractor builds', () => {
    const report = extractApi();
    assert.ok(report.exports > 150, `${report.exports} exports`);
    assert.ok(report.apiMembers > 50, `${report.apiMembers} members`);
    assert.deepEqual(report.undocumented, []);
  });

  it('gives the browser entry the browser condition and keeps Node built-ins out of it', async () => {
    const manifest = JSON.parse(await readFile(join(project.pkgDir, 'package.json'), 'utf8')) as {
      exports: Record<string, Record<string, string>>;
    };
    assert.equal(manifest.exports['.']?.browser, './dist/browser.js');
    assert.equal(manifest.exports['.']?.types, './dist/node.d.ts');
    const browser = await readFile(join(project.pkgDir, 'dist', 'browser.js'), 'utf8');
    assert.match(browser, /joinRoom/);
    assert.doesNotMatch(browser, /from ['"]node:|from ['"](fs|net|os|child_process|dgram)['"]/);
  });

  it('node: a data channel between two processes (echo.mjs and send.mjs), text and 4 MiB of binary with backpressure', async () => {
    await waitFor(() => /echo: \w+ is in room/.test(echo.output()), { timeoutMs: 30_000, what: `echo ready:\n${echo.output()}` });
    const send = runExample(project, 'send.mjs', [], env);
    running.push(send);
    const code = await Promise.race([send.exited, new Promise<'late'>((r) => setTimeout(() => r('late'), 60_000))]);
    assert.equal(code, 0, `send.mjs: ${send.output()}`);
    assert.match(send.output(), /echo said: HELLO OVER A DATA CHANNEL/);
    assert.match(send.output(), /binary: 4194304 bytes came back/);
    assert.match(echo.output(), /channel "chat" from \w+/);
    await echo.stop();
  });

  it('node: a camera from a source spec (camera.mjs demo) watched by watch.mjs, frames counted', async () => {
    await waitFor(() => /camera "garden" is live/.test(camera.output()), { timeoutMs: 30_000, what: `camera live:\n${camera.output()}` });
    const watch = runExample(project, 'watch.mjs', ['3'], env);
    running.push(watch);
    const code = await Promise.race([watch.exited, new Promise<'late'>((r) => setTimeout(() => r('late'), 60_000))]);
    assert.equal(code, 0, `watch.mjs: ${watch.output()}`);
    const frames = Number(/garden: (\d+) frames/.exec(watch.output())?.[1] ?? 0);
    assert.ok(frames >= 20, `watch.mjs saw ${frames} frames:\n${watch.output()}`);
    assert.match(watch.output(), /garden: connected in \d+ ms/);
    assert.match(camera.output(), /viewer \w+ joined, 1 watching/);
    await camera.stop();
  });

  describe('browser: the page of examples/browser, bundled with Vite, in Chromium against a real hub', () => {
    let hub: HubProcess;
    let browser: Browser;
    let site: Awaited<ReturnType<typeof startStaticHost>>;
    before(async () => {
      const root = join(project.dir, 'examples', 'browser');
      const chat = join(project.dir, 'examples', 'browser-chat');
      const built = Promise.all([
        build({ root, configFile: join(root, 'vite.config.js'), logLevel: 'silent', build: { outDir: join(project.dir, 'site'), emptyOutDir: true } }),
        build({ root: chat, configFile: join(chat, 'vite.config.js'), logLevel: 'silent', build: { outDir: join(project.dir, 'site', 'chat'), emptyOutDir: true } }),
      ]);
      [hub, browser] = await Promise.all([startHubProcess({ demo: true }), launchBrowser(), built]);
      site = await startStaticHost({ root: join(project.dir, 'site'), host: '127.0.0.1', port: 0 });
    });
    after(async () => {
      await browser?.close();
      await hub?.close();
      await site?.close();
    });

    it('shows every camera of the room playing (the hub\'s demo cameras and a Node camera)', async () => {
      const room = await Room.fromLink(hub.link);
      const mqttOverWs = `ws://127.0.0.1:${hub.port}/mqtt`;
      // A Node camera joins the hub's room too, over the hub's own broker.
      const hubCamera = runExample(project, 'camera.mjs', ['demo'], { ...env, PEERCAM_ROOM: await room.link('peercam://room', { broker: `mqtt://127.0.0.1:${hub.mqttPort}` }) });
      running.push(hubCamera);
      await waitFor(() => /camera "garden" is live/.test(hubCamera.output()), { timeoutMs: 30_000, what: `camera live:\n${hubCamera.output()}` });
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      await page.goto(await room.link(`http://127.0.0.1:${site.port}/`, { broker: mqttOverWs }));
      const playing = async () =>
        page.evaluate(() =>
          [...document.querySelectorAll('video')].filter((v) => v.videoWidth > 0 && (v.getVideoPlaybackQuality?.().totalVideoFrames ?? 0) > 5).length,
        );
      await waitFor(async () => (await playing()) >= 2, { timeoutMs: 45_000, what: `two playing videos (errors: ${errors.join('; ')}; hub: ${hub.output().slice(-500)})` });
      assert.deepEqual(errors, []);
      // A camera that leaves loses its tile.
      const before = await page.evaluate(() => document.querySelectorAll('video').length);
      await hubCamera.stop();
      await waitFor(async () => (await page.evaluate(() => document.querySelectorAll('video').length)) === before - 1, { timeoutMs: 20_000, what: 'the Node camera tile removed' });
      await page.close();
    });

    it('lets two browsers exchange messages (examples/browser-chat, 4 lines of peercam)', async () => {
      const room = await Room.fromLink(hub.link);
      const link = await room.link(`http://127.0.0.1:${site.port}/chat/`, { broker: `ws://127.0.0.1:${hub.port}/mqtt` });
      const pages = await Promise.all([browser.newPage(), browser.newPage()]);
      await Promise.all(pages.map((p) => p.goto(link)));
      for (const p of pages)
        await waitFor(async () => /hello from [a-z2-7]{16}/.test(await p.evaluate(() => document.getElementById('log')?.textContent ?? '')), {
          timeoutMs: 30_000,
          what: 'a hello from the other page',
        });
      await Promise.all(pages.map((p) => p.close()));
    });
  });
});
