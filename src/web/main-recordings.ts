import { showStatus } from './lib/connection.js';
import { byId, h, notice } from './lib/dom.js';
import { catchEverything, showNoRoom } from './lib/no-room.js';
import { loadPageRoom } from './lib/room-link.js';
import { RecordingsApi, type Span } from './recordings/api.js';

catchEverything();
void main();

const DAY = 86_400_000;
/** Longest clip asked for at once; playing on past it loads the next one. */
const CLIP_S = 3600;
const SPEEDS = [1, 2, 4, 8] as const;

async function main(): Promise<void> {
  const result = await loadPageRoom();
  if (!result.ok) return showNoRoom(result.why === 'none' ? 'none' : 'bad-link');
  const room = result.room;
  byId('room-name').textContent = room.options.name ?? `Room ${room.id.slice(0, 6)}`;
  const api = new RecordingsApi(room.credentials.httpToken);
  const overview = await api.overview();
  if (overview === 'unauthorized' || overview === 'not-recording') {
    showStatus('offline', 'No recordings');
    notice(
      'warn',
      overview === 'unauthorized' ? 'This hub does not know this room' : 'This hub does not record',
      overview === 'unauthorized'
        ? 'The recordings belong to another room: open this page from the link of the room the hub serves.'
        : 'Start the hub with `peercam up --record` (or run `peercam record` on it) to record every camera.',
    );
    return;
  }
  showStatus('online', overview.state === 'ok' ? `Recording ${overview.recording.length} camera(s)` : overview.state);
  if (overview.error) notice('error', 'Recording is stopped', overview.error);
  // A hub that has just started has no finished fragment yet: wait for the first one rather than show an empty page.
  let cameras = overview.cameras;
  while (cameras.length === 0) {
    byId('summary').textContent = 'Nothing recorded yet: a camera appears here a few seconds after it goes live.';
    await new Promise((r) => setTimeout(r, 2000));
    const again = await api.overview().catch(() => undefined);
    if (again !== undefined && typeof again !== 'string') cameras = again.cameras;
  }
  new RecordingsView(api, cameras.map((c) => c.camera)).start();
}

/** The Recordings view: a camera, a day, its recorded spans on a 24 h timeline, a player, a clip download. */
class RecordingsView {
  private spans: Span[] = [];
  private camera = '';
  private dayStart = 0;
  /** Wall time of the loaded clip's first frame. */
  private clipStart: number | undefined;
  private speed = 1;
  private readonly video = byId<HTMLVideoElement>('player');
  private readonly timeline = byId('timeline');
  private readonly playhead = h('div', { class: 'playhead', hidden: true });

  constructor(
    private readonly api: RecordingsApi,
    private readonly cameras: readonly string[],
  ) {}

  start(): void {
    const select = byId<HTMLSelectElement>('camera');
    select.replaceChildren(...this.cameras.map((c) => h('option', { value: c }, c.replace(/_/g, ' '))));
    const wanted = new URLSearchParams(location.search).get('camera');
    if (wanted && this.cameras.includes(wanted.replace(/ /g, '_'))) select.value = wanted.replace(/ /g, '_');
    this.camera = select.value;
    if (!this.camera) {
      byId('summary').textContent = 'Nothing recorded yet.';
      return;
    }
    const day = byId<HTMLInputElement>('day');
    const today = new Date();
    // ?t=<ms>: opened from a motion event, play from that moment of that day.
    const at = Number(new URLSearchParams(location.search).get('t') ?? Number.NaN);
    const shown = Number.isFinite(at) && at > 0 ? new Date(at) : today;
    day.value = `${shown.getFullYear()}-${String(shown.getMonth() + 1).padStart(2, '0')}-${String(shown.getDate()).padStart(2, '0')}`;
    select.addEventListener('change', () => {
      this.camera = select.value;
      void this.load();
    });
    day.addEventListener('change', () => void this.load());
    this.timeline.append(this.playhead);
    this.timeline.addEventListener('click', (e) => {
      const box = this.timeline.getBoundingClientRect();
      void this.play(this.dayStart + ((e.clientX - box.left) / box.width) * DAY);
    });
    byId('prev').addEventListener('click', () => this.jump(-1));
    byId('next').addEventListener('click', () => this.jump(1));
    byId('speeds').replaceChildren(
      ...SPEEDS.map((s) =>
        h('button', { type: 'button', class: s === 1 ? 'active' : undefined, 'data-speed': s, onclick: (e: Event) => this.setSpeed(s, e.target as HTMLElement) }, `${s}×`),
      ),
    );
    this.video.addEventListener('timeupdate', () => this.showTime());
    this.video.addEventListener('ended', () => void this.playOn());
    for (const id of ['from', 'to']) byId(id).addEventListener('change', () => this.updateDownload());
    void this.load().then(() => (Number.isFinite(at) && at > 0 ? this.play(at) : undefined));
    setInterval(() => void this.load(), 15_000);
  }

  private async load(): Promise<void> {
    const day = byId<HTMLInputElement>('day').value;
    const [y, m, d] = day.split('-').map(Number);
    this.dayStart = new Date(y ?? 1970, (m ?? 1) - 1, d ?? 1).getTime();
    this.spans = await this.api.spans(this.camera, this.dayStart, this.dayStart + DAY);
    this.draw();
  }

  private draw(): void {
    const bars = this.spans.map((s) => {
      const left = Math.max(0, (s.start - this.dayStart) / DAY);
      const right = Math.min(1, (s.end - this.dayStart) / DAY);
      return h('div', { class: 'span', style: `left:${(left * 100).toFixed(3)}%;width:${Math.max(0.15, (right - left) * 100).toFixed(3)}%` });
    });
    this.timeline.replaceChildren(...bars, this.playhead);
    const total = this.spans.reduce((n, s) => n + s.end - s.start, 0);
    byId('summary').textContent = this.spans.length ? `${this.spans.length} recording(s), ${formatDuration(total)} this day` : 'Nothing recorded this day.';
    byId('spans').replaceChildren(
      ...this.spans.map((s) =>
        h('li', {}, h('button', { type: 'button', class: 'span-link', onclick: () => void this.play(s.start) }, `${clock(s.start)} – ${clock(s.end)}`), ` ${formatDuration(s.end - s.start)}`),
      ),
    );
    const first = this.spans[0];
    const from = byId<HTMLInputElement>('from');
    if (first && !from.value) {
      from.value = clock(first.start);
      byId<HTMLInputElement>('to').value = clock(Math.min(first.end, first.start + 60_000));
    }
    this.updateDownload();
  }

  /** Plays from wall time `at`: the span holding it, or the next one. */
  private async play(at: number): Promise<void> {
    const span = this.spans.find((s) => s.end > at);
    if (!span) return;
    performance.mark('rec-play');
    const from = Math.max(at, span.start);
    const seconds = Math.min(CLIP_S, (span.end - from) / 1000);
    const info = await this.api.clipInfo(this.camera, from, seconds);
    if (!info) return;
    this.clipStart = info.start;
    this.video.src = this.api.clipUrl(this.camera, from, seconds);
    this.video.playbackRate = this.speed;
    this.video.dataset.clipStart = String(info.start);
    performance.mark('rec-src');
    this.video.requestVideoFrameCallback(() => performance.mark('rec-first-frame'));
    await this.video.play().catch(() => {});
    this.video.playbackRate = this.speed;
    // The clip starts at the keyframe before `from`: start showing at `from` itself.
    const skip = (from - info.start) / 1000;
    if (skip > 0.05) this.video.currentTime = skip;
  }

  /** The clip ended: carry on with what comes after it. */
  private async playOn(): Promise<void> {
    if (this.clipStart === undefined) return;
    const end = this.clipStart + this.video.duration * 1000;
    if (this.spans.some((s) => s.end > end + 500)) await this.play(end + 1);
  }

  private jump(direction: -1 | 1): void {
    const now = this.clipStart !== undefined ? this.clipStart + this.video.currentTime * 1000 : this.dayStart;
    const target = direction > 0 ? this.spans.find((s) => s.start > now + 1000) : [...this.spans].reverse().find((s) => s.start < now - 2000);
    if (target) void this.play(target.start);
  }

  private setSpeed(speed: number, button: HTMLElement): void {
    this.speed = speed;
    this.video.playbackRate = speed;
    this.showTime();
    for (const b of byId('speeds').querySelectorAll('button')) b.classList.toggle('active', b === button);
  }

  private showTime(): void {
    if (this.clipStart === undefined) return;
    const now = this.clipStart + this.video.currentTime * 1000;
    byId('at').textContent = `${clock(now)} · ${this.speed}×`;
    this.playhead.hidden = false;
    this.playhead.style.left = `${(((now - this.dayStart) / DAY) * 100).toFixed(3)}%`;
  }

  private updateDownload(): void {
    const a = byId<HTMLAnchorElement>('download');
    const from = timeOfDay(this.dayStart, byId<HTMLInputElement>('from').value);
    const to = timeOfDay(this.dayStart, byId<HTMLInputElement>('to').value);
    if (from === undefined || to === undefined || to <= from || !this.camera) {
      a.removeAttribute('href');
      return;
    }
    a.href = this.api.clipUrl(this.camera, from, (to - from) / 1000, true);
  }
}

const clock = (ms: number) => new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });

function timeOfDay(dayStart: number, text: string): number | undefined {
  const m = /^(\d{1,2}):(\d{2})(?::(\d{2}))?$/.exec(text);
  if (!m) return undefined;
  const d = new Date(dayStart);
  d.setHours(Number(m[1]), Number(m[2]), Number(m[3] ?? 0), 0);
  return d.getTime();
}

function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}
