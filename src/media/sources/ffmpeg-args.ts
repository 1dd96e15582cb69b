import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { PeercamError } from '../../protocol/index.js';
import { type AudioDevice, audioInputArgs } from '../audio-device.js';
import type { VideoCodec } from './source.js';
import type { SourceSpec } from './spec.js';

const INSTALL_HINT =
  'Install it (Debian/Ubuntu: sudo apt-get install ffmpeg) or set PEERCAM_FFMPEG=/path/to/ffmpeg. The "demo" source works without ffmpeg.';

const executable = (path: string): boolean => {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

/** Finds ffmpeg: PEERCAM_FFMPEG if set, else the PATH. Throws PeercamError('media') saying how to get it. */
export function findFfmpeg(env: NodeJS.ProcessEnv = process.env): string {
  const explicit = env.PEERCAM_FFMPEG;
  if (explicit) {
    if (executable(explicit)) return explicit;
    throw new PeercamError('media', `ffmpeg was not found at PEERCAM_FFMPEG=${explicit}. ${INSTALL_HINT}`);
  }
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir || '.', 'ffmpeg');
    if (dir && executable(candidate)) return candidate;
  }
  throw new PeercamError('media', `ffmpeg was not found. ${INSTALL_HINT}`);
}

/** Wall-clock time and frame number burnt into the test pattern: latency is visible by eye against a clock. */
const CLOCK =
  "drawtext=text='%{localtime\\:%T} #%{n}':x=16:y=16:fontsize=h/18:fontcolor=white:box=1:boxcolor=black@0.6:boxborderw=6";

const drawtextSupport = new Map<string, boolean>();

/** Whether this ffmpeg can draw text (built with libfreetype, a default font found); asked once per binary. */
export async function canDrawText(ffmpeg: string): Promise<boolean> {
  const known = drawtextSupport.get(ffmpeg);
  if (known !== undefined) return known;
  const args = ['-hide_banner', '-nostdin', '-loglevel', 'error', '-f', 'lavfi', '-i', `testsrc2=size=64x64:rate=1,${CLOCK}`];
  const ok = await new Promise<boolean>((resolve) => {
    const probe = spawn(ffmpeg, [...args, '-frames:v', '1', '-f', 'null', '-'], { stdio: 'ignore', timeout: 5000 });
    probe.once('error', () => resolve(false));
    probe.once('exit', (code) => resolve(code === 0));
  });
  drawtextSupport.set(ffmpeg, ok);
  return ok;
}

export interface EncodeOptions {
  readonly width: number;
  readonly height: number;
  readonly fps: number;
  /** Video bitrate in bits per second. */
  readonly bitrate: number;
  /** Seconds between keyframes. */
  readonly gopSeconds: number;
  /** x264 preset: speed against quality. */
  readonly preset: string;
  /** Burn a clock into testsrc (when the ffmpeg has drawtext). */
  readonly clock: boolean;
  /** H.264 (every browser with hardware decoding, RTSP copied as is) or VP8 (for viewers without H.264). */
  readonly codec: VideoCodec;
  /** The input's video codec as probed (RTSP: H.264 is copied, anything else is re-encoded); undefined if unknown. */
  readonly inputCodec?: string | undefined;
  /** A microphone captured beside the video (testsrc, V4L2) and sent as the source's audio. */
  readonly mic?: AudioDevice | undefined;
  /** Small raw frames for motion detection, written by the same ffmpeg to its fd 3 (see analysisArgs). */
  readonly analysis?: AnalysisSize | undefined;
}

/** The size and rate of the frames a source hands to motion detection (YUV 4:2:0, even sizes). */
export interface AnalysisSize {
  readonly width: number;
  readonly height: number;
  readonly fps: number;
}

/** Analysis frames `height` px high with the picture's aspect (even width); 16:9 when the aspect is unknown. */
export function analysisSize(picture: { width: number; height: number } | undefined, height = 100, fps = 5): AnalysisSize {
  const aspect = picture ? picture.width / picture.height : 16 / 9;
  return { width: Math.max(8, 2 * Math.round((height * aspect) / 2)), height, fps };
}

/**
 * A second output of the camera's own ffmpeg: the decoded picture at `fps`, scaled to the analysis size, as raw YUV
 * 4:2:0 on fd 3. Cheap beside the encode (the frames are decoded anyway); for an RTSP copy this is the one decode of
 * the stream, on the same connection.
 */
export function analysisArgs(a: AnalysisSize): string[] {
  // -flush_packets: each frame leaves at once instead of waiting in ffmpeg's 32 KiB output buffer.
  return ['-map', '0:v:0', '-an', '-vf', `fps=${a.fps},scale=${a.width}:${a.height},format=yuv420p`, '-flush_packets', '1', '-f', 'rawvideo', 'pipe:3'];
}

/** ffmpeg input arguments for a spec. */
function input(spec: Exclude<SourceSpec, { kind: 'demo' }>, o: EncodeOptions): string[] {
  switch (spec.kind) {
    case 'testsrc': {
      const pattern = `testsrc2=size=${o.width}x${o.height}:rate=${o.fps}${o.clock ? `,${CLOCK}` : ''}`;
      // -re: lavfi generates as fast as the CPU allows otherwise.
      return ['-re', '-f', 'lavfi', '-i', pattern];
    }
    case 'file':
      return ['-re', '-stream_loop', '-1', '-i', spec.path];
    case 'v4l2':
      return ['-f', 'v4l2', '-framerate', String(o.fps), '-video_size', `${o.width}x${o.height}`, '-i', spec.device];
    case 'rtsp':
      return ['-rtsp_transport', 'tcp', '-fflags', 'nobuffer', '-i', spec.url];
  }
}

/**
 * The whole ffmpeg command line: one video stream as RTP to 127.0.0.1:port, RTCP to the same port (told apart by
 * RFC 5761 rules and ignored). H.264 is constrained baseline without B-frames, a fixed GOP and packets of at most 1200
 * bytes, what every browser decodes with packetization-mode=1; RTSP H.264 is copied, not re-encoded (a stream that
 * could not be probed is assumed to be H.264, what IP cameras send by default). H.265 or MJPEG from a camera is
 * re-encoded, since browsers cannot be counted on to decode them. VP8 is encoded in real-time mode with the same GOP.
 */
export function ffmpegArgs(
  spec: Exclude<SourceSpec, { kind: 'demo' }>,
  ports: { readonly video: number; readonly audio?: number | undefined },
  o: EncodeOptions,
): string[] {
  const fit = `scale=${o.width}:${o.height}:force_original_aspect_ratio=decrease,scale=trunc(iw/2)*2:trunc(ih/2)*2`;
  const video =
    spec.kind === 'rtsp' && o.codec === 'H264' && (o.inputCodec === undefined || o.inputCodec === 'h264')
      ? // Cameras often announce SPS/PPS only in the SDP; repeat them before every keyframe for late joiners.
        ['-c:v', 'copy', '-bsf:v', 'dump_extra=freq=keyframe']
      : [...(spec.kind === 'file' ? ['-vf', fit, '-r', String(o.fps)] : []), ...encoderArgs(o)];
  // The RTP muxer takes one stream per output, so audio is a second output (RFC 7587: Opus is 48 kHz, 2 channels).
  const audio =
    ports.audio === undefined
      ? []
      : [
          ...['-map', o.mic ? '1:a:0' : '0:a:0', '-vn', '-c:a', 'libopus', '-b:a', '64k', '-ar', '48000', '-ac', '2'],
          ...['-application', 'lowdelay', '-frame_duration', '20'],
          ...['-f', 'rtp', '-payload_type', '111', rtpUrl(ports.audio)],
        ];
  return [
    ...['-hide_banner', '-nostdin', '-nostats', '-loglevel', 'warning'],
    ...input(spec, o),
    ...(o.mic ? audioInputArgs(o.mic) : []),
    ...(ports.audio === undefined && !o.analysis ? [] : ['-map', '0:v:0']),
    '-an',
    ...video,
    ...['-f', 'rtp', '-payload_type', '96', rtpUrl(ports.video)],
    ...audio,
    ...(o.analysis ? analysisArgs(o.analysis) : []),
  ];
}

/** The video encoder's arguments for `o.codec`, with a fixed GOP and a capped bitrate. */
function encoderArgs(o: Pick<EncodeOptions, 'codec' | 'fps' | 'gopSeconds' | 'bitrate' | 'preset'>): string[] {
  const gop = String(Math.max(1, Math.round(o.fps * o.gopSeconds)));
  const keyframes = ['-g', gop, '-keyint_min', gop];
  const rate = ['-b:v', String(o.bitrate), '-maxrate', String(o.bitrate), '-bufsize', String(o.bitrate)];
  return [
    ...(o.codec === 'H264'
      ? [
          ...['-c:v', 'libx264', '-profile:v', 'baseline', '-pix_fmt', 'yuv420p'],
          ...['-preset', o.preset, '-tune', 'zerolatency', '-bf', '0', ...keyframes, '-sc_threshold', '0'],
        ]
      : // libvpx in real-time mode at its fastest speed (VP8 costs several times x264's CPU; a second encode must keep
        // up on a Pi): no look-ahead or alt-ref frames (they add latency), error resilient for loss.
        [
          ...['-c:v', 'libvpx', '-pix_fmt', 'yuv420p', '-deadline', 'realtime', '-cpu-used', '16'],
          ...['-lag-in-frames', '0', '-auto-alt-ref', '0', '-error-resilient', '1', ...keyframes],
        ]),
    ...rate,
  ];
}

/**
 * The command line of a second encode: frames of the camera's running stream arrive on stdin in IVF (with their own
 * timestamps, see ivf.ts) and leave as RTP in `o.codec`. Decoding is single-threaded (frame threads would hold frames
 * back) and probing minimal, so the first frame leaves as soon as the first keyframe is in; frame timing is passed
 * through as it came, with no frame dropped or duplicated to meet a rate. (No `-fflags nobuffer`: it throws away the
 * frames read while probing, the whole first GOP.)
 */
export function transcodeArgs(port: number, o: Pick<EncodeOptions, 'codec' | 'fps' | 'gopSeconds' | 'bitrate' | 'preset'>): string[] {
  return [
    ...['-hide_banner', '-nostdin', '-nostats', '-loglevel', 'warning'],
    ...['-flags', 'low_delay', '-probesize', '32', '-analyzeduration', '0', '-threads', '1'],
    ...['-f', 'ivf', '-i', 'pipe:0'],
    // The nominal rate for the encoder's rate control, which would otherwise take the 90 kHz time base for a frame
    // rate and starve every frame of bits; the time base stays 90 kHz, so each frame keeps its own timestamp.
    ...['-an', '-fps_mode', 'passthrough', '-r', String(o.fps), '-enc_time_base', '1:90000', ...encoderArgs(o)],
    ...['-f', 'rtp', '-payload_type', '96', rtpUrl(port)],
  ];
}

const rtpUrl = (port: number) => `rtp://127.0.0.1:${port}?pkt_size=1200&rtcpport=${port}`;

/** What ffprobe found in a file or RTSP stream. */
export interface InputProbe {
  readonly audio: boolean;
  /** ffmpeg's name of the first video stream's codec (h264, hevc, mjpeg...), when it could be probed. */
  readonly video: string | undefined;
}

/**
 * Asks the ffprobe next to ffmpeg what a file or RTSP stream carries. No audio and an unknown video codec when there
 * is no ffprobe or the input cannot be probed now (an offline camera): video alone is still worth showing.
 */
export async function probeInput(ffmpeg: string, spec: SourceSpec, timeoutMs = 8000): Promise<InputProbe> {
  if (spec.kind !== 'file' && spec.kind !== 'rtsp') return { audio: false, video: undefined };
  const ffprobe = join(dirname(ffmpeg), 'ffprobe');
  const target = spec.kind === 'file' ? ['-i', spec.path] : ['-rtsp_transport', 'tcp', '-i', spec.url];
  const args = ['-v', 'error', '-show_entries', 'stream=codec_type,codec_name', '-of', 'csv=p=0', ...target];
  const out = await new Promise<string>((resolve) => {
    let text = '';
    const probe = spawn(ffprobe, args, { stdio: ['ignore', 'pipe', 'ignore'], timeout: timeoutMs });
    probe.stdout.setEncoding('utf8');
    probe.stdout.on('data', (chunk: string) => (text += chunk));
    probe.once('error', () => resolve(''));
    probe.once('exit', (code) => resolve(code === 0 ? text : ''));
  });
  // One line per stream, "codec_name,codec_type" in ffprobe's field order, e.g. "hevc,video".
  const streams = out
    .split('\n')
    .map((line) => line.trim().split(','))
    .filter((f) => f.length >= 2);
  return { audio: streams.some((f) => f[1] === 'audio'), video: streams.find((f) => f[1] === 'video')?.[0] };
}
