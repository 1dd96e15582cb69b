import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { WatchReport } from '../../src/agent/watch.js';
import { type CliProcess, runCli, spawnCli } from '../helpers/cli.js';
import { energy, peak, type PulseServer, startPulse } from '../helpers/pulse.js';
import { waitFor } from '../helpers/wait.js';
import { device, launch } from './browser.js';
import { type HubProcess, startHubProcess } from './hub-process.js';
import { ARTIFACTS, keepPeerConnections, liveTile } from './pages.js';

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
  /** A speaker (the default one) but no audio of its own: its answer takes the viewer's audio recvonly. */
  let doorbell: CliProcess;
  /** Speakers that cannot play: a sink that does not exist, and no ffmpeg at all. */
  let noSink: CliProcess;
  let noFfmpeg: CliProcess;
  let viewer: Page;

  before(async () => {
    await mkdir(ARTIFACTS, { recursive: true });
    pulse = await startPulse();
    hub = await startHubProcess({ demo: false });
    browser = await launch();
    const env = { ...hub.env, PULSE_SERVER: pulse.env.PULSE_SERVER, PEERCAM_BROKER: `mqtt://127.0.0.1:${hub.mqttPort}` };
    // One after the other: each camera connects to the hub's broker within its 5 s, even on a loaded machine.
    const start = async (args: string[], extraEnv: NodeJS.ProcessEnv = {}) => {
      const c = spawnCli(['camera', ...args], { ...env, ...extraEnv });
      await c.waitFor(/is live in room/, 90_000);
      return c;
    };
    camera = await start(['--source', 'testsrc', '--name', 'Pet camera', '--size', '320x240', '--gop', '1', '--speaker', 'pulse:speaker', '--mic', 'pulse:mic']);
    // `--speaker` alone: ALSA's default, which Debian's pulse plugin sends to the running PulseAudio (its one sink).
    doorbell = await start(['--source', 'demo', '--name', 'Doorbell', '--speaker']);
    noSink = await start(['--source', 'demo', '--name', 'No sink', '--speaker', 'pulse:no-such-sink']);
    noFfmpeg = await start(['--source', 'demo', '--name', 'No ffmpeg', '--speaker'], { PEERCAM_FFMPEG: '/nonexistent/ffmpeg' });
    for (const c of [camera, doorbell]) {
      await c.waitFor(/speaker ready/, 90_000);
      await c.waitFor(/source live/, 90_000);
    }
    const { page } = await device(browser);
    viewer = page;
    // Every RTCPeerConnection the page makes, for getStats on what its tiles receive.
    await keepPeerConnections(viewer);
    await viewer.goto(hub.link);
    await liveTile(viewer, 'Pet camera', 60_000);
    await liveTile(viewer, 'Doorbell', 60_000);
  });
  after(async () => {
    await browser?.close();
    await camera?.stop();
    await doorbell?.stop();
    await noSink?.kill();
    await noFfmpeg?.kill();
    await hub?.close();
    await pulse?.stop();
  });

  /** Holds the tile's talk button for 1.5 s; resolves with when sound reached the speaker and how much. */
  async function talkTo(name: string, cam: CliProcess): Promise<{ heardMs: number; held: Int16Array }> {
    const recording = await pulse.record('speaker.monitor');
    try {
      await viewer.waitForTimeout(500);
      assert.equal(peak(recording.samples()), 0, 'the speaker is silent while nobody talks');
      const tile = viewer.locator('.tile', { has: viewer.locator('.name', { hasText: name }) });
      const from = recording.samples().length;
      await tile.locator('button.talk').hover();
      const t0 = Date.now();
      await viewer.mouse.down();
      await waitFor(() => energy(recording.samples().subarray(from)) > 1e-5, { timeoutMs: 30_000, what: `the viewer’s voice at ${name}’s speaker`, intervalMs: 10 }).catch(
        (err: unknown) => {
          throw new Error(`${String(err)}\ncamera said:\n${cam.output().slice(-3000)}`, { cause: err });
        },
      );
      const heardMs = Date.now() - t0;
      await cam.waitFor(/talk-back from .* started/, 15_000);
      await viewer.waitForTimeout(1500);
      await viewer.mouse.up();
      const held = recording.samples().subarray(from);
      // Released, the camera says the talker stopped (the last talk line; a loaded machine may have paused mid-talk)
      // and the speaker falls silent: 700 ms of digital silence, within a generous deadline.
      await waitFor(() => [...cam.output().matchAll(/talk-back from .* (started|stopped)/g)].at(-1)?.[1] === 'stopped', {
        timeoutMs: 15_000,
        what: 'the camera to say the talker stopped',
      });
      const released = recording.samples().length;
      await waitFor(
        () => {
          const now = recording.samples();
          return now.length - released > 33_600 && peak(now.subarray(now.length - 33_600)) === 0;
        },
        { timeoutMs: 15_000, what: 'the speaker to fall silent after the button is released', intervalMs: 50 },
      );
      const talkLines = () => [...cam.output().matchAll(/talk-back from .* (started|stopped)/g)].length;
      const lines = talkLines();
      await viewer.waitForTimeout(1000);
      assert.equal(talkLines(), lines, 'no talk-back arrives once the button is released');
      return { heardMs, held };
    } finally {
      await recording.stop();
    }
  }

  it('talk-back: holding "Hold to talk" on the tile is heard at the camera’s speaker, silence before and after', async () => {
    const { heardMs, held } = await talkTo('Pet camera', camera);
    await viewer.screenshot({ path: `${ARTIFACTS}/talk-back-node-camera.png` });
    process.stdout.write(
      `# talk-back to a Node camera: sound at its speaker ${heardMs} ms after pressing (opening the microphone included); ` +
        `energy ${energy(held).toExponential(2)}, peak ${peak(held)}, longest silence after the first sound while held ${longestSilenceMs(held)} ms\n`,
    );
  });

  it('talk-back to a camera without audio of its own (recvonly answer) is heard too', async () => {
    const { heardMs } = await talkTo('Doorbell', doorbell);
    process.stdout.write(`# talk-back to a camera without audio: sound at its speaker ${heardMs} ms after pressing\n`);
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
    await waitFor(async () => (await level()) > 0, { timeoutMs: 30_000, what: 'audio energy from the camera’s microphone', intervalMs: 200 }).catch(async (err: unknown) => {
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

  it('--mic: `peercam watch` receives the microphone as Opus beside the video', async () => {
    const r = await runCli(['watch', 'Pet camera', '--seconds', '2', '--json'], { ...hub.env, PEERCAM_BROKER: `mqtt://127.0.0.1:${hub.mqttPort}` });
    assert.equal(r.code, 0, `watch failed: ${r.stdout}\n${r.stderr}`);
    const report = JSON.parse(r.stdout) as WatchReport;
    assert.ok(report.frames > 0);
    // 20 ms packets for 2 s; a sine is tens of bytes per packet where digital silence would be a handful.
    assert.ok(report.audioPackets >= 50, `audio packets ${report.audioPackets}`);
    assert.ok(report.audioBytes / report.audioPackets > 20, `${report.audioBytes} bytes in ${report.audioPackets} packets`);
  });

  it('a speaker that cannot play (no ffmpeg for it, or no such sink) is reported and the camera stays watchable', async () => {
    await noSink.waitFor(/speaker restarting: the player \(ffmpeg\) for pulse:no-such-sink exited with code 1: .+The camera keeps running/, 60_000);
    await noFfmpeg.waitFor(/speaker off: Talk-back needs ffmpeg to play sound: ffmpeg was not found at PEERCAM_FFMPEG.*The camera runs without talk-back/, 60_000);
    await liveTile(viewer, 'No sink', 60_000);
    await liveTile(viewer, 'No ffmpeg', 60_000);
  });
});

/** The longest run of zero samples (48 kHz) in ms once sound has started. */
function longestSilenceMs(samples: Int16Array): number {
  let longest = 0;
  let run = 0;
  for (const s of samples.subarray(Math.max(0, samples.findIndex((x) => x !== 0)))) {
    run = s === 0 ? run + 1 : 0;
    longest = Math.max(longest, run);
  }
  return Math.round(longest / 48);
}
