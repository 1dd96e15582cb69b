import type { BrowserRoom } from '../../api/browser.js';
import type { Device } from '../../api/room.js';
import type { DeviceId, Logger } from '../../protocol/index.js';
import { h } from '../lib/dom.js';
import { mark } from '../lib/timeline.js';
import type { TalkBack } from './talk.js';
import { type RecordingNow, Tile } from './tile.js';

/** The cameras of the room as tiles, added and removed live from presence. */
export class Grid {
  private readonly tiles = new Map<DeviceId, Tile>();
  private readonly empty: HTMLElement;
  private room: BrowserRoom | undefined;
  private offs: (() => void)[] = [];
  /** The cameras the room's recorder keeps, by recordings name (their tiles offer Replay). */
  private recorded: ReadonlySet<string> = new Set();
  private recording: ReadonlyMap<string, RecordingNow> = new Map();

  constructor(
    private readonly root: HTMLElement,
    private readonly talk: TalkBack,
    private readonly log: Logger,
  ) {
    this.empty = h(
      'div',
      { class: 'empty' },
      h('h2', {}, 'No camera in this room yet'),
      h('p', {}, 'Open “Add a device” to pair a phone, or press “Use this device as a camera” on another device. Cameras appear here by themselves.'),
    );
    this.root.append(this.empty);
  }

  /**
   * Shows the cameras of `room` (one joined, or one whose channel is still starting). A room still starting gets a
   * viewer connection ready per camera this browser saw in the room last time (at least one), so the tiles' offers
   * go out the moment the cameras are known.
   */
  attach(room: BrowserRoom): void {
    this.room = room;
    if (room.state !== 'online') room.prepareWatches(rememberedCameras());
    this.offs = [
      room.on('join', (p) => this.onPeer(p)),
      room.on('update', (p) => this.onPeer(p)),
      room.on('leave', (p) => {
        this.remove(p.id);
        rememberCameras(this.tiles.size);
      }),
      room.on('state', (s) => {
        for (const t of this.tiles.values()) if (s === 'online') t.linkUp();
        else t.linkDown();
      }),
    ];
  }

  detach(): void {
    for (const off of this.offs) off();
    this.offs = [];
    for (const id of [...this.tiles.keys()]) this.remove(id);
    this.room = undefined;
  }

  /** Which cameras the room's recorder keeps (recordings names): their tiles offer Replay. */
  setRecorded(names: ReadonlySet<string>): void {
    this.recorded = names;
    for (const t of this.tiles.values()) t.setRecorded(names);
  }

  /** Which cameras a recorder records now, or would but cannot write (recordings names): their tiles say so. */
  setRecording(now: ReadonlyMap<string, RecordingNow>): void {
    this.recording = now;
    for (const t of this.tiles.values()) t.setRecording(now);
  }

  get size(): number {
    return this.tiles.size;
  }

  private onPeer(p: Device): void {
    const existing = this.tiles.get(p.id);
    if (p.role !== 'camera') {
      if (existing) this.remove(p.id); // it stopped being a camera (a call ended)
      return;
    }
    if (existing) {
      existing.update(p);
      existing.setRecorded(this.recorded);
      existing.setRecording(this.recording);
      return;
    }
    if (!this.room) return;
    mark('presence', p.id);
    const tile = new Tile(this.room, p, this.talk, this.log.child({ camera: p.id }));
    this.tiles.set(p.id, tile);
    tile.setRecorded(this.recorded);
    tile.setRecording(this.recording);
    this.root.append(tile.el);
    this.refresh();
    rememberCameras(this.tiles.size);
    // Presence can arrive before the link is up (a channel still starting): the tile starts when it is (linkUp).
    if (this.room.state === 'online') tile.start();
  }

  private remove(id: DeviceId): void {
    const tile = this.tiles.get(id);
    if (!tile) return;
    this.tiles.delete(id);
    tile.dispose();
    this.refresh();
  }

  private refresh(): void {
    this.empty.hidden = this.tiles.size > 0;
    this.root.dataset.count = String(this.tiles.size);
  }
}

const CAMERAS_KEY = 'peercam.cameras';
/** Spares made at most: each is a connection the browser sets up while the page starts. */
const MAX_SPARES = 9;

function rememberedCameras(): number {
  const n = Number(localStorage.getItem(CAMERAS_KEY));
  return Number.isInteger(n) && n > 0 ? Math.min(n, MAX_SPARES) : 1;
}

function rememberCameras(n: number): void {
  localStorage.setItem(CAMERAS_KEY, String(n));
}
