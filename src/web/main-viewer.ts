import type { BrowserRoom } from '../api/browser.js';
import { PeercamError, type Room } from '../protocol/index.js';
import type { SealedChannel } from '../signaling/channel.js';
import { connect } from './lib/connection.js';
import { byId, notice } from './lib/dom.js';
import { consoleLogger, defaultName, fetchHubInfo, tabDeviceId } from './lib/join.js';
import { pageRoom } from './lib/page-room.js';
import { catchEverything, showNoRoom } from './lib/no-room.js';
import { openPairing } from './lib/pairing.js';
import { loadPageRoom } from './lib/room-link.js';
import { mark } from './lib/timeline.js';
import { checkWebRtc, NO_WEBRTC } from './lib/webrtc.js';
import { CallMode } from './viewer/call.js';
import { Grid } from './viewer/grid.js';
import { RecordingsApi } from './recordings/api.js';
import { EventsPanel } from './viewer/events.js';
import { TalkBack } from './viewer/talk.js';

mark('start');
catchEverything();
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
  // Asked side by side with joining the room: the grid needs the hub's ICE servers, the broker connection does not.
  const hubInfo = fetchHubInfo(room).then((hub) => {
    mark('hub');
    return hub;
  });
  byId('room-name').textContent = room.options.name ?? `Room ${room.id.slice(0, 6)}`;
  const gridReady = hubInfo.then(() => new Grid(byId('grid'), new TalkBack(), log));
  byId('pair').addEventListener('click', () => void hubInfo.then((hub) => openPairing(room, hub)));
  byId<HTMLAnchorElement>('as-camera').href = 'camera.html';
  const name = localStorage.getItem('peercam.name') ?? defaultName();
  const presence = { name: `${name} (viewer)`, role: 'viewer', agent: 'peercam/0.1.0 web' } as const;
  // The page's room over each channel `connect` makes (a new one per attempt until one joins).
  const rooms = new Map<SealedChannel, Promise<BrowserRoom>>();
  const roomOf = (joining: SealedChannel) => {
    const made = rooms.get(joining) ?? hubInfo.then((hub) => pageRoom(joining, presence, hub, log));
    rooms.set(joining, made);
    return made;
  };
  let channel: Awaited<ReturnType<typeof connect>>;
  try {
    // The grid follows the channel from before it starts: a camera's retained presence, which comes with the broker's
    // first answer, starts its tile the moment the link is up.
    const follow = (joining: SealedChannel) => {
      joining.on('state', (state) => state === 'online' && mark('online'));
      void Promise.all([gridReady, roomOf(joining)]).then(([grid, joined]) => {
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
  await gridReady;
  const joined = await roomOf(channel);
  rooms.clear();
  const webrtc = checkWebRtc();
  byId('main').append(new EventsPanel(channel, byId('grid'), new RecordingsApi(room.credentials.httpToken)).el);
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
