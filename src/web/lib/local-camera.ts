import { type DeviceId, Emitter, type Logger } from '../../protocol/index.js';
import { CameraEndpoint, type PeerConfig, W3cPeer } from '../../session/index.js';
import type { Channel } from '../../signaling/channel.js';

export interface TalkBack {
  readonly viewer: DeviceId;
  readonly stream: MediaStream;
  readonly peer: W3cPeer;
}

export interface LocalCameraEvents {
  /** The number of viewers changed. */
  viewers: (count: number) => void;
  /** A viewer's talk-back audio track arrived (it carries sound only while the viewer holds push-to-talk). */
  talkBack: (talk: TalkBack) => void;
  /** A viewer's session ended. */
  left: (viewer: DeviceId) => void;
}

/** This browser as a camera of the room: answers every viewer with the current stream, over the W3C peer. */
export class LocalCamera extends Emitter<LocalCameraEvents> {
  private readonly endpoint: CameraEndpoint;
  private readonly peers = new Set<W3cPeer>();

  constructor(
    channel: Channel,
    config: PeerConfig,
    private stream: MediaStream,
    log: Logger,
  ) {
    super();
    this.endpoint = new CameraEndpoint({
      channel,
      config,
      log,
      peerFactory: (cfg, ctx) => {
        const peer = new W3cPeer({
          RTCPeerConnection,
          config: cfg,
          media: { role: 'camera', stream: () => this.stream },
          onTrack: (track, s) => {
            if (track.kind === 'audio') this.emit('talkBack', { viewer: ctx.viewer, stream: s, peer });
          },
        });
        this.peers.add(peer);
        peer.on('state', (st) => st === 'closed' && this.peers.delete(peer));
        return peer;
      },
    });
    this.endpoint.on('session', () => this.emit('viewers', this.endpoint.viewers));
    this.endpoint.on('ended', (s) => {
      this.emit('viewers', this.endpoint.viewers);
      this.emit('left', s.remote);
    });
  }

  get viewers(): number {
    return this.endpoint.viewers;
  }

  get current(): MediaStream {
    return this.stream;
  }

  /** Swaps in a new stream (another camera, or the same one re-acquired after the page was in background). */
  async replaceStream(stream: MediaStream): Promise<void> {
    const old = this.stream;
    this.stream = stream;
    for (const peer of this.peers) for (const track of stream.getTracks()) await peer.replaceTrack(track).catch(() => {});
    for (const t of old.getTracks()) if (!stream.getTracks().includes(t)) t.stop();
  }

  close(): void {
    this.endpoint.close();
    for (const t of this.stream.getTracks()) t.stop();
    this.removeAllListeners();
  }
}
