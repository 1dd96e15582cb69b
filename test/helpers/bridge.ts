import mqtt from 'mqtt';
import { type MosquittoBroker, startMosquitto } from './brokers.js';
import { waitFor } from './wait.js';

/** Two real Mosquitto processes joined by a bridge: B connects to A and carries `peercam/#` both ways. */
export interface MosquittoPair {
  readonly a: MosquittoBroker;
  /** The bridging broker; with a WebSocket listener (`b.wsUrl`) for the web app. */
  readonly b: MosquittoBroker;
  stop(): Promise<void>;
}

/**
 * The bridge section of broker B's mosquitto.conf (docs/SCALE.md shows the same lines). `try_private` (the default)
 * tells A that B is a bridge, so A forwards retained messages with their retain flag and B stores them as retained:
 * a late joiner on B gets A's retained presence. `restart_timeout 1` reconnects the bridge within a second.
 */
export function bridgeConfig(remotePort: number, name = 'peercam-a'): string {
  return [
    `connection ${name}`,
    `address 127.0.0.1:${remotePort}`,
    'topic peercam/# both 1',
    'try_private true',
    'cleansession true',
    'notifications false',
    'restart_timeout 1',
    'bridge_protocol_version mqttv311',
  ].join('\n');
}

/** Starts A, then B bridged to A, and waits until a message published on A reaches a subscriber on B and back. */
export async function startMosquittoPair(options: { websockets?: boolean } = {}): Promise<MosquittoPair> {
  const a = await startMosquitto();
  let b: MosquittoBroker | undefined;
  try {
    b = await startMosquitto({ websockets: options.websockets ?? true, extraConfig: bridgeConfig(a.port) });
    await untilBridged(a.url, b.url);
    await untilBridged(b.url, a.url);
  } catch (err) {
    await b?.stop();
    await a.stop();
    throw err;
  }
  const bb = b;
  return {
    a,
    b: bb,
    async stop() {
      await bb.stop();
      await a.stop();
    },
  };
}

/** Publishes on `from` until a subscriber on `to` gets it: the bridge is connected and subscribed. */
export async function untilBridged(from: string, to: string, timeoutMs = 15_000): Promise<void> {
  const topic = `peercam/bridge-check/${Math.random().toString(36).slice(2)}`;
  const sub = await mqtt.connectAsync(to, { protocolVersion: 4, reconnectPeriod: 0 });
  const pub = await mqtt.connectAsync(from, { protocolVersion: 4, reconnectPeriod: 0 });
  try {
    let got = false;
    sub.on('message', (t) => {
      if (t === topic) got = true;
    });
    await sub.subscribeAsync(topic, { qos: 1 });
    await waitFor(
      async () => {
        if (!got) await pub.publishAsync(topic, 'ping', { qos: 1 });
        await new Promise((r) => setTimeout(r, 100));
        return got;
      },
      { timeoutMs, what: `a message published on ${from} arriving at ${to} over the bridge` },
    );
  } finally {
    await Promise.all([sub.endAsync(true), pub.endAsync(true)]);
  }
}

/**
 * The retained messages a fresh subscriber of `filter` gets from the broker at `url`, as topic -> payload. Complete:
 * after the SUBACK it publishes a marker on a topic of its own (outside peercam/, so not bridged); the broker has sent
 * every retained message of the subscription before it forwards that marker back.
 */
export async function retainedOn(url: string, filter: string): Promise<Map<string, Buffer>> {
  const markerTopic = `retained-check/${Math.random().toString(36).slice(2)}`;
  const client = await mqtt.connectAsync(url, { protocolVersion: 4, reconnectPeriod: 0 });
  try {
    const retained = new Map<string, Buffer>();
    let marked = false;
    client.on('message', (topic, payload, packet) => {
      if (topic === markerTopic) marked = true;
      else if (packet.retain) retained.set(topic, payload);
    });
    await client.subscribeAsync([filter, markerTopic], { qos: 1 });
    await client.publishAsync(markerTopic, 'marker', { qos: 1 });
    await waitFor(() => marked, { timeoutMs: 10_000, what: `the marker on ${markerTopic} back from ${url}` });
    return retained;
  } finally {
    await client.endAsync(true);
  }
}
