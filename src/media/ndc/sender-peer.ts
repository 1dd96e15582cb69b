import ndc from 'node-datachannel';
import { type CandidateInit, PeercamError } from '../../protocol/index.js';
import type { PeerConfig } from '../../session/peer.js';
import { parseRtcp } from '../rtcp.js';
import { isRtcp } from '../rtp.js';
import type { VideoCodec } from '../sdp.js';
import type { NdcOptions } from './config.js';
import { NdcConnection } from './connection.js';
import { randomSsrc } from './ssrc.js';

export interface SenderOptions extends NdcOptions {
  readonly codec: VideoCodec;
  /** Also send Opus audio. */
  readonly audio: boolean;
  /** The receiver asked for a keyframe (PLI or FIR). */
  readonly onKeyframeRequest: () => void;
  /** The video track opened: media may flow. */
  readonly onOpen: () => void;
}

/** The payload types and SSRCs this sender offered: the fan-out rewrites packets to them. */
export interface SenderMedia {
  readonly videoPt: number;
  readonly videoSsrc: number;
  readonly audioPt: number;
  readonly audioSsrc: number;
}

const PT = { h264: 102, vp8: 96, opus: 111 } as const;
const H264_FMTP = 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f';

/**
 * The offerer that sends (a WHIP client, RFC 9725): sendonly video (+ Opus) to a media server that answers. Offers
 * once, with every candidate in the offer (libdatachannel cannot restart ICE in place).
 */
export class NdcSenderPeer extends NdcConnection {
  readonly canRestartIce = false;
  readonly media: SenderMedia;
  private readonly video: ndc.Track;
  private readonly audioTrack: ndc.Track | undefined;
  private videoOpen = false;
  private audioOpen = false;
  private readonly gatheredCandidates: CandidateInit[] = [];

  constructor(config: PeerConfig, options: SenderOptions) {
    super('whip-out', config, options);
    this.beforeClose(() => {
      this.videoOpen = false;
      this.audioOpen = false;
    });
    const videoSsrc = randomSsrc();
    const audioSsrc = randomSsrc(videoSsrc);
    const videoPt = options.codec === 'H264' ? PT.h264 : PT.vp8;
    this.media = { videoPt, videoSsrc, audioPt: PT.opus, audioSsrc };
    const video = new ndc.Video('0', 'SendOnly');
    if (options.codec === 'H264') video.addH264Codec(videoPt, H264_FMTP);
    else video.addVP8Codec(videoPt);
    video.addSSRC(videoSsrc, 'peercam', 'peercam', 'video');
    this.video = this.addTrack(video);
    this.video.onOpen(() =>
      this.safely('video open', () => {
        if (this.closed) return;
        this.videoOpen = true;
        options.onOpen();
      }),
    );
    this.video.onMessage((msg) =>
      this.safely('rtcp', () => {
        if (this.closed || !isRtcp(msg)) return;
        try {
          if (parseRtcp(msg).some((m) => m.type === 'pli' || m.type === 'fir')) options.onKeyframeRequest();
        } catch {
          // malformed RTCP from the server: nothing to act on
        }
      }),
    );
    if (options.audio) {
      const audio = new ndc.Audio('1', 'SendOnly');
      audio.addOpusCodec(PT.opus);
      audio.addSSRC(audioSsrc, 'peercam', 'peercam', 'audio');
      this.audioTrack = this.addTrack(audio);
      this.audioTrack.onOpen(() => this.safely('audio open', () => (this.audioOpen = !this.closed)));
    }
    this.on('candidate', (c) => this.gatheredCandidates.push(c));
  }

  /** The offer with every candidate in it (waits for gathering, at most `gatherMs`). */
  async offer(gatherMs = 3000): Promise<string> {
    this.assertOpen('create an offer');
    let timer: ReturnType<typeof setTimeout> | undefined;
    const gathered = new Promise<void>((resolve) => {
      this.on('gathered', () => resolve());
      timer = setTimeout(resolve, gatherMs);
    });
    this.pc.setLocalDescription('offer');
    await gathered;
    clearTimeout(timer);
    const sdp = this.localSdp('creating the offer');
    if (/^a=candidate:/m.test(sdp) || this.gatheredCandidates.length === 0) return sdp;
    // Put the candidates into the first m-section (BUNDLE) when the engine left them out of its description.
    const lines = sdp.split(/\r?\n/).filter((l) => l !== '');
    const second = lines.findIndex((l, i) => i > 0 && l.startsWith('m=') && lines.slice(0, i).some((x) => x.startsWith('m=')));
    const at = second === -1 ? lines.length : second;
    lines.splice(at, 0, ...this.gatheredCandidates.map((c) => `a=${c.candidate.replace(/^a=/, '')}`), 'a=end-of-candidates');
    return `${lines.join('\r\n')}\r\n`;
  }

  acceptAnswer(answer: string): void {
    this.assertOpen('accept an answer');
    try {
      this.pc.setRemoteDescription(answer, 'answer');
    } catch (err) {
      throw new PeercamError('media', `The WebRTC engine rejected the WHIP server's answer: ${String(err)}.`, { cause: err });
    }
  }

  sendVideo(packet: Uint8Array): boolean {
    return this.videoOpen ? this.sendOn(this.video, packet) : false;
  }

  sendAudio(packet: Uint8Array): boolean {
    return this.audioOpen ? this.sendOn(this.audioTrack, packet) : false;
  }

  private sendOn(track: ndc.Track | undefined, packet: Uint8Array): boolean {
    if (this.closed || !track) return false;
    try {
      return track.sendMessageBinary(Buffer.from(packet.buffer, packet.byteOffset, packet.byteLength));
    } catch {
      return false;
    }
  }
}
