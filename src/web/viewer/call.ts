import type { BrowserPublication, BrowserRoom } from '../../api/browser.js';
import { CaptureError, capture } from '../lib/capture.js';
import { h, notice } from '../lib/dom.js';
import { TalkPlayer } from '../lib/talk-player.js';

/**
 * A two-way call: this viewer also becomes a camera of the room (publish on the same room), so two browsers that both
 * share see each other (each watches the other's tile, each answers the other's offer).
 */
export class CallMode {
  readonly preview: HTMLElement;
  private readonly video: HTMLVideoElement;
  private camera: BrowserPublication | undefined;
  private readonly talkers: TalkPlayer;

  constructor(
    private readonly room: BrowserRoom,
    private readonly name: string,
  ) {
    this.video = h('video', { autoplay: true, playsinline: true, muted: true, class: 'self-view' });
    this.video.muted = true;
    const list = h('ul', { class: 'talkers' });
    this.preview = h('div', { class: 'self', hidden: true }, this.video, list);
    this.talkers = new TalkPlayer(list, (id) => room.devices.get(id)?.name ?? id);
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
    this.video.srcObject = stream;
    this.preview.hidden = false;
    const camera = await this.room.publish(stream, { name: this.name, talkBack: true });
    camera.on('talkBack', (t) => this.talkers.add(t));
    camera.on('left', (id) => this.talkers.remove(id));
    this.camera = camera;
  }

  /** Back to a plain viewer (the presence it joined with). */
  private async stop(): Promise<void> {
    const camera = this.camera;
    this.camera = undefined;
    this.video.srcObject = null;
    this.preview.hidden = true;
    if (!camera) return;
    for (const t of camera.stream.getTracks()) t.stop();
    await camera.close();
  }
}
