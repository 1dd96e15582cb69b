import type { Logger } from '../../protocol/index.js';
import type { PeerConfig } from '../../session/index.js';
import type { Closable, JoinRoom } from '../hub.js';
import type { BearerGuard, RouteHandler } from '../http-auth.js';
import type { NdcOptions } from '../../media/ndc/index.js';
import { WhepGateway } from './gateway.js';
import type { WhepRelayMode } from './path.js';
import { WHEP_PREFIX, whepRoutes } from './routes.js';
import { WHIP_PREFIX, WhipDoor } from './whip.js';

export { WhepError } from './errors.js';
export { WhepGateway, WhepSession } from './gateway.js';
export { choosePath, isRelayMode, WHEP_RELAY_MODES, type WhepRelayMode } from './path.js';
export { WhepRelay, WhepRelays } from './relay.js';
export { iceLinks, WHEP_PREFIX, whepRoutes } from './routes.js';
export { WHIP_PREFIX, WhipDoor } from './whip.js';

export interface WhepDoor {
  /** Routes to add to the hub's web server (by prefix). */
  readonly prefixRoutes: Readonly<Record<string, RouteHandler>>;
  /** A hub extra: joins the room as the gateway's member. */
  start(join: JoinRoom): Promise<Closable>;
  /** The gateway once started (tests and metrics read its session count). */
  readonly gateway: WhepGateway | undefined;
  /** The WHIP ingest door (its publishers count). */
  readonly whip: WhipDoor;
}

/** The hub's WHEP and WHIP doors (docs/WHEP.md): HTTP routes now, the room member once the hub is up. */
export function whepDoor(options: {
  id: () => Promise<string>;
  guard: BearerGuard;
  config: PeerConfig;
  log: Logger;
  rateLimit?: { readonly burst: number; readonly perSecond: number };
  /** node-datachannel options for WHIP publishers, the cameras they become and the WHEP relays (bind address, port range). */
  engine?: NdcOptions;
  /** When the hub relays WHEP media (docs/WHEP.md): `auto` (default), `always`, `never`. */
  relay?: WhepRelayMode;
  /** How long a WHEP relay outlives its last client. Default 5 s. */
  relayLingerMs?: number;
}): WhepDoor {
  let gateway: WhepGateway | undefined;
  let joinRoom: JoinRoom | undefined;
  const whip = new WhipDoor({
    join: () => joinRoom,
    nameTaken: (name) => gateway?.isLive(name) === true,
    guard: options.guard,
    config: options.config,
    ...(options.engine ? { engine: options.engine } : {}),
    ...(options.rateLimit ? { rateLimit: options.rateLimit } : {}),
    log: options.log.child({ component: 'whip' }),
  });
  return {
    prefixRoutes: {
      [WHEP_PREFIX]: whepRoutes({ gateway: () => gateway, guard: options.guard, iceServers: options.config.iceServers, ...(options.rateLimit ? { rateLimit: options.rateLimit } : {}) }),
      [WHIP_PREFIX]: whip.route,
    },
    get gateway() {
      return gateway;
    },
    whip,
    async start(join) {
      joinRoom = join;
      const channel = await join({ id: await options.id(), name: 'WHEP gateway', role: 'hub' });
      const g = new WhepGateway({
        channel,
        log: options.log,
        config: options.config,
        ...(options.engine ? { engine: options.engine } : {}),
        ...(options.relay ? { relay: options.relay } : {}),
        ...(options.relayLingerMs !== undefined ? { relayLingerMs: options.relayLingerMs } : {}),
      });
      gateway = g;
      return {
        close: async () => {
          joinRoom = undefined;
          await whip.close();
          gateway = undefined;
          await g.close();
        },
      };
    },
  };
}
