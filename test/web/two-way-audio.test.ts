import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { type CliProcess, spawnCli } from '../helpers/cli.js';
import { energy, peak, type PulseServer, startPulse } from '../helpers/pulse.js';
import { waitFor } from '../helpers/wait.js';
import { device, launch } from './browser.js';
import { type HubProcess, startHubProcess } from './hub-process.js';
import { ARTIFACTS, liveTile } from './pages.js';

/**
 * A Node camera with a speaker and a microphone, both real sound paths in a PulseAudio daemon of the test's own:
 * the speaker is a null sink recorded back from its monitor, the microphone a sine source. The viewer is the web app
 * in Chromium, whose fake microphone beeps.
 */
describe('two-way audio on a Node camera (--speaker, --mic) with the web app in Chromium', () => {
  let pulse: PulseServer;
  let hub: HubProcess;
  let browser: Browser;
  let camera: CliProcess;
  let viewer: Page;

  before(async () => {
    await mkdir(ARTIFACTS, { recursive: true });
    pulse = await startPulse();
    hub = await startHubProcess({ demo: false });
    browser = await launch();
    const env = { ...hub.env, PULSE_SERVER: pulse.env.PULSE_SERVER, PEERCAM_BROKER: `mqtt://127.0.0.1:${hub.mqttPort}` };
    camera = spawnCli(['camera', '--source', 'testsrc', '--name', 'Pet camera', '--size', '320x240', '--gop', '1', '--speaker', 'pulse:speaker', '--mic', 'pulse:mic'], env);
    await camera.waitFor(/speaker ready/, 30_000);
    await camera.waitFor(/source live/, 30_000);
    const { page } = await device(browser);
    viewer = page;
    // Every RTCPeerConnection the page makes, for getStats on what its tiles receive.
    await viewer.addInitScript(() => {
      const Native = window.RTCPeerConnection;
      const made: RTCPeerConnection[] = [];
      Object.assign(window, { peercamPeers: made });
      window.RTCPeerConnection = class extends Native {
        constructor(config?: RTCConfiguration) {
          super(config);
          made.push(this);
        }
      };
    });
    await viewer.goto(hub.link);
    await liveTile(viewer, 'Pet camera', 20_000);
  });
  after(async () => {
    await browser?.close();
    await camera?.stop();
    await hub?.close();
    await pulse?.stop();
  });

  it('talk-back: holding "Hold to talk" on the tile is heard at the camera’s speaker, silence before and after', async () => {
    const recording = await pulse.record('speaker.monitor');
    after(() => recording.stop());
    await viewer.waitForTimeout(500);
    assert.equal(peak(recording.samples()), 0, 'the speaker is silent while nobody talks');
    const tile = viewer.locator('.tile', { has: viewer.locator('.name', { hasText: 'Pet camera' }) });
    const from = recording.samples().length;
    await tile.locator('button.talk').hover();
    const t0 = Date.now();
    await viewer.mouse.down();
    await waitFor(() => energy(recording.samples().subarray(from)) > 1e-5, { timeoutMs: 15_000, what: 'the viewer’s voice at the camera’s speaker', intervalMs: 10 }).catch(
      (err: unknown) => {
        throw new Error(`${String(err)}\ncamera said:\n${camera.output().slice(-3000)}`, { cause: err });
      },
    );
    const heardMs = Date.now() - t0;
    await camera.waitFor(/talk-back from .* started/, 5000);
    await viewer.waitForTimeout(1500);
    await viewer.mouse.up();
    await camera.waitFor(/talk-back from .* stopped/, 5000);
    const held = recording.samples().subarray(from);
    await viewer.screenshot({ path: `${ARTIFACTS}/talk-back-node-camera.png` });
    // After release (and the tail of silence that flushes the device) the speaker is quiet again.
    await viewer.waitForTimeout(1000);
    const quietFrom = recording.samples().length;
    await viewer.waitForTimeout(700);
    assert.equal(peak(recording.samples().subarray(quietFrom)), 0, 'silent again after the button is released');
    process.stdout.write(
      `# talk-back to a Node camera: sound at its speaker ${heardMs} ms after pressing; energy ${energy(held).toExponential(2)}, peak ${peak(held)}\n`,
    );
  });

  it('--mic: the camera’s microphone plays in the tile once its sound is on (audio energy > 0 in Chromium)', async () => {
    // Chromium measures what it plays out: the tile starts muted (autoplay), the user turns its sound on.
    await viewer.locator('.tile', { has: viewer.locator('.name', { hasText: 'Pet camera' }) }).locator('button.mute').click();
    const level = () =>
      viewer.evaluate(async () => {
        let total = 0;
        for (const pc of (window as unknown as { peercamPeers: RTCPeerConnection[] }).peercamPeers) {
          if (pc.connectionState !== 'connected') continue;
          for (const s of (await pc.getStats()).values()) {
            const r = s as { type: string; kind?: string; totalAudioEnergy?: number };
            if (r.type === 'inbound-rtp' && r.kind === 'audio') total += r.totalAudioEnergy ?? 0;
          }
        }
        return total;
      });
    await waitFor(async () => (await level()) > 0, { timeoutMs: 15_000, what: 'audio energy from the camera’s microphone', intervalMs: 200 }).catch(async (err: unknown) => {
      const dump = await viewer.evaluate(async () => {
        const out: unknown[] = [];
        for (const pc of (window as unknown as { peercamPeers: RTCPeerConnection[] }).peercamPeers) {
          out.push(pc.connectionState, pc.remoteDescription?.sdp);
          for (const s of (await pc.getStats()).values()) if ((s as { kind?: string }).kind === 'audio') out.push(s);
        }
        return JSON.stringify(out, null, 1);
      });
      throw new Error(`${String(err)}\n${dump}\ncamera said:\n${camera.output().slice(-3000)}`, { cause: err });
    });
    const first = await level();
    await viewer.waitForTimeout(1000);
    assert.ok((await level()) > first, 'the microphone keeps sounding');
    process.stdout.write(`# --mic: total audio energy in the tile ${(await level()).toFixed(3)}\n`);
  });

  it('a speaker that cannot play (no ffmpeg for it, or no such sink) is reported and the camera stays watchable', async () => {
    const env = { ...hub.env, PULSE_SERVER: pulse.env.PULSE_SERVER, PEERCAM_BROKER: `mqtt://127.0.0.1:${hub.mqttPort}` };
    const noSink = spawnCli(['camera', '--source', 'demo', '--name', 'No sink', '--speaker', 'pulse:no-such-sink'], env);
    after(() => noSink.kill());
    const noFfmpeg = spawnCli(['camera', '--source', 'demo', '--name', 'No ffmpeg', '--speaker'], { ...env, PEERCAM_FFMPEG: '/nonexistent/ffmpeg' });
    after(() => noFfmpeg.kill());
    await noSink.waitFor(/speaker restarting: the player \(ffmpeg\) for pulse:no-such-sink exited with code 1: .+The camera keeps running/, 30_000);
    await noFfmpeg.waitFor(/speaker off: Talk-back needs ffmpeg to play sound: ffmpeg was not found at PEERCAM_FFMPEG.*The camera runs without talk-back/, 30_000);
    await liveTile(viewer, 'No sink', 20_000);
    await liveTile(viewer, 'No ffmpeg', 20_000);
  });
});
