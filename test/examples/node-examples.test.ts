import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Room } from '../../src/protocol/index.js';
import { type MosquittoBroker, startMosquitto } from '../helpers/brokers.js';
import { waitFor } from '../helpers/wait.js';
import { type PackedProject, packedProject } from './package.js';
import { type Example, runExample } from './run-example.js';

describe('examples/node run from the packed package (import "peercam" by name) against Mosquitto', () => {
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
});
