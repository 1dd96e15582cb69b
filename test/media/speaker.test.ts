import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseAudioDevice } from '../../src/media/audio-device.js';
import { type EncodeOptions, ffmpegArgs } from '../../src/media/sources/ffmpeg-args.js';
import { openSource } from '../../src/media/sources/index.js';
import { OggOpusWriter, oggCrc } from '../../src/media/ogg-opus.js';
import { OPUS_SILENCE_20MS, opusPacketSamples } from '../../src/media/opus.js';
import { parseRtp } from '../../src/media/rtp.js';
import { Speaker, type SpeakerState } from '../../src/media/speaker/index.js';
import { PeercamError } from '../../src/protocol/index.js';
import { startFfmpegRtp } from '../helpers/ffmpeg-rtp.js';
import { energy, peak, type PulseServer, startPulse } from '../helpers/pulse.js';
import { sleep, waitFor } from '../helpers/wait.js';

/** Opus RTP packets of a 440 Hz tone from a real encoder (ffmpeg), `ms` worth. */
async function tonePackets(ms: number): Promise<Uint8Array[]> {
  const packets: Uint8Array[] = [];
  const rtp = await startFfmpegRtp('OPUS', (p) => packets.push(Uint8Array.from(p)));
  await waitFor(() => packets.length >= ms / 20, { timeoutMs: 60_000, what: `${ms} ms of Opus from ffmpeg` });
  await rtp.stop();
  return packets;
}

/** Decodes a file with ffmpeg to 48 kHz mono s16 samples. */
function decode(path: string): Promise<Int16Array> {
  return new Promise((resolve, reject) => {
    const child = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-i', path, '-f', 's16le', '-ac', '1', '-ar', '48000', '-'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`ffmpeg could not decode ${path}: ${err}`));
      const all = Buffer.concat(out);
      resolve(new Int16Array(all.buffer.slice(all.byteOffset, all.byteOffset + 2 * Math.floor(all.length / 2))));
    });
  });
}

describe('Opus TOC and Ogg Opus pages', () => {
  it('times Opus packets from their TOC byte (RFC 6716 3.1)', () => {
    assert.equal(opusPacketSamples(OPUS_SILENCE_20MS), 960); // CELT FB 20 ms, one frame
    assert.equal(opusPacketSamples(Uint8Array.of(0x08 | 1)), 1920); // SILK NB 20 ms, two frames (code 1)
    assert.equal(opusPacketSamples(Uint8Array.of((15 << 3) | 3, 3)), 2880); // Hybrid FB 20 ms, code 3 with 3 frames
    assert.equal(opusPacketSamples(Uint8Array.of((3 << 3) | 3, 3)), undefined, '3 x 60 ms is more than 120 ms');
    assert.equal(opusPacketSamples(Uint8Array.of(3)), undefined, 'code 3 without its frame count');
    assert.equal(opusPacketSamples(new Uint8Array()), undefined);
  });

  it('computes the Ogg CRC (RFC 3533: polynomial 0x04c11db7, not reflected)', () => {
    assert.equal(oggCrc(new TextEncoder().encode('123456789')), 0x89a1897f); // CRC-32/MPEG-2 without the final XOR and init
    const page = new OggOpusWriter(1, 0, 7).headers();
    assert.deepEqual([...page.subarray(0, 4)], [...new TextEncoder().encode('OggS')]);
  });

  it('round trip: RTP from a real Opus encoder -> Ogg Opus pages -> ffmpeg decodes the tone for as long as was sent', async () => {
    const packets = await tonePackets(1000);
    const writer = new OggOpusWriter(1);
    const parts: Uint8Array[] = [writer.headers()];
    for (const p of packets) {
      const page = writer.packet(parseRtp(p).payload);
      assert.ok(page);
      parts.push(page);
    }
    const dir = await mkdtemp(join(tmpdir(), 'peercam-ogg-'));
    after(() => rm(dir, { recursive: true, force: true }));
    const file = join(dir, 'talk.opus');
    await writeFile(file, Buffer.concat(parts));
    const samples = await decode(file);
    const expected = packets.length * 960;
    assert.ok(Math.abs(samples.length - expected) <= 960, `${samples.length} samples decoded, ${expected} sent`);
    assert.ok(energy(samples.subarray(4800)) > 0.001, 'the tone is there');
  });
});

describe('--mic / --speaker device names', () => {
  it('parses ALSA and PulseAudio names and rejects the rest with the accepted forms', () => {
    assert.deepEqual(parseAudioDevice('default', 'speaker'), { backend: 'alsa', name: 'default' });
    assert.deepEqual(parseAudioDevice('hw:1,0', 'microphone'), { backend: 'alsa', name: 'hw:1,0' });
    assert.deepEqual(parseAudioDevice('plughw:CARD=Device,DEV=0', 'microphone'), { backend: 'alsa', name: 'plughw:CARD=Device,DEV=0' });
    assert.deepEqual(parseAudioDevice('alsa:usbmic', 'microphone'), { backend: 'alsa', name: 'usbmic' });
    assert.deepEqual(parseAudioDevice('pulse', 'speaker'), { backend: 'pulse', name: undefined });
    assert.deepEqual(parseAudioDevice('pulse:alsa_output.usb-0', 'speaker'), { backend: 'pulse', name: 'alsa_output.usb-0' });
    for (const bad of ['/dev/snd/pcmC0D0p', 'speaker', 'alsa:', 'pulse:a b']) {
      assert.throws(
        () => parseAudioDevice(bad, 'speaker'),
        (err: unknown) => err instanceof PeercamError && err.code === 'bad-config' && /pulse:NAME/.test(err.message),
        bad,
      );
    }
  });
});

describe('--mic on the source command line', () => {
  const base: EncodeOptions = { width: 320, height: 240, fps: 15, bitrate: 300_000, gopSeconds: 1, preset: 'veryfast', clock: false, codec: 'H264' };

  it('captures the microphone as a second input and sends it as Opus RTP beside the video', () => {
    const args = ffmpegArgs({ kind: 'v4l2', device: '/dev/video0' }, { video: 5000, audio: 5002 }, { ...base, mic: { backend: 'alsa', name: 'plughw:1,0' } });
    const inputs = args.flatMap((a, i) => (a === '-i' ? [args[i + 1]] : []));
    assert.deepEqual(inputs, ['/dev/video0', 'plughw:1,0']);
    assert.equal(args[args.indexOf('plughw:1,0') - 1], '-i');
    assert.equal(args[args.indexOf('plughw:1,0') - 2], 'alsa');
    assert.equal(args[args.indexOf('1:a:0') - 1], '-map', 'the audio output takes the microphone, not the camera');
    assert.equal(args[args.indexOf('-c:a') + 1], 'libopus');
    const pulse = ffmpegArgs({ kind: 'testsrc' }, { video: 5000, audio: 5002 }, { ...base, mic: { backend: 'pulse', name: undefined } });
    assert.equal(pulse[pulse.indexOf('pulse') + 3], '-i');
    assert.equal(pulse[pulse.indexOf('pulse') + 4], 'default');
  });

  it('refuses --mic where the source brings its own audio, or is a pre-encoded clip', async () => {
    const config = (err: unknown) => err instanceof PeercamError && err.code === 'bad-config' && /testsrc|v4l2/.test(err.message);
    await assert.rejects(openSource('rtsp://10.0.0.9/stream1', { mic: 'default' }), config);
    await assert.rejects(openSource('demo', { mic: 'default' }), config);
    await assert.rejects(openSource('testsrc', { mic: 'speaker' }), (err: unknown) => err instanceof PeercamError && /pulse:NAME/.test(err.message));
  });
});

describe('Speaker: talk-back played through ffmpeg into a PulseAudio null sink', () => {
  let pulse: PulseServer;
  let tone: Uint8Array[];
  before(async () => {
    pulse = await startPulse();
    tone = await tonePackets(1500);
  });
  after(() => pulse?.stop());

  /** Plays `packets` at their real pace (20 ms each) as `talker`. */
  async function talk(speaker: Speaker, talker: string, packets: readonly Uint8Array[]): Promise<void> {
    const t0 = performance.now();
    for (let i = 0; i < packets.length; i++) {
      speaker.play(talker, packets[i]!);
      const wait = t0 + (i + 1) * 20 - performance.now();
      if (wait > 0) await sleep(wait);
    }
  }

  it('is silent until a viewer talks, then the sink carries the tone; one talker at a time', async () => {
    const recording = await pulse.record('speaker.monitor');
    after(() => recording.stop());
    const speaker = Speaker.open('pulse:speaker', { env: pulse.env, holdMs: 1000 });
    after(() => speaker.stop());
    const talks: string[] = [];
    speaker.on('talk', (who, change) => talks.push(`${who} ${change}`));
    await waitFor(() => speaker.state === 'ready', { timeoutMs: 60_000, what: 'the player to open the sink' });
    await sleep(500);
    const before = recording.samples().length;
    assert.equal(peak(recording.samples()), 0, 'nothing but silence before anyone talks');

    const t0 = performance.now();
    const heard = waitFor(() => energy(recording.samples().subarray(before)) > 0.001, { timeoutMs: 30_000, what: 'the tone at the sink', intervalMs: 5 }).then(
      () => performance.now() - t0,
    );
    const first = talk(speaker, 'alice', tone.slice(0, 50));
    await sleep(200);
    speaker.play('bob', tone[0]!); // bob cannot cut in while alice talks
    await first;
    const heardMs = await heard;
    await waitFor(() => talks.length >= 2, { timeoutMs: 15_000, what: 'alice to go quiet' });
    assert.deepEqual(talks, ['alice started', 'alice stopped']);
    assert.equal(speaker.played, 50, 'all of alice, none of bob while alice held the speaker');
    await talk(speaker, 'bob', [...tone.slice(50, 60), tone[55]!, tone[59]!]);
    assert.equal(speaker.played, 60, 'a late or repeated packet is not played again');
    await waitFor(() => talks.length >= 4, { timeoutMs: 15_000, what: 'bob to talk and go quiet' });
    assert.deepEqual(talks.slice(2), ['bob started', 'bob stopped']);
    assert.equal(speaker.runs, 1);
    process.stdout.write(`# talk-back: tone at the sink ${Math.round(heardMs)} ms after the first packet (packet -> ffmpeg -> PulseAudio -> monitor -> parec)\n`);
  });

  it('the default speaker is ALSA `default`, which leads to PulseAudio when it runs (Debian’s pulse plugin)', async () => {
    const recording = await pulse.record('speaker.monitor');
    after(() => recording.stop());
    const speaker = Speaker.open('default', { env: pulse.env });
    after(() => speaker.stop());
    await waitFor(() => speaker.state === 'ready', { timeoutMs: 60_000, what: 'the ALSA player to open default' });
    const before = recording.samples().length;
    const t0 = performance.now();
    const heard = waitFor(() => energy(recording.samples().subarray(before)) > 0.001, { timeoutMs: 30_000, what: 'the tone at the sink', intervalMs: 5 }).then(
      () => performance.now() - t0,
    );
    await talk(speaker, 'alice', tone.slice(0, 50));
    const heardMs = await heard;
    await waitFor(() => speaker.played === 50, { timeoutMs: 5000, what: 'every packet played' });
    process.stdout.write(`# talk-back through ALSA default -> PulseAudio: tone at the sink ${Math.round(heardMs)} ms after the first packet\n`);
  });

  it('a sink that does not exist is reported with ffmpeg’s words; talk-back meanwhile is dropped without error', async () => {
    const speaker = Speaker.open('pulse:no-such-sink', { env: pulse.env, restart: { initialDelayMs: 60_000 } });
    after(() => speaker.stop());
    const states: [SpeakerState, string | undefined][] = [];
    speaker.on('state', (s, r) => states.push([s, r]));
    await waitFor(() => speaker.state === 'restarting', { timeoutMs: 60_000, what: 'the player to fail' });
    assert.match(speaker.reason ?? '', /pulse:no-such-sink exited with code 1: .*(Stream failed|Could not write header|No such entity)/);
    for (const p of tone.slice(0, 5)) speaker.play('alice', p);
    assert.equal(speaker.state, 'restarting');
    assert.equal(speaker.played, 0);
  });

  it('without ffmpeg, opening the speaker says what to install', () => {
    assert.throws(
      () => Speaker.open('default', { env: { PEERCAM_FFMPEG: '/nonexistent/ffmpeg' } }),
      (err: unknown) => err instanceof PeercamError && err.code === 'media' && /Talk-back needs ffmpeg.*apt-get install ffmpeg/.test(err.message),
    );
  });
});
