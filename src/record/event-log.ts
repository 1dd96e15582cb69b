import { appendFileSync, mkdirSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { cameraFolder, type Logger, silentLogger } from '../protocol/index.js';
import { dayOf, listCameras } from './store.js';
import type { RecordingsEvent } from '../protocol/recordings-wire.js';

/**
 * Motion events the recorder heard, kept beside the recordings (docs/EVENTS.md): one JSON line per start and end in
 * `<root>/<camera>/events/<YYYY-MM-DD>.jsonl` (the UTC day of the event's start). Times are the recorder's clock, the
 * one the segments are named by: a start is when its message arrived minus the detection delay the camera reported
 * (`at - startedAt`, a difference, so the two clocks need not agree), an end is when its message arrived.
 */
export interface EventMark {
  readonly event: string;
  /** ms since the epoch (the recorder's clock). */
  readonly start: number;
  /** undefined while the event is under way (or its end never came: the recorder stopped first). */
  readonly end: number | undefined;
  /** Share of the watched picture that moved (the highest seen). */
  readonly score: number;
  /** Where it moved (normalised), from the end message: the union over the event. */
  readonly box?: MarkBox;
  /** Whether the recorder keeps the camera's still of it. */
  readonly snapshot?: true;
}

/** A normalised box (0..1 of the picture). */
export interface MarkBox {
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly h: number;
}

interface Line {
  readonly event: string;
  readonly phase: 'start' | 'end';
  readonly at: number;
  readonly score: number;
  readonly box?: MarkBox;
  readonly snapshot?: true;
}

const DAY_MS = 86_400_000;
const FILE = /^(\d{4}-\d{2}-\d{2})\.jsonl$/;
const DAY_DIR = /^\d{4}-\d{2}-\d{2}$/;
/** Event ids a still may be stored under (a camera's ids are base32; anything else gets no file). */
const SAFE_EVENT = /^[A-Za-z0-9_-]{1,64}$/;
/** An event whose end never came counts as this long, for retention and the timeline. */
export const OPEN_EVENT_MS = 60_000;

const eventsDir = (root: string, folder: string) => join(root, folder, 'events');

/** The events of one camera (name or folder) that overlap [from, to), oldest first. Reads only the days in range. */
export function readEvents(root: string, camera: string, from = 0, to = Number.MAX_SAFE_INTEGER): EventMark[] {
  const folder = cameraFolder(camera);
  return daysInRange(root, folder, from, to).flatMap((day) => readDay(root, folder, day, from, to));
}

/**
 * The motion events over [from, to) of `camera`, or of every camera, oldest first; with `limit`, only the newest that
 * many: days are read from the newest back, and no further than it takes (a year of days costs what a few do).
 * As the HTTP API's /events and the data channel's `events` answer.
 */
export function eventsJson(root: string, camera: string | undefined, from: number, to: number, limit = Number.MAX_SAFE_INTEGER): RecordingsEvent[] {
  const folders = camera === undefined ? listCameras(root) : [cameraFolder(camera)];
  const byDay = new Map<string, string[]>();
  for (const folder of folders) for (const day of daysInRange(root, folder, from, to)) byDay.set(day, [...(byDay.get(day) ?? []), folder]);
  const picked: { folder: string; m: EventMark }[] = [];
  // An event is in the file of the day it started, with its end: once a day brings the count to `limit`, every
  // earlier day's events started earlier than those.
  for (const day of [...byDay.keys()].sort().reverse()) {
    for (const folder of byDay.get(day) ?? []) picked.push(...readDay(root, folder, day, from, to).map((m) => ({ folder, m })));
    if (picked.length >= limit) break;
  }
  picked.sort((a, b) => a.m.start - b.m.start);
  return picked.slice(Math.max(0, picked.length - limit)).map(({ folder, m }) => ({
    camera: folder,
    event: m.event,
    start: new Date(m.start).toISOString(),
    duration: m.end === undefined ? null : (m.end - m.start) / 1000,
    score: m.score,
    ...(m.box ? { box: m.box } : {}),
    ...(m.snapshot ? { snapshot: true } : {}),
  }));
}

/** The days (ascending) of a camera folder's event files that may hold events overlapping [from, to). */
function daysInRange(root: string, folder: string, from: number, to: number): string[] {
  // From the day before `from`: an event that started then may still run into the range.
  const first = dayOf(Math.max(0, from - DAY_MS));
  const last = dayOf(Math.min(to, 8.64e15));
  return listFiles(eventsDir(root, folder)).flatMap((file) => {
    const day = FILE.exec(file)?.[1];
    return day && day >= first && day <= last ? [day] : [];
  });
}

/** The events of one day file (those that started that day) that overlap [from, to), oldest first. */
function readDay(root: string, folder: string, day: string, from: number, to: number): EventMark[] {
  const lines = parseLines(readText(join(eventsDir(root, folder), `${day}.jsonl`)));
  return marksOf(lines).filter((m) => m.start < to && (m.end ?? m.start + OPEN_EVENT_MS) >= from);
}

/** The JPEG still the recorder keeps of `event` of `camera` (name or folder), or undefined. */
export function readSnapshot(root: string, camera: string, event: string): Buffer | undefined {
  if (!SAFE_EVENT.test(event)) return undefined;
  const dir = eventsDir(root, cameraFolder(camera));
  // Newest day first: a still is asked for most often soon after its event.
  for (const day of listFiles(dir).filter((f) => DAY_DIR.test(f)).reverse()) {
    const jpeg = readOrUndefined(join(dir, day, `${event}.jpg`));
    if (jpeg) return jpeg;
  }
  return undefined;
}

/**
 * The recorder's event log: appends what cameras send, and answers whether a recording overlaps an event (kept by
 * `--keep-events`). Every camera's events are loaded at start (a few hundred lines a day).
 */
export class EventLog {
  /** Per camera folder, the events by id, in start order. */
  private readonly marks = new Map<string, Map<string, { start: number; end: number | undefined; score: number; box?: MarkBox; day: string }>>();
  private readonly log: Logger;

  constructor(
    private readonly root: string,
    options: { log?: Logger; cameras?: readonly string[] } = {},
  ) {
    this.log = options.log ?? silentLogger;
    for (const folder of options.cameras ?? []) {
      for (const m of readEvents(root, folder)) this.camera(folder).set(m.event, { ...m, day: dayOf(m.start) });
    }
  }

  /** A motion start from `camera` (its name), at `start` on the recorder's clock, with the camera's still (base64 JPEG). */
  start(camera: string, event: string, start: number, score: number, snapshot?: string): void {
    const folder = cameraFolder(camera);
    const events = this.camera(folder);
    if (events.has(event)) return;
    const day = dayOf(start);
    events.set(event, { start, end: undefined, score, day });
    const kept = snapshot !== undefined && this.keepSnapshot(folder, day, event, snapshot);
    this.append(folder, day, { event, phase: 'start', at: Math.round(start), score, ...(kept ? { snapshot: true } : {}) });
  }

  /** Its end (`end` on the recorder's clock). An end without a start we heard (we joined mid-event) is dropped. */
  end(camera: string, event: string, end: number, score: number, box?: MarkBox): void {
    const folder = cameraFolder(camera);
    const m = this.marks.get(folder)?.get(event);
    if (!m || m.end !== undefined) return;
    m.end = Math.max(m.start, end);
    m.score = Math.max(m.score, score);
    if (box) m.box = box;
    this.append(folder, m.day, { event, phase: 'end', at: Math.round(m.end), score: m.score, ...(box ? { box } : {}) });
  }

  /** The camera left: its events under way end now (their end messages will never come). */
  endAll(camera: string, at: number): void {
    for (const [event, m] of this.marks.get(cameraFolder(camera)) ?? []) if (m.end === undefined) this.end(camera, event, at, m.score);
  }

  /** Whether the recording of camera folder `folder` over [start, end] overlaps an event widened by the margins. */
  covers(folder: string, start: number, end: number, before: number, after: number): boolean {
    for (const m of this.marks.get(folder)?.values() ?? []) {
      const until = (m.end ?? m.start + OPEN_EVENT_MS) + after;
      if (m.start - before < end && until > start) return true;
    }
    return false;
  }

  /** Whether the segment file at `path` (`<root>/<camera>/<day>/<file>`) over [start, end] holds an event (see `covers`). */
  holds(path: string, start: number, end: number, before: number, after: number): boolean {
    return this.covers(basename(dirname(dirname(path))), start, end, before, after);
  }

  /** Forgets and deletes the day files (and stills) of events that started before `before`'s day. */
  prune(before: number): void {
    const cut = dayOf(before);
    for (const [folder, events] of this.marks) {
      for (const [id, m] of events) if (m.day < cut) events.delete(id);
      const dir = eventsDir(this.root, folder);
      for (const file of listFiles(dir)) {
        const day = FILE.exec(file)?.[1] ?? (DAY_DIR.test(file) ? file : undefined);
        if (!day || day >= cut) continue;
        try {
          if (file === day) rmSync(join(dir, file), { recursive: true, force: true });
          else unlinkSync(join(dir, file));
        } catch (err) {
          this.log.debug({ file, err: String(err) }, 'events: could not delete an old day');
        }
      }
    }
  }

  /** Writes the still of an event beside its day's log; false when it is not a JPEG or cannot be written. */
  private keepSnapshot(folder: string, day: string, event: string, base64: string): boolean {
    const jpeg = Buffer.from(base64, 'base64');
    if (!SAFE_EVENT.test(event) || jpeg[0] !== 0xff || jpeg[1] !== 0xd8) return false;
    const dir = join(eventsDir(this.root, folder), day);
    try {
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, `${event}.jpg`), jpeg);
      return true;
    } catch (err) {
      this.log.warn({ err: String(err), folder }, 'events: could not keep the still of an event');
      return false;
    }
  }

  private camera(folder: string) {
    let m = this.marks.get(folder);
    if (!m) {
      m = new Map();
      this.marks.set(folder, m);
    }
    return m;
  }

  private append(folder: string, day: string, line: Line): void {
    const dir = eventsDir(this.root, folder);
    try {
      mkdirSync(dir, { recursive: true });
      appendFileSync(join(dir, `${day}.jsonl`), `${JSON.stringify(line)}\n`);
    } catch (err) {
      // A full disk: the recorder says so for the segments; the event stays in memory.
      this.log.warn({ err: String(err), folder }, 'events: could not write the event log');
    }
  }
}

function marksOf(lines: readonly Line[]): EventMark[] {
  const byId = new Map<string, { event: string; start: number; end: number | undefined; score: number; box?: MarkBox; snapshot?: true }>();
  for (const l of lines) {
    const m = byId.get(l.event);
    if (l.phase === 'start') {
      if (!m) byId.set(l.event, { event: l.event, start: l.at, end: undefined, score: l.score, ...(l.snapshot ? { snapshot: true as const } : {}) });
    } else if (m) {
      m.end = l.at;
      m.score = Math.max(m.score, l.score);
      if (l.box) m.box = l.box;
    }
  }
  return [...byId.values()].sort((a, b) => a.start - b.start);
}

function parseLines(text: string): Line[] {
  const out: Line[] = [];
  for (const raw of text.split('\n')) {
    if (!raw) continue;
    try {
      const j = JSON.parse(raw) as Partial<Line>;
      if (typeof j.event === 'string' && (j.phase === 'start' || j.phase === 'end') && Number.isFinite(j.at))
        out.push({
          event: j.event,
          phase: j.phase,
          at: Number(j.at),
          score: Number(j.score) || 0,
          ...(isBox(j.box) ? { box: j.box } : {}),
          ...(j.snapshot === true ? { snapshot: true as const } : {}),
        });
    } catch {
      // a line cut by a crash
    }
  }
  return out;
}

const isBox = (b: unknown): b is MarkBox =>
  typeof b === 'object' && b !== null && ['x', 'y', 'w', 'h'].every((k) => typeof (b as Record<string, unknown>)[k] === 'number');

function listFiles(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
}

function readOrUndefined(file: string): Buffer | undefined {
  try {
    return readFileSync(file);
  } catch {
    return undefined;
  }
}

function readText(file: string): string {
  return readOrUndefined(file)?.toString('utf8') ?? '';
}
