import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { VideoEncodes } from '../../src/media/encodes.js';
import { readIvf, writeIvfFrame, writeIvfHeader } from '../../src/media/ivf.js';
import type { RtpPacket } from '../../src/media/rtp.js';
import { transcodeArgs } from '../../src/media/sources/ffmpeg-args.js';
import { DEMO_CLIP, DEMO_CLIP_VP8, DemoSource, type Source, TranscodeSource } from '../../src/media/sources/index.js';
import { packetizeVp8, type Vp8Frame, Vp8Depacketizer, vp8KeyframeSize, vp8StartsKeyframe } from '../../src/media/vp8.js';

const opened: Source[] = [];
after(async () => {
  await Promise.all(opened.map((s) => s.stop()));
});

const rtp = (payload: Uint8Array, marker: boolean, sequenceNumber: number, timestamp: number): RtpPacket => ({
  marker,
  payloadType: 96,
  sequenceNumber,
  timestamp,
  ssrc: 1,
  csrcs: [],
  payload,
  paddingSize: 0,
});

async function until<T>(check: () => T | undefined | false, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

describe('VP8 packetizing (RFC 7741) and IVF', () => {
  const clip = readIvf(readFileSync(DEMO_CLIP_VP8));

  it('the shipped VP8 clip: IVF, 640x360, 90 frames at 30 fps, a key frame every 30', () => {
    assert.deepEqual({ ...clip.header }, { fourcc: 'VP80', width: 640, height: 360, rate: 30, scale: 1 });
    assert.equal(clip.frames.length, 90);
    for (const [i, f] of clip.frames.entries()) assert.equal((f.data[0]! & 1) === 0, i % 30 === 0, `frame ${i}`);
  });

  it('packetizes and rebuilds every frame of the clip byte for byte; a lost packet drops only its frame', () => {
    const d = new Vp8Depacketizer();
    const out: Vp8Frame[] = [];
    let seq = 65530; // wraps
    clip.frames.forEach((f, i) => {
      const payloads = packetizeVp8(f.data, i, 1200);
      assert.ok(payloads.every((p) => p.payload.length <= 1188), 'fits an RTP packet of 1200 bytes');
      assert.equal(vp8StartsKeyframe(payloads[0]!.payload), i % 30 === 0);
      for (const [k, p] of payloads.entries()) {
        seq = (seq + 1) & 0xffff;
        if (i === 5 && k === 0) continue; // lost
        out.push(...d.push(rtp(p.payload, p.marker, seq, i * 3000)));
      }
    });
    assert.equal(out.length, 89);
    assert.ok(!out.some((f) => f.timestamp === 5 * 3000), 'the frame that lost a packet is dropped');
    for (const f of out) assert.ok(Buffer.from(f.data).equals(clip.frames[f.timestamp / 3000]!.data), `frame ${f.timestamp / 3000}`);
    assert.deepEqual(vp8KeyframeSize(packetizeVp8(clip.frames[0]!.data, 7)[0]!.payload), { width: 640, height: 360 });
  });

  it('writes IVF that reads back, with 64-bit timestamps', () => {
    const bytes = Buffer.concat([
      writeIvfHeader({ fourcc: 'H264', width: 0, height: 0, rate: 90000, scale: 1 }),
      writeIvfFrame(0, Uint8Array.of(1, 2, 3)),
      writeIvfFrame(2 ** 33, Uint8Array.of(4)),
    ]);
    const back = readIvf(bytes);
    assert.equal(back.header.fourcc, 'H264');
    assert.deepEqual(back.frames.map((f) => [f.pts, [...f.data]]), [[0, [1, 2, 3]], [2 ** 33, [4]]]);
    assert.throws(() => readIvf(bytes.subarray(0, bytes.length - 1)), /truncated/);
    assert.throws(() => readIvf(Buffer.from('not ivf at all, not at all, no no')), /not an IVF file/);
  });
});

describe('second encodes', () => {
  it('the demo plays its VP8 clip as a live source, picture IDs counting on across loops', async () => {
    const source = await DemoSource.open({ codec: 'VP8', fps: 300 });
    opened.push(source);
    assert.equal(source.codec, 'VP8');
    const frames: Vp8Frame[] = [];
    const ids: number[] = [];
    const d = new Vp8Depacketizer();
    source.on('packet', (p) => {
      if (p.payload[0]! & 0x10) ids.push(((p.payload[2]! & 0x7f) << 8) | p.payload[3]!);
      frames.push(...d.push(p));
    });
    await until(() => frames.length > 200, 10_000, '200 frames');
    await source.stop();
    assert.ok(frames[0]!.keyframe);
    for (const [i, f] of frames.entries()) assert.equal(f.keyframe, i % 30 === 0, `frame ${i}`);
    for (let i = 1; i < ids.length; i++) assert.equal(ids[i], (ids[i - 1]! + 1) & 0x7fff);
    const h264 = await DemoSource.open();
    opened.push(h264);
    const vp8 = h264.alternate('VP8');
    assert.ok(vp8);
    opened.push(vp8);
    assert.equal(vp8.codec, 'VP8');
    const ownClip = await DemoSource.open({ file: DEMO_CLIP });
    opened.push(ownClip);
    assert.equal(ownClip.alternate('VP8'), undefined, "a clip of the user's has no VP8 twin");
  });

  it('one encode per codec shared by its viewers, stopped a linger after the last left; the primary is never stopped', async () => {
    const source = await DemoSource.open();
    opened.push(source);
    const events: string[] = [];
    const encodes = new VideoEncodes({ source, lingerMs: 300, onSecondEncode: (codec, state) => events.push(`${codec} ${state}`) });
    assert.deepEqual(encodes.codecs, ['H264', 'VP8']);
    assert.equal(encodes.acquire('H264'), encodes.primary);
    const a = encodes.acquire('VP8');
    const b = encodes.acquire('VP8');
    assert.equal(a, b, 'one fan-out (one encode) for every VP8 viewer');
    assert.equal(encodes.running.get('VP8'), 2);
    const got: number[] = [];
    const feed = a.addViewer({ payloadType: 100, sink: (p) => got.push(p.length) });
    await until(() => feed.state === 'live' && got.length > 20, 5000, 'VP8 packets to a viewer');
    encodes.release('VP8');
    await sleep(500);
    assert.equal(encodes.running.get('VP8'), 1, 'still one viewer: runs on');
    encodes.release('VP8');
    await sleep(100);
    assert.equal(encodes.acquire('VP8'), a, 'a viewer back within the linger reuses the running encode');
    encodes.release('VP8');
    await until(() => !encodes.running.has('VP8'), 3000, 'the VP8 encode to stop');
    assert.deepEqual(events, ['VP8 starting', 'VP8 live', 'VP8 stopped']);
    assert.equal(feed.state, 'closed');
    assert.notEqual(encodes.acquire('VP8'), a, 'a later viewer starts a new one');
    await encodes.close();
    assert.equal(encodes.running.size, 0);
  });

  it('transcodes the running H.264 stream to VP8 from its cached GOP, with the nominal rate for rate control', async () => {
    const args = transcodeArgs(5004, { codec: 'VP8', fps: 15, gopSeconds: 2, bitrate: 500_000, preset: 'veryfast' });
    assert.deepEqual(args.slice(args.indexOf('-f'), args.indexOf('-f') + 4), ['-f', 'ivf', '-i', 'pipe:0']);
    assert.ok(!args.includes('nobuffer'), 'nobuffer would drop the GOP read while probing');
    assert.deepEqual(args.slice(args.indexOf('-r'), args.indexOf('-r') + 4), ['-r', '15', '-enc_time_base', '1:90000']);
    assert.equal(args[args.indexOf('-c:v') + 1], 'libvpx');
    assert.deepEqual(args.slice(args.indexOf('-g'), args.indexOf('-g') + 2), ['-g', '30']);

    const source = await DemoSource.open();
    opened.push(source);
    const gop: RtpPacket[] = [];
    source.on('packet', (p) => gop.push(p));
    await until(() => gop.length > 100, 5000, 'some of the clip');
    assert.throws(() => TranscodeSource.start({ source, gop: () => gop }, 'VP8', { env: { PATH: '' } }), /ffmpeg was not found.*apt-get install ffmpeg/);
    const t0 = performance.now();
    const vp8 = TranscodeSource.start({ source, gop: () => gop }, 'VP8', { fps: 30, bitrate: 600_000 });
    opened.push(vp8);
    const frames: Vp8Frame[] = [];
    const d = new Vp8Depacketizer();
    let first: number | undefined;
    vp8.on('packet', (p) => {
      const f = d.push(p);
      if (f.length && first === undefined) first = performance.now() - t0;
      frames.push(...f);
    });
    await until(() => frames.length >= 30, 30_000, '30 VP8 frames');
    assert.equal(vp8.state, 'live');
    assert.ok(frames[0]!.keyframe, 'starts with a key frame');
    const ticks = frames.slice(1, 20).map((f, i) => (f.timestamp - frames[i]!.timestamp) >>> 0);
    assert.ok(ticks.every((t) => t === 3000), `each frame keeps its 30 fps spacing: ${ticks.join(' ')}`);
    const sizes = frames.slice(1, 30).map((f) => f.data.length);
    assert.ok(Math.min(...sizes) > 200, `frames get their share of the bitrate: ${sizes.join(' ')}`);
    const pid = vp8.pid;
    assert.ok(pid);
    await vp8.stop();
    assert.throws(() => process.kill(pid, 0), 'ffmpeg ended with stop()');
    process.stdout.write(`# first VP8 frame ${Math.round(first ?? -1)} ms after the second encode started\n`);
  });
});
