import { type DeviceId, Emitter, type Envelope, type Logger, silentLogger } from '../protocol/index.js';
import type { Channel } from '../signaling/channel.js';
import { type CameraPeerFactory, CameraSession } from './camera-session.js';
import type { Timeouts } from './negotiation.js';
import { withLentIce } from './ice.js';
import type { PeerConfig } from './peer.js';

/** What a CameraEndpoint needs: the channel to answer on, how to build each peer, limits. */
export interface CameraEndpointOptions {
  readonly channel: Channel;
  readonly peerFactory: CameraPeerFactory;
  readonly config: PeerConfig;
  /** Viewers served at once; further offers are refused with an `error` saying so. */
  readonly maxViewers?: number;
  /**
   * Sessions one viewer device may hold at once (a member flooding offers cannot take every slot). Default 4; a device
   * present as a hub (its WHEP gateway, one device for many clients) is bounded by `maxViewers` only.
   */
  readonly maxSessionsPerViewer?: number;
  readonly timeouts?: Partial<Timeouts>;
  readonly log?: Logger;
}

/** Events of a CameraEndpoint. */
export interface CameraEndpointEvents {
  /** A viewer's session started (its first offer arrived). */
  session: (session: CameraSession) => void;
  /** A viewer's session ended. */
  ended: (session: CameraSession, reason: string) => void;
}

/** Answers every viewer of one camera device: one CameraSession per (viewer, sid), many at once. */
export class CameraEndpoint extends Emitter<CameraEndpointEvents> {
  private readonly sessions = new Map<string, CameraSession>();
  private readonly offs: (() => void)[];
  private readonly log: Logger;

  constructor(private readonly options: CameraEndpointOptions) {
    super();
    this.log = options.log ?? silentLogger;
    this.offs = [
      options.channel.on('message', (e) => this.route(e)),
      options.channel.on('gone', (id) => this.viewerGone(id)),
    ];
  }

  get viewers(): number {
    return this.sessions.size;
  }

  /**
   * Hangs up every viewer. Resolves once the hangups are handed to the channel (at most `drainMs`): close the channel
   * (or the broker, in a hub) only after that, or viewers never hear of it and keep a dead session until ICE fails.
   */
  close(drainMs = 1000): Promise<void> {
    for (const off of this.offs) off();
    const sessions = [...this.sessions.values()];
    for (const s of sessions) s.close('local', 'The camera stopped.');
    this.removeAllListeners();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, drainMs)));
    return Promise.race([Promise.all(sessions.map((s) => s.drain())).then(() => {}), late]).finally(() => clearTimeout(timer));
  }

  private route(e: Envelope): void {
    const key = `${e.from}/${e.sid}`;
    let session = this.sessions.get(key);
    if (!session) {
      if (e.type !== 'offer') return; // late candidates or hangup of a session already gone
      const max = this.options.maxViewers ?? 64;
      if (this.sessions.size >= max) {
        void this.options.channel
          .send(e.from, 'error', e.sid, { code: 'busy', message: `This camera serves at most ${max} viewers at once; try later.` })
          .catch(() => {});
        return;
      }
      // A hub's WHEP gateway asks for every WHEP client of the room under its one device id: only the overall cap
      // applies to it (docs/WHEP.md).
      const hub = this.options.channel.peers.get(e.from)?.role === 'hub';
      const perViewer = hub ? max : (this.options.maxSessionsPerViewer ?? 4);
      if (this.sessionsOf(e.from) >= perViewer) {
        this.log.debug({ viewer: e.from, perViewer }, 'refused an offer: too many sessions from one viewer');
        void this.options.channel
          .send(e.from, 'error', e.sid, { code: 'busy', message: `This camera serves at most ${perViewer} sessions per viewer; close one first.` })
          .catch(() => {});
        return;
      }
      session = new CameraSession(
        this.options.channel,
        e.from,
        e.sid,
        this.options.peerFactory,
        // Our own servers plus those a hub of the room lends (a camera page learns the hub's TURN this way).
        withLentIce(this.options.config, this.options.channel.peers.values()),
        this.log,
        this.options.timeouts ?? {},
      );
      const s = session;
      this.sessions.set(key, s);
      s.once('closed', (reason, message) => {
        this.sessions.delete(key);
        this.emit('ended', s, `${reason}: ${message}`);
      });
      this.emit('session', s);
    }
    void session.handle(e);
  }

  private sessionsOf(viewer: DeviceId): number {
    let n = 0;
    for (const s of this.sessions.values()) if (s.remote === viewer) n++;
    return n;
  }

  private viewerGone(id: DeviceId): void {
    for (const s of [...this.sessions.values()]) if (s.remote === id) s.close('peer-gone', 'The viewer left the room.', false);
  }
}
