import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium } from 'playwright-core';
import { closeServer } from './http.js';

/**
 * DESIGN.md's flags for Debian's Chromium on these machines. Run it only inside a loopback-only network namespace
 * (scripts/test.sh): left alone, Chromium offers every address of the machine as an ICE candidate.
 */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--allow-loopback-in-peer-connection',
  '--use-fake-device-for-media-stream',
  '--disable-features=WebRtcHideLocalIpsWithMdns',
  // A page started without a tap (tests, kiosks, autostart) must still play video and talk-back audio.
  '--autoplay-policy=no-user-gesture-required',
] as const;

export interface BrowserOptions {
  /** Grant camera/microphone without asking (the fake UI); false leaves permissions to the test. Default true. */
  readonly fakeUi?: boolean;
}

/** Launches /usr/bin/chromium headless; playwright gives every launch a fresh temporary profile (user-data-dir). */
export function launchBrowser(options: BrowserOptions = {}): Promise<Browser> {
  const args = [...CHROMIUM_ARGS, ...(options.fakeUi === false ? [] : ['--use-fake-ui-for-media-stream'])];
  return chromium.launch({ executablePath: '/usr/bin/chromium', args });
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
      closing ??= closeServer(server);
      return closing;
    },
  };
}
