import type { DeviceId, Logger } from '../protocol/index.js';
import { type IceDiagnosis, type PeerConfig, type PeerFactory, type SessionState, ViewerSession } from '../session/index.js';
import { exponentialBackoff, type ReconnectPolicy } from '../signaling/backoff.js';
import type { Channel } from '../signaling/channel.js';

/** What a watch hears of its sessions (every platform's watch maps these onto its own events). */
export interface KeeperHooks {
  readonly newPeer: PeerFactory;
  readonly connected: (info: { ms: number; candidateType: string | undefined }) => void;
  readonly ended: (reason: string, message: string) => void;
  /** A session started (the first, or one after an end). */
  readonly started?: () => void;
  /** Why ICE cannot connect yet, while the session still tries. */
  readonly trouble?: (diagnosis: IceDiagnosis) => void;
  /** The offer left, or the answer arrived (a page's timeline marks). */
  readonly step?: (step: 'offer-sent' | 'answer-received') => void;
  /** The current session's state changed. */
  readonly state?: (state: SessionState) => void;
}

export interface KeeperOptions extends KeeperHooks {
  readonly channel: Channel;
  readonly camera: DeviceId;
  readonly config: PeerConfig;
  readonly source?: string;
  readonly log: Logger;
  readonly selfName: string;
  /** Waits between sessions while the camera is present. Default 250 ms doubling to 4 s. */
  readonly retry?: ReconnectPolicy;
}

/**
 * Keeps one camera watched: a session that ends while the watch is open starts again (with backoff), at once when the
 * camera comes back after leaving (its presence survives restarts) or when the signaling link comes back (a
 * negotiation under way then lost its messages: it starts over instead of waiting out its timers). Only close() stops
 * it.
 */
export class SessionKeeper {
  private session: ViewerSession | undefined;
  private closed = false;
  private failures = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly offPeer: () => void;
  private readonly offState: () => void;
  private readonly retry: ReconnectPolicy;

  constructor(private readonly options: KeeperOptions) {
    this.retry = options.retry ?? exponentialBackoff({ initialMs: 250, maxMs: 4000, jitter: 'none' });
    this.offPeer = options.channel.on('peer', (p) => {
      if (p.id === options.camera && !this.session && this.timer === undefined) this.begin();
    });
    this.offState = options.channel.on('state', (s) => s === 'online' && this.linkUp());
  }

  /** The current session's state; 'waiting' between sessions (for the retry, the link or the camera). */
  get state(): SessionState | 'waiting' {
    return this.session?.state ?? 'waiting';
  }

  /**
   * Starts the first session, or waits for the link when it is not up yet (a room still joining). Not awaitable on
   * purpose: the watch is handed back before its first session can report anything (gathering, `trouble`, `connected`
   * come from later tasks), so listeners attached right after it hear every event.
   */
  start(): void {
    if (this.options.channel.state === 'online') void this.begin();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.offPeer();
    this.offState();
    clearTimeout(this.timer);
    const s = this.session;
    this.session = undefined;
    if (s) {
      s.close('local', 'The viewer stopped watching.');
      await s.drain();
    }
  }

  private linkUp(): void {
    if (this.closed || !this.options.channel.peers.has(this.options.camera)) return;
    const s = this.session;
    if (s?.state === 'connected') return; // media is peer to peer: a connected session rode through
    this.session = undefined;
    s?.close('local', 'Starting over after the signaling link came back.');
    clearTimeout(this.timer);
    this.failures = 0;
    void this.begin();
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
    const current = () => this.session === s;
    o.started?.();
    s.on('trouble', (d) => current() && o.trouble?.(d));
    s.on('step', (step) => current() && o.step?.(step));
    s.on('state', (state) => current() && o.state?.(state));
    s.on('connected', (info) => {
      this.failures = 0;
      o.connected(info);
    });
    s.on('closed', (reason, message) => {
      if (!current()) return;
      this.session = undefined;
      o.ended(reason, message);
      if (this.closed || !o.channel.peers.has(o.camera)) return; // a camera that left: wait for its presence
      this.timer = setTimeout(() => void this.begin(), this.retry.nextDelayMs(this.failures++) ?? 4000);
    });
    return s.start().catch((err: unknown) => s.close('error', `Could not start watching: ${String(err)}`));
  }
}
