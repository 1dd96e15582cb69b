import { selectedPair } from '../../session/index.js';

/** What a tile shows about its stream, from RTCPeerConnection.getStats(). */
export interface TileStats {
  readonly width: number | undefined;
  readonly height: number | undefined;
  readonly fps: number | undefined;
  /** Received video+audio bits per second since the previous sample. */
  readonly kbps: number | undefined;
  readonly rttMs: number | undefined;
  /** 'relay' when the local candidate in use is a TURN relay, else 'direct'. */
  readonly path: 'direct' | 'relay' | undefined;
  readonly framesDecoded: number;
  /** The video codec received (`H264`, `VP8`): cameras pick it per viewer. */
  readonly codec: string | undefined;
}

interface Sample {
  readonly at: number;
  readonly bytes: number;
}

/** Keeps the previous sample so each read gives a bitrate. */
export class StatsReader {
  private last: Sample | undefined;

  async read(pc: RTCPeerConnection): Promise<TileStats> {
    const report = await pc.getStats();
    let bytes = 0;
    let video: RTCInboundRtpStreamStats | undefined;
    report.forEach((s: RTCStats) => {
      if (s.type !== 'inbound-rtp') return;
      const r = s as RTCInboundRtpStreamStats;
      bytes += r.bytesReceived ?? 0;
      if (r.kind === 'video') video = r;
    });
    const now = performance.now();
    const kbps = this.last && now > this.last.at ? ((bytes - this.last.bytes) * 8) / (now - this.last.at) : undefined;
    this.last = { at: now, bytes };
    const pair = selectedPair(report);
    const codec = video?.codecId ? (report.get(video.codecId) as { mimeType?: string } | undefined)?.mimeType?.replace(/^video\//i, '') : undefined;
    return {
      width: video?.frameWidth,
      height: video?.frameHeight,
      fps: video?.framesPerSecond,
      kbps: kbps !== undefined && kbps >= 0 ? kbps : undefined,
      rttMs: pair?.rtt !== undefined ? pair.rtt * 1000 : undefined,
      path: pair ? (pair.localType === 'relay' || pair.remoteType === 'relay' ? 'relay' : 'direct') : undefined,
      framesDecoded: video?.framesDecoded ?? 0,
      codec,
    };
  }

  reset(): void {
    this.last = undefined;
  }
}

export function formatStats(s: TileStats): string {
  const parts = [
    s.width && s.height ? `${s.width}×${s.height}` : undefined,
    s.fps !== undefined ? `${Math.round(s.fps)} fps` : undefined,
    s.kbps !== undefined ? (s.kbps >= 1000 ? `${(s.kbps / 1000).toFixed(1)} Mb/s` : `${Math.round(s.kbps)} kb/s`) : undefined,
    s.rttMs !== undefined ? `RTT ${Math.round(s.rttMs)} ms` : undefined,
    s.path,
    s.codec,
  ];
  return parts.filter(Boolean).join(' · ');
}
