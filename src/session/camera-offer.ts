/**
 * What a camera page does to a viewer's offer before it answers (Chromium's encoder follows the remote description):
 * its first frame sooner, and sharper.
 */
import { h264Rank, parseFmtp } from './h264-formats.js';

/** Where a camera page's video encoder starts, kb/s (Chromium's default 300 drops its first frames at 720p). */
const START_KBPS = 1000;

/**
 * The offer as the camera page applies it: the encoder's start bitrate (`withStartBitrate`) and, where this browser can
 * encode H.264, H.264 first (`withH264First`).
 */
export function cameraOffer(sdp: string, canEncodeH264: boolean): string {
  const started = withStartBitrate(sdp, START_KBPS);
  return canEncodeH264 ? withH264First(started) : started;
}

/** Whether this browser lists an H.264 encoder (a browser without one, like Firefox without OpenH264, lists none). */
export function browserEncodesH264(): boolean {
  const sender = (globalThis as { RTCRtpSender?: { getCapabilities?(kind: string): RTCRtpCapabilities | null } }).RTCRtpSender;
  return sender?.getCapabilities?.('video')?.codecs.some((c) => c.mimeType.toLowerCase() === 'video/h264') === true;
}

/**
 * The offer with `x-google-start-bitrate` on each video format (Chromium reads it from the remote description of the
 * sending side; other browsers ignore it): a camera page's encoder starts at `kbps` instead of 300 kb/s, where WebRTC
 * drops the first frames of a 720p capture and starts at a lower resolution. Bandwidth estimation still takes it down
 * at once on a slower path.
 */
export function withStartBitrate(sdp: string, kbps: number): string {
  const lines = sdp.split('\r\n');
  const out: string[] = [];
  let video = false;
  const fmtp = new Set<string>();
  const formats: string[] = [];
  const flush = () => {
    // Formats without an fmtp line (VP8) get one; rtx/red/ulpfec carry no encoder and are left alone.
    for (const pt of formats) if (!fmtp.has(pt)) out.push(`a=fmtp:${pt} x-google-start-bitrate=${kbps}`);
    formats.length = 0;
    fmtp.clear();
  };
  for (const line of lines) {
    if (line.startsWith('m=')) {
      if (video) flush();
      video = line.startsWith('m=video');
    }
    const rtpmap = video ? /^a=rtpmap:(\d+) ([\w-]+)\//.exec(line) : null;
    if (rtpmap && !/^(rtx|red|ulpfec|flexfec-03)$/i.test(rtpmap[2]!)) formats.push(rtpmap[1]!);
    const f = video ? /^a=fmtp:(\d+) (.*)$/.exec(line) : null;
    if (f && formats.includes(f[1]!) && !/x-google-start-bitrate/.test(f[2]!)) {
      fmtp.add(f[1]!);
      out.push(`${line};x-google-start-bitrate=${kbps}`);
      continue;
    }
    if (f) fmtp.add(f[1]!);
    out.push(line);
  }
  if (video) {
    // The last section's own lines end with the empty string after the final CRLF: keep it last.
    const tail = out.at(-1) === '' ? out.pop() : undefined;
    flush();
    if (tail !== undefined) out.push(tail);
  }
  return out.join('\r\n');
}

/** Where `withH264First` puts an H.264 format that has no rank. */
const UNUSABLE = 99;

/**
 * The offer with its H.264 formats first in the video section, in our order (`h264Rank`: packetization mode 1 and
 * constrained baseline, which every H.264 encoder has, first; those our packetizer cannot feed last), the rest in
 * their order. A browser camera sends the first format of the offer it can encode: H.264 instead of a Chromium
 * viewer's VP8. Measured on the 2-core test machine (Chromium, 1280x720, 1 Mb/s start, 10 connections each,
 * alternating): the first frame comes 105 ms after the connection with H.264 against 198 ms with VP8, whose encoder
 * takes ~130 ms to set up (docs/BENCHMARKS.md). Recordings of camera pages are then H.264 too, which Safari plays.
 */
export function withH264First(sdp: string): string {
  const lines = sdp.split('\r\n');
  /** Each media section's line numbers, its m= line first. */
  const sections: number[][] = [];
  lines.forEach((line, i) => {
    if (line.startsWith('m=')) sections.push([i]);
    else sections.at(-1)?.push(i);
  });
  for (const at of sections) {
    const m = /^(m=video \S+ \S+) (.+)$/.exec(lines[at[0]!]!);
    if (!m) continue;
    const h264 = new Set<string>();
    /** Each H.264 format's place; those without one (packetization mode 0) after the others. */
    const rank = new Map<string, number>();
    for (const i of at) {
      const rtpmap = /^a=rtpmap:(\d+) H264\//i.exec(lines[i]!);
      if (rtpmap) h264.add(rtpmap[1]!);
      const fmtp = /^a=fmtp:(\d+) (.*)$/.exec(lines[i]!);
      if (fmtp) rank.set(fmtp[1]!, h264Rank(parseFmtp(fmtp[2]!)) ?? UNUSABLE);
    }
    const formats = m[2]!.split(' ');
    const first = formats.filter((pt) => h264.has(pt)).sort((a, b) => (rank.get(a) ?? UNUSABLE) - (rank.get(b) ?? UNUSABLE));
    lines[at[0]!] = `${m[1]} ${[...first, ...formats.filter((pt) => !h264.has(pt))].join(' ')}`;
  }
  return lines.join('\r\n');
}
