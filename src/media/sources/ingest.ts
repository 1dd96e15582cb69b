import { Emitter, type Logger, silentLogger } from '../../protocol/index.js';
import { parseRtp } from '../rtp.js';
import type { AudioInfo, MediaKind, Source, SourceEvents, SourceState, VideoCodec } from './source.js';

export interface IngestSourceOptions {
  /** e.g. "whip:Porch" */
  readonly spec: string;
  readonly codec: VideoCodec;
  /** The publisher sends Opus beside its video. */
  readonly audio: boolean;
  /** Asks the publisher for a keyframe (a PLI over its peer connection). */
  readonly requestKeyframe: () => void;
  readonly logger?: Logger;
}

const OPUS: AudioInfo = { codec: 'opus', clockRate: 48000, channels: 2 };

/**
 * RTP someone else encodes and pushes in (a WHIP publisher): fanned out like a copied RTSP stream, without
 * re-encoding; a viewer's PLI goes back to the publisher through `requestKeyframe`.
 */
export class IngestSource extends Emitter<SourceEvents> implements Source {
  readonly spec: string;
  readonly codec: VideoCodec;
  readonly clockRate = 90000;
  readonly audio: AudioInfo | undefined;
  state: SourceState = 'starting';
  reason: string | undefined;
  readonly requestKeyframe: () => void;
  private readonly log: Logger;

  constructor(options: IngestSourceOptions) {
    super();
    this.spec = options.spec;
    this.codec = options.codec;
    this.audio = options.audio ? OPUS : undefined;
    this.requestKeyframe = options.requestKeyframe;
    this.log = (options.logger ?? silentLogger).child({ source: options.spec });
  }

  /** One RTP packet as received (copied here: the caller's buffer is reused). */
  push(packet: Uint8Array, kind: MediaKind): void {
    if (this.state === 'stopped' || this.state === 'failed') return;
    let parsed: ReturnType<typeof parseRtp>;
    try {
      parsed = parseRtp(Uint8Array.from(packet));
    } catch (err) {
      this.log.debug({ err: String(err) }, 'dropped a malformed packet from the publisher');
      return;
    }
    if (this.state === 'starting' && kind === 'video') this.setState('live', undefined);
    this.emit('packet', parsed, kind);
  }

  /** The publisher is gone (DELETE, or its connection failed). */
  end(reason: string): void {
    this.setState('failed', reason);
  }

  async stop(): Promise<void> {
    this.setState('stopped', undefined);
  }

  private setState(state: SourceState, reason: string | undefined): void {
    if (this.state === state || this.state === 'stopped') return;
    this.state = state;
    this.reason = reason;
    this.emit('state', state, reason);
  }
}
