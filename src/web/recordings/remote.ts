import type { Device, PeercamRoom } from '../../api/room.js';
import { PeercamError } from '../../protocol/errors.js';
import { isRecorder, RECORDINGS_LABEL, RECORDINGS_SOURCE } from '../../protocol/recordings-wire.js';
import { RecordingsLink } from './link.js';

/** How long one attempt to reach the recorder may take (signaling through the broker, ICE, DTLS, SCTP). */
const OPEN_TIMEOUT_MS = 30_000;

/**
 * The room's recorder, reached through the room's broker: a data channel negotiated by the sealed signaling like a
 * camera's media (`openChannel` offering for the recorder's `recordings` source). Opened when first needed, again
 * after it drops.
 */
export class RemoteRecorder {
  private link: Promise<RecordingsLink> | undefined;

  /** `room`: the page's BrowserRoom (a joined room of either kind: the link needs only presence and `openChannel`). */
  constructor(private readonly room: PeercamRoom) {}

  /** The recorder present in the room, waiting for one to appear. */
  recorder(): Promise<Device> {
    const now = [...this.room.devices.values()].find(isRecorder);
    if (now) return Promise.resolve(now);
    return new Promise((resolve) => {
      const offs = (['join', 'update'] as const).map((event) =>
        this.room.on(event, (d) => {
          if (!isRecorder(d)) return;
          for (const off of offs) off();
          resolve(d);
        }),
      );
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
    void this.link?.then(
      (l) => l.close(),
      () => {},
    );
    this.link = undefined;
  }

  private reopen(): Promise<RecordingsLink> {
    this.close();
    const attempt = this.connect();
    this.link = attempt;
    return attempt;
  }

  private async connect(): Promise<RecordingsLink> {
    const recorder = await this.recorder();
    try {
      const channel = await this.room.openChannel(recorder, { source: RECORDINGS_SOURCE, label: RECORDINGS_LABEL, timeoutMs: OPEN_TIMEOUT_MS });
      return new RecordingsLink(channel);
    } catch (err) {
      if (err instanceof PeercamError && err.code === 'timeout')
        throw new Error(`The recorder "${recorder.name}" did not answer within ${OPEN_TIMEOUT_MS / 1000} s.`);
      throw new Error(`The connection to the recorder "${recorder.name}" failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}
