/**
 * The MQTT client in Node: MQTT.js (mqtt://, mqtts://, ws://, wss://, a private CA). The web build replaces this
 * module with mqtt-connect.browser.ts (vite.config.ts), so MQTT.js and its Node polyfills stay out of the web app.
 */
// The default import: MQTT.js's browser ESM build (dist/mqtt.esm.js) has no named exports.
import mqtt, { type IClientOptions, type MqttClient as MqttJsClient } from 'mqtt';
import { type ConnectMqtt, type MqttClient, type MqttConnectOptions, MqttListeners, type MqttPublishOptions } from './mqtt-client.js';

export const connectMqtt: ConnectMqtt = (url, options) => new MqttJs(url, options);

class MqttJs implements MqttClient {
  private readonly client: MqttJsClient;
  private readonly listeners = new MqttListeners();
  /** The login last handed to MQTT.js: it keeps its own, read from the URL's user info when we gave none. */
  private login: { username?: string | undefined; password?: string | undefined };

  constructor(
    url: string,
    readonly options: MqttConnectOptions,
  ) {
    this.client = mqtt.connect(url, {
      ...mqttJsOptions(options),
      manualConnect: true,
      reconnectPeriod: 0, // the transport drives reconnects
      resubscribe: false, // and subscribes again itself
      clean: options.clean,
      clientId: options.clientId,
      keepalive: options.keepalive,
      // In browsers mqtt.js would run the keepalive timer in a Worker made from a blob: URL, which the hub's CSP
      // forbids (worker-src falls back to default-src 'self'). Plain timers.
      timerVariant: 'native',
      // No table of 65,536 pre-made packet-id Buffers (~7 MB of heap for the process's life; hub/broker.ts).
      writeCache: false,
      connectTimeout: options.connectTimeout,
      ...(options.ca !== undefined ? { ca: options.ca } : {}),
    });
    this.login = { username: options.username, password: options.password };
    const client = this.client;
    client.on('connect', (connack) => {
      noDelay(client.stream);
      const properties = connack.properties;
      this.listeners.emit('connect', {
        sessionPresent: connack.sessionPresent,
        properties: properties && {
          ...(properties.retainAvailable !== undefined ? { retainAvailable: properties.retainAvailable } : {}),
          ...(properties.reasonString !== undefined ? { reasonString: properties.reasonString } : {}),
        },
      });
    });
    client.on('message', (topic, payload) => this.listeners.emit('message', topic, payload));
    client.on('error', (err) => this.listeners.emit('error', err));
    client.on('disconnect', (packet) => this.listeners.emit('disconnect', { reasonCode: packet.reasonCode }));
    client.on('close', () => this.listeners.emit('close'));
  }

  get connected(): boolean {
    return this.client.connected;
  }

  on: MqttClient['on'] = (event, listener) => this.listeners.on(event, listener);

  connect(): void {
    this.client.connect();
  }

  reconnect(): void {
    // The transport changes our options between attempts; MQTT.js reads its own copy.
    const own = this.client.options;
    const next = mqttJsOptions(this.options);
    own.protocolVersion = next.protocolVersion;
    own.properties = next.properties;
    own.will = next.will;
    const { username, password } = this.options;
    if (username !== this.login.username || password !== this.login.password) {
      if (username !== undefined) own.username = username;
      else delete own.username;
      if (password !== undefined) own.password = password;
      else delete own.password;
      this.login = { username, password };
    }
    this.client.reconnect();
  }

  end(force: boolean): void {
    this.client.end(force);
  }

  endAsync(): Promise<void> {
    return this.client.endAsync(false);
  }

  async publishAsync(topic: string, payload: string | Uint8Array, options: MqttPublishOptions): Promise<void> {
    await this.client.publishAsync(topic, typeof payload === 'string' ? payload : Buffer.from(payload), {
      qos: options.qos,
      ...(options.retain !== undefined ? { retain: options.retain } : {}),
      ...(options.properties ? { properties: { ...options.properties } } : {}),
    });
  }

  async subscribeAsync(topics: Readonly<Record<string, { readonly qos: 0 | 1 }>>): Promise<readonly { readonly qos: number }[]> {
    try {
      return await this.client.subscribeAsync(Object.fromEntries(Object.entries(topics).map(([topic, { qos }]) => [topic, { qos }])));
    } catch (err) {
      // MQTT.js rejects a SUBACK with failure codes, carrying the packet: hand its codes back as grants.
      const codes = typeof err === 'object' && err !== null && 'packet' in err ? (err.packet as { granted?: unknown } | undefined)?.granted : undefined;
      if (Array.isArray(codes)) return codes.map((code) => ({ qos: typeof code === 'number' ? code : 128 }));
      throw err;
    }
  }

  dropPending(): void {
    // MQTT.js keeps QoS 1 callbacks of a dead connection pending forever when it does not reconnect by itself.
    for (const id of Object.keys(this.client.outgoing)) this.client.removeOutgoingMessage(Number(id));
  }

  destroy(): void {
    this.client.stream?.destroy();
  }
}

/** The options the transport changes between attempts, as MQTT.js spells them. */
function mqttJsOptions(options: MqttConnectOptions): IClientOptions {
  const will = options.will;
  return {
    protocolVersion: options.protocolVersion,
    properties: options.properties,
    ...(will ? { will: { topic: will.topic, payload: will.payload, qos: will.qos, retain: will.retain } } : {}),
    ...(options.username !== undefined ? { username: options.username } : {}),
    ...(options.password !== undefined ? { password: options.password } : {}),
  };
}

/**
 * Turns Nagle off on a TCP or TLS link to the broker (WebSockets already do): signaling is small messages that wait
 * for an answer, and Nagle would hold a message's tail until the broker's delayed ACK, 40 ms on Linux.
 */
function noDelay(stream: object): void {
  if ('setNoDelay' in stream && typeof stream.setNoDelay === 'function') stream.setNoDelay(true);
}
