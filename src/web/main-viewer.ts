import type { BrowserRoom } from '../api/browser.js';
import { PeercamError, type Room } from '../protocol/index.js';
import type { SealedChannel } from '../signaling/channel.js';
import { connect } from './lib/connection.js';
import { byId, notice } from './lib/dom.js';
import { consoleLogger, defaultName, fetchHubInfo, type HubInfo, pagePeerConfig, preconnectBroker, tabDeviceId } from './lib/join.js';
import { pageRoom } from './lib/page-room.js';
import { catchEverything, showNoRoom } from './lib/no-room.js';
import { loadPageRoom } from './lib/room-link.js';
import { mark } from './lib/timeline.js';
import { checkWebRtc, NO_WEBRTC } from './lib/webrtc.js';
import { Grid } from './viewer/grid.js';
import { TalkBack } from './viewer/talk.js';

mark('start');
catchEverything();
// The broker's WebSocket handshake overlaps deriving the room's keys and the page's first layout.
preconnectBroker();
void main();

async function main(): Promise<void> {
  const result = await loadPageRoom();
  if (!result.ok) {
    if (result.why === 'none') return showNoRoom('none');
    showNoRoom('bad-link');
    notice('error', 'This pairing link does not work', result.message, [
      ...(result.stored
        ? [
            {
              label: 'Open the room this browser joined before',
              run: () => {
                history.replaceState(null, '', location.pathname);
                location.reload();
              },
            },
          ]
        : []),
    ]);
    return;
  }
  await run(result.room);
}

async function run(room: Room): Promise<void> {
  const log = consoleLogger();
  // /hub.json is asked when something needs it: the pairing panel (the hub's LAN addresses), and the grid when the hub
  // gives its members ICE servers (then the tiles wait for them; the page says so, see pagePeerConfig). On a LAN hub
  // that hands out none, nothing asks it before the first frame.
  let hubAsked: Promise<HubInfo | undefined> | undefined;
  const hubInfo = () =>
    (hubAsked ??= fetchHubInfo(room).then((hub) => {
      mark('hub');
      return hub;
    }));
  byId('room-name').textContent = room.options.name ?? `Room ${room.id.slice(0, 6)}`;
  const peerConfig = pagePeerConfig(hubInfo);
  const grid = new Grid(byId('grid'), new TalkBack(), log);
  byId('pair').addEventListener('click', () => void Promise.all([hubInfo(), import('./lib/pairing.js')]).then(([hub, pairing]) => pairing.openPairing(room, hub)));
  byId<HTMLAnchorElement>('as-camera').href = 'camera.html';
  const name = localStorage.getItem('peercam.name') ?? defaultName();
  const presence = { name: `${name} (viewer)`, role: 'viewer', agent: 'peercam/0.1.0 web' } as const;
  // The page's room over each channel `connect` makes (a new one per attempt until one joins).
  const rooms = new Map<SealedChannel, Promise<BrowserRoom>>();
  const roomOf = (joining: SealedChannel) => {
    const made = rooms.get(joining) ?? peerConfig.then((config) => pageRoom(joining, presence, config, log));
    rooms.set(joining, made);
    return made;
  };
  let channel: Awaited<ReturnType<typeof connect>>;
  try {
    // The grid follows the channel from before it starts: a camera's retained presence, which comes with the broker's
    // first answer, starts its tile the moment the link is up.
    let previous: Promise<BrowserRoom> | undefined;
    const follow = (joining: SealedChannel) => {
      joining.on('state', (state) => state === 'online' && mark('online'));
      // An attempt that failed is over: its room goes, with the connections it prepared for the tiles.
      void previous?.then((failed) => failed.leave());
      previous = roomOf(joining);
      void previous.then((joined) => {
        grid.detach();
        grid.attach(joined);
      });
    };
    channel = await connect(room, tabDeviceId('viewer'), presence, log, follow);
  } catch (err) {
    notice('error', 'Cannot join this room from a browser', err instanceof PeercamError ? err.message : String(err));
    return;
  }
  mark('online');
  const joined = await roomOf(channel);
  rooms.clear();
  const webrtc = checkWebRtc();
  // The tiles negotiate now: building the rest of the page would take the main thread from them in between.
  // A camera's retained presence may come just after "online" (13 ms on loopback): a page with no tile yet waits
  // that long for one before it takes the CPU for the rest.
  if (grid.size > 0 || (await markOrAfter('peercam:presence:', FIRST_TILE_GRACE_MS))) await markOrAfter('peercam:frame:', FIRST_FRAME_GRACE_MS);
  // What the first frame does not need comes in its own chunks, fetched only now, so that their download and compile
  // do not compete with the tiles for the CPU: the events panel, recordings, the call mode (pairing: on its click).
  const [{ EventsPanel }, { findRecordings }, { CallMode }] = await Promise.all([import('./viewer/events.js'), import('./recordings/find-index.js'), import('./viewer/call.js')]);
  const recordings = findRecordings(room.credentials.httpToken, joined).catch(() => undefined);
  byId('main').append(
    new EventsPanel(
      channel,
      byId('grid'),
      recordings,
      (names) => grid.setRecorded(names),
      (now) => grid.setRecording(now),
    ).el,
  );
  const call = new CallMode(joined, name);
  const share = byId<HTMLButtonElement>('share');
  share.addEventListener('click', () => void call.toggle(share));
  // Disabled in the page until now: a click before the room is joined would be lost without a word.
  share.disabled = !webrtc;
  if (webrtc) share.removeAttribute('title');
  else share.title = NO_WEBRTC.short;
  byId('self').append(call.preview);
  window.addEventListener('pagehide', () => void channel.close());
  document.body.dataset.ready = 'true';
}

/** How long the rest of the page waits for the first camera picture at most. */
const FIRST_FRAME_GRACE_MS = 1500;
/** How long a page that is online with no camera tile yet waits for one (its retained presence) before that. */
const FIRST_TILE_GRACE_MS = 300;

/**
 * Resolves true at the first timeline mark named `prefix`... (a tile's presence, its first frame), or false after
 * `ms`, whichever comes first.
 */
function markOrAfter(prefix: string, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const seen = () => performance.getEntriesByType('mark').some((m) => m.name.startsWith(prefix));
    if (seen()) return resolve(true);
    let observer: PerformanceObserver | undefined;
    const done = (found: boolean) => {
      observer?.disconnect();
      clearTimeout(timer);
      resolve(found);
    };
    const timer = setTimeout(() => done(false), ms);
    try {
      observer = new PerformanceObserver(() => seen() && done(true));
      observer.observe({ type: 'mark' });
    } catch {
      // no PerformanceObserver for marks: the timer alone
    }
  });
}
