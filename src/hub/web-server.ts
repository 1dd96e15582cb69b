import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { join, normalize, sep } from 'node:path';
import { type Logger, PeercamError, silentLogger } from '../protocol/index.js';
import type { RouteHandler } from './http-auth.js';
import { StaticFiles } from './static-files.js';

export interface WebServerOptions {
  /** The built web app (dist/web). */
  readonly root: string;
  readonly port: number;
  /** 0.0.0.0 (default) serves the LAN over HTTPS and loopback over HTTP; 127.0.0.1 keeps it on this machine. */
  readonly host?: string;
  readonly tls: { readonly key: string; readonly cert: string };
  /**
   * Handlers at fixed paths, any method, before the JSON documents and static files. Anything not public goes
   * here behind `BearerGuard.protect` (http-auth.ts): the room's HTTP token or 401.
   */
  readonly routes?: Readonly<Record<string, RouteHandler>>;
  /** Handlers for every path under a prefix ending in `/` (the WHEP/WHIP doors), guarded like `routes`. */
  readonly prefixRoutes?: Readonly<Record<string, RouteHandler>>;
  /**
   * Public facts about this hub put into every HTML page as `<meta name="..." content="...">`, so a page knows them
   * without a request of its own (e.g. the embedded broker's MQTT version: no refused MQTT 5 attempt at page open).
   */
  readonly pageMeta?: Readonly<Record<string, string>>;
  readonly log?: Logger;
}

export interface WebServer {
  readonly port: number;
  /** Both request handlers: attach WebSocket upgrades (the broker's /mqtt) to each. */
  readonly servers: readonly [HttpServer, HttpsServer];
  close(): Promise<void>;
}

/** The first byte of a TLS ClientHello record (RFC 8446 section 5.1: ContentType handshake = 22). */
const TLS_HANDSHAKE = 22;

/** Clean URLs of the app's pages. */
const PAGES: Record<string, string> = { '/': 'index.html', '/camera': 'camera.html', '/recordings': 'recordings.html' };

/**
 * One port, two protocols: TLS for the LAN (phones need a secure context for the camera) and plain HTTP for loopback
 * (http://127.0.0.1 is a secure context too, with no certificate warning). The first byte of each connection decides;
 * plain HTTP from another machine is redirected to HTTPS.
 */
export async function startWebServer(options: WebServerOptions): Promise<WebServer> {
  const log = (options.log ?? silentLogger).child({ component: 'web' });
  const files = new StaticFiles(options.pageMeta);
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    serve(req, res, options, files).catch((err: unknown) => {
      log.warn({ err: err instanceof Error ? err.message : String(err), url: req.url }, 'request failed');
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('peercam hub: internal error (see the hub log)\n');
    });
  };
  const http = createHttpServer((req, res) => {
    if (isLoopback(req.socket.remoteAddress)) return handler(req, res);
    const host = (req.headers.host ?? '').replace(/:\d+$/, '') || 'localhost';
    res.writeHead(301, { location: `https://${host}:${options.port}${req.url ?? '/'}` });
    res.end();
  });
  const https = createHttpsServer({ key: options.tls.key, cert: options.tls.cert }, handler);
  https.on('tlsClientError', (err) => log.debug({ err: err.message }, 'TLS handshake failed (a browser refusing the certificate?)'));
  const sockets = new Set<Socket>();
  const front = createNetServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', (err) => log.debug({ err: err.message }, 'socket error'));
    socket.once('data', (first) => {
      socket.pause();
      socket.unshift(first);
      (first[0] === TLS_HANDSHAKE ? https : http).emit('connection', socket);
      process.nextTick(() => socket.resume());
    });
  });
  await listen(front, options.port, options.host ?? '0.0.0.0');
  const address = front.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  let closing: Promise<void> | undefined;
  return {
    port,
    servers: [http, https],
    close() {
      closing ??= new Promise<void>((resolve) => {
        front.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
      return closing;
    },
  };
}

async function serve(req: IncomingMessage, res: ServerResponse, options: WebServerOptions, files: StaticFiles): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://hub');
  const route = options.routes?.[url.pathname];
  if (route) return route(req, res);
  for (const [prefix, handler] of Object.entries(options.prefixRoutes ?? {})) if (url.pathname.startsWith(prefix)) return handler(req, res);
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD' });
    res.end();
    return;
  }
  const rel = PAGES[url.pathname] ?? decodeURIComponent(url.pathname).replace(/^\/+/, '');
  const file = normalize(join(options.root, rel));
  if (!file.startsWith(options.root.endsWith(sep) ? options.root : options.root + sep)) return notFound(res);
  if (await files.send(req, res, file, rel)) return;
  if (rel === 'index.html' || rel === 'camera.html' || rel === 'recordings.html') return notBuilt(res, options.root);
  return notFound(res);
}

function notFound(res: ServerResponse): void {
  res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
  res.end('Not found. The viewer is at / and the camera page at /camera.\n');
}

function notBuilt(res: ServerResponse, root: string): void {
  res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(`The peercam web app is not built (nothing in ${root}). Run \`npm run build\` and restart \`peercam up\`.\n`);
}

function isLoopback(address: string | undefined): boolean {
  return address !== undefined && (address.startsWith('127.') || address === '::1' || address.startsWith('::ffff:127.'));
}

function listen(server: NetServer, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE')
        reject(PeercamError.config(`Port ${port} is already in use, so the hub cannot serve the web app there. Stop the other program or pick another port: peercam up --port ${port + 1}.`, err));
      else if (err.code === 'EACCES')
        reject(PeercamError.config(`Not allowed to listen on port ${port} (ports below 1024 need privileges). Pick another: peercam up --port 8443.`, err));
      else reject(PeercamError.config(`Cannot serve the web app on ${host}:${port}: ${err.message}.`, err));
    });
    server.listen(port, host, () => resolve());
  });
}
