import type { Aedes, Client, PublishPacket } from 'aedes';
import type { MqttClient } from 'mqtt';
import { type DeviceId, isDeviceId, type Logger, MAX_SEALED_BYTES, type Room, silentLogger, topics } from '../protocol/index.js';
import { mqttClientId } from '../signaling/mqtt-client-id.js';
import { within } from '../signaling/mqtt-errors.js';
import { openCloudLink } from './cloud-link.js';
import type { Closable } from './hub.js';

export interface CloudBridgeOptions {
  /** The hub's embedded broker. */
  readonly aedes: Aedes;
  readonly room: Room;
  /** The room's broker away from home (`peercam up --broker`). */
  readonly url: string;
  /** Device id of the bridge's own connection (it publishes no presence). */
  readonly self: DeviceId;
  readonly log?: Logger;
}

export interface CloudBridge extends Closable {
  /** Messages carried each way (the test and the log read them). */
  readonly stats: { toCloud: number; fromCloud: number };
}

/** After the cloud link comes back, members whose retained presence did not come back within this left meanwhile. */
const RECONFIRM_MS = 3000;
/** A LAN device's slot on the cloud cleared by someone else (or by our own late will) is re-published at most so often. */
const REPUBLISH_GAP_MS = 1000;
/** The cloud link down this long: the cloud members are taken off the LAN's list until it is back. */
const OFFLINE_FORGET_MS = 30_000;
/** How long a clean leave waits for the cloud broker. */
const CLOSE_GRACE_MS = 1000;

/**
 * One room at home and away: the hub carries the room's topics between its embedded broker (the LAN) and the cloud
 * broker, as opaque sealed bytes (the AAD binds each message to its topic, and the topics are the same on both).
 *
 * - A LAN device's presence goes to the cloud on a connection of its own whose will clears that presence, so the cloud
 *   loses it when the hub or its link dies, as it would the device's own; that connection also takes the device's
 *   inbox on the cloud back to the LAN.
 * - The cloud's members (their presence, queries) come to the LAN as if published there; what LAN devices send to them
 *   goes up on the bridge's own connection.
 * - A device on both brokers at once (LAN mode with the cloud broker in its link) is left alone on each: bridging it
 *   would have the two copies overwrite each other's presence.
 */
export function startCloudBridge(options: CloudBridgeOptions): CloudBridge {
  const { aedes, room } = options;
  const log = (options.log ?? silentLogger).child({ component: 'cloud-bridge' });
  const root = `${topics.root(room.id)}/`;
  const stats = { toCloud: 0, fromCloud: 0 };
  /** LAN devices with a presence on the embedded broker, and their cloud connection (none while on the cloud too). */
  const lan = new Map<DeviceId, { presence: Buffer; proxy: StandIn | undefined }>();
  /** Devices with a presence of their own on the cloud broker. */
  const cloudNative = new Set<DeviceId>();
  /** Cloud members whose presence we put in the embedded broker's retained store; when each was last confirmed. */
  const injected = new Map<DeviceId, number>();
  let closed = false;

  const inject = (topic: string, payload: Buffer, retain: boolean) => {
    stats.fromCloud++;
    aedes.publish({ cmd: 'publish', topic, payload, qos: 1, retain, dup: false }, () => {});
  };
  const clearInjected = (device: DeviceId) => {
    if (!injected.delete(device)) return;
    inject(topics.presence(room.id, device), Buffer.alloc(0), true);
  };

  const parse = (topic: string): { kind: 'presence' | 'inbox'; device: DeviceId } | undefined => {
    if (!topic.startsWith(root)) return undefined;
    const [kind, device, extra] = topic.slice(root.length).split('/');
    if (extra !== undefined || device === undefined || !isDeviceId(device)) return undefined;
    if (kind === 'presence') return { kind, device };
    if (kind === 'to') return { kind: 'inbox', device };
    return undefined;
  };

  /** Client ids of the bridge's own links. */
  const ownClients = new Set<string>();
  const clientIdFor = (device: DeviceId) => {
    const id = mqttClientId(device);
    ownClients.add(id);
    return id;
  };
  /** The bridge's own link: cloud members' presence down, LAN devices' messages to them up. */
  let main: MqttClient | undefined;

  /** A LAN device's stand-in on the cloud broker. */
  class StandIn {
    private client: MqttClient | undefined;
    private readonly sent = new Set<string>();
    private lastRepublish = 0;
    private gone = false;
    private readonly clientId: string;

    constructor(private readonly device: DeviceId) {
      this.clientId = clientIdFor(device);
      void this.open();
    }

    private async open(): Promise<void> {
      const presenceTopic = topics.presence(room.id, this.device);
      try {
        const client = await openCloudLink({
          url: options.url,
          clientId: this.clientId,
          credentials: room.credentials,
          will: { topic: presenceTopic, payload: Buffer.alloc(0), qos: 1, retain: true },
          log,
        });
        if (this.gone) {
          client.end(true);
          return;
        }
        this.client = client;
        client.on('message', (topic, payload) => {
          if (payload.length > MAX_SEALED_BYTES) return;
          inject(topic, payload, false);
        });
        client.on('connect', () => void this.ready(client));
        client.on('error', (err) => log.debug({ device: this.device, err: String(err) }, 'bridge link error'));
        await this.ready(client);
      } catch (err) {
        log.warn({ device: this.device, err: String(err) }, 'could not bring a LAN device to the cloud broker; retrying');
        if (!this.gone) setTimeout(() => void (this.gone ? undefined : this.open()), 5000).unref();
      }
    }

    /** Inbox first, then the presence: a member that sees it may write to the device at once. */
    private async ready(client: MqttClient): Promise<void> {
      await client.subscribeAsync(topics.inbox(room.id, this.device), { qos: 1 }).catch(() => {});
      this.publishPresence();
    }

    publishPresence(): void {
      const entry = lan.get(this.device);
      if (!entry || !this.client?.connected) return;
      this.publish(topics.presence(room.id, this.device), entry.presence, true);
    }

    publish(topic: string, payload: Buffer, retain: boolean): void {
      const client = this.client;
      if (!client?.connected) return;
      this.remember(payload);
      stats.toCloud++;
      client.publish(topic, payload, { qos: 1, retain }, () => {});
    }

    /** True if `payload` is one we published (it came back on the bridge's own subscription). */
    echoed(payload: Buffer): boolean {
      return this.sent.has(payload.toString('latin1'));
    }

    /** Someone cleared our slot on the cloud (or our own previous connection's will fired late): publish it again. */
    slotCleared(): void {
      const now = Date.now();
      if (now - this.lastRepublish < REPUBLISH_GAP_MS) return;
      this.lastRepublish = now;
      this.publishPresence();
    }

    /** The device left the LAN: clear its presence on the cloud, then go. */
    async leave(): Promise<void> {
      this.gone = true;
      ownClients.delete(this.clientId);
      const client = this.client;
      if (!client) return;
      if (client.connected) {
        await within(client.publishAsync(topics.presence(room.id, this.device), Buffer.alloc(0), { qos: 1, retain: true }), CLOSE_GRACE_MS);
        if (await within(client.endAsync(), CLOSE_GRACE_MS)) return;
      }
      client.end(true);
    }

    /** The device is on the cloud by itself: go without touching its presence (a clean DISCONNECT drops the will). */
    drop(): void {
      this.gone = true;
      ownClients.delete(this.clientId);
      this.client?.end();
    }

    private remember(payload: Buffer): void {
      this.sent.add(payload.toString('latin1'));
      // Presences and queries only; the last few are all an echo can be.
      if (this.sent.size > 8) {
        const oldest = this.sent.values().next().value;
        if (oldest !== undefined) this.sent.delete(oldest);
      }
    }
  }

  const lanPresence = (device: DeviceId, payload: Buffer) => {
    const entry = lan.get(device) ?? { presence: payload, proxy: undefined };
    entry.presence = payload;
    lan.set(device, entry);
    // The device came home: its own presence replaced the one we had put in the embedded broker.
    injected.delete(device);
    if (cloudNative.has(device)) return;
    if (entry.proxy) entry.proxy.publishPresence();
    else {
      entry.proxy = new StandIn(device);
      log.info({ device }, 'bridging a LAN device to the cloud broker');
    }
  };

  const lanLeft = async (device: DeviceId) => {
    const entry = lan.get(device);
    if (!entry) return;
    lan.delete(device);
    await entry.proxy?.leave();
  };

  const onLanPublish = (packet: PublishPacket, client: Client | null) => {
    // Our own links, should the cloud broker be this very broker (a misconfiguration), must not feed the bridge.
    if (closed || (client !== null && ownClients.has(client.id))) return;
    const at = parse(packet.topic);
    if (!at) return;
    const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
    if (at.kind === 'presence') {
      // Our own injections come with no client; so does the slot the broker clears for a device that left.
      if (client === null) {
        if (payload.length === 0) void lanLeft(at.device);
        return;
      }
      if (!packet.retain) {
        // A who-is-here query: members on the cloud answer it.
        lan.get(at.device)?.proxy?.publish(packet.topic, payload, false);
        return;
      }
      if (payload.length === 0) void lanLeft(at.device);
      else lanPresence(at.device, payload);
      return;
    }
    // An inbox message: from a LAN device (not one we injected) to a device that is not on the LAN.
    if (client === null || lan.has(at.device)) return;
    if (!main?.connected) return;
    stats.toCloud++;
    main.publish(packet.topic, payload, { qos: 1 }, () => {});
  };

  const onCloudMessage = (topic: string, payload: Buffer, retained: boolean) => {
    if (closed || payload.length > MAX_SEALED_BYTES) return;
    const at = parse(topic);
    if (at?.kind !== 'presence') return;
    const device = at.device;
    const entry = lan.get(device);
    if (entry?.proxy) {
      if (entry.proxy.echoed(payload)) return;
      if (payload.length === 0) {
        entry.proxy.slotCleared();
        return;
      }
      // The device joined the cloud broker by itself too: leave it to its own connections.
      cloudNative.add(device);
      entry.proxy.drop();
      entry.proxy = undefined;
      log.info({ device }, 'a LAN device is on the cloud broker by itself; no longer bridged');
      return;
    }
    if (payload.length === 0) {
      cloudNative.delete(device);
      clearInjected(device);
      // A device on both that left the cloud but not the LAN: bridge it from now on.
      if (entry) lanPresence(device, entry.presence);
      return;
    }
    if (entry) {
      cloudNative.add(device); // on both brokers by itself; its LAN copy already serves the LAN
      return;
    }
    if (retained) {
      cloudNative.add(device);
      injected.set(device, Date.now());
    }
    inject(topic, payload, retained);
  };

  let offlineTimer: ReturnType<typeof setTimeout> | undefined;
  const wire = (link: MqttClient) => {
    link.on('message', (topic, payload, packet) => onCloudMessage(topic, payload, packet.retain));
    link.on('error', (err) => log.debug({ err: String(err) }, 'bridge link error'));
    link.on('offline', () => {
      log.warn({}, 'lost the cloud broker; the LAN goes on, the cloud members come back with it');
      // A short outage keeps the cloud members listed (their sessions' media does not go through the broker).
      offlineTimer ??= setTimeout(() => {
        offlineTimer = undefined;
        if (!link.connected) for (const device of [...injected.keys()]) clearInjected(device);
      }, OFFLINE_FORGET_MS);
      offlineTimer.unref();
    });
    link.on('connect', () => void subscribe(link));
  };
  const subscribe = async (link: MqttClient) => {
    const since = Date.now();
    // Retain as published (MQTT 5): a live presence is told from a query; 3.1.1 brokers strip the flag.
    await link.subscribeAsync(topics.presenceAll(room.id), { qos: 1, rap: true }).catch((err: unknown) => log.warn({ err: String(err) }, 'the cloud broker refused the room'));
    setTimeout(() => {
      // Members that left while the link was down never clear their slot again: drop those not heard of since.
      for (const [device, at] of injected) if (at < since) clearInjected(device);
    }, RECONFIRM_MS).unref();
  };
  /** Connects the bridge's own link, retrying in the background: the LAN must not wait for the cloud. */
  const connectMain = async () => {
    const clientId = clientIdFor(options.self);
    while (!closed) {
      try {
        const link = await openCloudLink({ url: options.url, clientId, credentials: room.credentials, log });
        if (closed) {
          link.end(true);
          return;
        }
        main = link;
        wire(link);
        await subscribe(link);
        log.info({ mqtt: link.options.protocolVersion === 5 ? '5' : '3.1.1' }, 'bridging the room between the LAN and the cloud broker');
        return;
      } catch (err) {
        log.warn({ err: String(err) }, 'cannot reach the cloud broker; the LAN goes on, retrying in 5 s');
        await new Promise((resolve) => setTimeout(resolve, 5000).unref());
      }
    }
  };
  aedes.on('publish', onLanPublish);
  void connectMain();

  return {
    stats,
    close: async () => {
      if (closed) return;
      closed = true;
      clearTimeout(offlineTimer);
      aedes.removeListener('publish', onLanPublish);
      // The LAN devices leave the cloud with the hub (their slots cleared, not left to the wills).
      await Promise.all([...lan.keys()].map(lanLeft));
      if (main && !(await within(main.endAsync(), CLOSE_GRACE_MS))) main.end(true);
    },
  };
}
