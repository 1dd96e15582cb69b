import ndc from 'node-datachannel';
import { PeercamError } from '../../protocol/index.js';
import type { Peer, PeerConfig } from '../../session/peer.js';
import { parseRtcp } from '../rtcp.js';
import { isRtcp } from '../rtp.js';
import { chooseOpus, chooseVideo, type MediaSection, parseSdp, type VideoCodec } from '../sdp.js';
import type { NdcOptions } from './config.js';
import { NdcConnection } from './connection.js';
import { randomSsrc } from './ssrc.js';

/** What the camera can send and who hears the viewer's feedback. */
export interface CameraMedia {
  /** Codec(s) the source can deliver, preferred first. VP8 is used only when listed and H.264 is not offered. */
  readonly video: { readonly codec: VideoCodec | readonly VideoCodec[] };
  /** Present when the camera has an Opus audio source; audio is answered only if the viewer offered Opus too. */
  readonly audio?: { readonly codec: 'opus' };
  /** The viewer lost the picture (PLI, RFC 4585 6.3.1) or asked for a full intra request (FIR, RFC 5104 4.3.1). */
  onKeyframeRequest?(request: { readonly kind: 'pli' | 'fir' }): void;
  /** The viewer reports these video sequence numbers lost (generic NACK, RFC 4585 6.2.1). */
  onNack?(seqs: readonly number[]): void;
  /**
   * The codec chosen for this viewer, before the answer is made (time to start its encode). A PeercamError thrown
   * here refuses the viewer with its message (e.g. the second encode it needs cannot run on this machine).
   */
  onCodec?(codec: VideoCodec): void;
  /** The video track is open: packets sent from now on reach the viewer (time to send the cached GOP). */
  onOpen?(): void;
  /**
   * Present when the camera plays viewers' talk-back: the viewer's sendrecv audio is answered sendrecv (recvonly when
   * the camera has no audio of its own) and each Opus RTP packet it sends arrives here (the buffer is only valid
   * during the call).
   */
  readonly talkBack?: { onRtp(packet: Uint8Array): void };
}

/** What the answer settled; the fan-out rewrites every packet to these values before `sendRtp`. */
export interface Negotiated {
  readonly codec: VideoCodec;
  readonly videoPt: number;
  readonly ssrc: number;
  readonly mid: string;
  /** fmtp of the chosen format as the viewer offered it (H.264: profile-level-id etc.). */
  readonly fmtp: string | undefined;
  readonly audio: { readonly pt: number; readonly ssrc: number; readonly mid: string } | undefined;
  /** The Opus payload type the viewer's talk-back uses, when the answer accepted it. */
  readonly talkBackPt?: number | undefined;
}

export interface CameraPeer extends Peer {
  /** Set once `answer()` has run. */
  readonly negotiated: Negotiated | undefined;
  /** Whether the video track is open (sends before that are dropped). */
  readonly mediaOpen: boolean;
  /** Sends one RTP packet on the video track. False when not sent (not open yet, closed, or the queue refused it). */
  sendRtp(packet: Uint8Array): boolean;
  /** Sends one RTP packet on the audio track (same contract as sendRtp). */
  sendAudioRtp(packet: Uint8Array): boolean;
  /** Sends an RTCP packet (a sender report) about the video or the audio stream, on that stream's track. */
  sendRtcp(packet: Uint8Array, kind: 'video' | 'audio'): boolean;
}

/** The CNAME of every stream this camera sends (its a=ssrc lines and its sender reports, RFC 3550 6.5.1). */
export const CNAME = 'peercam';
const STREAM_ID = 'peercam';

/** The answerer side with node-datachannel: the viewer offers recvonly video (+audio), we answer sendonly. */
export function createCameraPeer(config: PeerConfig, media: CameraMedia, options: NdcOptions = {}): CameraPeer {
  return new NdcCameraPeer(config, media, options);
}

class NdcCameraPeer extends NdcConnection implements CameraPeer {
  /**
   * libdatachannel (0.24, libjuice) cannot restart ICE: a re-offer with new credentials is not applied in place
   * (https://github.com/paullouisageneau/libdatachannel/issues/545). The session builds a new peer instead.
   */
  readonly canRestartIce = false;
  negotiated: Negotiated | undefined;
  private video: ndc.Track | undefined;
  private audio: ndc.Track | undefined;
  private videoOpen = false;
  private audioOpen = false;

  constructor(
    config: PeerConfig,
    private readonly media: CameraMedia,
    options: NdcOptions,
  ) {
    super('camera', config, options);
    this.beforeClose(() => {
      this.videoOpen = false;
      this.audioOpen = false;
    });
  }

  get mediaOpen(): boolean {
    return this.videoOpen && !this.closed;
  }

  async createOffer(): Promise<string> {
    throw new PeercamError('internal', 'A camera peer only answers: the viewer makes the offer (WHEP model).');
  }

  async acceptAnswer(): Promise<void> {
    throw new PeercamError('internal', 'A camera peer only answers: it never receives an answer.');
  }

  async answer(offer: string): Promise<string> {
    this.assertOpen('answer an offer');
    if (this.negotiated) {
      throw new PeercamError('internal', 'This camera peer has answered already and cannot restart ICE: create a new peer.');
    }
    const desc = parseSdp(offer);
    const wanted = (s: MediaSection) => s.mid !== undefined && s.port !== 0 && (s.direction === 'recvonly' || s.direction === 'sendrecv');
    const videoSection = desc.media.find((s) => s.kind === 'video' && wanted(s));
    if (!videoSection?.mid) {
      throw new PeercamError('media', 'The viewer offered no video it can receive. Make it offer a recvonly video transceiver.');
    }
    const preference = typeof this.media.video.codec === 'string' ? [this.media.video.codec] : this.media.video.codec;
    const choice = chooseVideo(videoSection, preference);
    if (!choice) {
      const offered = [...new Set(videoSection.formats.map((f) => f.codec))].join(', ') || 'none';
      throw new PeercamError(
        'media',
        `The viewer offered no video codec this camera can send (it can send ${preference.join('/')} with ` +
          `packetization-mode=1; the viewer offered ${offered}). Use a browser that decodes ${preference.join(' or ')}.`,
      );
    }
    this.prepareCodec(choice.codec, videoSection);
    const ssrc = randomSsrc();
    // The track must exist before the offer is applied: libdatachannel then answers on it with our SSRC (a=ssrc),
    // which Chromium needs to demux; a track taken from onTrack has no SSRC.
    const video = new ndc.Video(videoSection.mid, 'SendOnly');
    if (choice.codec === 'H264') video.addH264Codec(choice.format.pt, choice.format.fmtp);
    else video.addVP8Codec(choice.format.pt);
    video.addSSRC(ssrc, CNAME, STREAM_ID, 'video');
    this.video = this.addTrack(video);
    this.wireVideo(this.video, ssrc);

    let audio: Negotiated['audio'];
    let talkBackPt: number | undefined;
    const sends = (s: MediaSection) => this.media.audio !== undefined && (s.direction === 'recvonly' || s.direction === 'sendrecv');
    const hears = (s: MediaSection) => this.media.talkBack !== undefined && (s.direction === 'sendonly' || s.direction === 'sendrecv');
    const audioSection = desc.media.find((s) => s.kind === 'audio' && s.mid !== undefined && s.port !== 0 && (sends(s) || hears(s)));
    const opus = audioSection ? chooseOpus(audioSection) : undefined;
    if (audioSection?.mid && opus) {
      const send = sends(audioSection);
      const hear = hears(audioSection);
      const track = new ndc.Audio(audioSection.mid, send && hear ? 'SendRecv' : send ? 'SendOnly' : 'RecvOnly');
      if (opus.fmtp === undefined) track.addOpusCodec(opus.pt); else track.addOpusCodec(opus.pt, opus.fmtp); // the binding rejects an explicit undefined
      const audioSsrc = randomSsrc(ssrc);
      if (send) track.addSSRC(audioSsrc, CNAME, STREAM_ID, 'audio');
      this.audio = this.addTrack(track);
      this.wireAudio(this.audio, hear ? opus.pt : undefined);
      if (send) audio = { pt: opus.pt, ssrc: audioSsrc, mid: audioSection.mid };
      if (hear) talkBackPt = opus.pt;
    }

    this.applyOffer(offer, 'the viewer');
    this.negotiated = { codec: choice.codec, videoPt: choice.format.pt, ssrc, mid: videoSection.mid, fmtp: choice.format.fmtp, audio, talkBackPt };
    this.log.debug({ negotiated: this.negotiated }, 'answered');
    return this.localSdp('applying the offer');
  }

  private prepareCodec(codec: VideoCodec, offer: MediaSection): void {
    try {
      this.media.onCodec?.(codec);
    } catch (err) {
      const offered = [...new Set(offer.formats.map((f) => f.codec).filter((c) => !/^(rtx|red|ulpfec|flexfec-03)$/i.test(c)))].join(', ');
      const why = err instanceof PeercamError ? err.message : String(err);
      throw new PeercamError('media', `This camera cannot send ${codec}, which this viewer needs (it offered ${offered}): ${why}`, { cause: err });
    }
  }

  sendRtp(packet: Uint8Array): boolean {
    return this.videoOpen ? this.sendOn(this.video, packet) : false;
  }

  sendAudioRtp(packet: Uint8Array): boolean {
    return this.audioOpen ? this.sendOn(this.audio, packet) : false;
  }

  sendRtcp(packet: Uint8Array, kind: 'video' | 'audio'): boolean {
    // libdatachannel tells RTCP from RTP by the packet type (RFC 5761 4) and protects it as SRTCP.
    return kind === 'video' ? this.sendRtp(packet) : this.sendAudioRtp(packet);
  }

  private sendOn(track: ndc.Track | undefined, packet: Uint8Array): boolean {
    if (this.closed || !track) return false;
    try {
      return track.sendMessageBinary(Buffer.from(packet.buffer, packet.byteOffset, packet.byteLength));
    } catch (err) {
      this.log.debug({ err }, 'an RTP packet could not be sent');
      return false;
    }
  }

  private wireVideo(track: ndc.Track, ssrc: number): void {
    track.onOpen(() =>
      this.safely('video open', () => {
        if (this.closed) return;
        this.videoOpen = true;
        this.media.onOpen?.();
      }),
    );
    track.onError((err) => this.safely('video error', () => this.log.warn({ err }, 'video track error')));
    // On a send-only track libdatachannel hands us the viewer's raw RTCP (receiver reports and feedback).
    track.onMessage((msg) => this.safely('rtcp', () => this.onRtcp(msg, ssrc)));
  }

  /** `talkBackPt`: the viewer's Opus payload type, when its talk-back is taken. */
  private wireAudio(track: ndc.Track, talkBackPt: number | undefined): void {
    track.onOpen(() => this.safely('audio open', () => (this.audioOpen = !this.closed)));
    track.onError((err) => this.safely('audio error', () => this.log.warn({ err }, 'audio track error')));
    const talkBack = this.media.talkBack;
    // RTCP arrives here too (reports on either direction): only RTP of the negotiated Opus format is talk-back.
    if (talkBackPt === undefined || !talkBack) return;
    track.onMessage((msg) =>
      this.safely('talk-back', () => {
        if (!this.closed && msg.length > 12 && !isRtcp(msg) && ((msg[1] ?? 0) & 0x7f) === talkBackPt) talkBack.onRtp(msg);
      }),
    );
  }

  private onRtcp(msg: Buffer, ssrc: number): void {
    if (this.closed || !isRtcp(msg)) return;
    let messages: ReturnType<typeof parseRtcp>;
    try {
      messages = parseRtcp(msg);
    } catch (err) {
      this.log.debug({ err }, 'ignored malformed RTCP from the viewer');
      return;
    }
    for (const m of messages) {
      if (m.type === 'pli' && (m.mediaSsrc === ssrc || m.mediaSsrc === 0)) this.media.onKeyframeRequest?.({ kind: 'pli' });
      else if (m.type === 'fir' && m.entries.some((e) => e.ssrc === ssrc)) this.media.onKeyframeRequest?.({ kind: 'fir' });
      else if (m.type === 'nack' && m.mediaSsrc === ssrc) this.media.onNack?.(m.lost);
    }
  }
}
