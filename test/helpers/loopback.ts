/** node-datachannel (libjuice) gathers no loopback candidates unless bound there (DESIGN.md). */
export const LOOPBACK_ENGINE = { bindAddress: '127.0.0.1' } as const;
/** No STUN/TURN: loopback peers need none (and tests never reach public servers). */
export const NO_ICE = { iceServers: [], iceTransportPolicy: 'all' } as const;
