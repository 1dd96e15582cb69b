import { readFile, stat } from 'node:fs/promises';
import { createServer as createHttp, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttps } from 'node:https';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, sep } from 'node:path';
import { CONTENT_TYPES } from '../../src/hub/static-files.js';
import { closeServer } from './http.js';

/**
 * A plain static file host, as a user would put dist/web on any web space: files by path, `index.html` for folders,
 * 404 for anything else. No /hub.json, no /mqtt, no rewrites: the web app must do without them.
 */
export async function startStaticHost(options: {
  root: string;
  host: string;
  port: number;
  tls?: { cert: string; key: string };
}): Promise<{ server: Server; port: number; requests: string[]; close(): Promise<void> }> {
  const requests: string[] = [];
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    requests.push(req.url ?? '');
    void serve(options.root, req, res).catch(() => {
      res.writeHead(500);
      res.end();
    });
  };
  const server = options.tls ? createHttps({ cert: options.tls.cert, key: options.tls.key }, handler) : createHttp(handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    requests,
    close: () => closeServer(server),
  };
}

async function serve(root: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = decodeURIComponent(new URL(req.url ?? '/', 'http://static').pathname);
  let file = normalize(join(root, path));
  if (!file.startsWith(root.endsWith(sep) ? root : root + sep) && file !== root) return notFound(res);
  if ((await stat(file).catch(() => undefined))?.isDirectory()) file = join(file, 'index.html');
  const body = await readFile(file).catch(() => undefined);
  if (!body) return notFound(res);
  res.writeHead(200, { 'content-type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream' });
  res.end(body);
}

function notFound(res: ServerResponse): void {
  res.writeHead(404, { 'content-type': 'text/plain' });
  res.end('not found\n');
}
