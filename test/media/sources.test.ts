import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type AccessUnit, H264Depacketizer, hasParameterSets, NAL, nalType, parseSps } from '../../src/media/h264.js';
import type { RtpPacket } from '../../src/media/rtp.js';
import { DEMO_CLIP, DEMO_CLIP_VP8, decodeForAnalysis } from '../../src/media/sources/demo.js';
import {
  DEFAULT_RESTART_POLICY,
  DemoSource,
  FfmpegSource,
  openSource,
  parseSourceSpec,
  restartDelay,
  type Source,
  type SourceState,
} from '../../src/media/sources/index.js';
import { PeercamError, silentLogger } from '../../src/protocol/index.js';

const opened: Source[] = [];
const dir = mkdtempSync(join(tmpdir(), 'peercam-sources-'));
after(async () => {
  await Promise.all(opened.map((s) => s.stop()));
  rmSync(dir, { recursive: true, force: true });
});

async function open(...args: Parameters<typeof openSource>): Promise<Source> {
  const s = await openSource(...args);
  opened.push(s);
  return s;
}

const small = { width: 320, height: 240, fps: 30, bitrate: 300_000, preset: 'ultrafast' } as const;

function collect(source: Source): { packets: RtpPacket[]; units: AccessUnit[]; states: [SourceState, string?][] } {
  const out = { packets: [] as RtpPacket[], units: [] as AccessUnit[], states: [] as [SourceState, string?][] };
  let d = new H264Depacketizer();
  let ssrc: number | undefined;
  source.on('packet', (p, kind) => {
    if (kind !== 'video') return;
    if (p.ssrc !== ssrc) d = new H264Depacketizer(); // a restarted ffmpeg is a new stream
    ssrc = p.ssrc;
    out.packets.push(p);
    out.units.push(...d.push(p));
  });
  source.on('state', (s, reason) => out.states.push(reason === undefined ? [s] : [s, reason]));
  return out;
}

function until(source: Source, state: SourceState): Promise<string | undefined> {
  return new Promise((resolve) => {
    const off = source.on('state', (s, reason) => {
      if (s === state) {
        off();
        resolve(reason);
      }
    });
  });
}

const running = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('source specs', () => {
  it('parses every kind and rejects unknown ones with what is accepted', () => {
    assert.deepEqual(parseSourceSpec('demo'), { kind: 'demo' });
    assert.deepEqual(parseSourceSpec('testsrc'), { kind: 'testsrc' });
    assert.deepEqual(parseSourceSpec('file:/tmp/a b.mp4'), { kind: 'file', path: '/tmp/a b.mp4' });
    assert.deepEqual(parseSourceSpec('v4l2:/dev/video2'), { kind: 'v4l2', device: '/dev/video2' });
    assert.deepEqual(parseSourceSpec('/dev/video0'), { kind: 'v4l2', device: '/dev/video0' });
    assert.deepEqual(parseSourceSpec('rtsp://u:p@10.0.0.9:554/stream1'), {
      kind: 'rtsp',
      url: 'rtsp://u:p@10.0.0.9:554/stream1',
    });
    for (const bad of ['webcam', 'file:', 'v4l2:video0', 'http://x/y', '']) {
      assert.throws(
        () => parseSourceSpec(bad),
        (e) => e instanceof PeercamError && e.code === 'bad-config' && /Use one of: demo, testsrc/.test(e.message),
      );
    }
  });

  it('backs off exponentially with jitter between 1 s and 30 s', () => {
    const p = DEFAULT_RESTART_POLICY;
    assert.equal(restartDelay(p, 0, () => 0.5), 1000);
    assert.equal(restartDelay(p, 3, () => 0.5), 8000);
    assert.equal(restartDelay(p, 20, () => 1), 30000);
    assert.equal(restartDelay(p, 0, () => 0), 800);
    assert.equal(restartDelay(p, 0, () => 1), 1200);
  });
});

describe('ffmpeg source', () => {
  it('says how to get ffmpeg when it is missing', async () => {
    const hint = /Install it \(Debian\/Ubuntu: sudo apt-get install ffmpeg\) or set PEERCAM_FFMPEG=\/path\/to\/ffmpeg\. The "demo" source works without ffmpeg\./;
    await assert.rejects(
      openSource('testsrc', { env: { PEERCAM_FFMPEG: '/nonexistent' } }),
      (e) => e instanceof PeercamError && e.code === 'media' && /^ffmpeg was not found/.test(e.message) && hint.test(e.message),
    );
    await assert.rejects(
      openSource('v4l2:/dev/video0', { env: { PATH: dir } }),
      (e) => e instanceof PeercamError && e.message.startsWith('ffmpeg was not found. Install it'),
    );
  });

  it('rejects a missing file and impossible encoder settings', async () => {
    await assert.rejects(openSource(`file:${join(dir, 'nope.mp4')}`), /does not exist/);
    await assert.rejects(openSource('testsrc', { width: 321, height: 240 }), /even numbers/);
    await assert.rejects(openSource('testsrc', { gopSeconds: 0 }), /keyframe interval/);
  });

  it('testsrc produces H.264 RTP with SPS/PPS + IDR at the GOP interval (1 s GOP, ~3 s)', async () => {
    const source = await open('testsrc', { ...small, gopSeconds: 1 });
    assert.ok(source instanceof FfmpegSource);
    const got = collect(source);
    await until(source, 'live');
    await sleep(3000);
    const pid = source.pid!;
    await source.stop();
    assert.equal(running(pid), false, 'ffmpeg is gone after stop()');
    const keys = got.units.filter((u) => u.keyframe);
    assert.ok(keys.length >= 2, `${keys.length} keyframes`);
    for (const k of keys) assert.ok(hasParameterSets(k.nals), 'every keyframe carries SPS and PPS');
    for (let i = 1; i < keys.length; i++) assert.equal((keys[i]!.timestamp - keys[i - 1]!.timestamp) >>> 0, 90000);
    assert.ok(got.units.length >= 60, `${got.units.length} frames in ~3 s`);
    assert.ok(got.packets.every((p) => p.payload.length + 12 <= 1200));
    const sps = keys[0]!.nals.find((n) => nalType(n) === NAL.SPS)!;
    const info = parseSps(sps);
    assert.deepEqual([info.width, info.height, info.profileIdc], [320, 240, 66]);
  });

  it('restarts after ffmpeg is killed with SIGKILL, and packets flow again', async () => {
    const source = await open('testsrc', { ...small, gopSeconds: 1, restart: { initialDelayMs: 300 } });
    assert.ok(source instanceof FfmpegSource);
    const got = collect(source);
    await until(source, 'live');
    const first = source.pid!;
    const restarting = until(source, 'restarting');
    process.kill(first, 'SIGKILL');
    assert.match((await restarting) ?? '', /ffmpeg was killed by SIGKILL/);
    assert.equal(source.state, 'restarting');
    const firstSsrc = got.packets[0]!.ssrc;
    await until(source, 'live');
    assert.notEqual(source.pid, first);
    assert.equal(source.runs, 2);
    // The new run is a new RTP stream that starts with a keyframe; allow it 10 s on a loaded machine.
    const keyframeAfterRestart = () => got.units.some((u) => u.keyframe && u.timestamp !== got.units[0]!.timestamp);
    for (let waited = 0; !keyframeAfterRestart() && waited < 10_000; waited += 50) await sleep(50);
    assert.ok(got.packets.at(-1)!.ssrc !== firstSsrc, 'packets of the new run flow');
    assert.ok(keyframeAfterRestart(), 'the new run decodes from its first keyframe');
    // Stopping while packets flow stays stopped: no late packet revives it, no restart follows.
    await source.stop();
    await sleep(800);
    assert.equal(source.state, 'stopped');
    assert.equal(source.runs, 2);
  });

  it("gives ffmpeg's last stderr line as the reason and backs off between failing runs", async () => {
    // A stand-in that fails like an ffmpeg without libx264; the supervision logic is what is under test.
    const fake = join(dir, 'ffmpeg');
    writeFileSync(fake, "#!/bin/sh\necho 'frame=0 fps=0' >&2\necho \"Unknown encoder 'libx264'\" >&2\nexit 1\n", {
      mode: 0o755,
    });
    const policy = { initialDelayMs: 40, factor: 2, jitter: 0, maxDelayMs: 10_000 };
    const source = await open('testsrc', { env: { PEERCAM_FFMPEG: fake }, restart: policy });
    assert.ok(source instanceof FfmpegSource);
    const times: number[] = [];
    const reasons: string[] = [];
    await new Promise<void>((resolve) => {
      source.on('state', (s, reason) => {
        if (s !== 'restarting') return;
        times.push(performance.now());
        reasons.push(reason ?? '');
        if (times.length === 4) resolve();
      });
    });
    assert.equal(source.runs, 4);
    assert.deepEqual(new Set(reasons), new Set(["ffmpeg exited with code 1: Unknown encoder 'libx264'"]));
    // Waits of 40, 80, 160 ms between the failures: each at least the policy's delay.
    for (let i = 1; i < times.length; i++) assert.ok(times[i]! - times[i - 1]! >= 40 * 2 ** (i - 1));
  });

  it('reports a missing camera as unplugged and keeps retrying', async () => {
    const source = await open('v4l2:/dev/video99', { restart: { initialDelayMs: 50, maxDelayMs: 100 } });
    assert.equal(source.state, 'restarting');
    assert.equal(source.reason, 'camera /dev/video99 not found (unplugged?)');
    const again = await until(source, 'restarting');
    assert.equal(again, 'camera /dev/video99 not found (unplugged?)');
  });

  it('loops a file source, with its audio as Opus RTP beside the video', async () => {
    const file = join(dir, 'one-second.mp4');
    execFileSync('ffmpeg', [
      ...['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=30:duration=1'],
      ...['-f', 'lavfi', '-i', 'sine=frequency=440:duration=1', '-c:v', 'libx264', '-preset', 'ultrafast', file],
    ]);
    const source = await open(`file:${file}`, { ...small, gopSeconds: 1 });
    assert.deepEqual(source.audio, { codec: 'opus', clockRate: 48000, channels: 2 });
    const audio: RtpPacket[] = [];
    source.on('packet', (p, kind) => kind === 'audio' && audio.push(p));
    const got = collect(source);
    await until(source, 'live');
    await sleep(1800);
    assert.ok(got.units.length > 40, `${got.units.length} frames from a 30-frame file`);
    assert.equal(source.state, 'live');
    assert.equal(got.states.filter(([s]) => s === 'restarting').length, 0);
    assert.ok(audio.length > 50, `${audio.length} audio packets`);
    assert.ok(audio.every((p) => p.payloadType === 111 && p.payload.length > 0));
    // 20 ms Opus frames at 48 kHz: 960 ticks apart (RFC 7587 section 4.1).
    assert.equal((audio[10]!.timestamp - audio[9]!.timestamp) >>> 0, 960);
    const video = await open(`file:${file}`, { ...small, audio: false });
    assert.equal(video.audio, undefined);
  });
});

describe('demo source', () => {
  it('loops the shipped clip as valid H.264 with no ffmpeg, timestamps and sequence continuous', async () => {
    // fps 300 plays the 90-frame clip in 0.3 s: enough to cross the loop point twice quickly.
    const source = await DemoSource.open({ fps: 300 });
    opened.push(source);
    assert.deepEqual([source.width, source.height], [640, 360]);
    const got = collect(source);
    await until(source, 'live');
    await sleep(800);
    await source.stop();
    const n = got.packets.length;
    assert.ok(got.units.length > 180, `${got.units.length} frames`);
    assert.ok(got.units[0]!.keyframe && hasParameterSets(got.units[0]!.nals));
    for (const [i, u] of got.units.entries()) {
      assert.equal(u.keyframe, i % 30 === 0, `frame ${i}`);
      if (i) assert.equal((u.timestamp - got.units[i - 1]!.timestamp) >>> 0, 300);
    }
    for (const [i, p] of got.packets.entries()) {
      if (i) assert.equal(p.sequenceNumber, (got.packets[i - 1]!.sequenceNumber + 1) & 0xffff);
      assert.equal(p.ssrc, got.packets[0]!.ssrc);
    }
    await sleep(100);
    assert.equal(got.packets.length, n, 'no packet after stop()');
  });

  it('is what openSource("demo") gives, without looking for ffmpeg', async () => {
    const source = await open('demo', { env: { PEERCAM_FFMPEG: '/nonexistent', PATH: '' } });
    assert.ok(source instanceof DemoSource);
    assert.equal(source.codec, 'H264');
    await source.stop();
    assert.equal(source.state, 'stopped');
  });
});

describe('demo source analysis frames', () => {
  it('decodes each shipped 3 s clip (90 frames at 30 fps) into 15 frames at 5 fps, not thousands', async () => {
    for (const [codec, file] of [['H264', DEMO_CLIP], ['VP8', DEMO_CLIP_VP8]] as const) {
      const clip = { file, codec, frames: 90, width: 640, height: 360, payloads: () => [] };
      const decoded = await decodeForAnalysis(clip, 30, { width: 178, height: 100, fps: 5 }, undefined, silentLogger);
      assert.equal(decoded?.frames.length, 15, `${codec}: ${decoded?.frames.length} analysis frames`);
      assert.equal(decoded?.frames[0]?.length, (178 * 100 * 3) / 2);
      // Spread over the clip: its first and last analysis frames are different pictures.
      assert.notDeepEqual(decoded?.frames[0], decoded?.frames[14], `${codec}: the frames span the clip`);
    }
  });
});
