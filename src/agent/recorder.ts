import { EventGate } from './event-gate.js';
import { mkdirSync } from 'node:fs';
import { type DeviceId, type Logger, PeercamError, sendsAudio, silentLogger } from '../protocol/index.js';
import { CameraRecorder } from '../record/camera-recorder.js';
import { DiskGuard, type DiskState } from '../record/disk.js';
import { EventLog } from '../record/event-log.js';
import { Retention, type RetentionPolicy } from '../record/retention.js';
import { listCameras, repairUnfinished } from '../record/store.js';
import { type IceProblem, type PeerConfig, type Timeouts, ViewerSession } from '../session/index.js';
import { exponentialBackoff } from '../signaling/backoff.js';
import type { Channel, PeerInfo } from '../signaling/channel.js';
import { createViewerPeer, type NdcOptions, TurnBridge, type ViewerPeer } from '../media/ndc/index.js';
import { RECORDINGS_SOURCE } from '../protocol/recordings-wire.js';
import { RecordingsServer } from './recordings-server.js';

/** Options of a Recorder: the room channel, where to write, retention, which cameras. */
export interface RecorderOptions extends RetentionPolicy {
  /**
   * The room. The recorder's presence on it (which should list RECORDINGS_PRESENCE_SOURCE) also tells the room whether
   * it writes (`recording`), the moment that changes, so that every member's page can say "Recording is stopped".
   */
  readonly channel: Channel;
  readonly peerConfig: PeerConfig;
  /** Where recordings go: one folder per camera. */
  readonly root: string;
  /** Target segment length (ms). Default 60 s. */
  readonly segmentMs?: number;
  /** Only these cameras (names or device ids); default every camera of the room, present or to come. */
  readonly cameras?: readonly string[];
  /** Retention sweep / disk retry interval. Default 5 s. */
  readonly sweepMs?: number;
  /**
   * Ask for a keyframe (PLI) when none came for this long. Fragments start at keyframes, so this bounds what a crash
   * loses; browser cameras send keyframes only when asked. Default 2 s, looked at once a second. Encoders with a fixed
   * interval ignore it.
   */
  readonly keyframeMs?: number;
  /**
   * Ask cameras for the media in bursts of at most this many ms (`batchMs` in the offer): the recorder's threads wake
   * about once a second per camera instead of once per frame. Node cameras do; browser camera pages and older cameras
   * send live. 0: live. Default 1000 (DEFAULT_BATCH_MS).
   */
  readonly batchMs?: number;
  readonly engine?: NdcOptions;
  readonly timeouts?: Partial<Timeouts>;
  readonly log?: Logger;
  /** One line per thing worth telling a user (camera recorded, session ended, disk full, resumed). */
  readonly onEvent?: (line: string) => void;
  /** The same events as data, for metrics (src/metrics/recorder.ts). */
  readonly onActivity?: (e: RecorderActivity) => void;
  /**
   * Serve the recordings to members of the room over WebRTC data channels (offers for the `recordings` source;
   * the device's presence should list that source: RECORDINGS_PRESENCE_SOURCE). Default true.
   */
  readonly serve?: boolean;
  /**
   * 'events': keep only clips around motion events (docs/EVENTS.md), from `preRollMs` before the start (default 5 s,
   * from the GOPs kept in memory) to `postRollMs` after the end (default 10 s). Default 'continuous'.
   */
  readonly mode?: 'continuous' | 'events';
  /**
   * Events mode: how much before the motion began a clip starts (at a keyframe at least this early). Continuous mode:
   * how much before an event a segment still counts as holding it (for `keepEventsMs`). Default 5 s.
   */
  readonly preRollMs?: number;
  /** Events mode: how long a clip goes on after the event's end. Continuous mode: the same margin after it. Default 10 s. */
  readonly postRollMs?: number;
  /** Wall clock (ms since the epoch) for event times, injectable for tests. */
  readonly now?: () => number;
}

/** What a recorder did, for metrics: sessions to cameras (it is their viewer), finished segments, the disk's state. */
export type RecorderActivity =
  | { readonly kind: 'connected'; readonly camera: string }
  | { readonly kind: 'ended'; readonly camera: string; readonly reason: string }
  | { readonly kind: 'segment'; readonly camera: string; readonly bytes: number }
  | { readonly kind: 'disk'; readonly state: DiskState }
  /** A motion start or end the camera sent the recorder. */
  | { readonly kind: 'motion'; readonly camera: string; readonly phase: 'start' | 'end' }
  /** ICE of a session to the camera failed or did not connect in time (once per session). */
  | { readonly kind: 'ice'; readonly camera: string; readonly problem: IceProblem };

/** How long a camera may hold the recorder's media before sending it (RecorderOptions.batchMs). */
export const DEFAULT_BATCH_MS = 1000;
/** Sessions that start or end within this are announced together (the recorder's presence, `recording.cameras`). */
const ANNOUNCE_MS = 500;
/** Most cameras a recorder's presence names (the protocol's limit). */
const MAX_ANNOUNCED = 64;
/** How often the recorder looks at all its cameras (`Recorder.tick`). */
const TICK_MS = 1000;

/** The source a recorder lists in its presence so that members find it and offer for its recordings. */
export const RECORDINGS_PRESENCE_SOURCE = { id: RECORDINGS_SOURCE, name: 'Recordings', kinds: [] as ('video' | 'audio')[] };

/** One recorded camera: a viewer session that comes back by itself, feeding a CameraRecorder. */
interface Watched {
  /** Its latest presence. */
  camera: PeerInfo;
  readonly recorder: CameraRecorder;
  session: ViewerSession | undefined;
  /** Asks the camera for a keyframe; set while the session is connected. */
  requestKeyframe: (() => void) | undefined;
  failures: number;
  timer: ReturnType<typeof setTimeout> | undefined;
  /** Events mode: when to write. */
  readonly gate?: EventGate;
}

/**
 * `peercam record`: a headless member of the room that watches every camera (present now or appearing later), and
 * writes what it receives to disk without decoding. Sessions that end (camera restarted, network cut) are set up
 * again while the camera is present. Retention and the disk gate are shared by all cameras.
 */
export class Recorder {
  readonly guard: DiskGuard;
  readonly retention: Retention;
  private readonly watched = new Map<DeviceId, Watched>();
  private readonly log: Logger;
  private readonly offs: (() => void)[] = [];
  private closed = false;
  private readonly retry = exponentialBackoff({ initialMs: 250, maxMs: 4000, jitter: 'none' });
  /** Recordings over data channels, for members away from home. */
  private server: RecordingsServer | undefined;
  /** The motion events the cameras sent, kept beside the recordings (timeline marks, `keepEventsMs`). */
  readonly events: EventLog;
  private pruneTimer: ReturnType<typeof setInterval> | undefined;
  /** The last `recording` the presence told, and the timer of the next. */
  private told = '';
  private announceTimer: ReturnType<typeof setTimeout> | undefined;
  /** Once a second for all cameras: stalled frames end segments, old keyframes are asked again (`tick`). */
  private readonly ticker: ReturnType<typeof setInterval>;

  private constructor(
    private readonly options: RecorderOptions,
    private readonly turnBridge: TurnBridge | undefined,
  ) {
    this.log = options.log ?? silentLogger;
    const say = options.onEvent ?? (() => {});
    this.events = new EventLog(options.root, { log: this.log, cameras: listCameras(options.root) });
    const before = options.preRollMs ?? 5000;
    const after = options.postRollMs ?? 10_000;
    // Events mode keeps nothing but event clips; continuous mode asks the log (the camera folder is in the path).
    const isEvent =
      options.mode === 'events' ? () => true : (path: string, start: number, end: number) => this.events.holds(path, start, end, before, after);
    this.retention = new Retention({ ...options, isEvent, log: this.log });
    // Event lines are kept as long as the recordings they mark could be.
    const keep = Math.max(options.keepMs ?? Number.POSITIVE_INFINITY, options.keepEventsMs ?? options.keepMs ?? Number.POSITIVE_INFINITY);
    if (Number.isFinite(keep)) {
      const prune = () => this.events.prune((options.now ?? Date.now)() - keep - 86_400_000);
      prune();
      this.pruneTimer = setInterval(prune, 3_600_000);
      this.pruneTimer.unref();
    }
    this.ticker = setInterval(() => this.tick(), TICK_MS);
    this.ticker.unref();
    this.guard = new DiskGuard({
      root: options.root,
      retention: this.retention,
      ...(options.sweepMs !== undefined ? { intervalMs: options.sweepMs } : {}),
      log: this.log,
      onChange: (state: DiskState, error) => {
        say(state === 'ok' ? 'recording resumed: the disk is writable again' : `${error?.message}`);
        options.onActivity?.({ kind: 'disk', state });
        this.announce();
      },
    });
  }

  /** Repairs what a crash left, then records every camera of the room that passes the filter. */
  static async start(options: RecorderOptions): Promise<Recorder> {
    try {
      mkdirSync(options.root, { recursive: true });
    } catch (err) {
      throw new PeercamError('disk', `Cannot create the recordings folder ${options.root}: ${String(err)}. Pass --out with a writable folder.`, { cause: err });
    }
    const repaired = repairUnfinished(options.root);
    if (repaired.repaired.length || repaired.deleted.length)
      options.onEvent?.(`repaired ${repaired.repaired.length} unfinished segment(s), removed ${repaired.deleted.length} with nothing playable`);
    const turnBridge = await TurnBridge.open(options.peerConfig, options.log ?? silentLogger);
    const rec = new Recorder(options, turnBridge);
    rec.guard.tick();
    const ch = options.channel;
    rec.offs.push(
      ch.on('peer', (p) => rec.consider(p)),
      ch.on('gone', (id) => rec.gone(id)),
      // Cameras send their motion events to every member, this recorder included.
      ch.on('message', (e) => {
        const w = e.type === 'motion' ? rec.watched.get(e.from) : undefined;
        if (e.type !== 'motion' || !w) return;
        const b = e.body;
        const now = (options.now ?? Date.now)();
        const name = w.camera.name;
        options.onActivity?.({ kind: 'motion', camera: name, phase: b.phase });
        if (b.phase === 'start') {
          // When the motion began, on our clock: the delay the camera reports (a difference of its own times) back
          // from the arrival, so the two clocks need not agree.
          const began = now - Math.min(60_000, Math.max(0, b.at - b.startedAt));
          rec.events.start(name, b.event, began, b.score, b.snapshot);
          w.gate?.start(b.event, began);
        } else {
          rec.events.end(name, b.event, now, b.score, b.box);
          w.gate?.end(b.event);
        }
      }),
    );
    for (const p of ch.peers.values()) rec.consider(p);
    if (options.serve !== false)
      rec.server = new RecordingsServer({
        channel: ch,
        peerConfig: options.peerConfig,
        root: options.root,
        status: () => ({ recording: rec.cameras.map((c) => c.name), state: rec.guard.state, error: rec.guard.error?.message }),
        ...(options.engine ? { engine: options.engine } : {}),
        ...(turnBridge ? { turnBridge } : {}),
        ...(options.timeouts ? { timeouts: options.timeouts } : {}),
        ...(options.log ? { log: options.log } : {}),
      });
    return rec;
  }

  /**
   * Tells the room (in the recorder's presence) whether it writes and which cameras it receives now; only when that
   * changes. Sessions that come and go together (a restart, a network change) are told at once, `soon`.
   */
  private announce(soon = false): void {
    const presence = this.options.channel.presence;
    if (!presence || this.closed) return;
    if (soon) {
      this.announceTimer ??= setTimeout(() => {
        this.announceTimer = undefined;
        this.announce();
      }, ANNOUNCE_MS);
      return;
    }
    const error = this.guard.error?.message.slice(0, 512);
    const cameras = [...this.watched.values()].filter((w) => w.requestKeyframe !== undefined).map((w) => w.camera.name.slice(0, 128));
    const recording = { state: this.guard.state, ...(error ? { error } : {}), cameras: cameras.sort().slice(0, MAX_ANNOUNCED) };
    const told = JSON.stringify(recording);
    if (told === this.told) return;
    this.told = told;
    this.options.channel.setPresence({ ...presence, recording }).catch((err: unknown) => this.log.warn({ err: String(err) }, 'could not announce the recording state'));
  }

  /** Cameras being recorded now (connected or coming back). */
  get cameras(): PeerInfo[] {
    return [...this.watched.values()].map((w) => w.camera);
  }

  /** Frames written per camera name (tests, progress). */
  stats(): { camera: string; frames: number; receivedPackets: number; receivedBytes: number; writtenBytes: number }[] {
    return [...this.watched.values()].map((w) => ({
      camera: w.camera.name,
      frames: w.recorder.frames,
      receivedPackets: w.recorder.receivedPackets,
      receivedBytes: w.recorder.receivedBytes,
      writtenBytes: w.recorder.writtenBytes,
    }));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const off of this.offs) off();
    await this.server?.close();
    const all = [...this.watched.values()];
    await Promise.all(all.map((w) => this.stop(w)));
    for (const st of this.stats())
      this.options.onEvent?.(`"${st.camera}": ${st.frames} frames (${st.receivedPackets} RTP packets), ${st.receivedBytes} RTP bytes received, ${st.writtenBytes} bytes written`);
    this.watched.clear();
    clearInterval(this.ticker);
    clearTimeout(this.announceTimer);
    if (this.pruneTimer) clearInterval(this.pruneTimer);
    this.guard.close();
    this.turnBridge?.close();
  }

  /**
   * One timer for every camera, not one or two each: on a small machine every wake-up of the process costs (the
   * recorder's CPU, docs/RECORDING.md). A keyframe older than `keyframeMs` is asked again (browsers send them rarely).
   */
  private tick(): void {
    const every = this.options.keyframeMs ?? 2000;
    const now = Date.now();
    for (const w of this.watched.values()) {
      w.recorder.checkStalled();
      if (w.requestKeyframe && now - w.recorder.lastKeyframeWall > every) w.requestKeyframe();
    }
  }

  private wanted(p: PeerInfo): boolean {
    if (p.role !== 'camera') return false;
    const only = this.options.cameras;
    return !only || only.length === 0 || only.includes(p.name) || only.includes(p.id);
  }

  private consider(p: PeerInfo): void {
    if (this.closed || !this.wanted(p)) return;
    const known = this.watched.get(p.id);
    if (known) {
      const hadAudio = sendsAudio(known.camera);
      known.camera = p;
      // A camera page publishes its sources once its microphone is on: connect again to get the sound too.
      if (known.session && sendsAudio(p) && !hadAudio) known.session.close('local', 'the camera has sound now');
      else if (!known.session && !known.timer) this.begin(known);
      return;
    }
    const gate = this.options.mode === 'events' ? new EventGate({ ...(this.options.preRollMs !== undefined ? { preRollMs: this.options.preRollMs } : {}), ...(this.options.postRollMs !== undefined ? { postRollMs: this.options.postRollMs } : {}) }) : undefined;
    const w: Watched = {
      camera: p,
      ...(gate ? { gate } : {}),
      recorder: new CameraRecorder({
        ...(gate ? { gate } : {}),
        root: this.options.root,
        camera: p.name,
        ...(this.options.segmentMs !== undefined ? { segmentMs: this.options.segmentMs } : {}),
        disk: this.guard,
        log: this.log,
        onSegment: (path, start, durationMs, bytes) => {
          this.retention.add(path, start + durationMs, bytes, start);
          this.options.onActivity?.({ kind: 'segment', camera: p.name, bytes });
        },
      }),
      session: undefined,
      requestKeyframe: undefined,
      failures: 0,
      timer: undefined,
    };
    this.watched.set(p.id, w);
    this.options.onEvent?.(`recording "${p.name}"`);
    this.begin(w);
  }

  private gone(id: DeviceId): void {
    const w = this.watched.get(id);
    if (!w) return;
    // Keep the camera's entry: it comes back under the same id; its segment ends now.
    w.gate?.gone();
    this.events.endAll(w.camera.name, (this.options.now ?? Date.now)());
    w.recorder.endSession();
  }

  private begin(w: Watched): void {
    if (this.closed || w.session) return;
    let peer: ViewerPeer | undefined;
    let streaming = false;
    const s = new ViewerSession({
      channel: this.options.channel,
      camera: w.camera.id,
      config: this.options.peerConfig,
      batchMs: this.options.batchMs ?? DEFAULT_BATCH_MS,
      ...(this.options.timeouts ? { timeouts: this.options.timeouts } : {}),
      log: this.log,
      peerFactory: (config) => {
        streaming = false;
        peer = createViewerPeer(config, {
          ...this.options.engine,
          ...(this.turnBridge ? { turnBridge: this.turnBridge } : {}),
          // Only when the camera says it has sound: an audio section the camera rejects buys nothing but trouble.
          audio: sendsAudio(w.camera),
          log: this.log,
          onRtp: (packet, kind) => {
            const codec = peer?.negotiated?.codec;
            if (!codec) return;
            // Every peer (new session or ICE restart) is a new RTP stream with its own bases.
            if (!streaming) {
              streaming = true;
              w.recorder.startSession(codec);
            }
            if (kind === 'video') w.recorder.video(packet);
            else w.recorder.audio(packet);
          },
          onSenderReport: (report, kind) => {
            if (streaming) w.recorder.senderReport(kind, report);
          },
        });
        return peer;
      },
    });
    w.session = s;
    // Once per session: at the first trouble, or at an ICE failure that came through the camera's restart requests.
    let iceTold = false;
    const iceTrouble = (problem: IceProblem) => {
      if (!iceTold) this.options.onActivity?.({ kind: 'ice', camera: w.camera.name, problem });
      iceTold = true;
    };
    s.on('trouble', (d) => iceTrouble(d.problem));
    s.on('closed', (reason) => {
      if (reason === 'ice-failed') iceTrouble(s.diagnose().problem);
    });
    s.on('connected', () => {
      w.failures = 0;
      w.requestKeyframe = () => peer?.requestKeyframe();
      this.options.onEvent?.(`"${w.camera.name}" connected`);
      this.announce(true);
      this.options.onActivity?.({ kind: 'connected', camera: w.camera.name });
    });
    s.on('closed', (reason, message) => {
      if (w.session === s) {
        w.session = undefined;
        w.requestKeyframe = undefined;
        this.announce(true);
      }
      w.recorder.endSession();
      this.options.onActivity?.({ kind: 'ended', camera: w.camera.name, reason });
      if (this.closed || this.watched.get(w.camera.id) !== w) return;
      this.options.onEvent?.(`"${w.camera.name}" session ended (${reason}): ${message}`);
      // Come back while the camera is present; when it is gone, its next presence starts us again.
      const delay = this.retry.nextDelayMs(w.failures++) ?? 4000;
      w.timer = setTimeout(() => {
        w.timer = undefined;
        if (this.options.channel.peers.has(w.camera.id)) this.begin(w);
      }, delay);
    });
    s.start().catch((err: unknown) => s.close('error', String(err)));
  }

  private async stop(w: Watched): Promise<void> {
    if (w.timer) clearTimeout(w.timer);
    w.requestKeyframe = undefined;
    const s = w.session;
    w.session = undefined;
    if (s) {
      s.close('local', 'recorder stopped');
      await s.drain();
    }
    await w.recorder.close();
  }
}
