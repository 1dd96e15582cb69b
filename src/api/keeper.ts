import type { DeviceId, Logger } from '../protocol/index.js';
import { type PeerConfig, type PeerFactory, ViewerSession } from '../session/index.js';
import { exponentialBackoff } from '../signaling/backoff.js';
import type { Channel } from '../signaling/channel.js';

export interface KeeperOptions {
  readonly channel: Channel;
  readonly camera: DeviceId;
  readonly config: PeerConfig;
  readonly newPeer: PeerFactory;
  readonly source?: string;
  readonly log: Logger;
  readonly selfName: string;
  readonly connected: (info: { ms: number; candidateType: string | undefined }) => void;
  readonly ended: (reason: string, message: string) => void;
  /** A session started (the first, or one after an end). */
  readonly started?: () => void;
  /** Why ICE cannot connect yet, while the session still tries. */
  readonly trouble?: (message: string) => void;
}

/**
 * Keeps one camera watched: a session that ends while the watch is open starts again (backoff 250 ms to 4 s), at once
 * when the camera comes back after leaving (its presence survives restarts). Only close() stops it.
 */
export class SessionKeeper {
  private session: ViewerSession | undefined;
  private closed = false;
  private failures = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly offPeer: () => void;
  private readonly retry = exponentialBackoff({ initialMs: 250, maxMs: 4000, jitter: 'none' });

  constructor(private readonly options: KeeperOptions) {
    this.offPeer = options.channel.on('peer', (p) => {
      if (p.id === options.camera && !this.session && this.timer === undefined) this.begin();
    });
  }

  /**
   * Starts the first session. Not awaitable on purpose: the watch is handed back before its first session can report
   * anything (gathering, `trouble`, `connected` come from later tasks), so listeners attached right after it hear
   * every event.
   */
  start(): void {
    void this.begin();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.offPeer();
    clearTimeout(this.timer);
    const s = this.session;
    this.session = undefined;
    if (s) {
      s.close('local', 'The viewer stopped watching.');
      await s.drain();
    }
  }

  private begin(): Promise<void> {
    this.timer = undefined;
    if (this.closed || this.session) return Promise.resolve();
    const o = this.options;
    const s = new ViewerSession({
      channel: o.channel,
      camera: o.camera,
      config: o.config,
      peerFactory: o.newPeer,
      log: o.log,
      selfName: o.selfName,
      ...(o.source !== undefined ? { source: o.source } : {}),
    });
    this.session = s;
    o.started?.();
    s.on('trouble', (d) => o.trouble?.(d.message));
    s.on('connected', (info) => {
      this.failures = 0;
      o.connected(info);
    });
    s.on('closed', (reason, message) => {
      if (this.session !== s) return;
      this.session = undefined;
      o.ended(reason, message);
      if (this.closed || !o.channel.peers.has(o.camera)) return; // a camera that left: wait for its presence
      this.timer = setTimeout(() => void this.begin(), this.retry.nextDelayMs(this.failures++) ?? 4000);
    });
    return s.start().catch((err: unknown) => s.close('error', `Could not start watching: ${String(err)}`));
  }
}
