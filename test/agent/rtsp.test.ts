import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { WatchReport } from '../../src/agent/watch.js';
import { freePort } from '../helpers/brokers.js';
import { type CliProcess, cliHome, runCli, spawnCli } from '../helpers/cli.js';
import { descendants } from '../helpers/procs.js';
import { type RtspCamera, startRtspCamera } from '../helpers/rtsp-camera.js';
import { waitFor } from '../helpers/wait.js';
import { device, launch } from '../web/browser.js';
import { type HubProcess, startHubProcess } from '../web/hub-process.js';
import { decodedFrames, liveTile } from '../web/pages.js';

/** The ffmpeg processes a camera runs now (ffprobe excluded), by their command lines. */
async function encoders(camera: CliProcess): Promise<string[][]> {
  const pid = camera.child.pid;
  assert.ok(pid !== undefined);
  return (await descendants(pid)).map((p) => p.argv).filter((argv) => argv.some((a) => /(^|\/)ffmpeg$/.test(a)));
}

/**
 * Issue 9 item 6, RTSP end to end: a test IP camera (GStreamer's RTSP server, RTP interleaved over TCP) ->
 * `peercam camera --source rtsp://...` -> `peercam watch` and a Chromium tile through a real `peercam up` hub.
 * H.264 is copied (ffmpeg with `-c:v copy`, no encoder), H.265 is re-encoded to H.264; the IP camera stopped and
 * started again is picked up by the running camera without a restart.
 */
describe('an RTSP IP camera end to end', { timeout: 180_000 }, () => {
  let ip: RtspCamera;
  let rtspPort: number;
  let hub: HubProcess;
  let browser: Browser;
  let viewer: Page;
  let env: NodeJS.ProcessEnv;
  let h264: CliProcess;
  const homes: { remove(): Promise<void> }[] = [];

  before(async () => {
    rtspPort = await freePort();
    ip = await startRtspCamera(rtspPort);
    hub = await startHubProcess({ demo: false });
    const home = await cliHome();
    homes.push(home);
    env = { ...home.env, PEERCAM_BROKER: `mqtt://127.0.0.1:${hub.mqttPort}` };
    browser = await launch();
    viewer = (await device(browser)).page;
    await viewer.goto(hub.link);
  });
  after(async () => {
    await h264?.kill();
    await browser?.close();
    await hub?.close();
    await ip?.stop();
    for (const h of homes) await h.remove();
  });

  async function watch(name: string): Promise<WatchReport> {
    const r = await runCli(['watch', name, '--seconds', '3', '--json', '--room', hub.link], env);
    assert.equal(r.code, 0, `watch failed: ${r.stdout}\n${r.stderr}`);
    return JSON.parse(r.stdout) as WatchReport;
  }

  it('H.264 is copied: one ffmpeg with -c:v copy and no encoder; `peercam watch` and a Chromium tile play it', async () => {
    const t0 = Date.now();
    h264 = spawnCli(['camera', '--source', ip.url('h264'), '--name', 'shop', '--room', hub.link], env);
    await h264.waitFor(/is live in room/, 60_000);
    await h264.waitFor(/source live/, 30_000);
    const liveMs = Date.now() - t0;
    const procs = await encoders(h264);
    assert.equal(procs.length, 1, `one ffmpeg: ${JSON.stringify(procs)}`);
    const args = (procs[0] ?? []).join(' ');
    assert.match(args, /-rtsp_transport tcp .*-i rtsp:\/\/127\.0\.0\.1:\d+\/h264/);
    assert.match(args, /-c:v copy/);
    assert.doesNotMatch(args, /libx264|libvpx|libx265/, 'no encoder in the H.264 path');
    const report = await watch('shop');
    assert.equal(report.codec, 'H264');
    assert.equal(report.width, 640);
    assert.equal(report.height, 360);
    assert.ok(report.frames >= 40, `frames ${report.frames} in 3 s at 25 fps`);
    await liveTile(viewer, 'shop', 20_000);
    const before = await decodedFrames(viewer, 'shop');
    await waitFor(async () => (await decodedFrames(viewer, 'shop')) > before + 10, { timeoutMs: 10_000, what: 'the shop tile playing' });
    process.stdout.write(`# RTSP H.264 copied: camera live ${liveMs} ms after spawn (ffprobe of the stream included), tile playing at ${Date.now() - t0} ms; watch first frame ${report.firstFrameMs} ms\n`);
  });

  it('the IP camera stopped and started again: the running camera recovers by itself, watch and the tile play again', async () => {
    const outBefore = h264.output().length;
    await ip.stop();
    await waitFor(() => /source restarting/.test(h264.output().slice(outBefore)), { timeoutMs: 20_000, what: 'the camera noticing the IP camera gone', intervalMs: 50 });
    const frozen = await decodedFrames(viewer, 'shop');
    ip = await startRtspCamera(rtspPort);
    const backAt = Date.now();
    const outBack = h264.output().length;
    await waitFor(() => /source live/.test(h264.output().slice(outBack)), { timeoutMs: 45_000, what: 'the source live again', intervalMs: 50 });
    const liveMs = Date.now() - backAt;
    await waitFor(async () => (await decodedFrames(viewer, 'shop')) > frozen + 10, { timeoutMs: 20_000, what: 'the tile playing again', intervalMs: 100 });
    const tileMs = Date.now() - backAt;
    assert.equal(h264.child.exitCode, null, 'the camera process was not restarted');
    const report = await watch('shop');
    assert.ok(report.frames >= 40, `frames ${report.frames} after the IP camera came back`);
    assert.equal((await encoders(h264)).length, 1, 'one ffmpeg again');
    process.stdout.write(`# RTSP server back: source live ${liveMs} ms later, Chromium tile playing ${tileMs} ms later\n`);
  });

  it('H.265 is re-encoded to H.264: `peercam watch` and a Chromium tile play it', async () => {
    const h265 = spawnCli(['camera', '--source', ip.url('h265'), '--name', 'yard', '--room', hub.link], env);
    try {
      await h265.waitFor(/is live in room/, 60_000);
      await h265.waitFor(/source live/, 30_000);
      const procs = await encoders(h265);
      assert.equal(procs.length, 1, `one ffmpeg: ${JSON.stringify(procs)}`);
      const args = (procs[0] ?? []).join(' ');
      assert.match(args, /-i rtsp:\/\/127\.0\.0\.1:\d+\/h265/);
      assert.match(args, /-c:v libx264/);
      const report = await watch('yard');
      assert.equal(report.codec, 'H264');
      assert.ok(report.frames >= 40, `frames ${report.frames}`);
      await liveTile(viewer, 'yard', 20_000);
      process.stdout.write(`# RTSP H.265 re-encoded: watch first frame ${report.firstFrameMs} ms, ${report.frames} frames in 3 s\n`);
    } finally {
      await h265.kill();
    }
  });
});
