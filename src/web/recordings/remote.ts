import type { Logger } from '../../protocol/index.js';
import { RECORDINGS_LABEL, RECORDINGS_SOURCE } from '../../protocol/recordings-wire.js';
import { type PeerConfig, ViewerSession, W3cPeer } from '../../session/index.js';
import type { Channel, PeerInfo } from '../../signaling/channel.js';
import { RecordingsLink } from './link.js';

/** How long one attempt to reach the recorder may take (signaling through the broker, ICE, DTLS, SCTP). */
const OPEN_TIMEOUT_MS = 30_000;

const isRecorder = (p: PeerInfo) => p.sources?.some((s) => s.id === RECORDINGS_SOURCE) ?? false;

/**
 * The room's recorder, reached through the room's broker: a data channel negotiated by the sealed signaling like a
 * camera's media (the member offers for the `recordings` source). Opened when first needed, again after it drops.
 */
export class RemoteRecorder {
  private link: Promise<RecordingsLink> | undefined;
  private session: ViewerSession | undefined;

  constructor(
    private readonly channel: Channel,
    private readonly config: PeerConfig,
    private readonly log: Logger,
  ) {}

  /** The recorder present in the room, waiting for one to appear. */
  recorder(): Promise<PeerInfo> {
    const now = [...this.channel.peers.values()].find(isRecorder);
    if (now) return Promise.resolve(now);
    return new Promise((resolve) => {
      const off = this.channel.on('peer', (p) => {
        if (!isRecorder(p)) return;
        off();
        resolve(p);
      });
    });
  }

  /** An open link to the recorder (the current one, or a new one). */
  open(): Promise<RecordingsLink> {
    const current = this.link;
    if (current) {
      return current.then(
        (l) => (l.open ? l : this.reopen()),
        () => this.reopen(),
      );
    }
    return this.reopen();
  }

  close(): void {
    this.session?.close('local', 'the page left the recordings');
    this.session = undefined;
  }

  private reopen(): Promise<RecordingsLink> {
    this.close();
    const attempt = this.connect();
    this.link = attempt;
    return attempt;
  }

  private async connect(): Promise<RecordingsLink> {
    const recorder = await this.recorder();
    return new Promise<RecordingsLink>((resolve, reject) => {
      const timer = setTimeout(() => {
        session.close('local', 'the recorder did not open its data channel in time');
        reject(new Error(`The recorder "${recorder.name}" did not answer within ${OPEN_TIMEOUT_MS / 1000} s.`));
      }, OPEN_TIMEOUT_MS);
      const session = new ViewerSession({
        channel: this.channel,
        camera: recorder.id,
        config: this.config,
        source: RECORDINGS_SOURCE,
        log: this.log,
        selfName: 'this page',
        peerFactory: (config) =>
          new W3cPeer({
            RTCPeerConnection,
            config,
            media: {
              role: 'data',
              label: RECORDINGS_LABEL,
              onChannel: (dc) =>
                dc.addEventListener('open', () => {
                  clearTimeout(timer);
                  resolve(new RecordingsLink(dc));
                }),
            },
          }),
      });
      session.once('closed', (_reason, message) => {
        clearTimeout(timer);
        if (this.session === session) this.session = undefined;
        reject(new Error(`The connection to the recorder closed: ${message}`));
      });
      this.session = session;
      session.start().catch((err: unknown) => session.close('error', String(err)));
    });
  }
}
