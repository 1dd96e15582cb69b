import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

/** What happens in the generated clip, in seconds from its start. */
export const CLIP = {
  seconds: 14,
  /** A white 30x30 box crosses the picture along y = 75..105 of 180. */
  moveFrom: 2,
  moveTo: 5,
  /** Lights: brightness +0.3 and contrast x1.3 from here to the end (whole picture, clipping included). */
  lightsAt: 9,
} as const;

/** Another timing of the same scene (benchmarks); a box time past `seconds` gives a clip of noise and lights only. */
export interface ClipSpec {
  readonly seconds: number;
  readonly moveFrom: number;
  readonly moveTo: number;
  readonly lightsAt: number;
}

/**
 * A 320x180 30 fps H.264 clip: a static scene (SMPTE bars) with sensor noise in every frame, a box moving across it
 * from CLIP.moveFrom to CLIP.moveTo, static again, then a sudden whole-picture brightness change at CLIP.lightsAt.
 * Made by ffmpeg's lavfi in ~2 s; ~2.5 MB.
 */
export async function makeMotionClip(dir: string, spec: ClipSpec = CLIP, name = 'motion.mp4'): Promise<string> {
  const file = join(dir, name);
  const { seconds: d, moveFrom: a, moveTo: b, lightsAt: l } = spec;
  const graph = [
    '[0]noise=alls=12:allf=t[bg];',
    `[bg][1]overlay=x='if(between(t,${a},${b}),20+(t-${a})*${Math.round(270 / (b - a))},-100)':y=75,`,
    `eq=brightness=0.3:contrast=1.3:enable='gte(t,${l})'`,
  ].join('');
  await promisify(execFile)('ffmpeg', [
    ...['-y', '-hide_banner', '-loglevel', 'error'],
    ...['-f', 'lavfi', '-i', `smptebars=s=320x180:r=30:d=${d}`, '-f', 'lavfi', '-i', `color=white:s=30x30:r=30:d=${d}`],
    ...['-filter_complex', graph, '-c:v', 'libx264', '-preset', 'ultrafast', '-crf', '26', '-g', '30', '-pix_fmt', 'yuv420p', file],
  ]);
  return file;
}
