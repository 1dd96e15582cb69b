import { serializeRtp } from '../../src/media/rtp.js';
import { CameraRecorder } from '../../src/record/camera-recorder.js';
import { ClipStream } from '../media/clip.js';

/**
 * Records `seconds` of the shipped H.264 clip (30 fps, a keyframe every second) as camera `camera` under `root`,
 * on a fake wall clock from `start` (ms since the epoch), in segments of `segmentMs`.
 */
export async function recordClip(root: string, camera: string, options: { start: number; seconds: number; segmentMs: number }): Promise<void> {
  let wall = options.start;
  const rec = new CameraRecorder({ root, camera, segmentMs: options.segmentMs, now: () => wall });
  rec.startSession('H264');
  const clip = new ClipStream();
  for (let i = 0; i < options.seconds * 30; i++) {
    for (const p of clip.frames(1)) rec.video(serializeRtp(p));
    wall += 1000 / 30;
  }
  await rec.close();
}
