import { type DeviceId, type Logger, PeercamError, type PresenceBody, type Room } from '../../protocol/index.js';
import { exponentialBackoff } from '../../signaling/backoff.js';
import type { SealedChannel } from '../../signaling/channel.js';
import { byId, notice } from './dom.js';
import { joinRoom } from './join.js';

export type LinkStatus = 'connecting' | 'online' | 'offline';

/** Shows the link state in the page's #status pill (data-state is what tests and CSS read). */
export function showStatus(state: LinkStatus, text: string): void {
  const el = byId('status');
  el.dataset.state = state;
  el.textContent = text;
  el.title = text;
}

/**
 * Joins the room, retrying until the broker answers (a hub still starting, or down for a moment); each failure is shown
 * on the page with what to do. Once online, the transport reconnects by itself and the pill follows its state.
 */
export async function connect(
  room: Room,
  self: DeviceId,
  presence: PresenceBody,
  log: Logger,
  /** Runs on the channel before it starts: listeners set here miss no message (a camera answering early offers). */
  prepare?: (channel: SealedChannel) => void,
): Promise<SealedChannel> {
  let clearNotice: (() => void) | undefined;
  const retry = exponentialBackoff({ initialMs: 500, maxMs: 5000, jitter: 'none' });
  for (let attempt = 0; ; attempt++) {
    showStatus('connecting', 'Connecting to the room…');
    try {
      const channel = await joinRoom(room, self, presence, log, prepare);
      clearNotice?.();
      showStatus('online', 'Connected');
      let lost: (() => void) | undefined;
      channel.on('state', (state, detail) => {
        showStatus(state, state === 'online' ? 'Connected' : state === 'connecting' ? 'Reconnecting…' : `Offline: ${detail ?? 'lost the broker'}`);
        if (state === 'online') {
          lost?.();
          lost = undefined;
        } else if (state === 'offline' && !lost) {
          lost = notice(
            'warn',
            'Lost the connection to the room',
            'The hub (or broker) stopped answering. Pictures already playing may go on; new cameras will show up once it is back. Reconnecting by itself.',
          );
        }
      });
      return channel;
    } catch (err) {
      // A broker URL the browser cannot use will not get better by retrying.
      if (err instanceof PeercamError && err.code === 'bad-config') throw err;
      const delay = retry.nextDelayMs(attempt) ?? 5000;
      const why = err instanceof PeercamError ? err.message : String(err);
      clearNotice?.();
      clearNotice = notice(
        'error',
        'Cannot reach the room’s broker',
        `${why} Is \`peercam up\` still running on the computer that served this page? Retrying by itself every few seconds.`,
      );
      showStatus('offline', 'Broker unreachable');
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}
