import { cameraFolder, type DeviceId, type EnvelopeOf, type MotionBody } from '../../protocol/index.js';
import type { Channel } from '../../signaling/channel.js';
import { h } from '../lib/dom.js';
import { recordingsHref } from '../lib/room-link.js';
import type { RecordingsApi } from '../recordings/api.js';
import { MotionSettingsDialog } from './motion-settings.js';

/** One motion event as the page keeps it: its start, and its end once heard. */
interface Entry {
  readonly camera: DeviceId;
  readonly name: string;
  readonly start: MotionBody;
  end?: MotionBody;
  el?: HTMLElement;
}

const MAX_EVENTS = 200;
/** At most one system notification per camera this often. */
export const NOTIFY_COOLDOWN_MS = 60_000;
const NOTIFY_KEY = 'peercam.notify';
/** How long before the motion a recording is opened (the recorder keeps what came before). */
const PLAY_BEFORE_MS = 3000;

/**
 * The motion events of the room (docs/EVENTS.md): a badge on each camera's tile while it sees motion, a list of
 * events with thumbnails for all cameras or one, opening the recording at the event when the hub records that
 * camera, per-camera motion settings, and system notifications for the cameras picked here (with a cooldown).
 */
export class EventsPanel {
  readonly el: HTMLElement;
  private readonly list: HTMLOListElement;
  private readonly filter: HTMLSelectElement;
  private readonly notifyBox: HTMLInputElement;
  private readonly settingsButton: HTMLButtonElement;
  private readonly entries: Entry[] = [];
  private readonly byEvent = new Map<string, Entry>();
  private readonly lastNotified = new Map<DeviceId, number>();
  private recorded = new Set<string>();
  private readonly dialog: MotionSettingsDialog;

  constructor(
    private readonly channel: Channel,
    private readonly grid: HTMLElement,
    private readonly recordings: RecordingsApi | undefined,
    /** Told which cameras the hub records (their recordings names), each time the panel learns it. */
    private readonly onRecorded: (names: ReadonlySet<string>) => void = () => {},
  ) {
    this.filter = h('select', { id: 'events-camera', 'aria-label': 'Camera', onchange: () => this.render() }, h('option', { value: '' }, 'All cameras'));
    this.notifyBox = h('input', { type: 'checkbox', id: 'events-notify', onchange: () => void this.toggleNotify() });
    this.settingsButton = h('button', { type: 'button', id: 'motion-settings', onclick: () => this.openSettings() }, 'Motion settings…');
    this.list = h('ol', { class: 'events-list', id: 'events-list' });
    this.dialog = new MotionSettingsDialog(channel);
    this.el = h(
      'section',
      { class: 'events', id: 'events', 'aria-label': 'motion events' },
      h('div', { class: 'events-head' }, h('h2', {}, 'Motion events'), this.filter, h('label', { class: 'notify' }, this.notifyBox, ' Notify me'), this.settingsButton),
      this.list,
      h('p', { class: 'hint events-empty' }, 'No motion yet. Cameras tell every member of the room when something moves.'),
      this.dialog.el,
    );
    channel.on('message', (e) => {
      if (e.type === 'motion') this.onMotion(e);
    });
    channel.on('peer', () => this.refreshCameras());
    channel.on('gone', () => this.refreshCameras());
    this.refreshCameras();
    this.render();
    void this.loadRecorded();
  }

  private onMotion(e: EnvelopeOf<'motion'>): void {
    const name = this.channel.peers.get(e.from)?.name ?? e.from;
    const key = `${e.from}/${e.body.event}`;
    this.setBadge(e.from, e.body.phase === 'start');
    const known = this.byEvent.get(key);
    if (e.body.phase === 'end') {
      if (known) {
        known.end = e.body;
        this.render();
      }
      return;
    }
    if (known) return;
    const entry: Entry = { camera: e.from, name, start: e.body };
    this.byEvent.set(key, entry);
    this.entries.unshift(entry);
    for (const old of this.entries.splice(MAX_EVENTS)) this.byEvent.delete(`${old.camera}/${old.start.event}`);
    this.render();
    this.notify(entry);
  }

  /** The motion badge on the camera's tile (found by its data-camera). */
  private setBadge(camera: DeviceId, on: boolean): void {
    const tile = this.grid.querySelector<HTMLElement>(`article[data-camera="${CSS.escape(camera)}"]`);
    if (!tile) return;
    tile.dataset.motion = String(on);
    let badge = tile.querySelector<HTMLElement>('.motion-badge');
    if (!badge) {
      badge = h('span', { class: 'motion-badge', title: 'Motion now' }, 'Motion');
      tile.querySelector('.overlay')?.append(badge);
    }
    badge.hidden = !on;
  }

  private refreshCameras(): void {
    const keep = this.filter.value;
    const cameras = [...this.channel.peers.values()].filter((p) => p.role === 'camera');
    this.filter.replaceChildren(h('option', { value: '' }, 'All cameras'), ...cameras.map((c) => h('option', { value: c.id }, c.name)));
    if (cameras.some((c) => c.id === keep)) this.filter.value = keep;
    this.render();
  }

  private render(): void {
    const camera = this.filter.value;
    const shown = this.entries.filter((e) => !camera || e.camera === camera);
    this.list.replaceChildren(...shown.map((e) => this.item(e)));
    this.el.dataset.count = String(shown.length);
    this.settingsButton.disabled = !camera;
    this.settingsButton.title = camera ? '' : 'Pick a camera first';
    this.notifyBox.checked = this.notifying(camera || '*');
  }

  private item(e: Entry): HTMLElement {
    const at = new Date(e.start.startedAt);
    const seconds = e.end ? Math.max(1, Math.round((e.end.at - e.start.startedAt) / 1000)) : undefined;
    const play = this.recorded.has(cameraFolder(e.name)) ? h('a', { class: 'button play', href: recordingsHref(e.name, e.start.startedAt - PLAY_BEFORE_MS) }, 'Play') : null;
    return h(
      'li',
      { class: 'event', 'data-camera': e.camera, 'data-event': e.start.event, 'data-phase': e.end ? 'end' : 'start' },
      e.start.snapshot ? h('img', { class: 'thumb', alt: `${e.name} at ${at.toLocaleTimeString()}`, src: `data:image/jpeg;base64,${e.start.snapshot}` }) : h('div', { class: 'thumb' }),
      h(
        'div',
        { class: 'what' },
        h('strong', {}, e.name),
        h('span', {}, `${at.toLocaleDateString()} ${at.toLocaleTimeString()}`),
        h('span', { class: 'hint' }, seconds === undefined ? 'moving now' : `${seconds} s, ${(Math.max(e.start.score, e.end?.score ?? 0) * 100).toFixed(1)} % of the picture`),
      ),
      play,
    );
  }

  /** Which cameras the recorder of this hub keeps (names as the recordings API has them). */
  private async loadRecorded(): Promise<void> {
    if (!this.recordings) return;
    const o = await this.recordings.overview().catch(() => undefined);
    if (!o || typeof o === 'string') return;
    this.recorded = new Set([...o.cameras.map((c) => c.camera), ...o.recording]);
    this.onRecorded(this.recorded);
    this.render();
    setTimeout(() => void this.loadRecorded(), 60_000);
  }

  private openSettings(): void {
    const id = this.filter.value;
    const camera = this.channel.peers.get(id);
    if (!camera) return;
    const video = this.grid.querySelector<HTMLVideoElement>(`article[data-camera="${CSS.escape(id)}"] video`);
    this.dialog.open(camera.id, camera.name, video ?? undefined);
  }

  private notifying(camera: string): boolean {
    const list = (localStorage.getItem(NOTIFY_KEY) ?? '').split(',').filter(Boolean);
    return list.includes(camera);
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

  private notify(e: Entry): void {
    if (typeof Notification === 'undefined' || Notification.permission !== 'granted') return;
    if (!this.notifying('*') && !this.notifying(e.camera)) return;
    const now = Date.now();
    if (now - (this.lastNotified.get(e.camera) ?? 0) < NOTIFY_COOLDOWN_MS) return;
    this.lastNotified.set(e.camera, now);
    new Notification(`Motion: ${e.name}`, {
      body: new Date(e.start.startedAt).toLocaleTimeString(),
      tag: `peercam-motion-${e.camera}`,
      ...(e.start.snapshot ? { icon: `data:image/jpeg;base64,${e.start.snapshot}` } : {}),
    });
  }
}
