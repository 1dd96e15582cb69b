import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BrowserContext, chromium, type Page } from 'playwright-core';

/**
 * Exactly DESIGN.md's flags for Debian's Chromium on these machines. Run it only inside a loopback-only network
 * namespace (scripts/test.sh): left alone, Chromium offers every address of the machine as an ICE candidate.
 */
export const DESIGN_CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--allow-loopback-in-peer-connection',
  '--use-fake-ui-for-media-stream',
  '--use-fake-device-for-media-stream',
  '--disable-features=WebRtcHideLocalIpsWithMdns',
] as const;

export interface Chromium {
  readonly context: BrowserContext;
  newPage(): Promise<Page>;
  /** Closes the browser and removes its profile directory. Idempotent. */
  close(): Promise<void>;
}

/** Launches /usr/bin/chromium headless with a fresh profile (user-data-dir) of its own. */
export async function launchChromium(): Promise<Chromium> {
  const profile = await mkdtemp(join(tmpdir(), 'peercam-chromium-'));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: [...DESIGN_CHROMIUM_ARGS],
    });
  } catch (err) {
    await rm(profile, { recursive: true, force: true });
    throw err;
  }
  let closing: Promise<void> | undefined;
  return {
    context,
    newPage: () => context.newPage(),
    close() {
      closing ??= (async () => {
        await context.close().catch(() => {});
        await rm(profile, { recursive: true, force: true });
      })();
      return closing;
    },
  };
}

export interface StaticServer {
  /** http://127.0.0.1:<port> — a secure context, so WebRTC and getUserMedia work without TLS. */
  readonly origin: string;
  close(): Promise<void>;
}

const FIXTURES = fileURLToPath(new URL('../fixtures/browser/', import.meta.url));
const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.css': 'text/css' };

/** Serves test/fixtures/browser/* on 127.0.0.1 (GET only; nothing outside that folder). */
export async function serveFixtures(): Promise<StaticServer> {
  const server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)).replace(/^[/\\]+/, '');
    if (req.method !== 'GET' || path.startsWith('..') || path === '') {
      res.statusCode = 404;
      res.end();
      return;
    }
    readFile(join(FIXTURES, path)).then(
      (body) => {
        res.setHeader('content-type', TYPES[extname(path)] ?? 'application/octet-stream');
        res.end(body);
      },
      () => {
        res.statusCode = 404;
        res.end();
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  return {
    origin: `http://127.0.0.1:${port}`,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
      return closing;
    },
  };
}
