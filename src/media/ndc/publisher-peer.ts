import ndc from 'node-datachannel';
import { PeercamError } from '../../protocol/index.js';
import type { Peer, PeerConfig } from '../../session/peer.js';
import { serializePli } from '../rtcp.js';
import { isRtcp } from '../rtp.js';
import { chooseOpus, chooseVideo, type MediaSection, parseSdp, type VideoCodec } from '../sdp.js';
import type { NdcOptions } from './config.js';
import { NdcConnection } from './connection.js';
import { randomSsrc } from './ssrc.js';

export interface PublisherOptions extends NdcOptions {
  /** One received RTP packet (never RTCP). The buffer is only valid during the call: copy it to keep it. */
  readonly onRtp: (packet: Uint8Array, kind: 'video' | 'audio') => void;
}

/** What the answer to a publisher settled. */
export interface PublisherNegotiated {
  readonly codec: VideoCodec;
  readonly videoPt: number;
  /** The Opus payload type when the publisher sends audio we took. */
  readonly audioPt: number | undefined;
}

export interface PublisherPeer extends Peer {
  readonly negotiated: PublisherNegotiated | undefined;
  /** Sends a PLI to the publisher (a keyframe for a new viewer). False when it could not yet. */
  requestKeyframe(): boolean;
}

/**
 * The answerer side of a WHIP ingest (RFC 9725) in Node: the publisher offers sendonly video (+ Opus audio), we answer
 * recvonly and hand out its RTP. libdatachannel cannot restart ICE in place (camera-peer.ts), so neither can this.
 */
export function createPublisherPeer(config: PeerConfig, options: PublisherOptions): PublisherPeer {
  return new NdcPublisherPeer(config, options);
}

class NdcPublisherPeer extends NdcConnection implements PublisherPeer {
  readonly canRestartIce = false;
  negotiated: PublisherNegotiated | undefined;
  private video: ndc.Track | undefined;
  private audio: ndc.Track | undefined;
  private videoOpen = false;
  private readonly localSsrc = randomSsrc();
  private remoteSsrc: number | undefined;

  constructor(
    config: PeerConfig,
    private readonly options: PublisherOptions,
  ) {
    super('whip', config, options);
    this.beforeClose(() => (this.videoOpen = false));
  }

  async createOffer(): Promise<string> {
    throw new PeercamError('internal', 'A WHIP ingest only answers: the publisher makes the offer.');
  }

  async acceptAnswer(): Promise<void> {
    throw new PeercamError('internal', 'A WHIP ingest only answers: it never receives an answer.');
  }

  async answer(offer: string): Promise<string> {
    this.assertOpen('answer an offer');
    if (this.negotiated) throw new PeercamError('internal', 'This WHIP ingest has answered already: create a new peer.');
    const desc = parseSdp(offer);
    const sends = (s: MediaSection) => s.mid !== undefined && s.port !== 0 && (s.direction === 'sendonly' || s.direction === 'sendrecv');
    const videoSection = desc.media.find((s) => s.kind === 'video' && sends(s));
    if (!videoSection?.mid) throw new PeercamError('media', 'The publisher offers no video to send. A camera of the room needs video.');
    const choice = chooseVideo(videoSection, ['H264', 'VP8']);
    if (!choice) {
      const offered = [...new Set(videoSection.formats.map((f) => f.codec))].join(', ') || 'none';
      throw new PeercamError('media', `The publisher offers no H.264 (packetization-mode=1) or VP8 video (it offered ${offered}). Publish H.264 or VP8.`);
    }
    const video = new ndc.Video(videoSection.mid, 'RecvOnly');
    if (choice.codec === 'H264') video.addH264Codec(choice.format.pt, choice.format.fmtp);
    else video.addVP8Codec(choice.format.pt);
    // The SSRC we put in our own RTCP (receiver reports, PLI).
    video.addSSRC(this.localSsrc, 'peercam-whip');
    this.video = this.addTrack(video);
    this.video.onOpen(() => this.safely('video open', () => (this.videoOpen = !this.closed)));
    this.video.onMessage((msg) => this.safely('video rtp', () => this.onPacket(msg, 'video', choice.format.pt)));
    const audioSection = desc.media.find((s) => s.kind === 'audio' && sends(s));
    const opus = audioSection ? chooseOpus(audioSection) : undefined;
    if (audioSection?.mid && opus) {
      const audio = new ndc.Audio(audioSection.mid, 'RecvOnly');
      if (opus.fmtp === undefined) audio.addOpusCodec(opus.pt);
      else audio.addOpusCodec(opus.pt, opus.fmtp);
      this.audio = this.addTrack(audio);
      this.audio.onMessage((msg) => this.safely('audio rtp', () => this.onPacket(msg, 'audio', opus.pt)));
    }
    this.applyOffer(offer, 'the publisher');
    this.negotiated = { codec: choice.codec, videoPt: choice.format.pt, audioPt: this.audio ? opus?.pt : undefined };
    return this.localSdp('applying the offer');
  }

  requestKeyframe(): boolean {
    if (this.closed || !this.videoOpen || !this.video || this.remoteSsrc === undefined) return false;
    try {
      return this.video.sendMessageBinary(Buffer.from(serializePli(this.localSsrc, this.remoteSsrc)));
    } catch (err) {
      this.log.debug({ err }, 'the PLI could not be sent');
      return false;
    }
  }

  private onPacket(msg: Buffer, kind: 'video' | 'audio', pt: number): void {
    if (this.closed || msg.length < 12 || isRtcp(msg) || ((msg[1] ?? 0) & 0x7f) !== pt) return;
    if (kind === 'video' && this.remoteSsrc === undefined) this.remoteSsrc = msg.readUInt32BE(8);
    this.options.onRtp(msg, kind);
  }
}
