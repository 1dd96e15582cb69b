// Node-only entry of the LAN adapter (ws, dgram, ciao); never imported by browser code.
export { type LanService, SERVICE_TYPE } from './browser.js';
export { MAX_FRAME_BYTES } from './frames.js';
export { HELLO_TIMEOUT_MS } from './link.js';
export { SERVER_LIMITS } from './server.js';
export { LINK_LIMITS, LanTransport, type LanTransportEvents, type LanTransportOptions } from './transport.js';
