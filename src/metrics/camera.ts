import { Counter, Gauge, type Registry } from 'prom-client';
import type { CameraAgent } from '../agent/camera.js';
import type { MotionWatch } from '../agent/motion.js';
import { Rates } from './rate.js';

/**
 * What a camera's source and detector do, beside its sessions (PeercamMetrics): bitrate and fps as produced, the
 * encodes running per codec, source restarts, viewers' ICE failures by diagnosed problem, motion events. Labels are
 * the camera names PeercamMetrics bounded, codecs and problems (fixed lists).
 */
export class CameraMetrics {
  /** The watched cameras, by label. */
  private readonly agents = new Map<string, CameraAgent>();
  /** Motion detection per camera label: in an event now, and the time spent analysing. */
  private readonly motion = new Map<string, { active: boolean; watch: MotionWatch }>();
  private readonly rates = new Rates<'bytes' | 'frames'>();
  private readonly sourceRestarts: Counter<'camera'>;
  private readonly secondEncodes: Counter<'camera' | 'codec'>;
  private readonly motionEvents: Counter<'camera'>;

  constructor(registry: Registry) {
    const registers = [registry];
    const agents = this.agents;
    const motion = this.motion;
    const rates = this.rates;
    new Counter({
      name: 'peercam_ice_failures_total',
      help: "Viewer sessions in ICE trouble (failed, not connected within the ICE timeout, or no candidate gathered), once per session, per camera and diagnosed problem (no-local-candidates, no-ice-servers, turn-refused, turn-unreachable, turn-needed, no-path)",
      labelNames: ['camera', 'problem'],
      registers,
      collect() {
        this.reset();
        for (const [camera, agent] of agents) for (const [problem, n] of agent.iceTroubles) this.inc({ camera, problem }, n);
      },
    });
    this.sourceRestarts = new Counter({
      name: 'peercam_camera_source_restarts_total',
      help: "Times a camera's source process died and was started again (an RTSP camera reconnecting, ffmpeg crashing), per camera",
      labelNames: ['camera'],
      registers,
    });
    this.secondEncodes = new Counter({
      name: 'peercam_camera_second_encodes_started_total',
      help: "Second encodes started (the video in another codec for viewers without the source's), per camera and codec",
      labelNames: ['camera', 'codec'],
      registers,
    });
    this.motionEvents = new Counter({
      name: 'peercam_motion_events_total',
      help: "Motion events the camera's own detector started, per camera",
      labelNames: ['camera'],
      registers,
    });
    for (const [key, help] of [
      ['bytes', "RTP bytes (headers included) of the video the camera's source produced, watched or not, per camera"],
      ['frames', "Video frames the camera's source produced, per camera"],
    ] as const)
      new Counter({
        name: `peercam_camera_source_${key}_total`,
        help,
        labelNames: ['camera'],
        registers,
        collect() {
          this.reset();
          for (const [camera, a] of agents) this.inc({ camera }, a.produced[key]);
        },
      });
    new Gauge({
      name: 'peercam_camera_bitrate_bps',
      help: "Bits per second of the camera's video as its source produces it (since the previous scrape, 1 to 30 s back), per camera",
      labelNames: ['camera'],
      registers,
      collect() {
        this.reset();
        for (const [camera, r] of rates.rates()) this.set({ camera }, Math.round(r.bytes * 8));
      },
    });
    new Gauge({
      name: 'peercam_camera_fps',
      help: "Frames per second of the camera's video as its source produces it (since the previous scrape, 1 to 30 s back), per camera",
      labelNames: ['camera'],
      registers,
      collect() {
        this.reset();
        for (const [camera, r] of rates.rates()) this.set({ camera }, Math.round(r.frames * 10) / 10);
      },
    });
    new Gauge({
      name: 'peercam_camera_encodes_running',
      help: "Video encodes running, per camera and codec (h264, vp8): the source's own, and a second encode while a viewer needs that codec (and 10 s after)",
      labelNames: ['camera', 'codec'],
      registers,
      collect() {
        this.reset();
        for (const [camera, a] of agents) {
          for (const codec of ['h264', 'vp8']) this.set({ camera, codec }, 0);
          for (const codec of a.runningEncodes()) this.inc({ camera, codec: codec.toLowerCase() });
        }
      },
    });
    new Gauge({
      name: 'peercam_motion_active',
      help: 'Whether the camera sees motion now (1 from the start of an event to its end), per camera',
      labelNames: ['camera'],
      registers,
      collect() {
        this.reset();
        for (const [camera, m] of motion) this.set({ camera }, m.active ? 1 : 0);
      },
    });
    new Counter({
      name: 'peercam_motion_analysis_seconds_total',
      help: 'CPU time spent in the motion detector (analysis only), per camera',
      labelNames: ['camera'],
      registers,
      collect() {
        this.reset();
        for (const [camera, m] of motion) this.inc({ camera }, m.watch.cost.ms / 1000);
      },
    });
  }

  /** One camera agent, under its (bounded) label. */
  watch(agent: CameraAgent, camera: string): void {
    if (!this.agents.has(camera)) {
      this.agents.set(camera, agent);
      this.rates.watch(camera, () => agent.produced);
    }
    for (const codec of ['h264', 'vp8']) this.secondEncodes.inc({ camera, codec }, 0);
    this.sourceRestarts.inc({ camera }, 0);
    agent.on('source', (state) => {
      if (state === 'restarting') this.sourceRestarts.inc({ camera });
    });
    agent.on('encode', (codec, state) => {
      if (state === 'starting') this.secondEncodes.inc({ camera, codec: codec.toLowerCase() });
    });
  }

  /** One camera's motion detection: events started, whether one is under way, detector time. */
  watchMotion(watch: MotionWatch, camera: string): void {
    const state = { active: false, watch };
    this.motion.set(camera, state);
    this.motionEvents.inc({ camera }, 0);
    watch.on('event', (e) => {
      state.active = e.phase === 'start';
      if (e.phase === 'start') this.motionEvents.inc({ camera });
    });
  }

  close(): void {
    // Nothing runs by itself (rates are sampled at scrape time).
  }
}
