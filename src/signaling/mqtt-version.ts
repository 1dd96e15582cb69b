/** Which MQTT protocol a broker accepted, remembered so the next connection starts with it (issue 13). */

/** MQTT protocol levels: 4 = 3.1.1, 5 = 5.0 (the CONNECT packet's "protocol level" byte). */
export type MqttVersion = 4 | 5;

/** Where the version that worked per broker is kept. Keys are broker URLs without credentials. */
export interface VersionMemory {
  get(broker: string): MqttVersion | undefined;
  set(broker: string, version: MqttVersion): void;
}

/** The process-wide default: every transport of a Node process (reconnects, `watch`'s come-back) shares it. */
export function processMemory(): VersionMemory {
  return shared;
}

const known = new Map<string, MqttVersion>();
const shared: VersionMemory = {
  get: (broker) => known.get(broker),
  set: (broker, version) => void known.set(broker, version),
};

/** The storage a page keeps across loads (window.localStorage); only these two calls are used. */
export interface KeyValueStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

/**
 * Keeps the version in `storage` (a page's localStorage), so a page opened again skips the refused MQTT 5 attempt and
 * its round trip. Storage that throws (Safari private mode, quota) just means nothing is remembered across loads.
 */
export function storageMemory(storage: KeyValueStorage, prefix = 'peercam.mqtt-version:'): VersionMemory {
  return {
    get(broker) {
      try {
        const v = storage.getItem(prefix + broker);
        return v === '4' ? 4 : v === '5' ? 5 : shared.get(broker);
      } catch {
        return shared.get(broker);
      }
    },
    set(broker, version) {
      shared.set(broker, version);
      try {
        storage.setItem(prefix + broker, String(version));
      } catch {
        // Nothing kept across loads; the process memory still holds it.
      }
    },
  };
}

/** The `<meta name>` a hub puts in its pages: the MQTT version of the broker it serves at /mqtt ("4" or "5"). */
export const MQTT_VERSION_META = 'peercam-mqtt-version';

/**
 * `memory`, except that `broker` is known to speak `version` (what the hub serving the page says of its own broker):
 * a fresh page then connects with it at once. What worked is still recorded in `memory`.
 */
export function withKnownVersion(memory: VersionMemory, broker: string, version: MqttVersion | undefined): VersionMemory {
  if (version === undefined) return memory;
  const key = brokerKey(broker);
  return {
    get: (b) => (b === key ? version : memory.get(b)),
    set: (b, v) => memory.set(b, v),
  };
}

/** Reads a version hint ("4" or "5"); anything else is no hint. */
export function parseVersion(text: string | null | undefined): MqttVersion | undefined {
  return text === '4' ? 4 : text === '5' ? 5 : undefined;
}

/** The key of a broker: its URL without user name or password. */
export function brokerKey(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.toString().replace(/\/$/, '');
  } catch {
    return url;
  }
}
