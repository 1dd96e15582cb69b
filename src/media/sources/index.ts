import { type Logger, PeercamError } from '../../protocol/index.js';
import { DemoSource, type DemoSourceOptions } from './demo.js';
import { FfmpegSource, type FfmpegSourceOptions } from './ffmpeg.js';
import type { Source } from './source.js';
import { parseSourceSpec, type SourceSpec } from './spec.js';

export { DEMO_CLIP, DEMO_CLIP_VP8, DemoSource, type DemoSourceOptions } from './demo.js';
export { FfmpegSource, type FfmpegSourceOptions } from './ffmpeg.js';
export { IngestSource, type IngestSourceOptions } from './ingest.js';
export { type AnalysisSize, analysisSize, findFfmpeg } from './ffmpeg-args.js';
export { TranscodeSource, type TranscodeInput, type TranscodeOptions } from './transcode.js';
export { DEFAULT_RESTART_POLICY, type RestartPolicy, restartDelay } from './restart-policy.js';
export type { AnalysisFrame, AudioInfo, MediaKind, Source, SourceEvents, SourceState, VideoCodec } from './source.js';
export { describeSourceSpec, parseSourceSpec, type SourceSpec } from './spec.js';

export interface OpenSourceOptions extends FfmpegSourceOptions {
  /** Options of the demo source (ffmpeg options do not apply to it). */
  readonly demo?: Omit<DemoSourceOptions, 'logger'>;
  readonly logger?: Logger;
}

/**
 * Opens the source a spec names and starts it. Rejects with a PeercamError saying what to fix: an unknown spec
 * ('bad-config'), ffmpeg missing or a file that does not exist ('media').
 */
export async function openSource(spec: string | SourceSpec, options: OpenSourceOptions = {}): Promise<Source> {
  const parsed = typeof spec === 'string' ? parseSourceSpec(spec) : spec;
  if (parsed.kind === 'demo') {
    if (options.mic !== undefined) {
      throw PeercamError.config('The demo source is a pre-encoded clip and cannot take a microphone: use --mic with testsrc or a v4l2 camera.');
    }
    const analysis = options.analysis ? { analysis: { ...options.analysis, ...(options.env ? { env: options.env } : {}) } } : {};
    const demo = { ...(options.codec ? { codec: options.codec } : {}), ...analysis, ...options.demo };
    return DemoSource.open(options.logger ? { ...demo, logger: options.logger } : demo);
  }
  return FfmpegSource.open(parsed, options);
}
