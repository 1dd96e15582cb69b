import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { SegmentInfo } from '../../src/record/store.js';

const run = promisify(execFile);

export interface Probe {
  readonly duration: number;
  readonly startTime: number;
  readonly streams: { codec: string; type: string; frames: number; width?: number; height?: number }[];
}

/** ffprobe's view of a file (frames counted by demuxing, so a broken file fails here). */
export async function probe(path: string): Promise<Probe> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-count_packets', '-show_entries', 'format=duration,start_time:stream=codec_name,codec_type,nb_read_packets,width,height', '-of', 'json', path]);
  const j = JSON.parse(stdout) as {
    format: { duration?: string; start_time?: string };
    streams: { codec_name: string; codec_type: string; nb_read_packets?: string; width?: number; height?: number }[];
  };
  return {
    duration: Number(j.format.duration ?? Number.NaN),
    startTime: Number(j.format.start_time ?? Number.NaN),
    streams: j.streams.map((s) => ({
      codec: s.codec_name,
      type: s.codec_type,
      frames: Number(s.nb_read_packets ?? 0),
      ...(s.width !== undefined ? { width: s.width } : {}),
      ...(s.height !== undefined ? { height: s.height } : {}),
    })),
  };
}

/** Decodes the whole file with ffmpeg (timestamps as recorded: cameras are variable frame rate); its error output, empty = clean. */
export async function decodeErrors(path: string): Promise<string> {
  try {
    const { stderr } = await run('ffmpeg', ['-v', 'error', '-nostdin', '-i', path, '-fps_mode', 'passthrough', '-enc_time_base', '-1', '-f', 'null', '-']);
    return stderr.trim();
  } catch (err) {
    return String((err as { stderr?: string }).stderr ?? err);
  }
}

/**
 * Checks finished H.264 segments of one camera: each probes for as long as its name says and decodes without error,
 * each ends within 20 ms of the next one's start, and together they cover their span within 2 %. Returns the span, ms.
 */
export async function assertSegmentsMeet(segs: readonly SegmentInfo[], expect: { readonly width?: number } = {}): Promise<number> {
  let total = 0;
  for (const [i, s] of segs.entries()) {
    const p = await probe(s.path);
    assert.equal(p.streams[0]?.codec, 'h264');
    if (expect.width !== undefined) assert.equal(p.streams[0]?.width, expect.width);
    assert.ok(Math.abs(p.duration - p.startTime - s.durationMs / 1000) < 0.1, `${s.path}: probe ${p.duration - p.startTime} s vs name ${s.durationMs} ms`);
    assert.equal(await decodeErrors(s.path), '', s.path);
    total += s.durationMs;
    const next = segs[i + 1];
    if (next) assert.ok(Math.abs(s.start + s.durationMs - next.start) <= 20, `segment ${i} ends ${s.start + s.durationMs - next.start} ms off the next start`);
  }
  const span = segs.at(-1)!.start + segs.at(-1)!.durationMs - segs[0]!.start;
  assert.ok(Math.abs(total - span) / span < 0.02, `durations ${total} ms vs covered span ${span} ms`);
  return span;
}
