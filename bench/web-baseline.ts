/**
 * bench:web's `--baseline DIR`: another build of the web app (e.g. main's dist/web) served in front of the same hub, so
 * the trials of both builds interleave under the same machine load. Pages and assets come from DIR (with the hub's
 * page <meta> hints, as that hub would have put them); everything else (/hub.json, /mqtt, ...) goes to the hub.
 */
import { readFile } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:http';
import { connect, Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize } from 'node:path';
import type { Duplex } from 'node:stream';

const PAGES: Record<string, string> = { '/': 'index.html', '/camera': 'camera.html' };
const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8' };

export interface BaselineFront {
  readonly origin: string;
  close(): Promise<void>;
}

export async function startBaselineFront(dir: string, hubOrigin: string): Promise<BaselineFront> {
  const hub = new URL(hubOrigin);
  // The hints the hub puts in its pages (the MQTT version, whether members get ICE servers): the same for both builds
  // (a page ignores hints it does not know).
  const hubHtml = await (await fetch(hubOrigin)).text();
  const hints = (hubHtml.match(/<meta name="peercam-[^"]+"[^>]*>/g) ?? []).join('');
  /** The proxied WebSockets: an HTTP server's close() waits for upgraded sockets, which closeAllConnections() leaves. */
  const tunnels = new Set<Socket | Duplex>();
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const file = PAGES[path] ?? (path.startsWith('/assets/') || path.startsWith('/icons/') ? normalize(path.slice(1)) : undefined);
    if (file && !file.startsWith('..')) {
      readFile(join(dir, file)).then(
        (body) => {
          const out = extname(file) === '.html' ? Buffer.from(body.toString('utf8').replace('<head>', `<head>${hints}`)) : body;
          res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-cache' });
          res.end(out);
        },
        () => {
          res.writeHead(404);
          res.end();
        },
      );
      return;
    }
    const upstream = request({ host: hub.hostname, port: hub.port, path: req.url, method: req.method, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  // The broker's WebSocket (/mqtt): the upgrade request and then the bytes, both ways, unchanged.
  server.on('upgrade', (req, socket, head) => {
    const up = connect(Number(hub.port), hub.hostname, () => {
      const lines = [`${req.method} ${req.url} HTTP/1.1`, ...Object.entries(req.headers).map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(', ') : v}`)];
      up.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (head.length > 0) up.write(head);
      up.setNoDelay(true);
      if (socket instanceof Socket) socket.setNoDelay(true);
      up.pipe(socket);
      socket.pipe(up);
    });
    tunnels.add(up);
    tunnels.add(socket);
    const end = () => {
      up.destroy();
      socket.destroy();
      tunnels.delete(up);
      tunnels.delete(socket);
    };
    up.on('close', end);
    socket.on('close', end);
    up.on('error', end);
    socket.on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        for (const t of tunnels) t.destroy();
        server.close(() => resolve());
      }),
  };
}
