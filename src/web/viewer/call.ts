import type { Logger } from '../../protocol/index.js';
import type { PeerConfig } from '../../session/index.js';
import type { Channel } from '../../signaling/channel.js';
import { CaptureError, capture } from '../lib/capture.js';
import { h, notice } from '../lib/dom.js';
import { LocalCamera } from '../lib/local-camera.js';
import { TalkPlayer } from '../lib/talk-player.js';

/**
 * A two-way call: this viewer also becomes a camera of the room on the same channel, so two browsers that both share
 * see each other (each watches the other's tile, each answers the other's offer).
 */
export class CallMode {
  readonly preview: HTMLElement;
  private readonly video: HTMLVideoElement;
  private camera: LocalCamera | undefined;
  private readonly talkers: TalkPlayer;

  constructor(
    private readonly channel: Channel,
    private readonly config: PeerConfig,
    private readonly name: string,
    private readonly log: Logger,
  ) {
    this.video = h('video', { autoplay: true, playsinline: true, muted: true, class: 'self-view' });
    this.video.muted = true;
    const list = h('ul', { class: 'talkers' });
    this.preview = h('div', { class: 'self', hidden: true }, this.video, list);
    this.talkers = new TalkPlayer(list, (id) => channel.peers.get(id)?.name ?? id);
  }

  get sharing(): boolean {
    return this.camera !== undefined;
  }

  async toggle(button: HTMLButtonElement): Promise<void> {
    button.disabled = true;
    try {
      if (this.camera) await this.stop();
      else await this.start();
    } finally {
      button.disabled = false;
      button.textContent = this.camera ? 'Stop sharing my camera' : 'Share my camera here';
      button.classList.toggle('active', this.camera !== undefined);
    }
  }

  private async start(): Promise<void> {
    let stream: MediaStream;
    try {
      // 480p: in a call every participant encodes once per watcher, and phones run hot.
      stream = await capture({ height: 480, facing: 'user' });
    } catch (err) {
      const e = err instanceof CaptureError ? err : undefined;
      notice('error', e?.title ?? 'Could not open the camera', err instanceof Error ? err.message : String(err));
      return;
    }
    const camera = new LocalCamera(this.channel, this.config, stream, this.log);
    camera.on('talkBack', (t) => this.talkers.add(t));
    camera.on('left', (id) => this.talkers.remove(id));
    this.camera = camera;
    this.video.srcObject = stream;
    this.preview.hidden = false;
    await this.channel.setPresence({
      name: this.name,
      role: 'camera',
      sources: [{ id: 'main', name: 'camera', kinds: stream.getAudioTracks().length > 0 ? ['video', 'audio'] : ['video'] }],
      talkBack: true,
      agent: 'peercam/0.1.0 web',
    });
  }

  private async stop(): Promise<void> {
    this.camera?.close();
    this.camera = undefined;
    this.video.srcObject = null;
    this.preview.hidden = true;
    await this.channel.setPresence({ name: `${this.name} (viewer)`, role: 'viewer', agent: 'peercam/0.1.0 web' });
  }
}
