import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { type EncodeOptions, ffmpegArgs, findFfmpeg, probeInput } from '../../src/media/sources/ffmpeg-args.js';

const base: EncodeOptions = { width: 640, height: 360, fps: 30, bitrate: 1_000_000, gopSeconds: 2, preset: 'veryfast', clock: false, codec: 'H264' };
const rtsp = { kind: 'rtsp', url: 'rtsp://10.0.0.9/stream1' } as const;
const encoderOf = (args: string[]) => args[args.indexOf('-c:v') + 1];

describe('ffmpeg command lines per input codec', () => {
  it('copies RTSP H.264 (probed or unknown), re-encodes RTSP H.265 and MJPEG, and encodes VP8 when asked', () => {
    assert.equal(encoderOf(ffmpegArgs(rtsp, { video: 5000 }, { ...base, inputCodec: 'h264' })), 'copy');
    assert.equal(encoderOf(ffmpegArgs(rtsp, { video: 5000 }, base)), 'copy', 'an offline camera is assumed H.264');
    for (const input of ['hevc', 'mjpeg']) {
      const args = ffmpegArgs(rtsp, { video: 5000 }, { ...base, inputCodec: input });
      assert.equal(encoderOf(args), 'libx264', input);
      assert.ok(args.includes('baseline'), 'constrained to what every browser decodes');
    }
    const vp8 = ffmpegArgs(rtsp, { video: 5000 }, { ...base, codec: 'VP8', inputCodec: 'h264' });
    assert.equal(encoderOf(vp8), 'libvpx');
    assert.deepEqual(vp8.slice(vp8.indexOf('-g'), vp8.indexOf('-g') + 4), ['-g', '60', '-keyint_min', '60']);
  });

  it('probes the video codec and audio of real files (what it asks of an RTSP camera)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'peercam-probe-'));
    after(() => rmSync(dir, { recursive: true, force: true }));
    const ffmpeg = findFfmpeg();
    const make = (name: string, args: string[]) => {
      const path = join(dir, name);
      execFileSync(ffmpeg, ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=10', ...args, '-t', '1', path]);
      return path;
    };
    const hevc = make('cam.mkv', ['-c:v', 'libx265', '-x265-params', 'log-level=error']);
    const withAudio = make('talk.mkv', ['-f', 'lavfi', '-i', 'sine=frequency=440', '-c:v', 'libx264', '-c:a', 'libopus']);
    assert.deepEqual(await probeInput(ffmpeg, { kind: 'file', path: hevc }), { audio: false, video: 'hevc' });
    assert.deepEqual(await probeInput(ffmpeg, { kind: 'file', path: withAudio }), { audio: true, video: 'h264' });
    assert.deepEqual(await probeInput(ffmpeg, { kind: 'file', path: join(dir, 'missing.mkv') }), { audio: false, video: undefined });
    assert.deepEqual(await probeInput(ffmpeg, { kind: 'testsrc' }), { audio: false, video: undefined });
  });
});
