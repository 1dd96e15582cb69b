import { cameraFolder, type DeviceId, type EnvelopeOf } from '../../protocol/index.js';
import type { Channel } from '../../signaling/channel.js';
import { h } from '../lib/dom.js';
import { recordingsHref } from '../lib/room-link.js';
import { when } from '../recordings/format.js';
import type { RecordingsIndex } from '../recordings/source.js';
import { MotionSettingsDialog } from './motion-settings.js';
import { watchRecorders } from './recorder-status.js';
import type { RecordingNow } from './tile.js';

/** One motion event as the page keeps it: heard live (a camera's message) or listed by the recorder. */
interface Entry {
  /** The camera's recordings name (cameraFolder of its name): what live and recorded events share. */
  readonly folder: string;
  name: string;
  readonly event: string;
  readonly startedAt: number;
  end: number | undefined;
  score: number;
  /** The still: a data: URL from a live start, or the recorder's (fetched when the entry is shown). */
  thumb: string | Promise<string | undefined> | undefined;
  /** Whether the recorder keeps a still of it to fetch. */
  stored: boolean;
}

const MAX_EVENTS = 500;
/** At most one system notification per camera this often. */
export const NOTIFY_COOLDOWN_MS = 60_000;
const NOTIFY_KEY = 'peercam.notify';
/** How long before the motion a recording is opened (the recorder keeps what came before). */
const PLAY_BEFORE_MS = 3000;
/** How far back the list starts when the page opens: what happened while nobody watched. */
const HISTORY_MS = 7 * 86_400_000;
/** Events the recorder lists when the page opens (the newest). */
const HISTORY_EVENTS = 50;
/** How often the page asks again which cameras are recorded (over a data channel: each ask is a connection). */
const REFRESH_MS = { http: 60_000, 'data-channel': 600_000 } as const;

/**
 * The motion events of the room (docs/EVENTS.md): a badge on each camera's tile while it sees motion, a list of
 * events with thumbnails for all cameras or one (what the recorder kept from before the page opened, then what
 * cameras send live), opening the recording at the event when the room's recorder keeps that camera, per-camera motion
 * settings, and system notifications for the cameras picked here (with a cooldown).
 */
export class EventsPanel {
  readonly el: HTMLElement;
  private readonly list: HTMLOListElement;
  private readonly filter: HTMLSelectElement;
  private readonly notifyBox: HTMLInputElement;
  private readonly settingsButton: HTMLButtonElement;
  private readonly olderButton: HTMLButtonElement;
  private readonly entries: Entry[] = [];
  private readonly byEvent = new Map<string, Entry>();
  private readonly lastNotified = new Map<string, number>();
  /** The cameras the recorder keeps (recordings names), each with the start of the oldest recording it has left. */
  private recorded = new Map<string, number>();
  private readonly dialog: MotionSettingsDialog;

  constructor(
    private readonly channel: Channel,
    private readonly grid: HTMLElement,
    /** The room's recorder (over HTTP at home, a data channel away), once the page knows how to reach it. */
    private readonly recordings: Promise<RecordingsIndex | undefined>,
    /** Told which cameras the recorder keeps (their recordings names), each time the panel learns it. */
    private readonly onRecorded: (names: ReadonlySet<string>) => void = () => {},
    /** Told which cameras a recorder records now (recordings names), from the recorders' presence. */
    onRecording: (now: ReadonlyMap<string, RecordingNow>) => void = () => {},
  ) {
    this.filter = h('select', { id: 'events-camera', 'aria-label': 'Camera', onchange: () => this.render() }, h('option', { value: '' }, 'All cameras'));
    this.notifyBox = h('input', { type: 'checkbox', id: 'events-notify', onchange: () => void this.toggleNotify() });
    this.settingsButton = h('button', { type: 'button', id: 'motion-settings', onclick: () => this.openSettings() }, 'Motion settings…');
    this.list = h('ol', { class: 'events-list', id: 'events-list' });
    this.olderButton = h('button', { type: 'button', id: 'events-older', class: 'events-older', hidden: true }, 'Older events');
    this.dialog = new MotionSettingsDialog(channel);
    this.el = h(
      'section',
      { class: 'events', id: 'events', 'aria-label': 'motion events' },
      h('div', { class: 'events-head' }, h('h2', {}, 'Motion events'), this.filter, h('label', { class: 'notify' }, this.notifyBox, ' Notify me'), this.settingsButton),
      this.list,
      this.olderButton,
      h('p', { class: 'hint events-empty' }, 'No motion yet. Cameras tell every member of the room when something moves.'),
      this.dialog.el,
    );
    channel.on('message', (e) => {
      if (e.type === 'motion') this.onMotion(e);
    });
    channel.on('peer', () => this.refreshCameras());
    channel.on('gone', () => this.refreshCameras());
    this.refreshCameras();
    watchRecorders(channel, (title, body) => this.alert(title, body), onRecording);
    void this.recordings.then(async (index) => {
      if (!index) return;
      await Promise.all([this.loadHistory(index), this.loadRecorded(index)]);
      index.release();
    });
  }

  private onMotion(e: EnvelopeOf<'motion'>): void {
    const name = this.channel.peers.get(e.from)?.name ?? e.from;
    const folder = cameraFolder(name);
    const key = `${folder}/${e.body.event}`;
    this.setBadge(e.from, e.body.phase === 'start');
    const known = this.byEvent.get(key);
    if (e.body.phase === 'end') {
      if (known) {
        known.end = e.body.at;
        known.score = Math.max(known.score, e.body.score);
        this.render();
      }
      return;
    }
    if (known) return;
    const thumb = e.body.snapshot ? `data:image/jpeg;base64,${e.body.snapshot}` : undefined;
    const entry: Entry = { folder, name, event: e.body.event, startedAt: e.body.startedAt, end: undefined, score: e.body.score, thumb, stored: false };
    this.add([entry]);
    this.notify(entry);
  }

  /** Adds events the list does not have yet, keeping it newest first and bounded. */
  private add(list: readonly Entry[]): void {
    for (const entry of list) {
      const key = `${entry.folder}/${entry.event}`;
      if (this.byEvent.has(key)) continue;
      this.byEvent.set(key, entry);
      this.entries.push(entry);
    }
    this.entries.sort((a, b) => b.startedAt - a.startedAt);
    for (const old of this.entries.splice(MAX_EVENTS)) this.byEvent.delete(`${old.folder}/${old.event}`);
    this.refreshCameras();
  }

  /** The motion badge on the camera's tile (found by its data-camera). */
  private setBadge(camera: DeviceId, on: boolean): void {
    const tile = this.grid.querySelector<HTMLElement>(`article[data-camera="${CSS.escape(camera)}"]`);
    if (!tile) return;
    tile.dataset.motion = String(on);
    let badge = tile.querySelector<HTMLElement>('.motion-badge');
    if (!badge) {
      badge = h('span', { class: 'motion-badge', title: 'Motion now' }, 'Motion');
      (tile.querySelector('.overlay .tags') ?? tile.querySelector('.overlay'))?.append(badge);
    }
    badge.hidden = !on;
  }

  /** The cameras present now, and those only the list knows (offline now, or gone): by recordings name. */
  private refreshCameras(): void {
    const keep = this.filter.value;
    const names = new Map<string, string>();
    for (const p of this.channel.peers.values()) if (p.role === 'camera') names.set(cameraFolder(p.name), p.name);
    this.moveNotifyChoices();
    for (const e of this.entries) if (!names.has(e.folder)) names.set(e.folder, e.name);
    this.filter.replaceChildren(h('option', { value: '' }, 'All cameras'), ...[...names].map(([folder, name]) => h('option', { value: folder }, name)));
    if (names.has(keep)) this.filter.value = keep;
    this.render();
  }

  /** The camera of the room present now under the recordings name `folder`. */
  private presentCamera(folder: string) {
    return [...this.channel.peers.values()].find((p) => p.role === 'camera' && cameraFolder(p.name) === folder);
  }

  private render(): void {
    const camera = this.filter.value;
    const shown = this.entries.filter((e) => !camera || e.folder === camera);
    this.list.replaceChildren(...shown.map((e) => this.item(e)));
    this.el.dataset.count = String(shown.length);
    const present = camera ? this.presentCamera(camera) : undefined;
    this.settingsButton.disabled = !present;
    this.settingsButton.title = present ? '' : camera ? 'This camera is not online' : 'Pick a camera first';
    this.notifyBox.checked = this.notifying(camera || '*');
  }

  private item(e: Entry): HTMLElement {
    const at = new Date(e.startedAt);
    const seconds = e.end !== undefined ? Math.max(1, Math.round((e.end - e.startedAt) / 1000)) : undefined;
    const href = this.playable(e) ? recordingsHref(e.name, e.startedAt - PLAY_BEFORE_MS) : undefined;
    const play = href ? h('a', { class: 'button play', href }, 'Play') : null;
    const thumb = this.thumb(e, `${e.name} at ${at.toLocaleTimeString()}`);
    return h(
      'li',
      { class: 'event', 'data-camera': e.folder, 'data-event': e.event, 'data-phase': e.end === undefined ? 'start' : 'end', 'data-from': e.stored ? 'recorder' : 'live' },
      // The still plays it too (a larger target on a phone); one tab stop per event: Play.
      href ? h('a', { class: 'thumb-link', href, tabindex: -1, 'aria-hidden': 'true' }, thumb) : thumb,
      h(
        'div',
        { class: 'what' },
        h('strong', {}, e.name),
        h('span', { class: 'when' }, when(e.startedAt)),
        h('span', { class: 'hint' }, seconds === undefined ? 'moving now' : `${seconds} s, ${(e.score * 100).toFixed(1)} % of the picture`),
      ),
      play,
    );
  }

  /**
   * Whether the recorder may still hold the event: it keeps that camera, and the event did not end before the oldest
   * recording it has left (retention deletes oldest first; an event under way always may).
   */
  private playable(e: Entry): boolean {
    const since = this.recorded.get(e.folder);
    return since !== undefined && (e.end ?? Date.now()) >= since;
  }

  /** The still, or a dark box that shows the recorder's once it came. */
  private thumb(e: Entry, alt: string): HTMLElement {
    if (typeof e.thumb === 'string') return h('img', { class: 'thumb', alt, src: e.thumb, loading: 'lazy' });
    const box = h('div', { class: 'thumb' });
    void e.thumb?.then((url) => {
      if (!url) return;
      e.thumb = url;
      box.replaceWith(h('img', { class: 'thumb', alt, src: url, loading: 'lazy' }));
    });
    return box;
  }

  /**
   * The events the recorder kept before `before` (the newest HISTORY_EVENTS; the first page only over the last
   * HISTORY_MS), with their stills (fetched as they are listed); "Older events" asks for the page before.
   */
  private async loadHistory(index: RecordingsIndex, before?: number): Promise<void> {
    const from = before === undefined ? Date.now() - HISTORY_MS : 0;
    const past = await index.recentEvents(from, before ?? Date.now() + 60_000, HISTORY_EVENTS).catch(() => []);
    const entries: Entry[] = past.map((p) => ({
      folder: p.camera,
      // A camera offline now is shown by its recordings name, underscores as spaces.
      name: this.presentCamera(p.camera)?.name ?? p.camera.replace(/_+/g, ' ').trim(),
      event: p.event,
      startedAt: p.start,
      end: p.end,
      score: p.score,
      thumb: p.hasSnapshot ? index.snapshotUrl(p.camera, p.event).catch(() => undefined) : undefined,
      stored: true,
    }));
    this.add(entries);
    const oldest = past.at(-1)?.start;
    this.olderButton.hidden = past.length < HISTORY_EVENTS || oldest === undefined || this.entries.length >= MAX_EVENTS;
    this.olderButton.onclick = () => {
      this.olderButton.disabled = true;
      void this.loadHistory(index, oldest).finally(() => {
        this.olderButton.disabled = false;
        index.release();
      });
    };
    await Promise.all(entries.map((e) => e.thumb));
  }

  /** Which cameras the room's recorder keeps (names as the recordings API has them); asked again now and then. */
  private async loadRecorded(index: RecordingsIndex): Promise<void> {
    const o = await index.overview().catch(() => undefined);
    if (o && typeof o !== 'string') {
      // `recording` has the cameras' own names: as recordings names too, like `cameras`.
      this.recorded = new Map(o.cameras.map((c) => [c.camera, Date.parse(c.start)]));
      // A camera recording its first segment has none finished yet: kept from now.
      for (const folder of o.recording.map(cameraFolder)) if (!this.recorded.has(folder)) this.recorded.set(folder, Date.now());
      this.onRecorded(new Set(this.recorded.keys()));
      this.render();
    }
    setTimeout(() => void this.loadRecorded(index).then(() => index.release()), REFRESH_MS[index.via]);
  }

  private openSettings(): void {
    const camera = this.presentCamera(this.filter.value);
    if (!camera) return;
    const video = this.grid.querySelector<HTMLVideoElement>(`article[data-camera="${CSS.escape(camera.id)}"] video`);
    this.dialog.open(camera.id, camera.name, video ?? undefined);
  }

  private notifying(camera: string): boolean {
    const list = (localStorage.getItem(NOTIFY_KEY) ?? '').split(',').filter(Boolean);
    return list.includes(camera);
  }

  /**
   * "Notify me" choices saved by an older page were keyed by the camera's device id; they are kept by the camera's
   * recordings name now (what live and recorded events share): each moves to its camera's name once it is seen.
   */
  private moveNotifyChoices(): void {
    const list = (localStorage.getItem(NOTIFY_KEY) ?? '').split(',').filter(Boolean);
    const moved = list.map((key) => {
      const p = this.channel.peers.get(key as DeviceId);
      return p?.role === 'camera' ? cameraFolder(p.name) : key;
    });
    if (moved.some((key, i) => key !== list[i])) localStorage.setItem(NOTIFY_KEY, [...new Set(moved)].join(','));
  }

  private async toggleNotify(): Promise<void> {
    const camera = this.filter.value || '*';
    const list = new Set((localStorage.getItem(NOTIFY_KEY) ?? '').split(',').filter(Boolean));
    if (this.notifyBox.checked) {
      if (typeof Notification !== 'undefined' && Notification.permission !== 'granted') await Notification.requestPermission();
      list.add(camera);
    } else list.delete(camera);
    localStorage.setItem(NOTIFY_KEY, [...list].join(','));
  }

  /** A system notification for what the person must know (a recorder stopped), if they asked for notifications. */
  private alert(title: string, body: string): void {
    if (typeof Notification === 'undefined' || Notification.permission !== 'granted' || !localStorage.getItem(NOTIFY_KEY)) return;
    new Notification(title, { body, tag: 'peercam-recording' });
  }

  private notify(e: Entry): void {
    if (typeof Notification === 'undefined' || Notification.permission !== 'granted') return;
    if (!this.notifying('*') && !this.notifying(e.folder)) return;
    const now = Date.now();
    if (now - (this.lastNotified.get(e.folder) ?? 0) < NOTIFY_COOLDOWN_MS) return;
    this.lastNotified.set(e.folder, now);
    new Notification(`Motion: ${e.name}`, {
      body: new Date(e.startedAt).toLocaleTimeString(),
      tag: `peercam-motion-${e.folder}`,
      ...(typeof e.thumb === 'string' ? { icon: e.thumb } : {}),
    });
  }
}
