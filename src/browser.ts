/**
 * The browser entry: everything that runs in a web page (no Node built-ins). Inject the platform pieces:
 * RTCPeerConnection through a PeerFactory, the broker URL (ws:// or wss://) through MqttTransport.
 */
export * from './protocol/index.js';
export * from './session/index.js';
export * from './signaling/channel.js';
export * from './signaling/memory.js';
export * from './signaling/mqtt.js';
export * from './signaling/mqtt-version.js';
export * from './signaling/backoff.js';
export type * from './signaling/transport.js';
export * from './api/room.js';
export * from './api/peer-channel.js';
export {
  BrowserPublication,
  BrowserRoom,
  BrowserWatch,
  joinRoom,
  roomOnChannel,
  type BrowserJoinOptions,
  type BrowserPublishOptions,
  type BrowserWatchEvents,
  type BrowserWatchOptions,
  type Publication,
  type PublicationEvents,
  type RoomOnChannelOptions,
  type TalkBackAudio,
} from './api/browser.js';
