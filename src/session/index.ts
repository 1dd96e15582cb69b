export * from './camera-endpoint.js';
export * from './camera-session.js';
export * from './ice.js';
export * from './negotiation.js';
export * from './peer.js';
export * from './trickle.js';
export * from './viewer-session.js';
export * from './w3c-peer.js';
