import type { BrowserRoom, BrowserWatch } from '../../api/browser.js';
import type { Device } from '../../api/room.js';
import { cameraFolder, type Logger } from '../../protocol/index.js';
import { exponentialBackoff } from '../../signaling/backoff.js';
import { h, notice } from '../lib/dom.js';
import { icon } from '../lib/icons.js';
import { recordingsHref } from '../lib/room-link.js';
import { formatStats, StatsReader } from '../lib/stats.js';
import { mark } from '../lib/timeline.js';
import { hasWebRtc, NO_WEBRTC } from '../lib/webrtc.js';
import type { TalkBack } from './talk.js';

/** A camera a recorder receives now: written ('rec'), or not, the recorder being unable to write ('stopped'). */
export type RecordingNow = 'rec' | 'stopped';

export type TileState = 'connecting' | 'live' | 'offline';

/** How far back a tile's Replay starts: what just happened, as a doorbell camera's replay does. */
const REPLAY_MS = 30_000;

/** Waits between attempts to watch a camera that is present but not reachable: 1, 2, 4, 8, then every 10 s. */
const RETRY = exponentialBackoff({ initialMs: 1000, maxMs: 10_000, jitter: 'none' });

/** One camera in the grid: its watch (which reconnects while the camera is present), video and controls. */
export class Tile {
  readonly el: HTMLElement;
  private readonly video: HTMLVideoElement;
  private readonly badge: HTMLElement;
  private readonly statsLine: HTMLElement;
  private readonly nameEl: HTMLElement;
  private readonly muteButton: HTMLButtonElement;
  private readonly talkButton: HTMLButtonElement;
  private readonly replayLink: HTMLAnchorElement;
  /** "REC" while the room's recorder receives this camera, "not recording" while it cannot write. */
  private readonly recBadge: HTMLElement;
  /** The recorder keeps recordings of this camera (Replay), and whether it records it now. */
  private kept = false;
  private recording: RecordingNow | undefined;
  private readonly stats = new StatsReader();
  private watch: BrowserWatch | undefined;
  /** A watch asked for (it comes a microtask later): a second start() in between must not ask again. */
  private watching = false;
  private statsTimer: ReturnType<typeof setInterval> | undefined;
  private startedAt = 0;
  private disposed = false;
  private stateNow: TileState = 'connecting';
  /** Why ICE cannot connect (the session's diagnosis), shown until the tile is live. */
  private problem: string | undefined;

  constructor(
    private readonly room: BrowserRoom,
    private camera: Device,
    private readonly talk: TalkBack,
    private readonly log: Logger,
  ) {
    this.video = h('video', { autoplay: true, playsinline: true, muted: true });
    this.video.muted = true; // autoplay needs it; the user unmutes per tile
    this.nameEl = h('span', { class: 'name' }, camera.name);
    this.badge = h('span', { class: 'badge' });
    this.recBadge = h('span', { class: 'rec', hidden: true });
    this.statsLine = h('div', { class: 'stats' }, '');
    this.muteButton = h('button', { type: 'button', class: 'mute', title: 'Sound on/off', 'aria-label': 'Sound on', onclick: () => this.toggleMute() }, icon('muted'));
    this.talkButton = h('button', { type: 'button', class: 'talk', title: 'Hold to talk to this camera' }, icon('mic'), 'Hold to talk');
    this.wireTalk(this.talkButton);
    this.replayLink = h('a', { class: 'button replay', title: 'Replay the last 30 seconds', 'aria-label': 'Replay the last 30 seconds', hidden: true }, icon('replay'));
    // Set again as it is pressed, so that "the last 30 seconds" are those before the press.
    for (const ev of ['pointerdown', 'focus', 'click']) this.replayLink.addEventListener(ev, () => this.aimReplay());
    this.talkButton.hidden = camera.talkBack === false;
    this.el = h(
      'article',
      { class: 'tile', 'data-camera': camera.id },
      h('div', { class: 'frame' }, this.video, h('div', { class: 'overlay' }, this.nameEl, h('span', { class: 'tags' }, this.recBadge, this.badge))),
      h(
        'div',
        { class: 'bar' },
        this.statsLine,
        h(
          'div',
          { class: 'controls' },
          this.muteButton,
          this.replayLink,
          h('button', { type: 'button', class: 'snapshot', title: 'Save a PNG snapshot', 'aria-label': 'Snapshot', onclick: () => void this.snapshot() }, icon('camera')),
          h('button', { type: 'button', class: 'fullscreen', title: 'Fullscreen', 'aria-label': 'Fullscreen', onclick: () => void this.fullscreen() }, icon('fullscreen')),
          this.talkButton,
        ),
      ),
    );
    this.setState('connecting');
    this.video.addEventListener('loadeddata', () => this.onFirstFrame());
    // The first frame presented, to the page's timeline (loadeddata can come a frame later), and its size (a camera
    // whose encoder starts low shows a smaller first picture).
    const first = (_now: number, frame: VideoFrameCallbackMetadata) => {
      mark('frame', this.camera.id);
      this.el.dataset.firstFrameSize = `${frame.width}x${frame.height}`;
    };
    const video: HTMLVideoElement = this.video;
    if (typeof video.requestVideoFrameCallback === 'function') video.requestVideoFrameCallback(first);
    else video.addEventListener('loadeddata', () => mark('frame', this.camera.id), { once: true });
    this.statsTimer = setInterval(() => void this.readStats(), 1000);
  }

  get id(): string {
    return this.camera.id;
  }

  get state(): TileState {
    return this.stateNow;
  }

  /** The talk-back sender of the current connection (push-to-talk puts the microphone there). */
  get talkBack(): RTCRtpSender | undefined {
    return this.watch?.talkBack;
  }

  update(camera: Device): void {
    this.camera = camera;
    this.nameEl.textContent = camera.name;
    // A camera that says it plays no talk-back (a Node camera without --speaker) gets no button that does nothing.
    this.talkButton.hidden = camera.talkBack === false;
  }

  /** Shows Replay when the room's recorder keeps this camera (`recorded`: the recordings names of the cameras it keeps). */
  setRecorded(recorded: ReadonlySet<string>): void {
    this.kept = recorded.has(cameraFolder(this.camera.name));
    this.showRecording();
  }

  /** Whether a recorder of the room records this camera now (`now`: by recordings name), as their presence says. */
  setRecording(now: ReadonlyMap<string, RecordingNow>): void {
    this.recording = now.get(cameraFolder(this.camera.name));
    this.showRecording();
  }

  private showRecording(): void {
    this.replayLink.hidden = !this.kept && this.recording === undefined;
    this.recBadge.hidden = this.recording === undefined;
    this.recBadge.dataset.state = this.recording ?? '';
    this.recBadge.textContent = this.recording === 'stopped' ? 'not recording' : 'REC';
    this.recBadge.title = this.recording === 'stopped' ? 'The recorder cannot write: see the notice above the grid' : 'The room’s recorder records this camera';
    this.aimReplay();
  }

  private aimReplay(): void {
    this.replayLink.href = recordingsHref(this.camera.name, Date.now() - REPLAY_MS);
  }

  start(): void {
    if (this.disposed || this.watching) return;
    if (!hasWebRtc()) {
      this.setState('offline', NO_WEBRTC.short);
      return;
    }
    this.watching = true;
    this.startedAt = performance.now();
    this.setState('connecting');
    void this.room.watch(this.camera, { retry: RETRY, log: this.log }).then(
      (w) => this.follow(w),
      (err: unknown) => {
        this.watching = false;
        this.setState('offline', `Could not start: ${String(err)}`);
      },
    );
  }

  /** The broker link dropped: the picture may go on (media is peer to peer), but signaling is paused. */
  linkDown(): void {
    if (this.stateNow === 'connecting') this.setState('offline', 'waiting for the broker');
  }

  /**
   * The broker link is back: a tile made while it was down starts now. (A watch under way starts over, or tries again
   * at once, by itself: a negotiation whose messages were lost does not wait out its timers.)
   */
  linkUp(): void {
    if (!this.watch) this.start();
  }

  dispose(): void {
    this.disposed = true;
    clearInterval(this.statsTimer);
    void this.talk.release(this);
    void this.watch?.close();
    this.watch = undefined;
    this.el.remove();
  }

  private follow(w: BrowserWatch): void {
    if (this.disposed) {
      void w.close();
      return;
    }
    this.watch = w;
    this.video.srcObject = w.stream;
    w.on('connecting', () => {
      this.stats.reset();
      this.startedAt = performance.now();
      this.setState('connecting');
      // Push-to-talk held across a reconnect keeps talking on the new connection.
      if (this.talk.isTalking(this)) void this.talk.press(this).catch(() => {});
    });
    w.on('track', () => {
      // Re-assigning makes every browser pick up tracks added after playback started.
      this.video.srcObject = w.stream;
      void this.video.play().catch(() => {});
    });
    // Why it cannot connect, within the ICE timeout; the session keeps trying (a restart may still find a path).
    w.on('trouble', (message, problem) => {
      this.el.dataset.problem = problem;
      this.problem = message;
      this.setState('connecting', message);
    });
    w.on('step', (step) => mark(step === 'offer-sent' ? 'offer' : 'answer', this.camera.id));
    w.on('connected', (info) => {
      delete this.el.dataset.problem;
      this.problem = undefined;
      this.el.dataset.path = info.candidateType ?? '';
      // The local candidate type (host/srflx/prflx/relay); data-path becomes direct/relay once stats are read.
      this.el.dataset.candidate = info.candidateType ?? '';
    });
    w.on('state', (s) => {
      if (s === 'connected') mark('ice', this.camera.id);
      if (s === 'restarting') this.setState('connecting');
    });
    w.on('ended', (reason, message) => {
      this.log.info({ reason, message }, 'session ended');
      this.setState('offline', message);
    });
  }

  private onFirstFrame(): void {
    if (this.stateNow !== 'live') {
      this.el.dataset.firstFrameMs = String(Math.round(performance.now() - this.startedAt));
      this.setState('live');
    }
  }

  private async readStats(): Promise<void> {
    const pc = this.watch?.peerConnection;
    // Nothing to read before the connection is up, and getStats costs the page while its tiles negotiate.
    if (pc?.connectionState !== 'connected') return;
    try {
      const s = await this.stats.read(pc);
      // Until it is live, a known reason (why ICE cannot connect) stays in view instead of "0 kb/s".
      if (this.stateNow === 'live' || this.el.dataset.problem === undefined) this.statsLine.textContent = formatStats(s);
      this.el.dataset.frames = String(s.framesDecoded);
      if (s.path) this.el.dataset.path = s.path;
      if (s.codec) this.el.dataset.codec = s.codec;
      if (s.framesDecoded > 0 && this.video.videoWidth > 0 && this.watch?.state === 'connected') this.onFirstFrame();
    } catch {
      // the connection closed between two reads
    }
  }

  private setState(state: TileState, why?: string): void {
    this.stateNow = state;
    this.el.dataset.state = state;
    this.badge.textContent = state === 'live' ? 'live' : state === 'connecting' ? 'connecting…' : 'offline';
    const reason = why ?? (state === 'live' ? undefined : this.problem);
    this.badge.title = reason ?? '';
    if (state !== 'live') this.statsLine.textContent = reason ?? '';
  }

  private toggleMute(): void {
    this.video.muted = !this.video.muted;
    this.muteButton.replaceChildren(icon(this.video.muted ? 'muted' : 'sound'));
    this.muteButton.setAttribute('aria-label', this.video.muted ? 'Sound on' : 'Sound off');
    this.el.dataset.muted = String(this.video.muted);
    if (!this.video.muted) void this.video.play().catch(() => {});
  }

  private async fullscreen(): Promise<void> {
    if (document.fullscreenElement) await document.exitFullscreen();
    else await (this.el.requestFullscreen?.() ?? Promise.resolve()).catch(() => {});
  }

  private async snapshot(): Promise<void> {
    const { videoWidth: w, videoHeight: h2 } = this.video;
    if (!w || !h2) {
      notice('info', 'No picture yet', `"${this.camera.name}" has not shown a frame yet; try again once it is live.`);
      return;
    }
    const canvas = document.createElement('canvas');
    canvas.width = w;
    canvas.height = h2;
    canvas.getContext('2d')?.drawImage(this.video, 0, 0, w, h2);
    const blob = await new Promise<Blob | null>((resolve) => canvas.toBlob(resolve, 'image/png'));
    if (!blob) return;
    const a = h('a', { href: URL.createObjectURL(blob), download: `peercam-${safe(this.camera.name)}-${stamp()}.png` });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
  }

  private wireTalk(button: HTMLButtonElement): void {
    const down = (e: Event) => {
      e.preventDefault();
      button.classList.add('active');
      this.el.dataset.talking = 'true';
      this.talk.press(this).catch((err: unknown) => {
        up();
        notice('error', err instanceof Error && 'title' in err ? String(err.title) : 'Microphone unavailable', err instanceof Error ? err.message : String(err));
      });
    };
    const up = () => {
      button.classList.remove('active');
      delete this.el.dataset.talking;
      void this.talk.release(this);
    };
    button.addEventListener('pointerdown', down);
    for (const ev of ['pointerup', 'pointerleave', 'pointercancel']) button.addEventListener(ev, up);
    button.addEventListener('keydown', (e) => (e.key === ' ' || e.key === 'Enter') && !e.repeat && down(e));
    button.addEventListener('keyup', (e) => (e.key === ' ' || e.key === 'Enter') && up());
    button.addEventListener('contextmenu', (e) => e.preventDefault());
  }
}

function safe(name: string): string {
  return name.replace(/[^\w-]+/g, '-').slice(0, 40) || 'camera';
}

function stamp(): string {
  return new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
}
