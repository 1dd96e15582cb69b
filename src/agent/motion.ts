import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import * as v from 'valibot';
import { type Box, MotionDetector, type DetectorTiming } from '../events/detector.js';
import { encodeJpeg420 } from '../events/jpeg.js';
import { DEFAULT_MOTION_SETTINGS, type MotionSettings } from '../events/settings.js';
import type { AnalysisFrame, Source } from '../media/sources/index.js';
import { type DeviceId, Emitter, type Envelope, type Logger, type MotionBody, newSessionId, silentLogger } from '../protocol/index.js';
import type { Channel } from '../signaling/channel.js';

/** A motion start or end as the camera sent it to the room (the `motion` message body, plus who and where). */
export interface MotionEvent extends MotionBody {
  /** The camera's device id and name. */
  readonly camera: DeviceId;
  readonly name: string;
}

export interface MotionWatchEvents {
  /** An event started or ended (already sent to the room). */
  event: (event: MotionEvent) => void;
  /** The settings changed (from a member, or at start from the file). */
  settings: (settings: MotionSettings, by: DeviceId | undefined) => void;
}

export interface MotionWatchOptions {
  readonly channel: Channel;
  /** A source opened with `analysis` (it emits `frame` events); one without them is watched for nothing. */
  readonly source: Source;
  readonly name: string;
  /** Where the settings are kept (JSON), e.g. $PEERCAM_HOME/motion-<id>.json; none: in memory only. */
  readonly settingsFile?: string;
  /** The settings when the file has none. Default: on, sensitivity 50, no zones or masks. */
  readonly settings?: MotionSettings;
  readonly timing?: Partial<DetectorTiming>;
  readonly log?: Logger;
}

const SettingsFile = v.object({
  enabled: v.boolean(),
  sensitivity: v.pipe(v.number(), v.minValue(0), v.maxValue(100)),
  zones: v.array(v.array(v.tuple([v.number(), v.number()]))),
  masks: v.array(v.array(v.tuple([v.number(), v.number()]))),
});

/**
 * Motion detection on a camera (docs/EVENTS.md): runs the detector on the source's analysis frames, sends each event's
 * start (with a JPEG snapshot) and end sealed to every member of the room, and answers `motion-settings` messages:
 * any member may read or change the settings, which are kept in `settingsFile`.
 */
export class MotionWatch extends Emitter<MotionWatchEvents> {
  private detector: MotionDetector | undefined;
  private settings: MotionSettings;
  private readonly offs: (() => void)[] = [];
  private readonly log: Logger;
  private event: { id: string; startedAt: number; snapshot: string | undefined } | undefined;
  /** The snapshot of a run of motion not yet an event. */
  private candidate: string | undefined;
  /** The newest analysis frame, for a snapshot. */
  private last: AnalysisFrame | undefined;
  /** Time spent in the detector, for the benchmark (ms, frames). */
  readonly cost = { ms: 0, frames: 0 };
  private saving: Promise<void> = Promise.resolve();

  private constructor(private readonly options: MotionWatchOptions, settings: MotionSettings) {
    super();
    this.settings = settings;
    this.log = (options.log ?? silentLogger).child({ motion: options.name });
    this.offs.push(
      options.source.on('frame', (f) => this.onFrame(f)),
      options.channel.on('message', (e) => this.onMessage(e)),
    );
  }

  /** Loads the kept settings (or the given defaults) and starts watching. */
  static async start(options: MotionWatchOptions): Promise<MotionWatch> {
    const settings = (options.settingsFile ? await loadSettings(options.settingsFile, options.log) : undefined) ?? options.settings ?? DEFAULT_MOTION_SETTINGS;
    return new MotionWatch(options, settings);
  }

  get current(): MotionSettings {
    return this.settings;
  }

  /** Applies and keeps new settings (as a member's `motion-settings` does). */
  async setSettings(settings: MotionSettings, by?: DeviceId): Promise<void> {
    this.settings = settings;
    this.detector?.setSettings(settings);
    this.emit('settings', settings, by);
    const file = this.options.settingsFile;
    if (file) {
      this.saving = this.saving.then(() => saveSettings(file, settings)).catch((err: unknown) => this.log.warn({ err: String(err), file }, 'motion settings not saved'));
      await this.saving;
    }
  }

  private onFrame(frame: AnalysisFrame): void {
    if (!this.detector || this.detector.width !== frame.width || this.detector.height !== frame.height) {
      this.detector = new MotionDetector({ width: frame.width, height: frame.height, settings: this.settings, ...(this.options.timing ? { timing: this.options.timing } : {}) });
    }
    this.last = frame;
    const t0 = performance.now();
    const r = this.detector.push(frame.data, frame.at);
    this.cost.ms += performance.now() - t0;
    this.cost.frames++;
    const t = r.transition;
    // The snapshot is made at the first frame of a run of motion, while the detector waits out the minimum duration:
    // the start goes out without that delay, and the picture shows the moment the motion began.
    if (r.motion && !this.detector.inEvent && !t && this.candidate === undefined) this.candidate = snapshotOf(frame);
    if (!r.motion && !this.detector.inEvent) this.candidate = undefined;
    if (!t) return;
    if (t.phase === 'start') {
      this.event = { id: newSessionId(), startedAt: t.startedAt, snapshot: this.candidate ?? snapshotOf(frame) };
      this.candidate = undefined;
      this.send({ phase: 'start', at: t.at, startedAt: t.startedAt, score: t.score, box: t.box });
    } else if (this.event) {
      this.send({ phase: 'end', at: t.at, startedAt: t.startedAt, score: t.score, box: t.box });
      this.event = undefined;
    }
  }

  private send(p: { phase: 'start' | 'end'; at: number; startedAt: number; score: number; box: Box }): void {
    const e = this.event;
    if (!e) return;
    const body: MotionBody = {
      event: e.id,
      source: 'main',
      phase: p.phase,
      at: Math.round(p.at),
      startedAt: Math.round(p.startedAt),
      score: Math.min(1, p.score),
      box: clampBox(p.box),
      ...(p.phase === 'start' && e.snapshot ? { snapshot: e.snapshot } : {}),
    };
    const { channel } = this.options;
    this.log.info({ event: e.id, phase: p.phase, score: body.score }, `motion ${p.phase}`);
    for (const peer of channel.peers.keys()) {
      void channel.send(peer, 'motion', '', body).catch((err: unknown) => this.log.debug({ err: String(err), to: peer }, 'motion event not sent'));
    }
    this.emit('event', { ...body, camera: channel.self, name: this.options.name });
  }

  private onMessage(e: Envelope): void {
    if (e.type !== 'motion-settings') return;
    const reply = () => void this.options.channel.send(e.from, 'motion-settings', e.sid, { settings: this.settings }).catch(() => {});
    if (!e.body.settings) {
      reply();
      return;
    }
    this.log.info({ by: e.from, settings: e.body.settings }, 'motion settings changed by a member');
    void this.setSettings(e.body.settings, e.from).then(reply);
  }

  /** A JPEG of the newest analysis frame (for a still on demand, e.g. Home Assistant's image). */
  snapshot(): string | undefined {
    return this.last ? snapshotOf(this.last) : undefined;
  }

  close(): void {
    for (const off of this.offs) off();
    this.removeAllListeners();
  }
}

function clampBox(b: Box): Box {
  const c = (n: number) => Math.min(1, Math.max(0, n));
  return { x: c(b.x), y: c(b.y), w: c(b.w), h: c(b.h) };
}

/** A base64 JPEG of a YUV 4:2:0 analysis frame. */
export function snapshotOf(frame: AnalysisFrame, quality = 70): string {
  return Buffer.from(encodeJpeg420(frame.width, frame.height, frame.data, quality, 'limited')).toString('base64');
}


async function loadSettings(file: string, log: Logger | undefined): Promise<MotionSettings | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
  try {
    return v.parse(SettingsFile, JSON.parse(text));
  } catch (err) {
    log?.warn({ file, err: String(err) }, 'motion settings file unreadable: using the defaults (fix or delete it)');
    return undefined;
  }
}

async function saveSettings(file: string, settings: MotionSettings): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const tmp = `${file}.tmp`;
  await writeFile(tmp, `${JSON.stringify(settings, null, 2)}\n`, { mode: 0o600 });
  await rename(tmp, file);
}

/** The JSON a webhook receives for an event (docs/EVENTS.md). */
export function eventJson(e: MotionEvent): Record<string, unknown> {
  return {
    type: 'motion',
    phase: e.phase,
    event: e.event,
    camera: e.camera,
    name: e.name,
    source: e.source,
    at: new Date(e.at).toISOString(),
    startedAt: new Date(e.startedAt).toISOString(),
    score: e.score,
    box: e.box,
    ...(e.snapshot ? { snapshot: { contentType: 'image/jpeg', base64: e.snapshot } } : {}),
  };
}
