import mqtt, { type MqttClient } from 'mqtt';
import { type Logger, PeercamError, silentLogger } from '../protocol/index.js';
import type { Channel } from '../signaling/channel.js';

/** The discovery prefix Home Assistant listens on (its default). */
export const HA_PREFIX = 'homeassistant';
const VERSION = '0.1.0';

export interface HaCamera {
  /** The camera's device id (stable per camera). */
  readonly id: string;
  readonly name: string;
}

/** What the bridge needs of a motion event. */
export interface HaMotion {
  readonly phase: 'start' | 'end';
  readonly event: string;
  readonly score: number;
  readonly box: { x: number; y: number; w: number; h: number };
  /** base64 JPEG (on starts). */
  readonly snapshot?: string | undefined;
}

/** The topics of one camera under `peercam/<id>/` on the HA broker. */
export function haTopics(id: string) {
  const base = `peercam/${id}`;
  return {
    availability: `${base}/availability`,
    motion: `${base}/motion`,
    snapshot: `${base}/snapshot`,
    event: `${base}/event`,
    config: {
      motion: `${HA_PREFIX}/binary_sensor/peercam_${id}/motion/config`,
      snapshot: `${HA_PREFIX}/image/peercam_${id}/snapshot/config`,
      event: `${HA_PREFIX}/event/peercam_${id}/motion_event/config`,
    },
  };
}

/**
 * `--homeassistant mqtt://user:pass@host:1883` (docs/EVENTS.md): MQTT discovery on the user's Home Assistant broker,
 * one HA device per camera with a motion binary_sensor, an image entity (the latest snapshot) and an event entity,
 * availability from the camera's presence. Configs are retained and sent again when HA announces `online` on
 * `homeassistant/status`; `forget()` removes a camera (empty retained configs). Plaintext on that broker by design
 * (docs/SECURITY.md); never the room's broker unless the user points it there.
 */
export class HomeAssistantBridge {
  private readonly cameras = new Map<string, { camera: HaCamera; available: boolean; motion: boolean }>();
  private readonly log: Logger;

  private constructor(
    private readonly client: MqttClient,
    log: Logger | undefined,
  ) {
    this.log = (log ?? silentLogger).child({ homeassistant: true });
    client.on('message', (topic, payload) => {
      if (topic === `${HA_PREFIX}/status` && payload.toString() === 'online') {
        this.log.info({}, 'Home Assistant came online: announcing the cameras again');
        for (const c of this.cameras.values()) this.announce(c.camera, c.available, c.motion);
      }
    });
    client.on('error', (err) => this.log.warn({ err: String(err) }, 'Home Assistant broker'));
  }

  /**
   * Connects to the HA broker. `lastWill`: a camera whose availability turns `offline` if this process dies (a camera
   * bridging itself); rooms bridging many cameras mark them offline as their presence goes.
   */
  static async connect(url: string, options: { log?: Logger; lastWill?: string } = {}): Promise<HomeAssistantBridge> {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch (cause) {
      throw new PeercamError('bad-config', `--homeassistant ${url} is not a URL: give mqtt://user:password@host:1883.`, { cause });
    }
    if (!/^mqtts?:$/.test(parsed.protocol)) throw PeercamError.config(`--homeassistant ${url}: use mqtt:// or mqtts:// (Home Assistant's MQTT broker).`);
    const will = options.lastWill ? { will: { topic: haTopics(options.lastWill).availability, payload: Buffer.from('offline'), retain: true, qos: 1 as const } } : {};
    const client = mqtt.connect(url, { clientId: `peercam-ha-${Math.random().toString(16).slice(2, 10)}`, reconnectPeriod: 2000, connectTimeout: 10_000, writeCache: false, ...will });
    await new Promise<void>((resolve, reject) => {
      const fail = (err: Error) => {
        client.end(true);
        reject(new PeercamError('broker-unreachable', `Home Assistant's broker ${parsed.host} refused or is unreachable: ${err.message}. Check --homeassistant.`, { cause: err }));
      };
      client.once('connect', () => {
        client.off('error', fail);
        resolve();
      });
      client.once('error', fail);
    });
    const bridge = new HomeAssistantBridge(client, options.log);
    await client.subscribeAsync(`${HA_PREFIX}/status`, { qos: 1 });
    return bridge;
  }

  /** Announces a camera (or its new name) and its availability. */
  camera(camera: HaCamera, available = true): void {
    const known = this.cameras.get(camera.id);
    const entry = { camera, available, motion: known?.motion ?? false };
    this.cameras.set(camera.id, entry);
    this.announce(camera, available, entry.motion);
  }

  available(id: string, available: boolean): void {
    const c = this.cameras.get(id);
    if (!c || c.available === available) return;
    c.available = available;
    this.publish(haTopics(id).availability, available ? 'online' : 'offline');
  }

  /** Motion state, the event, and on a start the snapshot. */
  motion(id: string, m: HaMotion): void {
    const c = this.cameras.get(id);
    if (!c) return;
    const t = haTopics(id);
    c.motion = m.phase === 'start';
    if (m.snapshot) this.publish(t.snapshot, Buffer.from(m.snapshot, 'base64'));
    this.publish(t.motion, c.motion ? 'ON' : 'OFF');
    this.publish(t.event, JSON.stringify({ event_type: m.phase === 'start' ? 'motion_start' : 'motion_end', event: m.event, score: m.score, box: m.box }), false);
  }

  /**
   * The peercam cameras announced on this HA broker (their retained motion configs, by whichever process made them),
   * gathered for `waitMs`: the broker sends retained messages right after the subscription.
   */
  async announced(waitMs = 1000): Promise<HaCamera[]> {
    const found = new Map<string, HaCamera>();
    const filter = `${HA_PREFIX}/binary_sensor/+/motion/config`;
    const onMessage = (topic: string, payload: Buffer) => {
      const id = /^homeassistant\/binary_sensor\/peercam_([^/]+)\/motion\/config$/.exec(topic)?.[1];
      if (!id || payload.length === 0) return;
      try {
        const name = (JSON.parse(payload.toString()) as { device?: { name?: unknown } }).device?.name;
        found.set(id, { id, name: typeof name === 'string' ? name : id });
      } catch {
        found.set(id, { id, name: id });
      }
    };
    this.client.on('message', onMessage);
    try {
      await this.client.subscribeAsync(filter, { qos: 1 });
      await new Promise((resolve) => setTimeout(resolve, waitMs));
      await this.client.unsubscribeAsync(filter);
    } finally {
      this.client.off('message', onMessage);
    }
    return [...found.values()];
  }

  /** Removes a camera from Home Assistant: empty retained configs and states. */
  async forget(id: string): Promise<void> {
    const t = haTopics(id);
    this.cameras.delete(id);
    await Promise.all(
      [...Object.values(t.config), t.availability, t.motion, t.snapshot].map((topic) => this.client.publishAsync(topic, '', { retain: true, qos: 1 })),
    );
  }

  private announce(camera: HaCamera, available: boolean, motion: boolean): void {
    const t = haTopics(camera.id);
    const common = {
      availability: [{ topic: t.availability, payload_available: 'online', payload_not_available: 'offline' }],
      device: { identifiers: [`peercam_${camera.id}`], name: camera.name, manufacturer: 'peercam', model: 'peercam camera', sw_version: VERSION },
      origin: { name: 'peercam', sw: VERSION, url: 'https://github.com/peercam/peercam' },
    };
    const configs: [string, object][] = [
      [t.config.motion, { ...common, name: 'Motion', unique_id: `peercam_${camera.id}_motion`, device_class: 'motion', state_topic: t.motion, payload_on: 'ON', payload_off: 'OFF' }],
      [t.config.snapshot, { ...common, name: 'Snapshot', unique_id: `peercam_${camera.id}_snapshot`, image_topic: t.snapshot, content_type: 'image/jpeg' }],
      [t.config.event, { ...common, name: 'Motion event', unique_id: `peercam_${camera.id}_event`, state_topic: t.event, event_types: ['motion_start', 'motion_end'] }],
    ];
    for (const [topic, config] of configs) this.publish(topic, JSON.stringify(config));
    this.publish(t.availability, available ? 'online' : 'offline');
    this.publish(t.motion, motion ? 'ON' : 'OFF');
  }

  private publish(topic: string, payload: string | Buffer, retain = true): void {
    this.client.publish(topic, payload, { retain, qos: 1 }, (err) => {
      if (err) this.log.debug({ err: String(err), topic }, 'not published to Home Assistant');
    });
  }

  /** Marks every camera offline and disconnects. */
  async close(): Promise<void> {
    await Promise.all([...this.cameras.keys()].map((id) => this.client.publishAsync(haTopics(id).availability, 'offline', { retain: true, qos: 1 }).catch(() => {})));
    await this.client.endAsync();
  }
}

/**
 * Bridges every camera of a room (`peercam up` / `peercam record` with --homeassistant): each camera present becomes
 * an HA device, available while its presence lasts; the motion events it sends to this member drive the entities.
 */
export function bridgeRoom(bridge: HomeAssistantBridge, channel: Channel): () => void {
  const offs = [
    channel.on('peer', (p) => {
      if (p.role === 'camera') bridge.camera({ id: p.id, name: p.name });
    }),
    channel.on('gone', (id) => bridge.available(id, false)),
    channel.on('message', (e) => {
      if (e.type === 'motion') bridge.motion(e.from, e.body);
    }),
  ];
  for (const p of channel.peers.values()) if (p.role === 'camera') bridge.camera({ id: p.id, name: p.name });
  return () => {
    for (const off of offs) off();
  };
}
