import { type DeviceId, type Logger, newDeviceId, type PresenceBody, PeercamError, type Room } from '../../protocol/index.js';
import { HUB_ICE_META } from '../../session/ice.js';
import type { IceServer, PeerConfig } from '../../session/index.js';
import { exponentialBackoff } from '../../signaling/backoff.js';
import { SealedChannel } from '../../signaling/channel.js';
import { MqttTransport } from '../../signaling/mqtt.js';
import { MQTT_VERSION_META, parseVersion, storageMemory, withKnownVersion } from '../../signaling/mqtt-version.js';
import { preconnect } from '../../signaling/mqtt-ws.js';
import { hubBroker, pageBrokerUrl, takeEarlyBroker } from './early-broker.js';

/** What the hub tells its pages (/hub.json); absent when the page is served by something else. */
export interface HubInfo {
  readonly lanUrls: readonly string[];
  readonly iceServers: readonly IceServer[];
  readonly iceTransportPolicy: 'all' | 'relay';
}

/** Asks the hub that served the page; the room's HTTP token gets the members' part (ICE servers with TURN passwords). */
export async function fetchHubInfo(room: Room): Promise<HubInfo | undefined> {
  try {
    const res = await fetch('/hub.json', { cache: 'no-store', headers: { authorization: `Bearer ${room.credentials.httpToken}` } });
    if (!res.ok) return undefined;
    const j = (await res.json()) as Partial<HubInfo>;
    return {
      lanUrls: Array.isArray(j.lanUrls) ? j.lanUrls.filter((u): u is string => typeof u === 'string') : [],
      iceServers: Array.isArray(j.iceServers) ? j.iceServers : [],
      iceTransportPolicy: j.iceTransportPolicy === 'relay' ? 'relay' : 'all',
    };
  } catch {
    return undefined; // the hub is down right now; the broker connection reports that more usefully
  }
}

export function peerConfigOf(hub: HubInfo | undefined): PeerConfig {
  return { iceServers: hub?.iceServers ?? [], iceTransportPolicy: hub?.iceTransportPolicy ?? 'all' };
}

/**
 * The page's ICE settings: at once when the page itself says its hub has none for members (web-server.ts pageMeta),
 * so sessions can start without asking /hub.json; else from /hub.json (`hub()`, asked only then), where TURN passwords
 * stay behind the room's HTTP token, also when the page says nothing (not served by a hub).
 */
export function pagePeerConfig(hub: () => Promise<HubInfo | undefined>): Promise<PeerConfig> {
  const said = document.querySelector<HTMLMetaElement>(`meta[name="${HUB_ICE_META}"]`)?.content;
  return said === 'none' ? Promise.resolve({ iceServers: [], iceTransportPolicy: 'all' }) : hub().then(peerConfigOf);
}

/**
 * The broker a page uses: the room's own when it is a WebSocket one (ws:// or wss://), else the hub that served the
 * page (its /mqtt). A room on a plain TCP broker cannot be reached from a browser: that is an error saying so.
 */
export function brokerFor(room: Room): string {
  return brokerChoice(room).url;
}

/** brokerFor, and whether that broker is the page's own hub (which wants the room login at once). */
function brokerChoice(room: Room): { url: string; hub: boolean } {
  const b = room.options.broker;
  if (b && /^wss?:\/\//.test(b)) {
    if (location.protocol === 'https:' && b.startsWith('ws://'))
      throw PeercamError.config(
        `This room meets on ${b}, an unencrypted WebSocket broker, and a page loaded over HTTPS may not connect to it. ` +
          'Use a wss:// broker in the link, or open the page from the hub over http://127.0.0.1.',
      );
    return { url: b, hub: false };
  }
  if (b)
    throw PeercamError.config(
      `This room meets on the MQTT broker ${b}, which a browser cannot reach (browsers need ws:// or wss://). ` +
        'Create the room with a WebSocket broker URL (peercam room new --broker wss://host/mqtt), or use the room of this hub.',
    );
  return { url: hubBroker(), hub: true };
}

/**
 * Opens the WebSocket of the broker the page is about to join (src/web/lib/early-broker.ts `pageBrokerUrl`) before the
 * room's keys are derived: see `preconnect`. The one the page's inline script opened is taken when there is one.
 * Whatever is wrong with the link is said later, by joining; a broker the browser refuses (ws:// from an https://
 * page) is simply not opened ahead.
 */
export function preconnectBroker(): void {
  try {
    const url = pageBrokerUrl();
    if (url) preconnect(url, WebSocket, takeEarlyBroker(url));
  } catch {
    // joining reports it
  }
}

/** A device id per browser tab and role (sessionStorage), so two tabs of one browser are two devices. */
export function tabDeviceId(role: string): DeviceId {
  const key = `peercam.device.${role}`;
  const known = sessionStorage.getItem(key);
  if (known && /^[a-z2-7]{16}$/.test(known)) return known;
  const id = newDeviceId();
  sessionStorage.setItem(key, id);
  return id;
}

/** A default device name from the browser: "Chrome on Android". */
export function defaultName(): string {
  const ua = navigator.userAgent;
  const os = /iPhone|iPad/.test(ua) ? 'iPhone' : /Android/.test(ua) ? 'Android' : /Mac/.test(ua) ? 'Mac' : /Windows/.test(ua) ? 'Windows' : /Linux/.test(ua) ? 'Linux' : 'device';
  const browser = /Edg\//.test(ua) ? 'Edge' : /Firefox\//.test(ua) ? 'Firefox' : /Chrom(e|ium)\//.test(ua) ? 'Chrome' : /Safari\//.test(ua) ? 'Safari' : 'Browser';
  return `${browser} on ${os}`;
}

/** Opens a started channel of the room over MQTT-over-WebSocket; the transport reconnects by itself afterwards. */
export async function joinRoom(
  room: Room,
  self: DeviceId,
  presence: PresenceBody,
  log: Logger,
  prepare?: (channel: SealedChannel) => void,
): Promise<SealedChannel> {
  const broker = brokerChoice(room);
  const transport = new MqttTransport({
    url: broker.url,
    // The hub that served the page admits members only: present the room login at once (other brokers: if asked).
    roomLogin: broker.hub ? 'first' : 'if-refused',
    // A page waits for its hub however long it takes; every 5 s at most, so it resumes soon after the hub is back.
    reconnect: exponentialBackoff({ initialMs: 250, maxMs: 5000 }),
    connectTimeoutMs: 5000,
    // The hub that served the page says which MQTT its broker speaks (a <meta> in the page), so even a fresh page
    // connects with it at once; elsewhere a 3.1.1-only broker costs a refused MQTT 5 attempt once per browser.
    versionMemory: withKnownVersion(storageMemory(localStorage), broker.url, broker.hub ? hubMqttVersion() : undefined),
    log,
  });
  const channel = new SealedChannel(room, transport, { self, presence, log });
  prepare?.(channel);
  try {
    await channel.start();
  } catch (err) {
    await channel.close().catch(() => {});
    throw err;
  }
  return channel;
}

/** The MQTT version of the broker at the page's own hub, from the page itself (web-server.ts pageMeta). */
function hubMqttVersion() {
  return parseVersion(document.querySelector<HTMLMetaElement>(`meta[name="${MQTT_VERSION_META}"]`)?.content);
}

/** The browser console as a peercam Logger (debug hidden unless localStorage['peercam.debug'] is set). */
export function consoleLogger(bindings: object = {}): Logger {
  const debug = localStorage.getItem('peercam.debug') !== null;
  const line = (fn: (...a: unknown[]) => void) => (obj: object, msg?: string) => fn(`[peercam] ${msg ?? ''}`, { ...bindings, ...obj });
  return {
    debug: debug ? line(console.debug) : () => {},
    info: debug ? line(console.info) : () => {},
    warn: line(console.warn),
    error: line(console.error),
    child: (more) => consoleLogger({ ...bindings, ...more }),
  };
}
