/**
 * What the MQTT transport needs from an MQTT client: the few calls and events of MQTT.js's `MqttClient` it uses.
 * Two implementations: MQTT.js in Node (mqtt-connect.ts) and our small client over the page's WebSocket in browsers
 * (mqtt-connect.browser.ts, mqtt-ws.ts), chosen by the web build (vite.config.ts) so MQTT.js stays out of the web app.
 */

export type MqttProtocolVersion = 4 | 5;

/** A connection's options; the transport changes some between reconnects (version, login, the will's retain flag). */
export interface MqttConnectOptions {
  protocolVersion: MqttProtocolVersion;
  /** MQTT 5 CONNECT properties (MQTT 5 section 3.1.2.11). */
  properties?: { maximumPacketSize?: number } | undefined;
  clean: boolean;
  clientId: string;
  /** Seconds; 0 turns keepalive off. */
  keepalive: number;
  /** The last will: QoS 0 or 1, sent with empty will properties on MQTT 5. */
  will?: { topic: string; payload: string; qos: 0 | 1; retain: boolean };
  username?: string;
  password?: string;
  /** How long a connection attempt waits for its CONNACK, ms. */
  connectTimeout: number;
  /** PEM of a private CA (Node's mqtts:// and wss:// only). */
  ca?: string;
}

/** The broker's CONNACK, as far as the transport reads it. */
export interface MqttConnack {
  readonly sessionPresent: boolean;
  readonly properties?: { readonly retainAvailable?: boolean; readonly reasonString?: string } | undefined;
}

export interface MqttPublishOptions {
  readonly qos: 0 | 1;
  readonly retain?: boolean;
  readonly properties?: { readonly messageExpiryInterval?: number };
}

/** One event callback per name (MQTT.js's names and arguments). */
export interface MqttClientEvents {
  /** The broker accepted the connection. */
  connect: (connack: MqttConnack) => void;
  /** A PUBLISH on one of our subscriptions. */
  message: (topic: string, payload: Uint8Array) => void;
  /**
   * Something went wrong with the connection; a 'close' follows. A refused CONNACK carries its return or reason code
   * as a numeric `code`; a missing CONNACK says "connack timeout"; bytes that are not MQTT are a plain Error.
   */
  error: (err: Error) => void;
  /** The broker sent DISCONNECT (MQTT 5), with its reason code. */
  disconnect: (packet: { readonly reasonCode?: number | undefined }) => void;
  /** The connection is gone (once per connect() or reconnect()). */
  close: () => void;
}

/** A connection to one broker that the transport opens, reopens and ends itself (no automatic reconnect). */
export interface MqttClient {
  /** True between the CONNACK and the close. */
  readonly connected: boolean;
  /** Read again by every connect() and reconnect(). */
  readonly options: MqttConnectOptions;
  /**
   * Takes a SUBSCRIBE before the CONNACK and sends it right behind the CONNECT (MQTT 3.1.1 section 3.1.4: a client need
   * not wait for the CONNACK; a refused CONNECT voids it): our WebSocket client. MQTT.js waits for the CONNACK.
   */
  readonly pipelining?: boolean;
  on<E extends keyof MqttClientEvents>(event: E, listener: MqttClientEvents[E]): void;
  connect(): void;
  /** Connects again after a 'close', with the current options. */
  reconnect(): void;
  /** Drops the connection; force = without DISCONNECT (the broker then publishes our will). */
  end(force: boolean): void;
  /** Sends DISCONNECT and closes; resolves once closed. */
  endAsync(): Promise<void>;
  /** Resolves on PUBACK for QoS 1, once written for QoS 0; rejects when the connection closes first. */
  publishAsync(topic: string, payload: string | Uint8Array, options: MqttPublishOptions): Promise<void>;
  /** Resolves with the SUBACK's grant per topic: the QoS granted, or a failure code >= 128. */
  subscribeAsync(topics: Readonly<Record<string, { readonly qos: 0 | 1 }>>): Promise<readonly { readonly qos: number }[]>;
  /** Forgets the QoS 1 messages of a connection that closed (they are never acknowledged now). */
  dropPending(): void;
  /** Closes the underlying socket at once. */
  destroy(): void;
}

/** Opens nothing yet: returns a client for `url` whose connect() starts the first attempt. */
export type ConnectMqtt = (url: string, options: MqttConnectOptions) => MqttClient;

/** The listeners of one client, per event (shared by both implementations). */
export class MqttListeners {
  private readonly map: { [E in keyof MqttClientEvents]: MqttClientEvents[E][] } = { connect: [], message: [], error: [], disconnect: [], close: [] };

  on<E extends keyof MqttClientEvents>(event: E, listener: MqttClientEvents[E]): void {
    this.map[event].push(listener);
  }

  emit<E extends keyof MqttClientEvents>(event: E, ...args: Parameters<MqttClientEvents[E]>): void {
    for (const listener of this.map[event]) (listener as (...a: Parameters<MqttClientEvents[E]>) => void)(...args);
  }
}
