import { type Logger, silentLogger } from '../protocol/index.js';
import { iceAdvertOf, type PeerConfig } from '../session/index.js';
import type { Closable, JoinRoom } from './hub.js';

/**
 * The hub as a member of its own broker's room (role hub) whose sealed presence lends the owner's STUN/TURN servers:
 * every member — a page served by any host, a camera, `peercam watch` — uses them with its own. Only members can open
 * it; the broker carries ciphertext. With `refreshMs` (minted TURN credentials) the presence is renewed that often.
 */
export async function lendIce(
  join: JoinRoom,
  self: { id: string; name: string },
  config: PeerConfig & { readonly refreshMs?: number },
  log: Logger = silentLogger,
): Promise<Closable | undefined> {
  const ice = iceAdvertOf(config);
  if (!ice) return undefined;
  const channel = await join({ ...self, role: 'hub', ice });
  const refreshMs = config.refreshMs;
  const timer =
    refreshMs === undefined
      ? undefined
      : setInterval(() => {
          const fresh = iceAdvertOf(config);
          const { ice: _stale, ...presence } = channel.presence;
          channel.setPresence({ ...presence, ...(fresh ? { ice: fresh } : {}) }).catch((err: unknown) => log.warn({ err: String(err) }, 'could not renew the lent ICE servers'));
        }, refreshMs);
  log.info({ servers: ice.servers.length }, 'lending ICE servers to the room');
  return {
    close: async () => {
      clearInterval(timer);
      await channel.close();
    },
  };
}
