import { statfsSync } from 'node:fs';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Recorder, RecorderActivity } from '../agent/recorder.js';
import { boundedName, FAILURES, reasonLabel } from './labels.js';

/**
 * Metrics of a recorder (`peercam record`, `peercam up --record`): what it records and writes, its disk, and its
 * sessions as a viewer of every camera (ICE failures among their end reasons). `activity` is given to the recorder as
 * `onActivity`; `attach` reads the rest from the running recorder at scrape time.
 */
export class RecorderMetrics {
  private readonly connected = new Map<string, boolean>();
  private readonly names = new Set<string>();
  private recorder: { readonly rec: Recorder; readonly root: string } | undefined;
  private readonly segments: Counter<'camera'>;
  private readonly sessions: Counter<'camera'>;
  private readonly ended: Counter<'camera' | 'reason'>;
  private readonly failed: Counter<'camera' | 'reason'>;
  private readonly diskErrors: Counter<'state'>;
  private readonly motion: Counter<'camera'>;
  private readonly reconnects: Counter<'camera'>;
  private readonly ice: Counter<'camera' | 'problem'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.segments = new Counter({ name: 'peercam_recorder_segments_total', help: 'Recording segments finished (files closed), per camera', labelNames: ['camera'], registers });
    this.sessions = new Counter({ name: 'peercam_viewer_sessions_connected_total', help: "Sessions of this viewer (the recorder) that connected, per camera", labelNames: ['camera'], registers });
    this.ended = new Counter({
      name: 'peercam_viewer_sessions_ended_total',
      help: 'Sessions of this viewer that ended, per camera and reason (local, hangup, peer-gone, no-answer, ice-failed, rejected, error, other)',
      labelNames: ['camera', 'reason'],
      registers,
    });
    this.failed = new Counter({
      name: 'peercam_viewer_sessions_failed_total',
      help: 'Sessions of this viewer that ended in failure (no-answer, ice-failed, rejected, error, other), per camera and reason',
      labelNames: ['camera', 'reason'],
      registers,
    });
    this.diskErrors = new Counter({
      name: 'peercam_recorder_disk_errors_total',
      help: 'Times writing stopped on a disk error, by the state it left (full, read-only, failed)',
      labelNames: ['state'],
      registers,
    });
    this.motion = new Counter({
      name: 'peercam_recorder_motion_events_total',
      help: 'Motion events the recorder heard from each camera (starts; the events it marks and, in events mode, records)',
      labelNames: ['camera'],
      registers,
    });
    this.reconnects = new Counter({
      name: 'peercam_viewer_reconnects_total',
      help: 'Sessions of this viewer (the recorder) set up again after one to the same camera ended, per camera',
      labelNames: ['camera'],
      registers,
    });
    this.ice = new Counter({
      name: 'peercam_viewer_ice_failures_total',
      help: 'Sessions of this viewer in ICE trouble (failed, not connected in time, or no candidate gathered), once per session, per camera and diagnosed problem',
      labelNames: ['camera', 'problem'],
      registers,
    });
    const self = this;
    new Gauge({
      name: 'peercam_recorder_cameras',
      help: 'Cameras the recorder is connected to and recording now',
      registers,
      collect() {
        this.set([...self.connected.values()].filter(Boolean).length);
      },
    });
    const perCamera = (name: string, help: string, key: 'writtenBytes' | 'receivedBytes' | 'frames') =>
      new Counter({
        name,
        help,
        labelNames: ['camera'],
        registers,
        collect() {
          this.reset();
          for (const st of self.recorder?.rec.stats() ?? []) this.inc({ camera: self.label(st.camera) }, st[key]);
        },
      });
    perCamera('peercam_recorder_written_bytes_total', 'Bytes of finished recording files, per camera', 'writtenBytes');
    perCamera('peercam_recorder_received_bytes_total', 'RTP bytes the recorder received, per camera', 'receivedBytes');
    perCamera('peercam_recorder_frames_total', 'Video frames written to recordings, per camera', 'frames');
    const gauge = (name: string, help: string, read: () => number | undefined) =>
      new Gauge({
        name,
        help,
        registers,
        collect() {
          const v = read();
          if (v !== undefined) this.set(v);
        },
      });
    gauge('peercam_recorder_stored_segments', 'Finished segments kept on disk (after retention)', () => self.recorder?.rec.retention.count);
    gauge('peercam_recorder_stored_bytes', 'Bytes of finished segments kept on disk', () => self.recorder?.rec.retention.usedBytes);
    gauge('peercam_recorder_disk_writable', '1 while recordings can be written, 0 while the disk is full, read-only or failing', () =>
      self.recorder ? (self.recorder.rec.guard.state === 'ok' ? 1 : 0) : undefined,
    );
    gauge('peercam_recorder_disk_free_bytes', 'Free bytes on the filesystem holding the recordings (for unprivileged users)', () => self.disk()?.free);
    gauge('peercam_recorder_disk_size_bytes', 'Size of the filesystem holding the recordings', () => self.disk()?.size);
  }

  /** The running recorder and its folder, read at scrape time. */
  attach(rec: Recorder, root: string): void {
    this.recorder = { rec, root };
  }

  /** The recorder's `onActivity`. */
  readonly activity = (e: RecorderActivity): void => {
    if (e.kind === 'disk') {
      if (e.state !== 'ok') this.diskErrors.inc({ state: e.state });
      return;
    }
    const camera = this.label(e.camera);
    if (e.kind === 'segment') this.segments.inc({ camera });
    else if (e.kind === 'motion') {
      if (e.phase === 'start') this.motion.inc({ camera });
    } else if (e.kind === 'ice') this.ice.inc({ camera, problem: e.problem });
    else if (e.kind === 'connected') {
      if (this.connected.has(camera)) this.reconnects.inc({ camera });
      else {
        this.reconnects.inc({ camera }, 0);
        this.motion.inc({ camera }, 0);
      }
      this.connected.set(camera, true);
      this.sessions.inc({ camera });
    } else {
      this.connected.set(camera, false);
      const reason = reasonLabel(e.reason);
      this.ended.inc({ camera, reason });
      if (FAILURES.has(reason)) this.failed.inc({ camera, reason });
    }
  };

  private label(camera: string): string {
    return boundedName(this.names, camera);
  }

  private disk(): { free: number; size: number } | undefined {
    if (!this.recorder) return undefined;
    try {
      const s = statfsSync(this.recorder.root);
      return { free: s.bavail * s.bsize, size: s.blocks * s.bsize };
    } catch {
      return undefined;
    }
  }
}
