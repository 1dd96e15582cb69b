import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { closeServer } from './http.js';

const ROOT = join(import.meta.dirname, '..', '..');

/**
 * The WHEP player and WHIP publisher pages (test/fixtures/whep/) with Medooze's whip-whep ESM served as is from
 * node_modules, on 127.0.0.1 and a port of their own: another origin than the hub's, so CORS is exercised for real.
 */
export async function serveWhipWhepPages(): Promise<{ origin: string; close(): Promise<void> }> {
  const files: Record<string, string> = {
    '/player.html': join(ROOT, 'test', 'fixtures', 'whep', 'player.html'),
    '/publisher.html': join(ROOT, 'test', 'fixtures', 'whep', 'publisher.html'),
    '/whip-whep/whep.js': join(ROOT, 'node_modules', 'whip-whep', 'whep.js'),
    '/whip-whep/whip.js': join(ROOT, 'node_modules', 'whip-whep', 'whip.js'),
  };
  const server: Server = createServer((req, res) => {
    const file = files[new URL(req.url ?? '/', 'http://x').pathname];
    if (!file) return void res.writeHead(404).end();
    readFile(file).then(
      (body) => res.writeHead(200, { 'content-type': file.endsWith('.js') ? 'text/javascript' : 'text/html' }).end(body),
      () => res.writeHead(500).end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => closeServer(server) };
}
