import { MotionDetector, rgbaToGray } from '../../events/detector.js';
import { DEFAULT_MOTION_SETTINGS, type MotionSettings } from '../../events/settings.js';
import { type Logger, type MotionBody, newSessionId } from '../../protocol/index.js';
import type { Channel } from '../../signaling/channel.js';

const SETTINGS_KEY = 'peercam.motion';
const HEIGHT = 100;
const FPS = 5;
const START_AFTER_MS = 3000;

/**
 * Motion detection on a browser camera page (docs/EVENTS.md): 5 times a second the preview is drawn into a canvas
 * 100 px high and its pixels go through the same detector as on Node cameras. Events go sealed to every member;
 * `motion-settings` from a member are applied and kept in this browser's storage.
 */
export class PageMotion {
  private readonly canvas = document.createElement('canvas');
  private readonly snap = document.createElement('canvas');
  private detector: MotionDetector | undefined;
  private gray = new Uint8Array(0);
  private settings: MotionSettings;
  private event: string | undefined;
  private timer: ReturnType<typeof setInterval> | undefined;
  private readonly delay: ReturnType<typeof setTimeout>;
  private readonly off: () => void;
  /** Analysis time per frame (ms, frames), read by the benchmark. */
  readonly cost = { ms: 0, frames: 0 };

  constructor(
    private readonly channel: Channel,
    private readonly video: HTMLVideoElement,
    private readonly log: Logger,
    private readonly timing: { quietMs?: number } = {},
  ) {
    this.settings = loadSettings();
    // Analysis starts once the camera has settled: the first frames to viewers come first (a phone has little CPU).
    this.delay = setTimeout(() => {
      this.timer = setInterval(() => this.tick(), 1000 / FPS);
    }, START_AFTER_MS);
    this.off = channel.on('message', (e) => {
      if (e.type !== 'motion-settings') return;
      if (e.body.settings) {
        this.settings = e.body.settings;
        this.detector?.setSettings(e.body.settings);
        localStorage.setItem(SETTINGS_KEY, JSON.stringify(e.body.settings));
        this.log.info({ by: e.from }, 'motion settings changed by a member');
      }
      void channel.send(e.from, 'motion-settings', e.sid, { settings: this.settings }).catch(() => {});
    });
  }

  private tick(): void {
    const v = this.video;
    if (v.videoWidth === 0 || v.readyState < 2) return;
    const width = Math.max(8, 2 * Math.round((HEIGHT * v.videoWidth) / v.videoHeight / 2));
    if (!this.detector || this.detector.width !== width) {
      this.canvas.width = width;
      this.canvas.height = HEIGHT;
      this.gray = new Uint8Array(width * HEIGHT);
      this.detector = new MotionDetector({ width, height: HEIGHT, settings: this.settings, timing: this.timing });
    }
    const t0 = performance.now();
    const c = this.canvas.getContext('2d', { willReadFrequently: true });
    if (!c) return;
    c.drawImage(v, 0, 0, width, HEIGHT);
    rgbaToGray(c.getImageData(0, 0, width, HEIGHT).data, this.gray);
    const r = this.detector.push(this.gray, Date.now());
    this.cost.ms += performance.now() - t0;
    this.cost.frames++;
    // The page's own figure (benchmarks read it): mean analysis time per frame, canvas read-back included.
    if (this.cost.frames % 25 === 0) document.body.dataset.motionMsPerFrame = (this.cost.ms / this.cost.frames).toFixed(3);
    const t = r.transition;
    if (!t) return;
    if (t.phase === 'start') this.event = newSessionId();
    if (!this.event) return;
    const body: MotionBody = {
      event: this.event,
      source: 'main',
      phase: t.phase,
      at: Math.round(t.at),
      startedAt: Math.round(t.startedAt),
      score: Math.min(1, t.score),
      box: t.box,
      ...(t.phase === 'start' ? { snapshot: this.snapshot() } : {}),
    };
    if (t.phase === 'end') this.event = undefined;
    for (const peer of this.channel.peers.keys()) void this.channel.send(peer, 'motion', '', body).catch(() => {});
  }

  /** A 320 px wide JPEG of the preview, base64. */
  private snapshot(): string {
    const v = this.video;
    this.snap.width = 320;
    this.snap.height = Math.round((320 * v.videoHeight) / v.videoWidth);
    this.snap.getContext('2d')?.drawImage(v, 0, 0, this.snap.width, this.snap.height);
    return this.snap.toDataURL('image/jpeg', 0.7).split(',')[1] ?? '';
  }

  close(): void {
    clearTimeout(this.delay);
    clearInterval(this.timer);
    this.off();
  }
}

function loadSettings(): MotionSettings {
  try {
    const s = JSON.parse(localStorage.getItem(SETTINGS_KEY) ?? 'null') as MotionSettings | null;
    if (s && typeof s.enabled === 'boolean' && typeof s.sensitivity === 'number' && Array.isArray(s.zones) && Array.isArray(s.masks)) return s;
  } catch {
    // unreadable: the defaults
  }
  return DEFAULT_MOTION_SETTINGS;
}
