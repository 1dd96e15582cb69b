import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

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
