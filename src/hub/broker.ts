import type { Server as HttpServer, IncomingMessage } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { Aedes } from 'aedes';
import { createWebSocketStream, WebSocketServer } from 'ws';
import { type Logger, PeercamError, silentLogger } from '../protocol/index.js';

export interface EmbeddedBrokerOptions {
  /** Interface to listen on; 127.0.0.1 by default, 0.0.0.0 to let the LAN in. */
  readonly host?: string;
  /** TCP port for plain MQTT; 0 picks a free one. */
  readonly port?: number;
  readonly log?: Logger;
}

export interface EmbeddedBroker {
  /** mqtt://host:port of the TCP listener. */
  readonly url: string;
  readonly port: number;
  readonly aedes: Aedes;
  /** Serves MQTT over WebSocket on `server` at `path` (browsers reach the broker this way); other upgrades are left alone. */
  attachWebSocket(server: HttpServer | HttpsServer, path?: string): void;
  /** Disconnects every client and stops listening. Idempotent. */
  close(): Promise<void>;
}

/** An in-process MQTT 3.1.1 broker (aedes) for the hub: plain TCP plus MQTT over WebSocket on the hub's web server. */
export async function startEmbeddedBroker(options: EmbeddedBrokerOptions = {}): Promise<EmbeddedBroker> {
  const host = options.host ?? '127.0.0.1';
  const log = (options.log ?? silentLogger).child({ component: 'broker' });
  const aedes = await Aedes.createBroker();
  aedes.on('clientError', (client, err) => log.debug({ client: client.id, err: err.message }, 'client error'));
  aedes.on('connectionError', (_client, err) => log.debug({ err: err.message }, 'connection error'));

  const sockets = new Set<Socket>();
  const tcp = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    aedes.handle(socket);
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
    attachWebSocket(server, path = '/mqtt') {
      if (closing) throw new PeercamError('closed', 'The embedded broker was closed; start a new one.');
      const wss = new WebSocketServer({ noServer: true });
      const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
        if (pathOf(req) !== path) return; // another upgrade handler's business
        wss.handleUpgrade(req, socket, head, (ws) => {
          const stream = createWebSocketStream(ws);
          stream.on('error', (err) => log.debug({ err: err.message }, 'websocket stream error'));
          aedes.handle(stream, req);
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
