import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PeercamError } from '../protocol/index.js';
import type { PeercamMetrics } from './metrics.js';

/**
 * Answers a scrape: 401 unless `Authorization: Bearer <token>` matches (when a token is set), else the text format.
 * The hub passes the room's HTTP token (Room.credentials.httpToken), so the pairing link is the only credential.
 */
export async function answerScrape(req: IncomingMessage, res: ServerResponse, metrics: PeercamMetrics, token: string | undefined): Promise<void> {
  if (token !== undefined && !bearerMatches(req.headers.authorization, token)) {
    res.writeHead(401, { 'content-type': 'text/plain; charset=utf-8', 'www-authenticate': 'Bearer realm="peercam"' });
    res.end("Metrics need the room's HTTP token: send Authorization: Bearer <token> (the token is derived from the room link, docs/PROTOCOL.md).\n");
    return;
  }
  const { contentType, body } = await metrics.render();
  res.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store' });
  res.end(req.method === 'HEAD' ? undefined : body);
}

function bearerMatches(header: string | undefined, token: string): boolean {
  const given = Buffer.from(/^Bearer\s+(\S+)$/i.exec(header ?? '')?.[1] ?? '');
  const wanted = Buffer.from(token);
  return given.length === wanted.length && timingSafeEqual(given, wanted);
}

/** `--metrics-port`: /metrics on 127.0.0.1 only (no token: whoever is on this machine may scrape it). */
export async function serveMetrics(metrics: PeercamMetrics, port: number, host = '127.0.0.1'): Promise<{ port: number; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    if (new URL(req.url ?? '/', 'http://x').pathname !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('Metrics are at /metrics.\n');
      return;
    }
    answerScrape(req, res, metrics, undefined).catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(PeercamError.config(`Cannot serve metrics on ${host}:${port}: ${err.code === 'EADDRINUSE' ? 'the port is in use; pick another --metrics-port' : err.message}.`, err)),
    );
    server.listen(port, host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
