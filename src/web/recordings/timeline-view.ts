import { h } from '../lib/dom.js';
import { clock, formatDuration } from './format.js';
import type { EventSpan, Span } from './source.js';
import { TimelineWindow, ZOOMS } from './timeline-window.js';

/** An event still under way is drawn up to now, at most this long (one whose end was never heard stays short). */
const OPEN_EVENT_MS = 600_000;
/** A playhead that moved more than this between two updates jumped (a new clip, a seek) rather than played on. */
const JUMP_MS = 5000;
/** A press that moves less than this is a click (play there); more is a drag (pan). */
const DRAG_PX = 6;

export interface TimelineHandlers {
  /** A click on the bar: play from that moment. */
  pick(at: number): void;
  /** A click on an event's mark. */
  pickEvent(event: EventSpan): void;
  /** The camera's still of an event (a URL), shown above its mark while the pointer is on it. */
  stillOf(event: EventSpan): Promise<string | undefined>;
}

/**
 * The Recordings timeline: recorded spans and motion events over the part of the day in view (24 h down to 10 min:
 * the zoom buttons), the playhead, the time under the pointer. Drag (mouse or finger) to move along the day; while a
 * recording plays, the view follows its playhead.
 */
export class TimelineView {
  readonly window: TimelineWindow;
  private spans: readonly Span[] = [];
  private events: readonly EventSpan[] = [];
  private playheadAt: number | undefined;
  private readonly playhead = h('div', { class: 'playhead', hidden: true });
  private readonly hover = h('div', { class: 'hover-time', hidden: true });
  private readonly content = h('div', { class: 'timeline-content' });
  /** An event's still above the bar (outside it: the bar clips what overflows), while the pointer is on its mark. */
  private readonly preview = h('img', { class: 'timeline-still', alt: '', hidden: true });
  private previewing: EventSpan | undefined;

  constructor(
    private readonly bar: HTMLElement,
    private readonly labels: HTMLElement,
    private readonly zooms: HTMLElement,
    private readonly on: TimelineHandlers,
  ) {
    this.window = new TimelineWindow(0);
    bar.replaceChildren(this.content, this.playhead, this.hover);
    bar.after(this.preview);
    zooms.replaceChildren(
      ...ZOOMS.map((z) =>
        h('button', { type: 'button', 'data-ms': z.ms, 'aria-pressed': String(z.ms === this.window.ms), onclick: () => this.zoom(z.ms) }, z.label),
      ),
    );
    this.listen();
  }

  setDay(dayStart: number): void {
    this.window.setDay(dayStart);
    this.draw();
  }

  show(spans: readonly Span[]): void {
    this.spans = spans;
    this.draw();
  }

  showEvents(events: readonly EventSpan[]): void {
    this.events = events;
    this.draw();
  }

  /**
   * Where playback is (undefined: nothing playing). The view follows it when playing carries it out of view, or when
   * it jumps (a new clip, a seek); not when the person moved the view away from it to look at another time.
   */
  setPlayhead(at: number | undefined): void {
    const before = this.playheadAt;
    this.playheadAt = at;
    const wasInView = before !== undefined && this.window.share(before) >= 0 && this.window.share(before) <= 1;
    const jumped = before === undefined || (at !== undefined && Math.abs(at - before) > JUMP_MS);
    if (at !== undefined && (wasInView || jumped) && this.window.follow(at)) this.draw();
    else this.placePlayhead();
  }

  /** One zoom level in (1) or out (-1). */
  zoomStep(direction: 1 | -1): void {
    const at = ZOOMS.findIndex((z) => z.ms === this.window.ms);
    const next = ZOOMS[Math.min(ZOOMS.length - 1, Math.max(0, (at < 0 ? 0 : at) + direction))];
    if (next) this.zoom(next.ms);
  }

  /** Zooms to `ms` around the playhead, or around the middle of what is in view. */
  zoom(ms: number): void {
    this.window.zoom(ms, this.playheadAt ?? this.window.at(0.5));
    this.draw();
  }

  private draw(): void {
    const w = this.window;
    const end = w.start + w.ms;
    const pct = (share: number) => `${(share * 100).toFixed(3)}%`;
    const bars = this.spans
      .filter((s) => s.end > w.start && s.start < end)
      .map((s) => {
        const left = Math.max(0, w.share(s.start));
        const right = Math.min(1, w.share(s.end));
        return h('div', { class: 'span', style: `left:${pct(left)};width:${pct(Math.max(0.0015, right - left))}` });
      });
    const marks = this.events
      .map((e) => ({ e, until: e.end ?? Math.max(e.start, Math.min(Date.now(), e.start + OPEN_EVENT_MS)) }))
      .filter(({ e, until }) => until > w.start && e.start < end)
      .map(({ e, until }) => {
        const left = Math.max(0, w.share(e.start));
        const right = Math.min(1, w.share(until));
        return h('button', {
          type: 'button',
          class: 'event-mark',
          style: `left:${pct(left)};width:${pct(Math.max(0, right - left))}`,
          title: `Motion at ${clock(e.start)}${e.end !== undefined ? `, ${formatDuration(e.end - e.start)}` : ' (under way)'}: click to play`,
          'aria-label': `Motion at ${clock(e.start)}`,
          'data-start': e.start,
          'data-event': e.event,
          onclick: (ev: Event) => {
            ev.stopPropagation();
            this.on.pickEvent(e);
          },
        });
      });
    this.content.replaceChildren(...bars, ...marks);
    this.labels.replaceChildren(
      ...w.ticks().map((t) => h('span', { class: t.share < 0.04 ? 'tick first' : t.share > 0.96 ? 'tick last' : 'tick', style: `left:${pct(t.share)}` }, t.label)),
    );
    for (const b of this.zooms.querySelectorAll('button')) b.setAttribute('aria-pressed', String(Number(b.dataset.ms) === w.ms));
    this.placePlayhead();
  }

  private placePlayhead(): void {
    const share = this.playheadAt === undefined ? -1 : this.window.share(this.playheadAt);
    this.playhead.hidden = share < 0 || share > 1;
    this.playhead.style.left = `${(share * 100).toFixed(3)}%`;
  }

  private shareOf(clientX: number): number {
    const box = this.bar.getBoundingClientRect();
    return Math.min(1, Math.max(0, (clientX - box.left) / box.width));
  }

  /** Click plays, drag pans (captured only once it is a drag, so a click on an event's mark stays that mark's). */
  private listen(): void {
    let press: { x: number; start: number; id: number; dragging: boolean } | undefined;
    let dragged = false;
    this.bar.addEventListener('pointerdown', (e) => {
      if (e.button !== 0) return;
      press = { x: e.clientX, start: this.window.start, id: e.pointerId, dragging: false };
      dragged = false;
    });
    this.bar.addEventListener('pointermove', (e) => {
      this.showHover(e.clientX);
      this.showStill(e.target instanceof Element ? e.target.closest<HTMLElement>('.event-mark') : null);
      if (!press || e.pointerId !== press.id) return;
      const dx = e.clientX - press.x;
      if (!press.dragging && Math.abs(dx) < DRAG_PX) return;
      if (!press.dragging) {
        press.dragging = true;
        this.bar.setPointerCapture(e.pointerId);
        this.bar.classList.add('dragging');
      }
      const width = this.bar.getBoundingClientRect().width;
      this.window.start = press.start;
      this.window.pan((-dx / width) * this.window.ms);
      this.draw();
    });
    const release = (e: PointerEvent) => {
      if (!press || e.pointerId !== press.id) return;
      dragged = press.dragging;
      press = undefined;
      this.bar.classList.remove('dragging');
    };
    this.bar.addEventListener('pointerup', release);
    this.bar.addEventListener('pointercancel', release);
    this.bar.addEventListener('pointerleave', () => {
      this.hover.hidden = true;
      this.showStill(null);
    });
    this.bar.addEventListener('click', (e) => {
      if (dragged) {
        dragged = false;
        return;
      }
      this.on.pick(this.window.at(this.shareOf(e.clientX)));
    });
  }

  private showHover(clientX: number): void {
    const share = this.shareOf(clientX);
    this.hover.hidden = false;
    this.hover.textContent = clock(this.window.at(share));
    this.hover.style.left = `${(share * 100).toFixed(3)}%`;
    this.hover.classList.toggle('flip', share > 0.85);
  }

  /** The still of the event whose mark is under the pointer (none: hidden), centred above the mark. */
  private showStill(mark: HTMLElement | null): void {
    const event = mark ? this.events.find((e) => e.event === mark.dataset.event && e.hasSnapshot) : undefined;
    if (event === this.previewing) return;
    this.previewing = event;
    this.preview.hidden = true;
    if (!event || !mark) return;
    void this.on.stillOf(event).then((url) => {
      if (!url || this.previewing !== event) return;
      this.preview.src = url;
      // Kept inside the timeline's box near its ends (the still is 160 px wide, centred on the mark).
      const x = this.bar.offsetLeft + this.bar.clientLeft + mark.offsetLeft + mark.offsetWidth / 2;
      this.preview.style.left = `${Math.min(Math.max(x, this.bar.offsetLeft + 80), this.bar.offsetLeft + this.bar.offsetWidth - 80)}px`;
      this.preview.style.top = `${this.bar.offsetTop}px`;
      this.preview.hidden = false;
    });
  }
}
