import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import type { AddressInfo } from 'node:net';

const VIDEO = 'testsrc2=size=320x240:rate=15';

export interface FfmpegRtp {
  /** Packets received so far. */
  readonly count: () => number;
  stop(): Promise<void>;
}

/**
 * A real encoder as an RTP source: ffmpeg encodes its test pattern in real time (-re) and sends RTP to a UDP socket
 * on loopback that this helper owns. Video is 320x240 at 15 fps with a keyframe every second; H.264 is baseline
 * without B-frames in packetization-mode=1 (FU-A above the 1200-byte packet size). OPUS is a 440 Hz tone.
 */
export async function startFfmpegRtp(codec: 'H264' | 'VP8' | 'OPUS', onPacket: (packet: Uint8Array) => void): Promise<FfmpegRtp> {
  const socket = createSocket('udp4');
  let count = 0;
  socket.on('message', (msg) => {
    count++;
    onPacket(msg);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const port = (socket.address() as AddressInfo).port;
  const encoder = {
    H264: ['-i', VIDEO, '-c:v', 'libx264', '-profile:v', 'baseline', '-pix_fmt', 'yuv420p', '-tune', 'zerolatency', '-bf', '0', '-g', '15'],
    VP8: ['-i', VIDEO, '-c:v', 'libvpx', '-deadline', 'realtime', '-b:v', '300k', '-g', '15'],
    OPUS: ['-i', 'sine=frequency=440:sample_rate=48000', '-c:a', 'libopus', '-ac', '2', '-b:a', '32k'],
  }[codec];
  const child = spawn(
    'ffmpeg',
    ['-hide_banner', '-loglevel', 'error', '-nostdin', '-re', '-f', 'lavfi', ...encoder, '-f', 'rtp', `rtp://127.0.0.1:${port}?pkt_size=1200`],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let stopping: Promise<void> | undefined;
  return {
    count: () => count,
    stop() {
      stopping ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
        await exited;
        socket.close();
        if (stderr.trim()) process.stderr.write(`ffmpeg: ${stderr}\n`);
      })();
      return stopping;
    },
  };
}
