import {
  type DeviceId,
  type Logger,
  PeercamError,
  type RoomCredentials,
  type RoomId,
  silentLogger,
  topics,
} from '../protocol/index.js';
import { exponentialBackoff, type ReconnectPolicy } from './backoff.js';
import { mqttClientId } from './mqtt-client-id.js';
import type { ConnectMqtt, MqttClient, MqttConnectOptions } from './mqtt-client.js';
import { connectMqtt } from './mqtt-connect.js';
import { aclRefusal, classify, errorText, hasUserInfo, hungUp, isLoginRefusal, loginRefusedBothWays, redact, retainRefused, unreachable, within } from './mqtt-errors.js';
import { OthersPresence, PresenceKeeper, sameText } from './mqtt-presence.js';
import { brokerKey, type MqttVersion, processMemory, type VersionMemory } from './mqtt-version.js';
import type { Transport, TransportHandlers } from './transport.js';

/** Options of the MQTT transport: broker URL, credentials, reconnect policy, timeouts. */
export interface MqttTransportOptions {
  /** mqtt://, mqtts://, ws:// or wss:// (credentials in the URL work too). */
  readonly url: string;
  readonly username?: string;
  readonly password?: string;
  /**
   * When to present the room's hub login (Room.credentials, handed over by the Channel): 'first' for a broker known to
   * be a peercam hub's (the page's own hub, a hub seen on the LAN, the hub's own members); 'if-refused' (default) for
   * any other: connect anonymously, and present the room's login only when the broker refuses anonymous clients.
   * Either way the other choice is tried once when the broker refuses the first one. Credentials in the URL or in
   * `username`/`password` win: the room's login is then never sent.
   */
  readonly roomLogin?: 'first' | 'if-refused';
  /** PEM of a private CA that signed the broker's certificate (mqtts, wss). */
  readonly ca?: string;
  readonly reconnect?: ReconnectPolicy;
  /** How long open() waits for the first CONNACK; also each reconnect attempt's limit. Default 5 s. */
  readonly connectTimeoutMs?: number;
  /** MQTT keepalive; a vanished peer's LWT fires after 1.5 x this (MQTT 3.1.1 section 3.1.2.10). Default 20 s. */
  readonly keepaliveSeconds?: number;
  /**
   * Publish presence retained (default). false for brokers without retained messages; found out by itself when an
   * MQTT 5 broker says so (CONNACK 0x9A, or "retain available" 0). Members still find each other by query (docs/SCALE.md).
   */
  readonly retain?: boolean;
  /**
   * Makes the MQTT client. Default: MQTT.js in Node, our small WebSocket client in the web build (mqtt-connect.ts);
   * tests hand in the small client to run it in Node.
   */
  readonly client?: ConnectMqtt;
  /** Where the MQTT version each broker accepted is remembered. Default: shared by this process (processMemory). */
  readonly versionMemory?: VersionMemory;
  readonly log?: Logger;
}

/** A stale offer is useless, so inbox messages expire on MQTT 5 brokers (MQTT 5 section 3.3.2.3.3). */
const INBOX_EXPIRY_SECONDS = 60;
/** MQTT 5 brokers drop anything bigger for us; the Channel drops anything over 64 KiB anyway. */
const MAX_PACKET_BYTES = 1024 * 1024;
/** How long a clean close waits for the broker before it just drops the connection. */
const CLOSE_GRACE_MS = 1000;
/** How long a query waits for the echo of our presence before it goes out anyway. */
const ECHO_WAIT_MS = 1000;
/** Retry at least this often, so a broker that comes back is rejoined within 5 s however long it was away (issue 6). */
const RECONNECT_MAX_MS = 4000;

type Phase = 'idle' | 'opening' | 'online' | 'reconnecting' | 'closed';
interface Link {
  readonly room: RoomId;
  readonly self: DeviceId;
  readonly handlers: TransportHandlers;
  readonly presenceTopic: string;
  readonly inboxTopic: string;
  /** What a member subscribes to: the room's presence and its own inbox. */
  readonly subscriptions: readonly string[];
}

/**
 * The MQTT adapter (MQTT.js in Node, our small WebSocket client in browsers: mqtt-client.ts): retained presence
 * cleared by LWT, one QoS 1 inbox per device.
 * Speaks MQTT 5 and falls back to 3.1.1 when the broker refuses 5 (aedes). Reconnects with its own policy.
 */
export class MqttTransport implements Transport {
  readonly kind = 'mqtt' as const;
  /** Messages published and received over this transport's lifetime (the signaling benchmark reads them). */
  readonly stats = { published: 0, received: 0 };
  /** The broker URL with any password masked, fit for logs and messages. */
  readonly url: string;
  private readonly policy: ReconnectPolicy;
  private readonly timeoutMs: number;
  private readonly log: Logger;
  private client: MqttClient | undefined;
  private link: Link | undefined;
  private version: MqttVersion;
  private readonly versions: VersionMemory;
  private readonly key: string;
  /** This connection got its CONNACK: a close after that is a lost link, not a refused protocol. */
  private connacked = false;
  /** Presence and LWT are published retained (see MqttTransportOptions.retain). */
  private retain: boolean;
  /** Our last who-is-here query: its echo on our own slot is no outsider's write. */
  private lastQuery: string | undefined;
  /** Our presence came back to us on this connection (query() waits for it, see there). */
  private echoed = false;
  private readonly onEcho: (() => void)[] = [];
  /** A remembered 3.1.1 was refused and MQTT 5 tried once, so the two cannot alternate forever. */
  private triedV5 = false;
  private phase: Phase = 'idle';
  /** Our sealed presence; null = cleared; undefined = never set. Re-published after every reconnect. */
  private presence: string | null | undefined;
  private failures = 0;
  /** The room's hub login, if the Channel handed it over and no explicit credentials were given. */
  private roomCredentials: RoomCredentials | undefined;
  /** Whether the current connection attempt presents the room's login. */
  private usingLogin = false;
  /** The other login choice was tried after a refusal (reset once online). */
  private loginSwitched = false;
  /** The SUBSCRIBE a pipelining client sent behind the CONNECT of connection `generation` (see dial). */
  private early: { generation: number; granted: Promise<readonly { readonly qos: number }[]> } | undefined;
  /** Bumped on every connection close, so work started for an older connection stops. */
  private generation = 0;
  private lastError: unknown;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private settleOpen: ((err?: PeercamError) => void) | undefined;
  private closing: Promise<void> | undefined;
  /** Others' presence on its way up: clears held for a grace period, an outsider's clear undone (OthersPresence). */
  private readonly others = new OthersPresence((device, payload) => this.link?.handlers.presence(device, payload));
  /** Re-publishes ours when our retained slot shows anything else (an outsider's clear or junk, our own late LWT). */
  private readonly keeper = new PresenceKeeper(() => {
    if (this.phase !== 'online') return;
    this.log.info({}, 'our retained presence was replaced by someone else; publishing ours again');
    void this.publishPresence().catch(() => {});
  });

  constructor(private readonly options: MqttTransportOptions) {
    this.url = redact(options.url);
    if (!/^(mqtts?|wss?):\/\/[^/]/.test(options.url))
      throw PeercamError.config(`The broker URL "${this.url}" is not usable: write it as mqtt://host:1883, mqtts://host:8883, ws://host/mqtt or wss://host/mqtt.`);
    this.policy = options.reconnect ?? exponentialBackoff({ maxMs: RECONNECT_MAX_MS });
    this.timeoutMs = options.connectTimeoutMs ?? 5000;
    this.log = (options.log ?? silentLogger).child({ transport: 'mqtt', broker: this.url });
    this.versions = options.versionMemory ?? processMemory();
    this.key = brokerKey(options.url);
    this.version = this.versions.get(this.key) ?? 5;
    this.retain = options.retain ?? true;
  }

  useRoomCredentials(credentials: RoomCredentials): void {
    if (this.options.username !== undefined || this.options.password !== undefined || hasUserInfo(this.options.url)) return;
    this.roomCredentials = credentials;
  }

  open(room: RoomId, self: DeviceId, handlers: TransportHandlers): Promise<void> {
    if (this.phase !== 'idle') return Promise.reject(new PeercamError('closed', 'This MQTT transport was already opened; create a new one.'));
    this.phase = 'opening';
    const presenceTopic = topics.presence(room, self);
    const inboxTopic = topics.inbox(room, self);
    this.link = { room, self, handlers, presenceTopic, inboxTopic, subscriptions: [topics.presenceAll(room), inboxTopic] };
    this.usingLogin = this.roomCredentials !== undefined && this.options.roomLogin === 'first';
    // No automatic reconnects or resubscriptions: we drive both (see onClose and onConnect).
    const opts: MqttConnectOptions = {
      protocolVersion: this.version,
      ...(this.version === 5 ? { properties: { maximumPacketSize: MAX_PACKET_BYTES } } : {}),
      clean: true,
      // Unique per connection: a restarted device must not take over (and fire the LWT of) a session it replaces.
      clientId: mqttClientId(self),
      // Chrome exempts pages using WebRTC from its once-a-minute throttling of hidden tabs' timers, and 1.5 x
      // keepalive leaves room for its usual 1 s one.
      keepalive: this.options.keepaliveSeconds ?? 20,
      connectTimeout: this.timeoutMs,
      will: { topic: presenceTopic, payload: '', qos: 1, retain: this.retain },
      ...(this.options.username !== undefined ? { username: this.options.username } : {}),
      ...(this.options.password !== undefined ? { password: this.options.password } : {}),
      ...(this.usingLogin && this.roomCredentials
        ? { username: this.roomCredentials.brokerUsername, password: this.roomCredentials.brokerPassword }
        : {}),
      ...(this.options.ca !== undefined ? { ca: this.options.ca } : {}),
    };
    let client: MqttClient;
    try {
      client = (this.options.client ?? connectMqtt)(this.options.url, opts);
    } catch (err) {
      this.phase = 'closed';
      if (err instanceof PeercamError) return Promise.reject(err);
      return Promise.reject(PeercamError.config(`The broker URL "${this.url}" is not usable: ${errorText(err)}.`, err));
    }
    this.client = client;
    client.on('connect', (connack) => {
      this.connacked = true;
      if (connack.properties?.retainAvailable === false && this.retain) this.noRetain(client);
      void this.onConnect(client);
    });
    client.on('message', (topic, payload) => this.onMessage(topic, payload));
    client.on('error', (err) => {
      this.lastError = err;
      this.log.debug({ err: errorText(err) }, 'mqtt error');
    });
    client.on('disconnect', (packet) => this.log.info({ reasonCode: packet.reasonCode }, 'broker sent DISCONNECT'));
    client.on('close', () => this.onClose(client));
    handlers.state('connecting', `connecting to ${this.url}`);
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => this.failOpen(unreachable(this.url, `no answer within ${this.timeoutMs / 1000} s`)), this.timeoutMs);
      this.settleOpen = (err) => {
        clearTimeout(timer);
        this.settleOpen = undefined;
        if (err) reject(err);
        else resolve();
      };
      this.dial(client, 'connect');
    });
  }

  async setPresence(payload: string | null): Promise<void> {
    if (this.phase === 'closed') throw new PeercamError('closed', 'This MQTT transport was closed; create a new one.');
    this.presence = payload;
    // Offline: it goes out after the next reconnect; a lost link during the publish is handled the same way.
    if (this.phase === 'online') await this.publishPresence().catch((err: unknown) => this.log.debug({ err: errorText(err) }, 'presence deferred'));
  }

  async send(to: DeviceId, payload: string): Promise<void> {
    const client = this.client;
    const link = this.link;
    if (this.phase === 'closed') throw new PeercamError('closed', 'This MQTT transport was closed; create a new one.');
    if (this.phase !== 'online' || !client?.connected || !link)
      throw new PeercamError('broker-unreachable', `Not connected to the MQTT broker at ${this.url} (reconnecting); the message to ${to} was not sent.`);
    const properties = this.version === 5 ? { properties: { messageExpiryInterval: INBOX_EXPIRY_SECONDS } } : {};
    try {
      this.stats.published++;
      await client.publishAsync(topics.inbox(link.room, to), payload, { qos: 1, ...properties });
    } catch (err) {
      throw new PeercamError('broker-unreachable', `Lost the MQTT broker at ${this.url} while sending to ${to}; it will be retried by the session.`, {
        cause: err,
      });
    }
  }

  async query(seal: () => Promise<string>): Promise<void> {
    // The broker sends retained presence right after the SUBACK, before the echo of our own presence: once the echo
    // is here the members our node retained are known, and need not answer (none on a broker that retains them all).
    if (typeof this.presence === 'string' && !this.echoed) {
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          const at = this.onEcho.indexOf(done);
          if (at >= 0) this.onEcho.splice(at, 1);
          resolve();
        };
        const timer = setTimeout(done, ECHO_WAIT_MS);
        this.onEcho.push(done);
      });
    }
    const client = this.client;
    const link = this.link;
    if (this.phase !== 'online' || !client?.connected || !link) return;
    const payload = await seal();
    if (this.phase !== 'online' || !client.connected) return;
    this.lastQuery = payload;
    this.stats.published++;
    await client.publishAsync(link.presenceTopic, payload, { qos: 1 }).catch((err: unknown) => this.log.debug({ err: errorText(err) }, 'query not sent'));
  }

  presenceChecked(device: DeviceId, payload: string | Uint8Array, applied: boolean): void {
    this.others.checked(device, payload, applied);
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    const wasOnline = this.phase === 'online';
    this.phase = 'closed';
    clearTimeout(this.retryTimer);
    this.others.drop();
    this.keeper.cancel();
    this.settleOpen?.(new PeercamError('closed', `The connection to the MQTT broker at ${this.url} was closed before it came up.`));
    const client = this.client;
    if (!client) return;
    if (wasOnline && client.connected) {
      // Clear our retained presence ourselves: a clean DISCONNECT discards the LWT (MQTT 3.1.1 section 3.14.4).
      if (typeof this.presence === 'string') {
        this.stats.published++;
        await within(client.publishAsync(this.link!.presenceTopic, '', { qos: 1, retain: this.retain }), CLOSE_GRACE_MS);
      }
      if (!(await within(client.endAsync(), CLOSE_GRACE_MS))) client.destroy();
    } else {
      // Nothing to flush; and MQTT.js would wait for a 'close' that an already closed socket never emits again.
      client.end(true);
    }
  }

  private async onConnect(client: MqttClient): Promise<void> {
    const link = this.link;
    if (!link || this.phase === 'closed') return;
    const generation = this.generation;
    const wanted = link.subscriptions;
    let refusal: PeercamError | undefined;
    const early = this.early?.generation === generation ? this.early.granted : undefined;
    this.early = undefined;
    const subscribing = early ?? subscribe(client, wanted);
    // Our presence goes out right behind the SUBSCRIBE instead of after its SUBACK (the same order on the wire): both
    // answers come back together, one broker round trip sooner online (issue 15). Both must still succeed; a refused
    // subscription ends the link without DISCONNECT, so the broker's last will clears the presence just sent.
    const presenting = this.presence !== undefined ? this.publishPresence() : undefined;
    presenting?.catch(() => {}); // judged below, once the subscription is
    try {
      const granted = await subscribing;
      const refused = wanted.filter((_, i) => (granted[i]?.qos ?? 128) >= 128);
      if (refused.length > 0) refusal = aclRefusal(this.url, `subscribe to ${refused.join(' and ')}`);
    } catch (err) {
      if (!this.stale(generation)) refusal = aclRefusal(this.url, 'subscribe to its topics', err);
    }
    if (!refusal && !this.stale(generation) && presenting) {
      try {
        await presenting;
      } catch (err) {
        if (!this.stale(generation)) refusal = aclRefusal(this.url, `publish its presence at ${link.presenceTopic}`, err);
      }
    }
    if (this.stale(generation)) return; // the link dropped meanwhile: onClose handles it
    if (refusal) {
      if (this.phase === 'opening') return this.failOpen(refusal);
      this.lastError = refusal;
      client.end(true); // onClose schedules the retry
      return;
    }
    if (this.stale(generation)) return;
    this.failures = 0;
    this.lastError = undefined;
    this.versions.set(this.key, this.version);
    this.loginSwitched = false;
    this.phase = 'online';
    this.log.info({ mqtt: this.version === 5 ? '5' : '3.1.1' }, 'online');
    link.handlers.state('online', `connected to ${this.url} (MQTT ${this.version === 5 ? '5' : '3.1.1'})`);
    this.settleOpen?.();
  }

  /**
   * Opens a connection; a client that pipelines gets our SUBSCRIBE right behind the CONNECT, so the retained presence
   * of the room comes one broker round trip sooner (issue 15). Its answer is judged at the CONNACK as usual.
   */
  private dial(client: MqttClient, how: 'connect' | 'reconnect'): void {
    if (how === 'connect') client.connect();
    else client.reconnect();
    this.early = undefined;
    if (!client.pipelining || !this.link) return;
    const granted = subscribe(client, this.link.subscriptions);
    granted.catch(() => {}); // a connection refused or lost before its CONNACK: onClose handles it
    this.early = { generation: this.generation, granted };
  }

  /** True once the connection `generation` belonged to has closed, or the transport has. */
  private stale(generation: number): boolean {
    return generation !== this.generation || this.phase === 'closed';
  }

  private onClose(client: MqttClient): void {
    this.generation++;
    this.echoed = false;
    this.others.drop();
    this.keeper.cancel();
    client.dropPending();
    if (this.phase === 'closed') return;
    const lastError = this.lastError;
    const failure = classify(this.url, lastError, this.timeoutMs);
    this.lastError = undefined;
    const connacked = this.connacked;
    this.connacked = false;
    // A broker refuses MQTT 5 with a CONNACK (aedes: 3.1.1 code 1, "unacceptable protocol version") or by hanging up
    // before any CONNACK (RabbitMQ 3.10). A hang-up counts only while MQTT 5 never worked with this broker: one that
    // did is just restarting.
    const refusedV5 = failure === 'protocol' || (!connacked && hungUp(lastError) && this.versions.get(this.key) !== 5);
    if (this.version === 5 && refusedV5) {
      this.log.info({ why: lastError === undefined ? 'closed' : errorText(lastError) }, 'broker refused MQTT 5; using 3.1.1');
      this.setVersion(4);
      this.dial(client, 'reconnect');
      return;
    }
    if (retainRefused(lastError) && this.retain) {
      this.noRetain(client);
      this.dial(client, 'reconnect');
      return;
    }
    if (failure === 'protocol' && this.versions.get(this.key) === 4 && !this.triedV5) {
      // Remembered 3.1.1, but the broker now refuses it (replaced by an MQTT 5-only one): try 5 once.
      this.triedV5 = true;
      this.setVersion(5);
      this.dial(client, 'reconnect');
      return;
    }
    if (this.roomCredentials && !this.loginSwitched && isLoginRefusal(lastError)) {
      // A hub's broker refuses anyone without the room's login; any other broker may refuse it (its own users).
      this.loginSwitched = true;
      this.usingLogin = !this.usingLogin;
      this.log.info({ roomLogin: this.usingLogin }, this.usingLogin ? 'broker refused an anonymous client; presenting the room login' : 'broker refused the room login; trying without it');
      if (this.usingLogin) {
        client.options.username = this.roomCredentials.brokerUsername;
        client.options.password = this.roomCredentials.brokerPassword;
      } else {
        delete client.options.username;
        delete client.options.password;
      }
      this.dial(client, 'reconnect');
      return;
    }
    const refused = this.roomCredentials && this.loginSwitched && isLoginRefusal(lastError) ? loginRefusedBothWays(this.url, lastError) : failure;
    const error = refused === 'protocol' ? unreachable(this.url, 'it speaks neither MQTT 5 nor 3.1.1') : refused;
    if (this.phase === 'opening') {
      this.failOpen(error);
      return;
    }
    const handlers = this.link!.handlers;
    const why =
      this.phase === 'online'
        ? `Lost the connection to the MQTT broker at ${this.url}${lastError instanceof Error ? ` (${lastError.message})` : ''}.`
        : error.message;
    if (this.phase === 'online') this.log.warn({ why }, 'lost the broker');
    this.phase = 'reconnecting';
    const delay = this.policy.nextDelayMs(this.failures++);
    if (delay === null) {
      handlers.state('offline', `Gave up reconnecting to the MQTT broker at ${this.url} after ${this.failures} attempts. ${why}`);
      return;
    }
    handlers.state('offline', `${why} Retrying in ${(delay / 1000).toFixed(1)} s.`);
    this.retryTimer = setTimeout(() => {
      if (this.phase !== 'reconnecting') return;
      handlers.state('connecting', `reconnecting to ${this.url}`);
      this.dial(client, 'reconnect');
    }, delay);
  }

  private onMessage(topic: string, payload: Uint8Array): void {
    this.stats.received++;
    const link = this.link;
    if (!link || this.phase === 'closed') return;
    try {
      const device = topics.presenceDevice(link.room, topic);
      if (topic === link.inboxTopic) link.handlers.inbox(payload);
      else if (device === undefined || device.includes('/')) this.log.debug({ topic }, 'message on an unexpected topic');
      else if (device !== link.self) {
        const generation = this.generation;
        this.others.received(device, payload, () => !this.stale(generation));
      } else if (typeof this.presence === 'string' && sameText(payload, this.presence)) {
        this.echoed = true;
        for (const f of this.onEcho.splice(0)) f();
      } else if (this.phase === 'online' && this.presence !== undefined && !sameText(payload, this.lastQuery)) {
        // Our own slot: anything but ours is the late LWT of our previous connection, or an outsider's clear or junk.
        this.keeper.seen(payload, this.presence);
      }
    } catch (err) {
      this.log.error({ err: errorText(err), topic }, 'a signaling handler threw');
    }
  }

  private async publishPresence(): Promise<void> {
    const client = this.client;
    if (!client || !this.link || this.presence === undefined) return;
    this.stats.published++;
    await client.publishAsync(this.link.presenceTopic, this.presence ?? '', { qos: 1, retain: this.retain });
  }

  /** The broker keeps no retained messages (Mosquitto `retain_available false`): presence goes out live only. */
  private noRetain(client: MqttClient): void {
    this.log.info({}, 'broker has no retained messages; presence goes out live and members answer our query');
    this.retain = false;
    if (client.options.will) client.options.will.retain = false;
  }

  private setVersion(version: MqttVersion): void {
    this.version = version;
    const options = this.client?.options;
    if (!options) return;
    options.protocolVersion = version;
    options.properties = version === 5 ? { maximumPacketSize: MAX_PACKET_BYTES } : undefined;
  }

  private failOpen(error: PeercamError): void {
    if (this.phase !== 'opening') return;
    this.phase = 'closed';
    this.log.warn({ code: error.code }, error.message);
    this.client?.end(true);
    this.settleOpen?.(error);
  }
}

/** Subscribes to `list` at QoS 1; resolves with the SUBACK's grant per topic. */
function subscribe(client: MqttClient, list: readonly string[]): Promise<readonly { readonly qos: number }[]> {
  return client.subscribeAsync(Object.fromEntries(list.map((topic) => [topic, { qos: 1 as const }])));
}
