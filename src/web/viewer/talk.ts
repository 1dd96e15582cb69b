import { captureMic } from '../lib/capture.js';

/** Where talk-back goes: the sender of one camera session's audio transceiver. */
export interface TalkTarget {
  readonly talkBack: RTCRtpSender | undefined;
}

/**
 * Push-to-talk: the microphone is opened on the first press and put on the pressed camera's talk-back sender with
 * replaceTrack (no renegotiation); released, the sender goes silent, and the microphone closes when nobody talks.
 */
export class TalkBack {
  private mic: Promise<MediaStreamTrack> | undefined;
  private readonly talking = new Set<TalkTarget>();

  async press(target: TalkTarget): Promise<void> {
    this.talking.add(target);
    this.mic ??= captureMic();
    let track: MediaStreamTrack;
    try {
      track = await this.mic;
    } catch (err) {
      this.mic = undefined;
      this.talking.delete(target);
      throw err;
    }
    if (this.talking.has(target)) await target.talkBack?.replaceTrack(track);
  }

  async release(target: TalkTarget): Promise<void> {
    if (!this.talking.delete(target)) return;
    await target.talkBack?.replaceTrack(null).catch(() => {});
    if (this.talking.size === 0 && this.mic) {
      const mic = this.mic;
      this.mic = undefined;
      (await mic.catch(() => undefined))?.stop();
    }
  }

  isTalking(target: TalkTarget): boolean {
    return this.talking.has(target);
  }
}
