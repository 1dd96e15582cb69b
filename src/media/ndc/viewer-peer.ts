import ndc from 'node-datachannel';
import { PeercamError } from '../../protocol/index.js';
import type { Peer, PeerConfig } from '../../session/peer.js';
import { parseSenderReports, serializePli } from '../rtcp.js';
import { isRtcp } from '../rtp.js';
import { chooseOpus, chooseVideo, parseSdp, type VideoCodec } from '../sdp.js';
import type { NdcOptions } from './config.js';
import { NdcConnection } from './connection.js';
import { randomSsrc } from './ssrc.js';

export interface ViewerOptions extends NdcOptions {
  /** Video codecs to offer, preferred first (default H.264 then VP8). */
  readonly videoCodecs?: readonly VideoCodec[];
  /** Also offer to receive Opus audio. */
  readonly audio?: boolean;
  /** One received RTP packet (never RTCP). The buffer is only valid during the call: copy it to keep it. */
  readonly onRtp?: (packet: Uint8Array, kind: 'video' | 'audio') => void;
  /** An RTCP sender report of the camera (its wall clock at an RTP timestamp, RFC 3550 6.4.1); browsers send them. */
  readonly onSenderReport?: (report: { ntpMs: number; rtpTs: number }, kind: 'video' | 'audio') => void;
  /** The video track is open. */
  readonly onOpen?: () => void;
}

/** What the camera's answer settled. */
export interface ViewerNegotiated {
  readonly codec: VideoCodec;
  readonly videoPt: number;
  /** The camera's video SSRC from its answer (a=ssrc), or from the first packet when the answer has none. */
  readonly remoteSsrc: number | undefined;
  readonly audioPt: number | undefined;
}

export interface ViewerPeer extends Peer {
  readonly negotiated: ViewerNegotiated | undefined;
  /** Sends a PLI for the camera's video. False when it could not (not open, SSRC still unknown, closed). */
  requestKeyframe(): boolean;
}

/** Payload types we offer: the values Chromium uses, so traces read alike. */
const PT = { h264: 102, vp8: 96, opus: 111 } as const;
/** Constrained baseline level 3.1 (RFC 6184 8.1), what every H.264 camera path here produces. */
const H264_FMTP = 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f';

/** The offerer side in Node (headless `peercam watch`): offers recvonly video (+audio) and hands out RTP. */
export function createViewerPeer(config: PeerConfig, options: ViewerOptions = {}): ViewerPeer {
  return new NdcViewerPeer(config, options);
}

class NdcViewerPeer extends NdcConnection implements ViewerPeer {
  /** See camera-peer.ts: libdatachannel cannot restart ICE in place. */
  readonly canRestartIce = false;
  negotiated: ViewerNegotiated | undefined;
  private readonly video: ndc.Track;
  /** Held for the peer's life: a Track only referenced by native code is collected, and its callbacks then crash. */
  private readonly audioTrack: ndc.Track | undefined;
  private readonly localSsrc: number;
  private videoOpen = false;
  private offered = false;
  private seenSsrc: number | undefined;
  /** SSRC of the audio the camera sends, from its first packet (to pick its sender reports). */
  private seenAudioSsrc: number | undefined;

  constructor(
    config: PeerConfig,
    private readonly options: ViewerOptions,
  ) {
    super('viewer', config, options);
    this.beforeClose(() => (this.videoOpen = false));
    const codecs = options.videoCodecs ?? ['H264', 'VP8'];
    if (codecs.length === 0) throw PeercamError.config('A viewer must offer at least one video codec (H264 or VP8).');
    this.localSsrc = randomSsrc();
    const video = new ndc.Video('0', 'RecvOnly');
    for (const codec of codecs) {
      if (codec === 'H264') video.addH264Codec(PT.h264, H264_FMTP);
      else video.addVP8Codec(PT.vp8);
    }
    // The SSRC we put in our own RTCP (receiver reports, PLI).
    video.addSSRC(this.localSsrc, 'peercam-viewer');
    this.video = this.addTrack(video);
    this.video.onOpen(() =>
      this.safely('video open', () => {
        if (this.closed) return;
        this.videoOpen = true;
        options.onOpen?.();
      }),
    );
    // Called per packet: no closure per call (`safely` takes one), the same guard inline.
    this.video.onMessage((msg) => {
      try {
        this.onPacket(msg, 'video');
      } catch (err) {
        this.log.error({ err, what: 'video rtp' }, 'a node-datachannel callback handler threw');
      }
    });
    if (options.audio) {
      const audio = new ndc.Audio('1', 'RecvOnly');
      audio.addOpusCodec(PT.opus);
      this.audioTrack = this.addTrack(audio);
      this.audioTrack.onMessage((msg) => {
        try {
          this.onPacket(msg, 'audio');
        } catch (err) {
          this.log.error({ err, what: 'audio rtp' }, 'a node-datachannel callback handler threw');
        }
      });
    }
  }

  async createOffer(options: { iceRestart: boolean }): Promise<string> {
    this.assertOpen('create an offer');
    if (options.iceRestart || this.offered) {
      throw new PeercamError('internal', 'node-datachannel cannot restart ICE or re-offer in place: create a new viewer peer.');
    }
    this.offered = true;
    return this.setOffer(() => this.pc.setLocalDescription('offer'), 'creating the offer');
  }

  async answer(): Promise<string> {
    throw new PeercamError('internal', 'A viewer peer only offers: the camera answers (WHEP model).');
  }

  async acceptAnswer(answer: string): Promise<void> {
    this.assertOpen('accept an answer');
    const desc = parseSdp(answer);
    const videoSection = desc.media.find((s) => s.kind === 'video' && s.mid === '0');
    const choice = videoSection ? chooseVideo(videoSection, this.options.videoCodecs ?? ['H264', 'VP8']) : undefined;
    if (!videoSection || !choice || videoSection.port === 0) {
      throw new PeercamError('media', 'The camera answered without any video this viewer offered (H.264 or VP8).');
    }
    const audioSection = desc.media.find((s) => s.kind === 'audio');
    this.applyAnswer(answer, 'the camera');
    this.negotiated = {
      codec: choice.codec,
      videoPt: choice.format.pt,
      remoteSsrc: videoSection.ssrcs[0],
      audioPt: audioSection ? chooseOpus(audioSection)?.pt : undefined,
    };
  }

  requestKeyframe(): boolean {
    const mediaSsrc = this.negotiated?.remoteSsrc ?? this.seenSsrc;
    if (this.closed || !this.videoOpen || mediaSsrc === undefined) return false;
    try {
      return this.video.sendMessageBinary(Buffer.from(serializePli(this.localSsrc, mediaSsrc)));
    } catch (err) {
      this.log.debug({ err }, 'the PLI could not be sent');
      return false;
    }
  }

  private onPacket(msg: Buffer, kind: 'video' | 'audio'): void {
    if (this.closed || msg.length < 12) return;
    if (isRtcp(msg)) {
      // Only the report of the stream this track carries (a track may be handed the whole compound packet).
      const ssrc = kind === 'video' ? (this.negotiated?.remoteSsrc ?? this.seenSsrc) : this.seenAudioSsrc;
      if (this.options.onSenderReport) for (const sr of parseSenderReports(msg)) if (sr.ssrc === ssrc) this.options.onSenderReport(sr, kind);
      return;
    }
    if (kind === 'video' && this.seenSsrc === undefined) this.seenSsrc = msg.readUInt32BE(8);
    if (kind === 'audio' && this.seenAudioSsrc === undefined) this.seenAudioSsrc = msg.readUInt32BE(8);
    this.options.onRtp?.(msg, kind);
  }
}
