/**
 * A small MQTT 3.1.1/5 client over a WebSocket (subprotocol "mqtt", section 6 of MQTT 5): what the transport needs
 * and nothing else (mqtt-packets.ts lists the packets). It keeps the web app's first chunk small: MQTT.js's browser
 * build is ~340 KB of Node polyfills the page would evaluate before it can open the broker's WebSocket (issue 15).
 */
import type { MqttClient, MqttConnectOptions, MqttPublishOptions } from './mqtt-client.js';
import { MqttListeners } from './mqtt-client.js';
import { DISCONNECT, encodeConnect, encodePuback, encodePublish, encodeSubscribe, type Incoming, MqttMalformed, PacketReader, PINGREQ } from './mqtt-packets.js';

/** The part of a WebSocket we use: the browser's, or the `ws` package's in Node tests. */
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  send(data: Uint8Array<ArrayBuffer>): void;
  close(code?: number, reason?: string): void;
  // Handlers take `never`: the DOM's and ws's handlers take their own event classes, and ours read only `data`.
  onopen: ((event: never) => void) | null;
  onmessage: ((event: never) => void) | null;
  onclose: ((event: never) => void) | null;
  onerror: ((event: never) => void) | null;
}
export type WebSocketConstructor = new (url: string, protocols: string) => WebSocketLike;

/** A CONNACK refusal with its return or reason code (MQTT 3.1.1 section 3.2.2.3, MQTT 5 section 3.2.2.2). */
export class MqttRefused extends Error {
  override readonly name = 'MqttRefused';
  constructor(readonly code: number) {
    super(`Connection refused: ${REFUSALS.get(code) ?? `code ${code}`}`);
  }
}

const REFUSALS: ReadonlyMap<number, string> = new Map([
  [1, 'Unacceptable protocol version'],
  [2, 'Identifier rejected'],
  [3, 'Server unavailable'],
  [4, 'Bad username or password'],
  [5, 'Not authorized'],
  [0x80, 'Unspecified error'],
  [0x84, 'Unsupported protocol version'],
  [0x85, 'Client identifier not valid'],
  [0x86, 'Bad user name or password'],
  [0x87, 'Not authorized'],
  [0x88, 'Server unavailable'],
  [0x89, 'Server busy'],
  [0x8a, 'Banned'],
  [0x95, 'Packet too large'],
  [0x9a, 'Retain not supported'],
]);

/** Our own limit on an incoming packet when the options set none (3.1.1 has no Maximum Packet Size). */
const DEFAULT_MAX_PACKET_BYTES = 1024 * 1024;
const OPEN = 1;

interface Pending {
  readonly resolve: (value: readonly number[]) => void;
  readonly reject: (err: Error) => void;
}

/** A WebSocket opened before its client (preconnect): the first client to connect to that URL takes it. */
let ahead: { url: string; socket: WebSocketLike; timer: ReturnType<typeof setTimeout> } | undefined;
/** How long a WebSocket opened ahead waits for its client before it is closed. */
const AHEAD_MS = 10_000;

/**
 * Opens the WebSocket to the broker at `url` before the page has what its CONNECT needs (the room's keys and login,
 * a few WebCrypto round trips behind the page's first layout): the handshake overlaps them, and the client that
 * connects to `url` next sends its CONNECT on that socket at once (issue 15). Unused, it closes after 10 s. `opening`:
 * a socket to `url` opened even earlier (the viewer page's inline script, src/web/lib/early-broker.ts), used instead.
 */
export function preconnect(url: string, WebSocketImpl: WebSocketConstructor, opening?: WebSocketLike): void {
  if (ahead?.url === url) return;
  dropAhead();
  const socket = opening ?? new WebSocketImpl(url, 'mqtt');
  ahead = { url, socket, timer: setTimeout(dropAhead, AHEAD_MS) };
}

/** The socket preconnect() opened to `url`, if it is still opening or open. */
function takeAhead(url: string): WebSocketLike | undefined {
  const taken = ahead;
  if (!taken || taken.url !== url) return undefined;
  clearTimeout(taken.timer);
  ahead = undefined;
  if (taken.socket.readyState <= OPEN) return taken.socket;
  taken.socket.close();
  return undefined;
}

function dropAhead(): void {
  if (!ahead) return;
  clearTimeout(ahead.timer);
  ahead.socket.close();
  ahead = undefined;
}

/** One connection at a time; connect() and reconnect() open a new WebSocket with the current options. */
export class WsMqttClient implements MqttClient {
  private readonly listeners = new MqttListeners();
  private socket: WebSocketLike | undefined;
  private reader: PacketReader | undefined;
  private isConnected = false;
  readonly pipelining = true;
  /** SUBSCRIBEs made before the WebSocket opened: they follow the CONNECT. */
  private early: Uint8Array<ArrayBuffer>[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private connectTimer: ReturnType<typeof setTimeout> | undefined;
  private pingTimer: ReturnType<typeof setTimeout> | undefined;
  private lastSent = 0;
  private pingOutstanding = false;
  private keepaliveMs = 0;
  /** The version of the current connection (the options may change before the next). */
  private version: 4 | 5 = 5;

  /** The URL without its user info, which goes into CONNECT instead (as MQTT.js does; options win over it). */
  private readonly url: string;
  private readonly urlLogin: { username?: string; password?: string } = {};

  constructor(
    url: string,
    readonly options: MqttConnectOptions,
    private readonly WebSocketImpl: WebSocketConstructor,
  ) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(url);
    } catch {
      // the WebSocket constructor reports it at connect()
    }
    if (parsed && (parsed.username || parsed.password)) {
      if (parsed.username) this.urlLogin.username = decodeURIComponent(parsed.username);
      if (parsed.password) this.urlLogin.password = decodeURIComponent(parsed.password);
      parsed.username = '';
      parsed.password = '';
      this.url = parsed.toString();
    } else this.url = url;
  }

  get connected(): boolean {
    return this.isConnected;
  }

  on: MqttClient['on'] = (event, listener) => this.listeners.on(event, listener);

  connect(): void {
    if (this.socket) return;
    const options = this.options;
    this.version = options.protocolVersion;
    this.reader = new PacketReader(this.version, options.properties?.maximumPacketSize ?? DEFAULT_MAX_PACKET_BYTES);
    let socket: WebSocketLike;
    try {
      socket = takeAhead(this.url) ?? new this.WebSocketImpl(this.url, 'mqtt');
    } catch (err) {
      // A bad URL throws at once (SyntaxError); report it like any other failed attempt.
      this.socket = undefined;
      queueMicrotask(() => {
        this.listeners.emit('error', err instanceof Error ? err : new Error(String(err)));
        this.listeners.emit('close');
      });
      return;
    }
    this.socket = socket;
    socket.binaryType = 'arraybuffer';
    const opened = () => {
      this.send(encodeConnect({ ...this.urlLogin, ...options }));
      for (const packet of this.early.splice(0)) this.send(packet);
    };
    socket.onopen = opened;
    socket.onmessage = (event: { readonly data: unknown }) => this.received(event.data);
    // The browser tells nothing about why (no code, no text): the close that follows says it all.
    socket.onerror = () => {};
    socket.onclose = () => this.teardown(socket, undefined);
    this.connectTimer = setTimeout(() => this.teardown(socket, new Error('connack timeout')), options.connectTimeout);
    if (socket.readyState === OPEN) opened(); // opened ahead (preconnect)
  }

  reconnect(): void {
    if (this.socket) this.teardown(this.socket, undefined);
    this.connect();
  }

  end(force: boolean): void {
    const socket = this.socket;
    if (!socket) return;
    if (!force && this.isConnected) this.send(DISCONNECT);
    this.teardown(socket, undefined);
  }

  /** The DISCONNECT goes out before the WebSocket's close frame; the connection is gone on return. */
  endAsync(): Promise<void> {
    this.end(false);
    return Promise.resolve();
  }

  publishAsync(topic: string, payload: string | Uint8Array, options: MqttPublishOptions): Promise<void> {
    const bytes = typeof payload === 'string' ? new TextEncoder().encode(payload) : payload;
    const id = options.qos === 1 ? this.packetId() : 0;
    const packet = encodePublish(this.version, topic, bytes, {
      qos: options.qos,
      retain: options.retain ?? false,
      id,
      expirySeconds: this.version === 5 ? options.properties?.messageExpiryInterval : undefined,
    });
    if (options.qos === 0) {
      return this.isConnected && this.send(packet) ? Promise.resolve() : Promise.reject(new Error('Not connected to the MQTT broker'));
    }
    return this.request(id, packet).then(() => {});
  }

  async subscribeAsync(topics: Readonly<Record<string, { readonly qos: 0 | 1 }>>): Promise<readonly { readonly qos: number }[]> {
    const list = Object.entries(topics).map(([topic, { qos }]) => [topic, qos] as const);
    const id = this.packetId();
    const codes = await this.request(id, encodeSubscribe(this.version, id, list), true);
    return list.map((_, i) => ({ qos: codes[i] ?? 0x80 }));
  }

  dropPending(): void {
    // Settled when their connection closed (teardown).
  }

  destroy(): void {
    if (this.socket) this.teardown(this.socket, undefined);
  }

  /**
   * Sends a QoS 1 PUBLISH or a SUBSCRIBE and waits for its acknowledgement's codes. `early`: also while the connection
   * waits for its CONNACK (right behind the CONNECT, see `pipelining`); settled like the rest when it closes.
   */
  private request(id: number, packet: Uint8Array<ArrayBuffer>, early = false): Promise<readonly number[]> {
    return new Promise((resolve, reject) => {
      const waiting = early && this.socket !== undefined && !this.isConnected;
      if (!this.isConnected && !waiting) {
        reject(new Error('Not connected to the MQTT broker'));
        return;
      }
      this.pending.set(id, { resolve, reject });
      if (!this.send(packet)) this.early.push(packet);
    });
  }

  /** Packet identifiers 1..65535, never one still waiting for its acknowledgement (section 2.2.1). */
  private packetId(): number {
    for (let i = 0; i < 65535; i++) {
      this.nextId = (this.nextId % 65535) + 1;
      if (!this.pending.has(this.nextId)) return this.nextId;
    }
    throw new Error('65535 MQTT messages are waiting for their acknowledgement');
  }

  private send(packet: Uint8Array<ArrayBuffer>): boolean {
    const socket = this.socket;
    if (!socket || socket.readyState !== OPEN) return false;
    socket.send(packet);
    this.lastSent = Date.now();
    return true;
  }

  private received(data: unknown): void {
    const socket = this.socket;
    const reader = this.reader;
    if (!socket || !reader) return;
    let packets: Incoming[];
    try {
      if (!(data instanceof ArrayBuffer)) throw new MqttMalformed('the broker sent a text WebSocket message; MQTT is binary');
      packets = reader.push(new Uint8Array(data));
    } catch (err) {
      this.teardown(socket, err instanceof Error ? err : new Error(String(err)));
      return;
    }
    for (const packet of packets) {
      if (this.socket !== socket) return; // a listener closed it
      this.handle(socket, packet);
    }
  }

  private handle(socket: WebSocketLike, packet: Incoming): void {
    if (!this.isConnected && packet.type !== 'connack') {
      this.teardown(socket, new MqttMalformed(`the broker sent a ${packet.type.toUpperCase()} before its CONNACK`));
      return;
    }
    switch (packet.type) {
      case 'connack': {
        clearTimeout(this.connectTimer);
        if (this.isConnected || packet.code !== 0) {
          this.teardown(socket, this.isConnected ? new MqttMalformed('the broker sent a second CONNACK') : new MqttRefused(packet.code));
          return;
        }
        this.isConnected = true;
        // MQTT 5 section 3.2.2.3.14: the broker's keepalive wins over ours.
        this.keepaliveMs = (packet.serverKeepAlive ?? this.options.keepalive) * 1000;
        this.pingOutstanding = false;
        this.schedulePing();
        const properties = {
          ...(packet.retainAvailable !== undefined ? { retainAvailable: packet.retainAvailable } : {}),
          ...(packet.reasonString !== undefined ? { reasonString: packet.reasonString } : {}),
        };
        this.listeners.emit('connect', { sessionPresent: packet.sessionPresent, properties });
        return;
      }
      case 'publish':
        if (packet.qos === 1) this.send(encodePuback(packet.id));
        this.listeners.emit('message', packet.topic, packet.payload);
        return;
      case 'puback':
      case 'suback': {
        const waiting = this.pending.get(packet.id);
        if (!waiting) return; // a late acknowledgement of something already settled
        this.pending.delete(packet.id);
        if (packet.type === 'suback') waiting.resolve(packet.codes);
        else if (packet.code >= 0x80) waiting.reject(Object.assign(new Error(`The broker refused the message (reason code 0x${packet.code.toString(16)})`), { code: packet.code }));
        else waiting.resolve([packet.code]);
        return;
      }
      case 'pingresp':
        this.pingOutstanding = false;
        return;
      case 'disconnect':
        this.listeners.emit('disconnect', { reasonCode: packet.code });
        this.teardown(socket, undefined);
        return;
    }
  }

  /** MQTT 3.1.1 section 3.1.2.10: a PINGREQ when nothing was sent for keepalive s; no PINGRESP by the next one = dead. */
  private schedulePing(): void {
    clearTimeout(this.pingTimer);
    if (this.keepaliveMs <= 0 || !this.isConnected) return;
    const socket = this.socket;
    const due = Math.max(0, this.lastSent + this.keepaliveMs - Date.now());
    this.pingTimer = setTimeout(() => {
      if (!socket || this.socket !== socket) return;
      if (Date.now() - this.lastSent >= this.keepaliveMs) {
        if (this.pingOutstanding) {
          this.teardown(socket, new Error('Keepalive timeout: the broker did not answer our PINGREQ'));
          return;
        }
        this.pingOutstanding = true;
        this.send(PINGREQ);
      }
      this.schedulePing();
    }, due);
  }

  /** Ends the connection of `socket` once: pending requests rejected, then 'error' (when there is one) and 'close'. */
  private teardown(socket: WebSocketLike, error: Error | undefined): void {
    if (this.socket !== socket) return;
    this.socket = undefined;
    this.reader = undefined;
    this.isConnected = false;
    this.early = [];
    clearTimeout(this.connectTimer);
    clearTimeout(this.pingTimer);
    socket.onopen = null;
    socket.onmessage = null;
    socket.onclose = null;
    socket.onerror = null;
    try {
      socket.close();
    } catch {
      // already closing
    }
    const closed = new Error('The connection to the MQTT broker closed');
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const p of pending) p.reject(closed);
    if (error) this.listeners.emit('error', error);
    this.listeners.emit('close');
  }
}
