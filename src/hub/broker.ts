import type { Server as HttpServer, IncomingMessage } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { Aedes } from 'aedes';
import mqttPacket from 'mqtt-packet';
import { createWebSocketStream, WebSocketServer } from 'ws';
import { type Logger, MAX_SEALED_BYTES, PeercamError, silentLogger } from '../protocol/index.js';
import { type BrokerMembers, memberPolicy } from './broker-members.js';
import { limitMqttPackets } from './mqtt-frame-limit.js';

/** Connections the broker holds (TCP and WebSocket together); more are closed at once. */
export const BROKER_LIMITS = {
  /** From one remote address: a phone or a Node device needs one or two. */
  connectionsPerAddress: 64,
  /** From everyone. */
  connections: 1024,
  /** Largest MQTT packet (Remaining Length) read at all: a 64 KiB sealed payload, its topic and headers. */
  packetBytes: MAX_SEALED_BYTES + 1024,
  /** A client must send CONNECT this soon after its connection opens. */
  connectTimeoutMs: 10_000,
} as const;

/** Largest WebSocket message read: room for the packets a page queues in a burst (see attachWebSocket). */
const WS_MESSAGE_BYTES = 1024 * 1024;

export interface EmbeddedBrokerOptions {
  /** Interface to listen on; 127.0.0.1 by default, 0.0.0.0 to let the LAN in. */
  readonly host?: string;
  /** TCP port for plain MQTT; 0 picks a free one. */
  readonly port?: number;
  /**
   * The room whose members alone may connect (with its login, Room.credentials) and what they may do (broker-members.ts).
   * Without it the broker is open to anyone (tests, or a broker kept on loopback).
   */
  readonly members?: BrokerMembers;
  /** Overrides of BROKER_LIMITS' connection caps. */
  readonly limits?: { readonly connectionsPerAddress?: number; readonly connections?: number };
  readonly log?: Logger;
}

/** The MQTT protocol level the embedded broker (aedes) speaks: 4 = 3.1.1; it refuses MQTT 5. Pages learn it (hub.ts). */
export const EMBEDDED_MQTT_VERSION = 4;

/** The embedded MQTT broker (aedes) a hub runs: its port, and how to stop it. */
export interface EmbeddedBroker {
  /** mqtt://host:port of the TCP listener. */
  readonly url: string;
  readonly port: number;
  readonly aedes: Aedes;
  /** Connections closed by a limit (per address, in all, or an oversized packet), and clients refused by the room rules. */
  readonly stats: { refused: number };
  /** Serves MQTT over WebSocket on `server` at `path` (browsers reach the broker this way); other upgrades are left alone. */
  attachWebSocket(server: HttpServer | HttpsServer, path?: string): void;
  /** Disconnects every client and stops listening. Idempotent. */
  close(): Promise<void>;
}

/** An in-process MQTT 3.1.1 broker (aedes) for the hub: plain TCP plus MQTT over WebSocket on the hub's web server. */
export async function startEmbeddedBroker(options: EmbeddedBrokerOptions = {}): Promise<EmbeddedBroker> {
  const host = options.host ?? '127.0.0.1';
  const log = (options.log ?? silentLogger).child({ component: 'broker' });
  const stats = { refused: 0 };
  const refusals = new RefusalLog(log);
  const policy = options.members
    ? memberPolicy(options.members, (client, why) => {
        stats.refused++;
        refusals.note(why, client?.id);
      })
    : undefined;
  // mqtt-packet (aedes' writer) would otherwise make 65,536 two-byte Buffers at the first packet it writes: ~7 MB of
  // heap for the process's life, walked by every full GC, to save a 2-byte Buffer per packet id. (MQTT.js clients:
  // `writeCache: false`, signaling/mqtt-connect.ts.)
  mqttPacket.writeToStream.cacheNumbers = false;
  const aedes = await Aedes.createBroker({ connectTimeout: BROKER_LIMITS.connectTimeoutMs, ...policy?.hooks });
  policy?.attach(aedes);
  aedes.on('clientError', (client, err) => log.debug({ client: client.id, err: err.message }, 'client error'));
  aedes.on('connectionError', (_client, err) => log.debug({ err: err.message }, 'connection error'));
  const counter = new ConnectionCounter({
    perAddress: options.limits?.connectionsPerAddress ?? BROKER_LIMITS.connectionsPerAddress,
    total: options.limits?.connections ?? BROKER_LIMITS.connections,
  });
  /** Hands a client's stream to aedes behind the packet size limit; `release` runs once it closes. */
  const admit = (stream: Duplex, req?: IncomingMessage) => {
    const guarded = limitMqttPackets(stream, BROKER_LIMITS.packetBytes, (why) => {
      stats.refused++;
      refusals.note(why);
    });
    aedes.handle(guarded, req);
  };

  const sockets = new Set<Socket>();
  const tcp = createServer((socket) => {
    const address = socket.remoteAddress ?? '?';
    if (!counter.take(address)) {
      stats.refused++;
      refusals.note(`too many connections (${address})`);
      socket.destroy();
      return;
    }
    // Signaling is small request/answer traffic: Nagle would hold a packet's tail for the peer's delayed ACK (40 ms).
    socket.setNoDelay(true);
    sockets.add(socket);
    socket.on('close', () => {
      sockets.delete(socket);
      counter.release(address);
    });
    socket.on('error', (err) => log.debug({ err: err.message }, 'MQTT socket error'));
    admit(socket);
  });
  try {
    await new Promise<void>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen(options.port ?? 0, host, () => {
        tcp.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    await new Promise<void>((resolve) => aedes.close(() => resolve()));
    throw listenError(err, host, options.port ?? 0);
  }
  tcp.on('error', (err) => log.error({ err: err.message }, 'MQTT listener failed'));
  const port = (tcp.address() as AddressInfo).port;
  const url = `mqtt://${host.includes(':') ? `[${host}]` : host}:${port}`;
  log.info({ url }, 'embedded MQTT broker listening');

  const detachers: (() => void)[] = [];
  let closing: Promise<void> | undefined;

  return {
    url,
    port,
    aedes,
    stats,
    attachWebSocket(server, path = '/mqtt') {
      if (closing) throw new PeercamError('closed', 'The embedded broker was closed; start a new one.');
      // A WebSocket message may carry several MQTT packets (MQTT 3.1.1 section 6.0), and MQTT.js in a browser does
      // join what it queued while the socket was busy into one message (its writev): a grid offering to 9 cameras at
      // once sent ~75 KB in one message and was cut off by a one-packet limit (issue 15). Each packet is still held to
      // BROKER_LIMITS.packetBytes by limitMqttPackets; this only bounds one message.
      const wss = new WebSocketServer({ noServer: true, maxPayload: WS_MESSAGE_BYTES, perMessageDeflate: false });
      const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
        if (pathOf(req) !== path) return; // another upgrade handler's business
        const address = req.socket.remoteAddress ?? '?';
        if (!counter.take(address)) {
          stats.refused++;
          refusals.note(`too many connections (${address})`);
          socket.end('HTTP/1.1 503 Service Unavailable\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
          socket.destroy();
          return;
        }
        socket.once('close', () => counter.release(address));
        wss.handleUpgrade(req, socket, head, (ws) => {
          const stream = createWebSocketStream(ws);
          stream.on('error', (err) => log.debug({ err: err.message }, 'websocket stream error'));
          admit(stream, req);
        });
      };
      server.on('upgrade', onUpgrade);
      detachers.push(() => {
        server.off('upgrade', onUpgrade);
        for (const ws of wss.clients) ws.terminate();
        wss.close();
      });
      log.info({ path }, 'MQTT over WebSocket attached');
    },
    close() {
      closing ??= (async () => {
        for (const detach of detachers.splice(0)) detach();
        await new Promise<void>((resolve) => aedes.close(() => resolve()));
        const closed = new Promise<void>((resolve) => tcp.close(() => resolve()));
        for (const socket of sockets) socket.destroy();
        await closed;
      })();
      return closing;
    },
  };
}

/** Open connections per remote address and in all. */
class ConnectionCounter {
  private readonly perAddress = new Map<string, number>();
  private total = 0;

  constructor(private readonly max: { readonly perAddress: number; readonly total: number }) {}

  /** Counts a new connection from `address`; false (nothing counted) when a cap is reached. */
  take(address: string): boolean {
    const mine = this.perAddress.get(address) ?? 0;
    if (mine >= this.max.perAddress || this.total >= this.max.total) return false;
    this.perAddress.set(address, mine + 1);
    this.total++;
    return true;
  }

  release(address: string): void {
    const left = (this.perAddress.get(address) ?? 1) - 1;
    if (left > 0) this.perAddress.set(address, left);
    else this.perAddress.delete(address);
    this.total--;
  }
}

/** Refusals are logged at most once per 10 s per reason (a flood must not flood the log), with how many were folded in. */
class RefusalLog {
  private readonly last = new Map<string, { at: number; folded: number }>();

  constructor(private readonly log: Logger) {}

  note(why: string, client?: string): void {
    const key = why.replace(/\d+|\([^)]*\)/g, '#');
    const now = Date.now();
    const seen = this.last.get(key);
    if (seen && now - seen.at < 10_000) {
      seen.folded++;
      return;
    }
    if (this.last.size > 256) this.last.clear();
    this.last.set(key, { at: now, folded: 0 });
    this.log.warn({ why, client, alsoRefusedSinceLast: seen?.folded ?? 0 }, 'broker refused a client (not a member, or beyond what members may do)');
  }
}

function pathOf(req: IncomingMessage): string {
  try {
    return new URL(req.url ?? '/', 'http://localhost').pathname;
  } catch {
    return '';
  }
}

function listenError(err: unknown, host: string, port: number): PeercamError {
  const code = typeof err === 'object' && err !== null && 'code' in err ? err.code : undefined;
  if (code === 'EADDRINUSE') return PeercamError.config(`Port ${port} is already in use on ${host}; pick another with --port or stop the other process.`, err);
  if (code === 'EACCES')
    return PeercamError.config(`Not allowed to listen on port ${port} on ${host} (ports below 1024 need privileges); pick another with --port.`, err);
  if (code === 'EADDRNOTAVAIL') return PeercamError.config(`${host} is not an address of this machine; pick another listen address.`, err);
  return PeercamError.config(`Cannot start the MQTT broker on ${host}:${port}: ${err instanceof Error ? err.message : String(err)}.`, err);
}
