import type { Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';

/**
 * Closes a test's HTTP server without waiting for its clients. `server.close()` alone waits for every connection
 * to end, and Chromium keeps spare connections open that never carry a request (speculative preconnects): a server
 * closed before its browser then waits for the browser, which is closed after it (CI saw a file hang 300 s so).
 * Upgraded WebSockets are not closed here; their owner closes them.
 */
export function closeServer(server: HttpServer | HttpsServer): Promise<void> {
  server.closeAllConnections();
  return new Promise<void>((resolve) => server.close(() => resolve()));
}
