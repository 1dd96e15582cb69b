/** The Node entry: the browser surface plus what needs Node (media engine, sources, agents, recordings, LAN, embedded broker). */
export * from './browser.js';
export { CameraAgent, type CameraAgentEvents, type CameraAgentOptions, startCamera } from './agent/camera.js';
export { findCamera, type WatchOptions, type WatchReport, watch } from './agent/watch.js';
export { Recorder, type RecorderOptions } from './agent/recorder.js';
/** Recordings: fragmented-MP4 segments of received media, their store and index, retention, clips (docs/RECORDING.md). */
export * as record from './record/index.js';
export { type EmbeddedBroker, startEmbeddedBroker } from './hub/broker.js';
export { createCameraPeer, createDataPeer, createViewerPeer, shutdownNdc } from './media/ndc/index.js';
export { openSource, parseSourceSpec, type Source, type SourceSpec } from './media/sources/index.js';
export { LanTransport } from './signaling/lan/index.js';
export { MergedChannel } from './signaling/merged.js';
// The Node joinRoom (NodeRoom: RTP watches, cameras from source specs) replaces the browser's of the same name.
export { joinRoom, NodeRoom, NodeWatch, type NodeJoinOptions, type NodeLanOptions, type NodePublishOptions, type NodeWatchEvents, type NodeWatchOptions } from './api/node.js';
