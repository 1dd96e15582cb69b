import type { DeviceId, RoomCredentials, RoomId } from '../protocol/index.js';

/** How a transport's link to its peers (broker or LAN sockets) stands. */
export type LinkState = 'connecting' | 'online' | 'offline';
/** Which kind of transport carries signaling. */
export type TransportKind = 'mqtt' | 'lan' | 'memory';

/** What a Transport calls when something arrives or the link changes. */
export interface TransportHandlers {
  /** A presence slot changed: its sealed payload, or null once cleared (clean leave, MQTT LWT, lost LAN heartbeat). */
  presence(device: DeviceId, payload: string | Uint8Array | null): void;
  /** A sealed payload arrived in our own inbox. */
  inbox(payload: string | Uint8Array): void;
  /** The link went up or down; `detail` says why, for the user. */
  state(state: LinkState, detail?: string): void;
}

/**
 * What an adapter (MQTT, LAN, memory) provides. It moves opaque sealed strings between logical addresses
 * (see protocol/topics.ts) and knows nothing of their content; sealing, validation and presence bookkeeping live in
 * the Channel above it, once for every adapter.
 */
export interface Transport {
  readonly kind: TransportKind;
  /**
   * Connects and starts calling `handlers`. Resolves when first online; rejects with a PeercamError saying what to fix
   * (unreachable broker, bad credentials, busy port) when it cannot get there. Reconnects by itself afterwards.
   */
  open(room: RoomId, self: DeviceId, handlers: TransportHandlers): Promise<void>;
  /** Publishes our presence (retained) or clears it (null). The transport re-publishes it after every reconnect. */
  setPresence(payload: string | null): Promise<void>;
  /** Delivers a payload to a device's inbox, at least once while both are online. */
  send(to: DeviceId, payload: string): Promise<void>;
  /**
   * Optional: broadcasts a sealed who-is-here query to every member, not retained. Transports whose late joiners may
   * miss members' presence (MQTT: retained messages per cluster node, or none at all) provide it; the Channel asks
   * after it joins and after every reconnect. `seal` makes the payload once the transport is ready to send it (so it
   * lists every member heard of by then). Resolves without sending while offline.
   */
  query?(seal: () => Promise<string>): Promise<void>;
  /** Clears our presence, then disconnects. Idempotent. */
  close(): Promise<void>;
  /**
   * Optional: the Channel's verdict on a presence payload this transport handed up (`applied` = authentic, and taken).
   * The LAN transport ties a device's presence to the link that carried an authentic one (docs/SECURITY.md).
   */
  presenceChecked?(device: DeviceId, payload: string | Uint8Array, applied: boolean): void;
  /**
   * Optional: the room's credentials for its own servers, handed over by the Channel before `open`. The MQTT adapter
   * presents them to a hub's embedded broker (docs/SECURITY.md says when); others ignore them.
   */
  useRoomCredentials?(credentials: RoomCredentials): void;
}
