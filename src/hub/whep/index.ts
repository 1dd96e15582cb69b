import type { Logger } from '../../protocol/index.js';
import type { PeerConfig } from '../../session/index.js';
import type { Closable, JoinRoom } from '../hub.js';
import type { BearerGuard, RouteHandler } from '../http-auth.js';
import { WhepGateway } from './gateway.js';
import { WHEP_PREFIX, whepRoutes } from './routes.js';

export { WhepError } from './errors.js';
export { WhepGateway, WhepSession } from './gateway.js';
export { iceLinks, WHEP_PREFIX, whepRoutes } from './routes.js';

export interface WhepDoor {
  /** Routes to add to the hub's web server (by prefix). */
  readonly prefixRoutes: Readonly<Record<string, RouteHandler>>;
  /** A hub extra: joins the room as the gateway's member. */
  start(join: JoinRoom): Promise<Closable>;
  /** The gateway once started (tests and metrics read its session count). */
  readonly gateway: WhepGateway | undefined;
}

/** The hub's WHEP door (docs/WHEP.md): HTTP routes now, the room member once the hub is up. */
export function whepDoor(options: {
  id: () => Promise<string>;
  guard: BearerGuard;
  config: PeerConfig;
  log: Logger;
  rateLimit?: { readonly burst: number; readonly perSecond: number };
}): WhepDoor {
  let gateway: WhepGateway | undefined;
  return {
    prefixRoutes: { [WHEP_PREFIX]: whepRoutes({ gateway: () => gateway, guard: options.guard, iceServers: options.config.iceServers, ...(options.rateLimit ? { rateLimit: options.rateLimit } : {}) }) },
    get gateway() {
      return gateway;
    },
    async start(join) {
      const channel = await join({ id: await options.id(), name: 'WHEP gateway', role: 'hub' });
      const g = new WhepGateway({ channel, log: options.log });
      gateway = g;
      return {
        close: async () => {
          gateway = undefined;
          g.close();
        },
      };
    },
  };
}
