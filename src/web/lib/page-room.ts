import { type BrowserRoom, roomOnChannel } from '../../api/browser.js';
import type { Logger, PresenceBody } from '../../protocol/index.js';
import type { Channel } from '../../signaling/channel.js';
import type { HubInfo } from './join.js';

/** The library's room over a page's channel, with the ICE servers its hub gave (one per channel: it answers data offers). */
export function pageRoom(channel: Channel, presence: PresenceBody, hub: HubInfo | undefined, log: Logger): BrowserRoom {
  return roomOnChannel(channel, { presence, iceServers: hub?.iceServers ?? [], relayOnly: hub?.iceTransportPolicy === 'relay', log });
}
