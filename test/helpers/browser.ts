import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { build } from 'vite';
import { type EmbeddedBroker, startEmbeddedBroker } from '../../src/hub/broker.js';
import { closeServer } from './http.js';

export { launchBrowser as launchChromium } from './chromium.js';

let bundle: Promise<string> | undefined;

/** The browser entry (src/browser.ts) bundled once per process, as a page would load it. */
export function browserBundle(): Promise<string> {
  bundle ??= (async () => {
    const dir = await mkdtemp(join(tmpdir(), 'peercam-bundle-'));
    try {
      await build({
        configFile: false,
        logLevel: 'silent',
        build: {
          outDir: dir,
          lib: { entry: fileURLToPath(new URL('../../src/browser.ts', import.meta.url)), formats: ['es'], fileName: () => 'peercam.mjs' },
          minify: false,
          emptyOutDir: true,
        },
      });
      return await readFile(join(dir, 'peercam.mjs'), 'utf8');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  })();
  return bundle;
}

/**
 * A page server on 127.0.0.1 (a secure context for WebRTC) that serves the bundle at /peercam.mjs and the fixtures of
 * test/fixtures/browser at /fixtures/*, with an embedded broker's MQTT-over-WebSocket at /mqtt.
 */
export interface BrowserRig {
  readonly broker: EmbeddedBroker;
  readonly origin: string;
  readonly wsBroker: string;
  page(browser: Browser): Promise<Page>;
  close(): Promise<void>;
}

export async function browserRig(): Promise<BrowserRig> {
  const code = await browserBundle();
  const broker = await startEmbeddedBroker();
  const http: Server = createServer((req, res) => {
    const url = req.url ?? '/';
    if (url === '/peercam.mjs') {
      res.setHeader('content-type', 'text/javascript');
      res.end(code);
    } else if (/^\/fixtures\/[\w-]+\.js$/.test(url)) {
      readFile(fileURLToPath(new URL(`../fixtures/browser/${url.slice('/fixtures/'.length)}`, import.meta.url)), 'utf8').then(
        (text) => {
          res.setHeader('content-type', 'text/javascript');
          res.end(text);
        },
        () => {
          res.statusCode = 404;
          res.end();
        },
      );
    } else {
      res.setHeader('content-type', 'text/html');
      res.end('<!doctype html><title>peercam test</title><body></body>');
    }
  });
  broker.attachWebSocket(http);
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;
  return {
    broker,
    origin,
    wsBroker: `ws://127.0.0.1:${port}/mqtt`,
    async page(browser) {
      const page = await browser.newPage();
      await page.goto(`${origin}/`);
      return page;
    },
    async close() {
      // The broker first: it ends the WebSockets upgraded from this server, which the server's close() waits for.
      await broker.close();
      await closeServer(http);
    },
  };
}

/** One viewing trial in Chromium, as test/fixtures/browser/viewer.js reports it. */
export interface BrowserTrial {
  connectedMs: number;
  /** From the offer to the first decoded frame presented (requestVideoFrameCallback). */
  ttffMs: number;
  framesDecoded: number;
  width: number;
  height: number;
  /** The video codec received (H264, VP8). */
  codec: string | null;
  candidateType: string | null;
}

export interface BrowserWatchOptions {
  link: string;
  broker: string;
  camera: string;
  trials: number;
  /** How long each trial keeps playing after its first frame. */
  playMs: number;
  relay?: boolean;
  /** Pause a random 0..spreadMs before each trial, so trials land at random points of the keyframe interval. */
  spreadMs?: number;
  iceServers?: { urls: string; username?: string; credential?: string }[];
  /** Offer only these video codecs, e.g. ['VP8'] (default: all the browser has). */
  codecs?: string[];
}

/** Runs `trials` viewer sessions one after another in the page, over MQTT, with W3cPeer on Chromium's WebRTC. */
export async function watchInBrowser(page: Page, options: BrowserWatchOptions): Promise<BrowserTrial[]> {
  // A string, not a function: tsx would compile helpers into a function that the page does not have.
  return page.evaluate(`import('/fixtures/viewer.js').then((m) => m.watch(${JSON.stringify(options)}))`) as Promise<BrowserTrial[]>;
}
