import { type BrowserRoom, roomOnChannel } from '../../api/browser.js';
import type { Logger, PresenceBody } from '../../protocol/index.js';
import type { PeerConfig } from '../../session/index.js';
import type { Channel } from '../../signaling/channel.js';

/** The library's room over a page's channel, with the page's ICE servers (one per channel: it answers data offers). */
export function pageRoom(channel: Channel, presence: PresenceBody, config: PeerConfig, log: Logger): BrowserRoom {
  return roomOnChannel(channel, { presence, iceServers: config.iceServers, relayOnly: config.iceTransportPolicy === 'relay', log });
}
