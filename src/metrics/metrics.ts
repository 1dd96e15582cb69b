import type { Aedes } from 'aedes';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { CameraAgent } from '../agent/camera.js';
import type { MotionWatch } from '../agent/motion.js';
import type { DropReason } from '../protocol/index.js';
import type { Channel } from '../signaling/channel.js';
import type { LinkState } from '../signaling/transport.js';
import { CameraMetrics } from './camera.js';
import { boundedName, FAILURES, MAX_CAMERAS, reasonLabel } from './labels.js';
import { RecorderMetrics } from './recorder.js';

/** Every reason a channel drops a message (protocol/errors.ts DropReason), so each series exists from the start. */
const DROP_REASONS: readonly DropReason[] = ['oversize', 'malformed', 'bad-tag', 'wrong-recipient', 'stale', 'replay', 'unknown-version', 'rate-limited'];

/**
 * Prometheus metrics of one peercam process (hub, camera), in a registry of its own. Labels are camera names and
 * roles, never ids or secrets; every label set is bounded (MAX_CAMERAS, REASONS).
 */
export class PeercamMetrics {
  readonly registry = new Registry();
  private readonly viewers = new Gauge({ name: 'peercam_camera_viewers', help: 'Viewers watching each camera now', labelNames: ['camera'], registers: [this.registry] });
  private readonly started = new Counter({ name: 'peercam_sessions_started_total', help: 'Viewer sessions started, per camera', labelNames: ['camera'], registers: [this.registry] });
  private readonly ended = new Counter({
    name: 'peercam_sessions_ended_total',
    help: 'Viewer sessions ended, per camera and reason (local, hangup, peer-gone, no-answer, ice-failed, rejected, error, other)',
    labelNames: ['camera', 'reason'],
    registers: [this.registry],
  });
  private readonly failed = new Counter({
    name: 'peercam_sessions_failed_total',
    help: 'Viewer sessions that ended in failure (no-answer, ice-failed, rejected, error, other), per camera and reason',
    labelNames: ['camera', 'reason'],
    registers: [this.registry],
  });
  private readonly firstFrame = new Histogram({
    name: 'peercam_first_frame_seconds',
    help: "From a viewer's offer to the first video packet the camera sent it",
    labelNames: ['camera'],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10],
    registers: [this.registry],
  });
  private readonly reconnects = new Counter({
    name: 'peercam_signaling_reconnects_total',
    help: 'Times a signaling link (broker or LAN) came back online after it was lost, all channels of the process together',
    registers: [this.registry],
  });
  private drops: Counter<'reason'> | undefined;
  private recorderMetrics: RecorderMetrics | undefined;
  /** What each watched camera sent so far (CameraAgent.sent), read at scrape time. */
  private readonly sent = new Map<string, CameraAgent['sent']>();
  /** Signaling channels watched for their link state. */
  private readonly links = new Set<Channel>();
  private readonly cameras = new CameraMetrics(this.registry);
  /** Camera labels of the motion watches. */
  private readonly motionNames = new Set<string>();

  constructor() {
    const sent = this.sent;
    const links = this.links;
    const registers = [this.registry];
    new Gauge({
      name: 'peercam_signaling_links',
      help: "The process's signaling links (one per channel: broker or LAN), by state (connecting, online, offline)",
      labelNames: ['state'],
      registers,
      collect() {
        const counts: Record<LinkState, number> = { connecting: 0, online: 0, offline: 0 };
        for (const c of links) counts[c.state]++;
        for (const [state, n] of Object.entries(counts)) this.set({ state }, n);
      },
    });
    for (const [key, help] of [
      ['bytes', 'RTP bytes sent to viewers (all viewers together), per camera'],
      ['packets', 'RTP packets sent to viewers, per camera'],
      ['frames', 'Video frames sent to viewers (counted once per viewer that got it), per camera'],
    ] as const)
      new Counter({
        name: `peercam_camera_sent_${key}_total`,
        help,
        labelNames: ['camera'],
        registers: [this.registry],
        collect() {
          this.reset();
          for (const [camera, s] of sent) this.inc({ camera }, s[key]);
        },
      });
  }

  /** Counts the room's members by role, from what `channel` sees (a silent watcher is enough). */
  watchRoom(channel: Channel): void {
    new Gauge({
      name: 'peercam_room_members',
      help: 'Devices present in the room, by role',
      labelNames: ['role'],
      registers: [this.registry],
      collect() {
        const counts: Record<string, number> = { camera: 0, viewer: 0, hub: 0 };
        for (const p of channel.peers.values()) counts[p.role] = (counts[p.role] ?? 0) + 1;
        for (const [role, n] of Object.entries(counts)) this.set({ role }, n);
      },
    });
  }

  /** The embedded broker's clients and traffic. */
  watchBroker(aedes: Aedes): void {
    const connections = new Counter({ name: 'peercam_broker_connections_total', help: 'MQTT clients that connected to the embedded broker', registers: [this.registry] });
    const messages = new Counter({ name: 'peercam_broker_messages_total', help: 'MQTT messages published by clients of the embedded broker', registers: [this.registry] });
    const bytes = new Counter({ name: 'peercam_broker_message_bytes_total', help: 'Payload bytes published by clients of the embedded broker', registers: [this.registry] });
    new Gauge({
      name: 'peercam_broker_clients',
      help: 'MQTT clients connected to the embedded broker now',
      registers: [this.registry],
      collect() {
        this.set(aedes.connectedClients);
      },
    });
    aedes.on('client', () => connections.inc());
    aedes.on('publish', (packet, client) => {
      if (!client) return; // the broker's own $SYS messages and wills
      messages.inc();
      bytes.inc(packet.payload.length);
    });
  }

  /** One camera agent: viewers, sessions, first-frame latency, what it sent. `name` is its label. */
  watchCamera(agent: CameraAgent, name: string): void {
    const camera = this.sent.has(name) || this.sent.size < MAX_CAMERAS ? name : 'other';
    if (!this.sent.has(camera)) this.sent.set(camera, agent.sent);
    this.cameras.watch(agent, camera);
    this.viewers.set({ camera }, agent.viewers);
    // Sessions that began before the watch (a viewer can answer while the process still sets up) count as started.
    if (agent.viewers > 0) this.started.inc({ camera }, agent.viewers);
    agent.on('viewer', (e) => {
      this.viewers.set({ camera }, e.viewers);
      if (e.change === 'joined') {
        this.started.inc({ camera });
        return;
      }
      const reason = reasonLabel(e.reason);
      this.ended.inc({ camera, reason });
      if (FAILURES.has(reason)) this.failed.inc({ camera, reason });
    });
    agent.on('first-frame', (e) => this.firstFrame.observe({ camera }, e.ms / 1000));
  }

  /** One camera's motion detection (its MotionWatch): events started, whether one is under way, detector time. */
  watchMotion(watch: MotionWatch, name: string): void {
    this.cameras.watchMotion(watch, boundedName(this.motionNames, name));
  }

  /** A signaling channel's link: counted by state, and each time it comes back online after being lost. */
  watchLink(channel: Channel): void {
    this.links.add(channel);
    let online = channel.state === 'online';
    let lost = false;
    channel.on('state', (state) => {
      if (state !== 'online') {
        lost ||= online;
        online = false;
        return;
      }
      online = true;
      if (lost) this.reconnects.inc();
      lost = false;
    });
  }

  /**
   * Signaling messages `channel` dropped (forged, replayed, stale, over a member's budget...), by reason. One counter
   * per process: call it for each channel the process runs (they add up).
   */
  watchDrops(channel: Channel): void {
    this.drops ??= new Counter({
      name: 'peercam_signaling_dropped_total',
      help: `Signaling messages dropped unread, by reason (${DROP_REASONS.join(', ')})`,
      labelNames: ['reason'],
      registers: [this.registry],
    });
    for (const reason of DROP_REASONS) this.drops.inc({ reason }, 0);
    const drops = this.drops;
    channel.on('dropped', (reason) => drops.inc({ reason }));
  }

  /** A recorder's metrics: pass `activity` as the recorder's `onActivity`, then `attach` the started recorder. */
  recorder(): RecorderMetrics {
    this.recorderMetrics ??= new RecorderMetrics(this.registry);
    return this.recorderMetrics;
  }

  /** Stops the sampling timer of the rates (it never keeps the process alive anyway). */
  close(): void {
    this.cameras.close();
  }

  /** The text format Prometheus scrapes. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
