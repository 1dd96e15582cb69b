import { cameraFolder, PeercamError, type Room } from '../protocol/index.js';
import { connect, showStatus } from './lib/connection.js';
import { byId, h, notice, scrollBackTo } from './lib/dom.js';
import { icon } from './lib/icons.js';
import { consoleLogger, defaultName, peerConfigOf, tabDeviceId } from './lib/join.js';
import { catchEverything, showNoRoom } from './lib/no-room.js';
import { pageRoom } from './lib/page-room.js';
import { loadPageRoom } from './lib/room-link.js';
import { RecordingsApi } from './recordings/api.js';
import { DataChannelRecordings } from './recordings/data-source.js';
import { RemoteRecorder } from './recordings/remote.js';
import { clock, count, formatDuration } from './recordings/format.js';
import type { EventSpan, Overview, RecordingsSource, Span } from './recordings/source.js';
import { TimelineView } from './recordings/timeline-view.js';
import { DAY_MS as DAY } from './recordings/timeline-window.js';

catchEverything();
void main();

/** Longest clip asked for at once; playing on past it loads the next one. */
const CLIP_S = 3600;
const SPEEDS = [1, 2, 4, 8] as const;
/** How often the view asks for cameras that started recording since (a new camera shows up without a reload). */
const CAMERAS_EVERY_MS = 5000;
/** How far the arrow keys move the playhead. */
const ARROW_MS = 10_000;
/** An event opens this long before its start (as the events list under the grid does): what led up to it. */
const EVENT_LEAD_MS = 3000;

async function main(): Promise<void> {
  const result = await loadPageRoom();
  if (!result.ok) return showNoRoom(result.why === 'none' ? 'none' : 'bad-link');
  const room = result.room;
  byId('room-name').textContent = room.options.name ?? `Room ${room.id.slice(0, 6)}`;
  const video = byId<HTMLVideoElement>('player');
  const api = new RecordingsApi(room.credentials.httpToken, video);
  const overview = await api.overview().catch(() => 'not-recording' as const);
  if (overview === 'unauthorized') {
    showStatus('offline', 'No recordings');
    notice('warn', 'This hub does not know this room', 'The recordings belong to another room: open this page from the link of the room the hub serves.');
    return;
  }
  let source: RecordingsSource = api;
  let first: Overview;
  if (overview === 'not-recording') {
    // No recordings API behind this page's origin (a static host, or a hub that does not record): reach the room's
    // recorder through the room's broker, over a data channel.
    const remote = await remoteSource(room, video);
    if (!remote) return;
    source = remote.source;
    first = remote.overview;
  } else {
    first = overview;
  }
  document.body.dataset.via = source.via;
  const view = new RecordingsView(source, first.cameras.map((c) => c.camera));
  view.showState(first);
  view.start();
}

/** The room's recorder over a data channel: joins the room through its broker and waits for a recorder to be there. */
async function remoteSource(room: Room, video: HTMLVideoElement): Promise<{ source: RecordingsSource; overview: Overview } | undefined> {
  const log = consoleLogger();
  const name = localStorage.getItem('peercam.name') ?? defaultName();
  const presence = { name: `${name} (recordings)`, role: 'viewer', agent: 'peercam/0.1.0 web' } as const;
  let channel: Awaited<ReturnType<typeof connect>>;
  try {
    channel = await connect(room, tabDeviceId('recordings'), presence, log);
  } catch (err) {
    notice('error', 'Cannot reach the recordings', `This page is not served by a recording hub, and it cannot join the room: ${err instanceof PeercamError ? err.message : String(err)}`);
    return undefined;
  }
  // No hub served this page: no ICE servers of its own (the recorder is reached on the networks the page is on).
  const joined = pageRoom(channel, presence, peerConfigOf(undefined), log);
  window.addEventListener('pagehide', () => void joined.leave());
  const remote = new RemoteRecorder(joined);
  showStatus('connecting', 'Looking for the room’s recorder…');
  byId('summary').textContent = 'Waiting for a recorder of this room (peercam record, or peercam up --record) to be online.';
  // ?ahead=SECONDS: how much is fetched ahead of the playhead (less on a metered phone link).
  const ahead = Number(new URLSearchParams(location.search).get('ahead'));
  const source = new DataChannelRecordings(remote, video, Number.isFinite(ahead) && ahead > 0 ? ahead : undefined);
  for (let attempt = 0; ; attempt++) {
    try {
      const overview = await source.overview();
      if (typeof overview !== 'string') return { source, overview };
    } catch (err) {
      showStatus('offline', 'Recorder unreachable');
      byId('summary').textContent = `Cannot reach the recorder yet (${err instanceof Error ? err.message : String(err)}); trying again.`;
      await new Promise((r) => setTimeout(r, Math.min(10_000, 1000 * 2 ** attempt)));
    }
  }
}

/** The Recordings view: a camera, a day, its recorded spans on a zoomable timeline, a player, a clip download. */
class RecordingsView {
  private spans: Span[] = [];
  private events: EventSpan[] = [];
  /** Event stills by camera and event, as the recorder gives them (asked once each). */
  private readonly stills = new Map<string, Promise<string | undefined>>();
  private camera = '';
  private dayStart = 0;
  /** Wall time of the loaded clip's first frame. */
  private clipStart: number | undefined;
  private speed = 1;
  /** The notice that the recorder does not write, and its text. */
  private stopped: (() => void) | undefined;
  private stoppedWhy: string | undefined;
  /** The notice of the last play that failed (one at a time, gone when a play works). */
  private playFailed: (() => void) | undefined;
  private readonly video = byId<HTMLVideoElement>('player');
  private readonly timeline = new TimelineView(byId('timeline'), byId('hours'), byId('zooms'), {
    pick: (at) => void this.play(at),
    pickEvent: (e) => void this.play(e.start - EVENT_LEAD_MS),
    stillOf: (e) => this.stillOf(e),
  });

  constructor(
    private readonly api: RecordingsSource,
    private cameras: readonly string[],
  ) {}

  start(): void {
    const select = byId<HTMLSelectElement>('camera');
    this.showCameras();
    const wanted = new URLSearchParams(location.search).get('camera');
    // ?camera=: the recordings name, or the name the camera shows (a live tile's Replay, an event's Play).
    if (wanted && this.cameras.includes(cameraFolder(wanted))) select.value = cameraFolder(wanted);
    this.camera = select.value;
    const day = byId<HTMLInputElement>('day');
    const today = new Date();
    // ?t=<ms>: opened from a motion event, play from that moment of that day.
    const at = Number(new URLSearchParams(location.search).get('t') ?? Number.NaN);
    const shown = Number.isFinite(at) && at > 0 ? new Date(at) : today;
    day.value = dayValue(shown);
    select.addEventListener('change', () => {
      this.camera = select.value;
      void this.load();
    });
    day.addEventListener('change', () => void this.load());
    for (const [id, step] of [['day-before', -1], ['day-after', 1]] as const)
      byId(id).addEventListener('click', () => {
        const shown = dayOf(day.value);
        day.value = dayValue(new Date(shown.getFullYear(), shown.getMonth(), shown.getDate() + step));
        void this.load();
      });
    byId('prev').replaceChildren(icon('previous'));
    byId('next').replaceChildren(icon('next'));
    byId('prev').addEventListener('click', () => this.jump(-1));
    byId('next').addEventListener('click', () => this.jump(1));
    byId('speeds').replaceChildren(
      ...SPEEDS.map((s) =>
        h('button', { type: 'button', class: s === 1 ? 'active' : undefined, 'data-speed': s, onclick: (e: Event) => this.setSpeed(s, e.target as HTMLElement) }, `${s}×`),
      ),
    );
    document.addEventListener('keydown', (e) => this.onKey(e));
    this.video.addEventListener('timeupdate', () => this.showTime());
    this.video.addEventListener('ended', () => void this.playOn());
    for (const id of ['from', 'to'] as const) {
      byId(id).addEventListener('change', () => this.updateDownload());
      byId(`${id}-here`).addEventListener('click', () => this.markHere(id));
    }
    void this.load().then(() => (Number.isFinite(at) && at > 0 ? this.play(at) : undefined));
    setInterval(() => void this.load(), 15_000);
    // Cameras that start recording while the page is open join the list (the first one is selected).
    setInterval(() => void this.refreshCameras(), CAMERAS_EVERY_MS);
  }

  private showCameras(): void {
    const select = byId<HTMLSelectElement>('camera');
    const selected = select.value;
    select.replaceChildren(...this.cameras.map((c) => h('option', { value: c }, c.replace(/_/g, ' '))));
    if (this.cameras.includes(selected)) select.value = selected;
  }

  /** The recorder's state in the header and, while it does not write, a notice; kept up to date as the page asks. */
  showState(o: Overview): void {
    const via = this.api.via === 'http' ? '' : ' (over the room)';
    const why = o.state === 'ok' ? undefined : (o.error ?? `The recorder does not write recordings now (${o.state}).`);
    showStatus(why ? 'offline' : 'online', why ? `Recording stopped (${o.state})` : `Recording ${count(o.recording.length, 'camera')}${via}`);
    if (why === this.stoppedWhy) return;
    this.stopped?.();
    this.stoppedWhy = why;
    this.stopped = why ? notice('error', 'Recording is stopped', why) : undefined;
  }

  private async refreshCameras(): Promise<void> {
    const overview = await this.api.overview().catch(() => undefined);
    if (overview === undefined || typeof overview === 'string') return;
    this.showState(overview);
    const names = overview.cameras.map((c) => c.camera);
    // A recorder that cannot reach its folder lists nothing: keep the cameras known until it can.
    if (names.length === 0 && overview.state !== 'ok') return;
    if (names.length === this.cameras.length && names.every((n, i) => n === this.cameras[i])) return;
    this.cameras = names;
    this.showCameras();
    if (!this.camera && names.length > 0) {
      this.camera = byId<HTMLSelectElement>('camera').value;
      await this.load();
    }
  }

  private async load(): Promise<void> {
    if (!this.camera) {
      byId('summary').textContent = 'Nothing recorded yet: a camera appears here a few seconds after it goes live.';
      return;
    }
    this.dayStart = dayOf(byId<HTMLInputElement>('day').value).getTime();
    this.timeline.setDay(this.dayStart);
    this.spans = await this.api.spans(this.camera, this.dayStart, this.dayStart + DAY);
    this.draw();
    void this.loadEvents(this.camera, this.dayStart);
  }

  /** The motion events of the day, drawn as marks once they come (a recorder that has none, or is old, leaves none). */
  private async loadEvents(camera: string, dayStart: number): Promise<void> {
    const events = await this.api.events(camera, dayStart, dayStart + DAY).catch(() => []);
    if (camera !== this.camera || dayStart !== this.dayStart) return;
    this.events = events;
    this.drawEvents();
  }

  private drawEvents(): void {
    this.timeline.showEvents(this.events);
    byId('event-count').textContent = this.events.length ? ` · ${count(this.events.length, 'motion event')}` : '';
    byId('events').replaceChildren(
      ...this.events.map((e) =>
        h(
          'li',
          { 'data-event': e.event },
          h('button', { type: 'button', class: 'span-link event-link', onclick: () => void this.play(e.start - EVENT_LEAD_MS) }, this.still(e), `Motion ${clock(e.start)}`),
          ` ${e.end !== undefined ? formatDuration(e.end - e.start) : 'under way'} · ${(e.score * 100).toFixed(1)} % moved`,
        ),
      ),
    );
  }

  /** The camera's still of an event, asked once per event. */
  private stillOf(e: EventSpan): Promise<string | undefined> {
    const key = `${this.camera}/${e.event}`;
    let url = this.stills.get(key);
    if (!url) {
      url = this.api.snapshotUrl(this.camera, e.event).catch(() => undefined);
      this.stills.set(key, url);
    }
    return url;
  }

  /** An event's still in its button in the list, when it comes. */
  private still(e: EventSpan): HTMLElement | null {
    if (!e.hasSnapshot) return null;
    const img = h('img', { class: 'still', alt: '' });
    img.hidden = true;
    void this.stillOf(e).then((src) => {
      if (!src) return;
      img.src = src;
      img.hidden = false;
    });
    return img;
  }

  private draw(): void {
    this.timeline.show(this.spans);
    this.drawEvents();
    const total = this.spans.reduce((n, s) => n + s.end - s.start, 0);
    byId('summary').textContent = this.spans.length ? `${count(this.spans.length, 'recording')}, ${formatDuration(total)} this day` : 'Nothing recorded this day.';
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
    this.video.playbackRate = this.speed;
    // The first frame of the new source (a callback asked now could fire for a frame of the clip playing before).
    this.video.addEventListener(
      'loadstart',
      () => {
        if (typeof this.video.requestVideoFrameCallback === 'function') this.video.requestVideoFrameCallback(() => performance.mark('rec-first-frame'));
      },
      { once: true },
    );
    this.playFailed?.();
    this.playFailed = undefined;
    // Played from a list further down (a phone's long list of events): the player comes back into view. Played from
    // the timeline above it, nothing moves (the timeline stays where the finger is).
    scrollBackTo(this.video.closest('section') ?? this.video);
    let start: number | undefined;
    try {
      start = await this.api.play(this.camera, from, seconds);
    } catch (err) {
      const why = err instanceof PeercamError ? err.message : String(err);
      this.playFailed = notice('error', 'Cannot play here', why);
      byId('at').textContent = `Cannot play here: ${why}`;
      return;
    }
    if (start === undefined) return;
    performance.mark('rec-src');
    this.clipStart = start;
    this.video.dataset.clipStart = String(start);
    for (const id of ['from-here', 'to-here']) byId<HTMLButtonElement>(id).disabled = false;
    this.video.playbackRate = this.speed;
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
    this.timeline.setPlayhead(now);
  }

  /**
   * Keys, as video players have them: space (or k) plays and pauses, the arrows (or j, l) move 10 s, + and - zoom
   * the timeline. Not while typing in a field or on a control that has keys of its own.
   */
  private onKey(e: KeyboardEvent): void {
    if (e.ctrlKey || e.metaKey || e.altKey || (e.target instanceof Element && e.target.closest('input, select, textarea, button, a, video'))) return;
    if (e.key === ' ' || e.key === 'k') {
      if (this.clipStart !== undefined) void (this.video.paused ? this.video.play() : this.video.pause());
    } else if (e.key === 'ArrowLeft' || e.key === 'j') void this.seekBy(-ARROW_MS);
    else if (e.key === 'ArrowRight' || e.key === 'l') void this.seekBy(ARROW_MS);
    else if (e.key === '+' || e.key === '=') this.timeline.zoomStep(1);
    else if (e.key === '-') this.timeline.zoomStep(-1);
    else return;
    e.preventDefault();
  }

  /** Moves the playhead by `ms`: within the clip playing, or into the recording before or after it (paused if it was). */
  private async seekBy(ms: number): Promise<void> {
    if (this.clipStart === undefined) return;
    const t = this.video.currentTime + ms / 1000;
    if (t >= 0 && t < this.video.duration) {
      this.video.currentTime = t;
      return;
    }
    const paused = this.video.paused;
    await this.play(this.clipStart + t * 1000);
    if (paused) this.video.pause();
  }

  /** The clip to download starts (or ends) at the moment playing now. */
  private markHere(which: 'from' | 'to'): void {
    if (this.clipStart === undefined) return;
    byId<HTMLInputElement>(which).value = clock(this.clipStart + this.video.currentTime * 1000);
    this.updateDownload();
  }

  private updateDownload(): void {
    const a = byId<HTMLAnchorElement>('download');
    const from = timeOfDay(this.dayStart, byId<HTMLInputElement>('from').value);
    const to = timeOfDay(this.dayStart, byId<HTMLInputElement>('to').value);
    if (from === undefined || to === undefined || to <= from || !this.camera) {
      a.removeAttribute('href');
      return;
    }
    this.api.offerDownload(a, this.camera, from, (to - from) / 1000);
  }
}

/** The local midnight starting an `<input type="date">` value (YYYY-MM-DD). */
function dayOf(value: string): Date {
  const [y, m, d] = value.split('-').map(Number);
  return new Date(y ?? 1970, (m ?? 1) - 1, d ?? 1);
}

/** A local day as an `<input type="date">` value (YYYY-MM-DD). */
function dayValue(d: Date): string {
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

function timeOfDay(dayStart: number, text: string): number | undefined {
  const m = /^(\d{1,2}):(\d{2})(?::(\d{2}))?$/.exec(text);
  if (!m) return undefined;
  const d = new Date(dayStart);
  d.setHours(Number(m[1]), Number(m[2]), Number(m[3] ?? 0), 0);
  return d.getTime();
}
