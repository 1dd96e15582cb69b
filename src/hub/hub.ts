import { fileURLToPath } from 'node:url';
import { type IceAdvertBody, type Logger, type PresenceBody, newDeviceId, PeercamError, type Room, silentLogger } from '../protocol/index.js';
import type { PeerConfig } from '../session/index.js';
import { answerScrape, type PeercamMetrics } from '../metrics/index.js';
import { SealedChannel } from '../signaling/channel.js';
import { MqttTransport } from '../signaling/mqtt.js';
import { EMBEDDED_MQTT_VERSION, type EmbeddedBroker, startEmbeddedBroker } from './broker.js';
import { startCloudBridge } from './cloud-bridge.js';
import { HUB_ICE_META } from '../session/ice.js';
import { MQTT_VERSION_META } from '../signaling/mqtt-version.js';
import type { HubCertificate } from './cert.js';
import { BearerGuard, type RouteHandler, unauthorized } from './http-auth.js';
import { startWebServer, type WebServer } from './web-server.js';

/** The built web app, next to this file's folder: dist/hub -> dist/web. */
export const WEB_ROOT = fileURLToPath(new URL('../web', import.meta.url));

/** Something the hub runs alongside (the demo camera, the LAN gateway); closed when the hub stops. */
export interface Closable {
  close(): Promise<void>;
}

export interface HubInfo {
  readonly room: Room;
  /** http://127.0.0.1:PORT/ */
  readonly localUrl: string;
  /** https://<LAN address>:PORT/, one per address. */
  readonly lanUrls: readonly string[];
  readonly webPort: number;
  /** mqtt://127.0.0.1:PORT of the embedded broker (loopback form, for devices on this machine). */
  readonly brokerUrl: string;
  readonly mqttPort: number;
}

export interface HubOptions {
  readonly room: Room;
  readonly port: number;
  /** TCP port of the embedded broker; 0 picks a free one. */
  readonly mqttPort: number;
  readonly certificate: HubCertificate;
  readonly lanAddresses: readonly string[];
  /** ICE servers and policy handed to the pages (/hub.json) and to the demo camera. */
  readonly peerConfig: PeerConfig;
  readonly webRoot?: string;
  /**
   * The room's own broker elsewhere (`peercam up --broker wss://...`), where members away from home meet: the hub
   * bridges the room between it and the embedded broker (cloud-bridge.ts), so the LAN's devices (the hub's own
   * included) and the cloud's see each other as one room, and the LAN keeps working when the cloud is out of reach.
   */
  readonly broker?: string;
  /**
   * Started once the hub is up: the demo camera, LAN advertising (the LAN gateway plugs in here; it is not started
   * when mDNS is off). Each gets the hub's addresses and a way to join the room over the embedded broker.
   */
  readonly extras?: readonly ((hub: HubInfo, join: JoinRoom) => Promise<Closable>)[];
  /** Served at /metrics (room HTTP token); the hub adds its broker and the room's members to it. */
  readonly metrics?: PeercamMetrics;
  /** More routes of the web server, each guarding itself (the recordings API). */
  readonly routes?: Readonly<Record<string, RouteHandler>>;
  /** Routes for every path under a prefix (the WHEP door at /whep/), each guarding itself. */
  readonly prefixRoutes?: Readonly<Record<string, RouteHandler>>;
  readonly log?: Logger;
}

/** What the hub's own devices say they run (their presence's `agent`). */
export const HUB_AGENT = 'peercam/0.1.0 hub';

/** Joins the room as a device over the embedded broker (a started channel). */
export type JoinRoom = (self: {
  id: string;
  name: string;
  role: 'camera' | 'viewer' | 'hub';
  ice?: IceAdvertBody;
  /** What the device offers (a recorder lists its recordings). */
  sources?: PresenceBody['sources'];
}) => Promise<SealedChannel>;

export interface Hub extends HubInfo {
  close(): Promise<void>;
}

/** `peercam up`: the embedded broker (TCP + WebSocket at /mqtt), the web app on one port (HTTPS + loopback HTTP). */
export async function startHub(options: HubOptions): Promise<Hub> {
  const log = options.log ?? silentLogger;
  const members = { room: options.room.id, credentials: options.room.credentials };
  const broker: EmbeddedBroker = await startEmbeddedBroker({ host: '0.0.0.0', port: options.mqttPort, members, log }).catch((err: unknown) => {
    throw brokerPortError(err, options.mqttPort);
  });
  const cleanups: (() => Promise<void>)[] = [() => broker.close()];
  options.metrics?.watchBroker(broker.aedes);
  const closeAll = async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch((err: unknown) => log.warn({ err: String(err) }, 'shutdown step failed'));
  };
  try {
    const lanUrls = (port: number) => options.lanAddresses.map((a) => `https://${a}:${port}/`);
    let web: WebServer | undefined;
    const guard = new BearerGuard(options.room.credentials.httpToken);
    web = await startWebServer({
      root: options.webRoot ?? WEB_ROOT,
      port: options.port,
      tls: options.certificate,
      log,
      ...(options.prefixRoutes ? { prefixRoutes: options.prefixRoutes } : {}),
      // Pages join over this hub's /mqtt: they connect with its protocol at once, not MQTT 5 first and then 3.1.1.
      // And whether this hub hands its members ICE servers: with none, a page starts its tiles before /hub.json answers.
      pageMeta: {
        [MQTT_VERSION_META]: String(EMBEDDED_MQTT_VERSION),
        [HUB_ICE_META]: options.peerConfig.iceServers.length === 0 && options.peerConfig.iceTransportPolicy !== 'relay' ? 'none' : 'members',
      },
      routes: {
        ...options.routes,
        ...(options.metrics ? { '/metrics': scrapeRoute(guard, options.metrics) } : {}),
        // What a page cannot know by itself: how phones reach this hub (public: anyone on the LAN sees the addresses
        // and the certificate anyway), and the ICE servers to use (TURN passwords: members only, by the HTTP token).
        '/hub.json': (req, res) => {
          const bearer = guard.check(req);
          if (bearer === 'wrong') return unauthorized(res, bearer);
          res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store', vary: 'authorization' });
          res.end(
            JSON.stringify({
              v: 1,
              lanUrls: lanUrls(web?.port ?? options.port),
              fingerprint: options.certificate.fingerprint,
              member: bearer === 'member',
              ...(bearer === 'member' ? { iceServers: options.peerConfig.iceServers, iceTransportPolicy: options.peerConfig.iceTransportPolicy } : {}),
            }),
          );
        },
      },
    });
    const started = web;
    cleanups.push(() => started.close());
    for (const server of started.servers) broker.attachWebSocket(server, '/mqtt');
    const brokerUrl = `mqtt://127.0.0.1:${broker.port}`;
    const info: HubInfo = {
      room: options.room,
      localUrl: `http://127.0.0.1:${started.port}/`,
      lanUrls: lanUrls(started.port),
      webPort: started.port,
      brokerUrl,
      mqttPort: broker.port,
    };
    if (options.broker !== undefined) {
      const bridge = startCloudBridge({ aedes: broker.aedes, room: options.room, url: options.broker, self: newDeviceId(), log });
      cleanups.push(() => bridge.close());
    }
    const join: JoinRoom = async (self) => {
      const channel = new SealedChannel(
        options.room,
        // The hub's devices join the embedded broker (which knows the room login); the bridge takes them to the cloud.
        new MqttTransport({ url: brokerUrl, roomLogin: 'first', log }),
        {
          self: self.id,
          presence: { name: self.name, role: self.role, agent: HUB_AGENT, ...(self.ice ? { ice: self.ice } : {}), ...(self.sources ? { sources: self.sources } : {}) },
          log,
        },
      );
      cleanups.push(() => channel.close());
      await channel.start();
      return channel;
    };
    if (options.metrics) {
      // A silent member (no presence) that only counts who is in the room.
      const watcher = new SealedChannel(options.room, new MqttTransport({ url: brokerUrl, log }), {
        self: newDeviceId(),
        presence: { name: 'hub metrics', role: 'hub' },
        announce: false,
        log,
      });
      cleanups.push(() => watcher.close());
      await watcher.start();
      options.metrics.watchRoom(watcher);
      options.metrics.watchDrops(watcher); // forged or replayed presence in the room
      options.metrics.watchLink(watcher);
    }
    for (const extra of options.extras ?? []) {
      const running = await extra(info, join);
      cleanups.push(() => running.close());
    }
    return { ...info, close: closeAll };
  } catch (err) {
    await closeAll();
    throw err;
  }
}

function brokerPortError(err: unknown, port: number): unknown {
  const cause = err instanceof Error ? err.cause : undefined;
  const code = typeof cause === 'object' && cause !== null && 'code' in cause ? cause.code : undefined;
  if (code !== 'EADDRINUSE') return err;
  return PeercamError.config(
    `Port ${port} (MQTT) is already in use, so the hub cannot run its broker there: another peercam hub or an MQTT broker ` +
      `(Mosquitto?) is running. Stop it, or pick another port: peercam up --mqtt-port ${port + 1} (or --mqtt-port 0 for any free one).`,
    err,
  );
}

/** GET /metrics for members only: the room's HTTP token, as every non-public route of the hub. */
function scrapeRoute(guard: BearerGuard, metrics: PeercamMetrics): RouteHandler {
  return guard.protect((req, res) =>
    answerScrape(req, res, metrics).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(`Metrics failed: ${String(err)}\n`);
    }),
  );
}
