export { type CameraMedia, type CameraPeer, CNAME, createCameraPeer, type Negotiated } from './camera-peer.js';
export { type NdcOptions, toNdcIceServer, toRtcConfig } from './config.js';
export { engineLogFromEnv, shutdownNdc } from './connection.js';
export { createDataPeer, type DataPeer, type DataPeerOptions } from './data-peer.js';
export { randomSsrc } from './ssrc.js';
export { createViewerPeer, type ViewerNegotiated, type ViewerOptions, type ViewerPeer } from './viewer-peer.js';
export { createPublisherPeer, type PublisherNegotiated, type PublisherOptions, type PublisherPeer } from './publisher-peer.js';
export { NdcSenderPeer, type SenderMedia, type SenderOptions } from './sender-peer.js';
export { type BridgedServer, streamedTurnUrls, TurnBridge } from './turn-bridge.js';
