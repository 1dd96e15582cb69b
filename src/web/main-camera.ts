import { PageMotion } from './lib/camera-motion.js';
import type { BrowserPublication, BrowserRoom } from '../api/browser.js';
import { PeercamError, type Room } from '../protocol/index.js';
import type { SealedChannel } from '../signaling/channel.js';
import { CaptureError, type CaptureChoice, capture } from './lib/capture.js';
import { connect, showStatus } from './lib/connection.js';
import { byId, clearNotices, notice } from './lib/dom.js';
import { consoleLogger, defaultName, fetchHubInfo, pagePeerConfig, tabDeviceId } from './lib/join.js';
import { pageRoom } from './lib/page-room.js';
import { catchEverything, showNoRoom } from './lib/no-room.js';
import { loadPageRoom } from './lib/room-link.js';
import { TalkPlayer } from './lib/talk-player.js';
import { ScreenAwake } from './lib/wake-lock.js';
import { checkWebRtc } from './lib/webrtc.js';

catchEverything();
void main();

async function main(): Promise<void> {
  const result = await loadPageRoom();
  if (!result.ok) {
    showNoRoom(result.why === 'none' ? 'none' : 'bad-link');
    if (result.why === 'bad-link') notice('error', 'This pairing link does not work', result.message);
    return;
  }
  await new CameraPage(result.room).init();
}

/** /camera: this device as a camera of the room, serving every viewer; `?autostart=1` starts at once. */
class CameraPage {
  private readonly log = consoleLogger({ page: 'camera' });
  private readonly preview = byId<HTMLVideoElement>('preview');
  private readonly startButton = byId<HTMLButtonElement>('start');
  private readonly cameraSelect = byId<HTMLSelectElement>('camera-select');
  private readonly micSelect = byId<HTMLSelectElement>('mic-select');
  private readonly sizeSelect = byId<HTMLSelectElement>('size-select');
  private readonly nameInput = byId<HTMLInputElement>('name');
  private readonly viewersEl = byId('viewers');
  private readonly awake = new ScreenAwake();
  private facing: 'user' | 'environment' = 'environment';
  private channel: SealedChannel | undefined;
  private camera: BrowserPublication | undefined;
  private joined: BrowserRoom | undefined;
  private busy = false;
  private talkers: TalkPlayer | undefined;
  private motion: PageMotion | undefined;

  /** Asked at once, used when connecting: capture and this request run side by side. */
  private readonly hub: ReturnType<typeof fetchHubInfo>;

  constructor(private readonly room: Room) {
    this.hub = fetchHubInfo(room);
  }

  async init(): Promise<void> {
    byId('room-name').textContent = this.room.options.name ?? `Room ${this.room.id.slice(0, 6)}`;
    // The pairing panel (and its QR encoder) is its own chunk, fetched on the first click.
    byId('pair').addEventListener('click', () => void Promise.all([this.hub, import('./lib/pairing.js')]).then(([hub, pairing]) => pairing.openPairing(this.room, hub)));
    this.nameInput.value = localStorage.getItem('peercam.camera-name') ?? `${defaultName()} camera`;
    this.startButton.addEventListener('click', () => void (this.camera ? this.stop() : this.start()));
    this.startButton.disabled = false; // disabled in the page until this listener exists
    byId('front').addEventListener('click', () => void this.flip('user'));
    byId('back').addEventListener('click', () => void this.flip('environment'));
    for (const s of [this.cameraSelect, this.micSelect, this.sizeSelect]) s.addEventListener('change', () => void this.recapture());
    this.nameInput.addEventListener('change', () => void this.rename());
    // Phones stop the camera when the page goes to background; take it again when the page comes back.
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible' && this.camera && !this.live(this.camera.stream)) void this.recapture();
    });
    // Leave the room cleanly when the page goes away (the broker's last will covers a crash).
    window.addEventListener('pagehide', () => void this.channel?.close());
    showStatus('offline', 'Not started');
    document.body.dataset.ready = 'true';
    if (new URLSearchParams(location.search).get('autostart') === '1') await this.start();
  }

  private choice(): CaptureChoice {
    return {
      videoDeviceId: this.cameraSelect.value || undefined,
      audioDeviceId: this.micSelect.value || undefined,
      facing: this.facing,
      height: Number(this.sizeSelect.value) || 720,
    };
  }

  private async start(): Promise<void> {
    if (this.busy || this.camera) return;
    this.busy = true;
    this.startButton.disabled = true;
    clearNotices();
    const name = this.nameInput.value.trim() || defaultName();
    localStorage.setItem('peercam.camera-name', name);
    // Joining the room and opening the camera run side by side; the presence says "camera" once there is a picture
    // (until then this device is a plain member the grid does not show).
    const presence = { name, role: 'viewer', agent: 'peercam/0.1.0 web' } as const;
    const joining = connect(this.room, tabDeviceId('camera'), presence, this.log);
    joining.catch(() => {}); // handled below, after the capture
    try {
      let stream: MediaStream;
      try {
        stream = await capture(this.choice());
      } catch (err) {
        this.fail(err);
        void joining.then((c) => c.close(), () => {});
        showStatus('offline', 'Not started');
        return;
      }
      performance.mark('peercam:captured');
      this.show(stream);
      const config = await pagePeerConfig(() => this.hub);
      let camera: BrowserPublication;
      try {
        this.channel = await joining;
        this.joined = pageRoom(this.channel, presence, config, this.log);
        // In the room with a preview, but no viewer could ever connect: say so, and announce no camera.
        if (!checkWebRtc()) {
          this.startButton.hidden = true;
          return;
        }
        camera = await this.joined.publish(stream, { name, talkBack: true });
      } catch (err) {
        for (const t of stream.getTracks()) t.stop();
        notice('error', 'Cannot join this room from a browser', err instanceof PeercamError ? err.message : String(err));
        return;
      }
      performance.mark('peercam:online');
      void this.listDevices();
      this.camera = camera;
      // ?motionQuiet=<s>: a shorter quiet time (tests); the default ends an event after 10 s without motion.
      const quiet = Number(new URLSearchParams(location.search).get('motionQuiet') ?? Number.NaN);
      this.motion = new PageMotion(this.channel, this.preview, this.log, quiet > 0 ? { quietMs: quiet * 1000 } : {});
      this.talkers = new TalkPlayer(byId('talkers'), (id) => this.channel?.peers.get(id)?.name ?? id);
      camera.on('viewers', (n) => this.showViewers(n));
      camera.on('talkBack', (t) => this.talkers?.add(t));
      camera.on('left', (id) => this.talkers?.remove(id));
      stream.getVideoTracks()[0]?.addEventListener('ended', () => document.visibilityState === 'visible' && void this.recapture());
      this.showViewers(0);
      await this.awake.keep();
      byId('awake').textContent = this.awake.supported ? 'Screen kept on while live.' : 'This browser cannot keep the screen on: keep it awake yourself.';
      document.body.dataset.live = 'true';
    } finally {
      this.busy = false;
      this.startButton.disabled = false;
      this.startButton.textContent = this.camera ? 'Stop camera' : 'Start camera';
    }
  }

  private async stop(): Promise<void> {
    this.motion?.close();
    this.motion = undefined;
    for (const t of this.camera?.stream.getTracks() ?? []) t.stop();
    this.camera = undefined;
    await this.joined?.leave();
    this.joined = undefined;
    this.channel = undefined;
    await this.awake.release();
    this.preview.srcObject = null;
    this.startButton.textContent = 'Start camera';
    delete document.body.dataset.live;
    showStatus('offline', 'Stopped');
    this.viewersEl.textContent = '';
  }

  /** New camera, microphone, size or facing: capture again and swap the tracks under every viewer. */
  private async recapture(): Promise<void> {
    const camera = this.camera;
    if (!camera || this.busy) return;
    this.busy = true;
    try {
      const old = camera.stream;
      for (const t of old.getVideoTracks()) t.stop(); // phones allow one open camera at a time
      const stream = await capture(this.choice());
      await camera.replaceStream(stream);
      for (const t of old.getTracks()) if (!stream.getTracks().includes(t)) t.stop();
      this.show(stream);
    } catch (err) {
      this.fail(err);
    } finally {
      this.busy = false;
    }
  }

  private async flip(facing: 'user' | 'environment'): Promise<void> {
    this.facing = facing;
    this.cameraSelect.value = '';
    byId('front').classList.toggle('active', facing === 'user');
    byId('back').classList.toggle('active', facing === 'environment');
    await this.recapture();
  }

  private async rename(): Promise<void> {
    const name = this.nameInput.value.trim() || defaultName();
    localStorage.setItem('peercam.camera-name', name);
    await this.camera?.rename(name).catch(() => {});
  }

  private show(stream: MediaStream): void {
    this.preview.srcObject = stream;
    this.preview.muted = true;
    void this.preview.play().catch(() => {});
    const s = stream.getVideoTracks()[0]?.getSettings();
    byId('capture-info').textContent = s?.width && s.height ? `${s.width}×${s.height}${s.frameRate ? ` · ${Math.round(s.frameRate)} fps` : ''}` : '';
  }

  private showViewers(n: number): void {
    this.viewersEl.dataset.count = String(n);
    this.viewersEl.textContent = n === 0 ? 'Live · nobody watching yet' : `Live · ${n} watching`;
  }

  private async listDevices(): Promise<void> {
    const devices = await navigator.mediaDevices.enumerateDevices().catch(() => []);
    const fill = (select: HTMLSelectElement, kind: MediaDeviceKind, first: [string, string][]) => {
      const keep = select.value;
      select.replaceChildren(
        ...first.map(([v, l]) => new Option(l, v)),
        ...devices.filter((d) => d.kind === kind).map((d, i) => new Option(d.label || `${kind === 'videoinput' ? 'Camera' : 'Microphone'} ${i + 1}`, d.deviceId)),
      );
      select.value = keep;
    };
    fill(this.cameraSelect, 'videoinput', [['', 'Default (front/back buttons)']]);
    fill(this.micSelect, 'audioinput', [
      ['', 'Default microphone'],
      ['none', 'No microphone'],
    ]);
  }

  private live(stream: MediaStream): boolean {
    return stream.getVideoTracks().some((t) => t.readyState === 'live' && !t.muted);
  }

  private fail(err: unknown): void {
    const e = err instanceof CaptureError ? err : undefined;
    notice('error', e?.title ?? 'Could not open the camera', err instanceof Error ? err.message : String(err));
    document.body.dataset.captureError = e?.kind ?? 'other';
  }
}
