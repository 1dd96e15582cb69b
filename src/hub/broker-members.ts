import { createHash, timingSafeEqual } from 'node:crypto';
import type { Aedes, AedesOptions, AuthenticateError, Client, PublishPacket, Subscription } from 'aedes';
import { isDeviceId, MAX_SEALED_BYTES, type RoomCredentials, type RoomId, topics } from '../protocol/index.js';
import { deviceOfClientId } from '../signaling/mqtt-client-id.js';

/** What the hub's broker lets a member do beyond protocol v1's topic rules (docs/SECURITY.md). */
export const MEMBER_LIMITS = {
  /** A retained presence is a small sealed body (name, role, sources): more than this is refused. */
  presenceBytes: 8 * 1024,
  /**
   * Presence publishes per connection: a burst, then so many a second. A device publishes its presence when it
   * connects, when it changes (rare) and when someone overwrote its slot (PresenceKeeper: at most once a second).
   */
  presenceBurst: 20,
  presencePerSecond: 2,
} as const;

/** The room a broker admits, and the login its members present (Room.credentials). */
export interface BrokerMembers {
  readonly room: RoomId;
  readonly credentials: RoomCredentials;
}

type Hooks = Required<Pick<AedesOptions, 'authenticate' | 'authorizePublish' | 'authorizeSubscribe'>>;

/** The aedes hooks, and `attach` to run once the broker exists (it clears presence its owners left behind). */
export interface MemberPolicy {
  readonly hooks: Hooks;
  attach(aedes: Aedes): void;
}

/**
 * aedes hooks that admit the room's members only, and let them do only what protocol v1 needs (docs/PROTOCOL.md):
 * publish their own presence (bound to the device id in their client id, see `mqttClientId`) and to others'
 * inboxes; subscribe to presence/+ and their own inbox. Anything else is refused: a CONNECT with CONNACK 5 "not
 * authorized", a SUBSCRIBE with return code 128, a PUBLISH by dropping the client (MQTT 3.1.1 has no negative PUBACK).
 * A retained presence lives only while a connection of its device does: the last one to close takes it along (as
 * the LWT does, for clients that set none), so the retained store never holds more than one slot per connection.
 */
export function memberPolicy(members: BrokerMembers, onRefusal: (client: Client | null, why: string) => void = () => {}): MemberPolicy {
  const root = `${topics.root(members.room)}/`;
  const presencePrefix = `${root}presence/`;
  const inboxPrefix = `${root}to/`;
  const username = digest(members.credentials.brokerUsername);
  const password = digest(members.credentials.brokerPassword);
  /** Topics holding a non-empty retained presence. */
  const slots = new Set<string>();
  /** Open connections per device id (from their client ids). */
  const live = new Map<string, number>();
  /** Presence publishes each connection may still make (token bucket). */
  const budgets = new WeakMap<Client, { tokens: number; at: number }>();
  const spend = (client: Client): boolean => {
    const now = Date.now();
    const b = budgets.get(client) ?? { tokens: MEMBER_LIMITS.presenceBurst, at: now };
    b.tokens = Math.min(MEMBER_LIMITS.presenceBurst, b.tokens + ((now - b.at) / 1000) * MEMBER_LIMITS.presencePerSecond);
    b.at = now;
    budgets.set(client, b);
    if (b.tokens < 1) return false;
    b.tokens--;
    return true;
  };

  const refuse = (client: Client | null, why: string): Error => {
    onRefusal(client, why);
    return new Error(why);
  };

  const hooks: Hooks = {
    authenticate(client, user, pass, done) {
      // Both compared in full and in constant time: timing tells nothing about how much of either was right.
      const userOk = timingSafeEqual(digest(user ?? ''), username);
      const passOk = timingSafeEqual(digest(pass ?? ''), password);
      if (!(userOk && passOk)) {
        onRefusal(client, 'wrong or missing room login');
        return done(authError('not a member of this room (the CONNECT lacks the room login)'), false);
      }
      // A persistent session would make the broker queue messages for a device that is away, without bound.
      if (!client.clean) {
        onRefusal(client, 'persistent session');
        return done(authError('persistent sessions are not offered (connect with clean session)'), false);
      }
      done(null, true);
    },

    authorizePublish(client, packet: PublishPacket, done) {
      const topic = packet.topic;
      const size = packet.payload.length;
      if (size > MAX_SEALED_BYTES) return done(refuse(client, `payload of ${size} bytes on ${topic} (limit ${MAX_SEALED_BYTES})`));
      const own = client ? deviceOfClientId(client.id) : undefined;
      if (topic.startsWith(presencePrefix)) {
        const device = topic.slice(presencePrefix.length);
        if (own === undefined || device !== own) return done(refuse(client, `presence of ${device} from another device`));
        // The will (an empty presence) goes out as the client closes: never refuse it (it clears the slot). A presence
        // with a body from a closed client is refused: a flood still being read when the member was dropped would
        // otherwise be retained after its slot was cleared (seen once in the 10,000-publish test). `closed`, not
        // `!connected`: aedes reads a client's packets once its CONNACK is written but calls it connected only a
        // moment later, so a device publishing its presence at once (as ours do) was dropped on a busy hub.
        if (client?.closed && size !== 0) return done(refuse(client, `presence from ${device} after its connection closed`));
        if (client && !client.closed && !spend(client)) return done(refuse(client, `presence faster than ${MEMBER_LIMITS.presencePerSecond}/s`));
        // Not retained: a who-is-here query (or a live presence), which leaves the retained slot as it is.
        if (!packet.retain) return done(null);
        if (size === 0) {
          slots.delete(topic);
          return done(null);
        }
        if (size > MEMBER_LIMITS.presenceBytes) return done(refuse(client, `presence of ${size} bytes (limit ${MEMBER_LIMITS.presenceBytes})`));
        slots.add(topic);
        return done(null);
      }
      if (topic.startsWith(inboxPrefix)) {
        const device = topic.slice(inboxPrefix.length);
        if (!isDeviceId(device) || device === own) return done(refuse(client, `publish to ${topic}`));
        if (packet.retain) return done(refuse(client, `a retained message on ${topic}`));
        return done(null);
      }
      return done(refuse(client, `publish outside the room's topics (${topic.slice(0, 80)})`));
    },

    authorizeSubscribe(client, sub: Subscription, done) {
      const own = deviceOfClientId(client.id);
      const allowed = sub.topic === topics.presenceAll(members.room) || (own !== undefined && sub.topic === topics.inbox(members.room, own));
      if (!allowed) {
        onRefusal(client, `subscribe to ${sub.topic.slice(0, 80)}`);
        return done(null, null); // SUBACK return code 128 for this topic
      }
      done(null, { ...sub, qos: sub.qos > 1 ? 1 : sub.qos });
    },
  };

  return {
    hooks,
    attach(aedes) {
      /** Clears a retained presence (an empty retained message, as a will does). */
      const clear = (topic: string) => aedes.publish({ cmd: 'publish', topic, payload: Buffer.alloc(0), qos: 0, retain: true, dup: false }, () => {});
      aedes.on('client', (client) => {
        const device = deviceOfClientId(client.id);
        if (device !== undefined) live.set(device, (live.get(device) ?? 0) + 1);
      });
      aedes.on('clientDisconnect', (client) => {
        const device = deviceOfClientId(client.id);
        if (device === undefined) return;
        const left = (live.get(device) ?? 1) - 1;
        if (left > 0) {
          live.set(device, left);
          return;
        }
        live.delete(device);
        // Its will (published just before) cleared the slot already, unless it set none or left cleanly without clearing.
        const topic = topics.presence(members.room, device);
        if (slots.delete(topic)) clear(topic);
      });
      // A presence stored after its device's last connection closed (one still in the broker's pipeline as the
      // connection went, e.g. a flood cut short) would stay retained with nobody to clear it: clear it now.
      aedes.on('publish', (packet, client) => {
        if (!client || !packet.retain || packet.payload.length === 0 || !packet.topic.startsWith(presencePrefix)) return;
        const device = deviceOfClientId(client.id);
        if (device === undefined || live.has(device)) return;
        slots.delete(packet.topic);
        clear(packet.topic);
      });
    },
  };
}

function digest(value: string | Buffer): Buffer {
  return createHash('sha256').update(value).digest();
}

function authError(message: string): AuthenticateError {
  // 5 = "not authorized" (MQTT 3.1.1 section 3.2.2.3), what MQTT.js reports to the member.
  return Object.assign(new Error(message), { returnCode: 5 }) as AuthenticateError;
}
