import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PeercamError } from '../protocol/index.js';
import type { PeercamMetrics } from './metrics.js';

/**
 * Answers a scrape in the Prometheus text format. It checks no token: the hub serves it behind
 * `BearerGuard.protect` (src/hub/http-auth.ts, the room's HTTP token), `--metrics-port` on 127.0.0.1 only.
 */
export async function answerScrape(req: IncomingMessage, res: ServerResponse, metrics: PeercamMetrics): Promise<void> {
  const { contentType, body } = await metrics.render();
  res.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store' });
  res.end(req.method === 'HEAD' ? undefined : body);
}

/** `--metrics-port`: /metrics on 127.0.0.1 only (no token: whoever is on this machine may scrape it). */
export async function serveMetrics(metrics: PeercamMetrics, port: number, host = '127.0.0.1'): Promise<{ port: number; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    if (new URL(req.url ?? '/', 'http://x').pathname !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('Metrics are at /metrics.\n');
      return;
    }
    answerScrape(req, res, metrics).catch(() => {
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
    // Without closeAllConnections, close() waits for every client: a scraper's connection that has not sent its
    // request yet would keep the camera or recorder from exiting.
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
