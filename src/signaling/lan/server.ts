import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { type WebSocket, WebSocketServer } from 'ws';
import { type Logger, PeercamError } from '../../protocol/index.js';
import { MAX_FRAME_BYTES } from './frames.js';
import { HELLO_TIMEOUT_MS } from './link.js';

/** Limits on what strangers on the LAN can hold open at one device (none of it is authenticated). */
export const SERVER_LIMITS = {
  /** TCP connections from one address, links included; more are dropped at accept. */
  connectionsPerAddress: 32,
  /** Inbound connections that have not said hello yet, from one address... */
  pendingPerAddress: 4,
  /** ...and from everyone. A flood from one address fills only its own share. */
  pending: 64,
} as const;

/** A new inbound WebSocket, admitted under the pending limits; call `settled()` once it said hello or closed. */
export type OnInbound = (socket: WebSocket, address: string, settled: () => void) => void;

/**
 * The WebSocket endpoint of a LAN device, with slow-loris guards at each stage: per-address TCP connections,
 * an HTTP upgrade that must arrive within the hello deadline, and pending (pre-hello) links per address and in all.
 */
export class LinkServer {
  /** Connections refused by a limit (TCP, upgrade or pending). */
  refused = 0;
  private readonly perAddress = new Map<string, number>();
  private readonly pendingFrom = new Map<string, number>();
  /** TCP connections not yet upgraded, each with its deadline. */
  private readonly unupgraded = new Map<Socket, ReturnType<typeof setTimeout>>();
  private pending = 0;
  private readonly wss: WebSocketServer;

  private constructor(
    private readonly http: Server,
    private readonly log: Logger,
    onInbound: OnInbound,
  ) {
    this.wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES, perMessageDeflate: false, clientTracking: true });
    http.on('connection', (socket) => this.onTcp(socket));
    http.on('upgrade', (req, socket, head) => this.onUpgrade(req, socket as Socket, head, onInbound));
    // Anything but an upgrade is not for us; answer and close instead of keeping the connection.
    http.on('request', (_req, res) => res.writeHead(426, { connection: 'close' }).end('peercam LAN link: WebSocket only\n'));
  }

  /** Listens on host:port; rejects with a bad-config PeercamError saying what to change. */
  static async listen(host: string, port: number, log: Logger, onInbound: OnInbound): Promise<LinkServer> {
    const http = createServer();
    await new Promise<void>((resolve, reject) => {
      http.once('listening', resolve);
      http.once('error', (err: NodeJS.ErrnoException) =>
        reject(
          PeercamError.config(
            err.code === 'EADDRINUSE'
              ? `Port ${port} on ${host} is already in use; pick another with --port, or 0 for any.`
              : `Cannot listen on ${host}:${port} for LAN links: ${err.message}.`,
            err,
          ),
        ),
      );
      http.listen(port, host);
    });
    http.on('error', (err) => log.warn({ err: err.message }, 'LAN WebSocket server error'));
    return new LinkServer(http, log, onInbound);
  }

  get port(): number {
    const address = this.http.address();
    return typeof address === 'object' && address !== null ? address.port : 0;
  }

  async close(): Promise<void> {
    for (const client of this.wss.clients) client.terminate();
    this.wss.close();
    for (const timer of this.unupgraded.values()) clearTimeout(timer);
    this.unupgraded.clear();
    this.http.closeAllConnections();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }

  private onTcp(socket: Socket): void {
    const address = socket.remoteAddress ?? '?';
    const n = (this.perAddress.get(address) ?? 0) + 1;
    if (n > SERVER_LIMITS.connectionsPerAddress) {
      this.refused++;
      socket.destroy();
      return;
    }
    this.perAddress.set(address, n);
    // The upgrade request must arrive within the hello deadline too, however slowly its bytes trickle in (Node's own
    // headersTimeout is not checked before the first byte); from the upgrade on, the link's hello deadline applies.
    this.unupgraded.set(
      socket,
      setTimeout(() => socket.destroy(), HELLO_TIMEOUT_MS),
    );
    socket.once('close', () => {
      clearTimeout(this.unupgraded.get(socket));
      this.unupgraded.delete(socket);
      const left = (this.perAddress.get(address) ?? 1) - 1;
      if (left > 0) this.perAddress.set(address, left);
      else this.perAddress.delete(address);
    });
  }

  private onUpgrade(req: IncomingMessage, socket: Socket, head: Buffer, onInbound: OnInbound): void {
    clearTimeout(this.unupgraded.get(socket));
    this.unupgraded.delete(socket);
    const address = socket.remoteAddress ?? '?';
    const mine = this.pendingFrom.get(address) ?? 0;
    if (mine >= SERVER_LIMITS.pendingPerAddress || this.pending >= SERVER_LIMITS.pending) {
      this.refused++;
      this.log.debug({ address, mine, pending: this.pending }, 'refused a LAN connection: too many without hello');
      socket.destroy();
      return;
    }
    this.pendingFrom.set(address, mine + 1);
    this.pending++;
    let done = false;
    const settled = () => {
      if (done) return;
      done = true;
      this.pending--;
      const left = (this.pendingFrom.get(address) ?? 1) - 1;
      if (left > 0) this.pendingFrom.set(address, left);
      else this.pendingFrom.delete(address);
    };
    // A failed handshake never reaches onInbound: release its slot when the socket goes.
    socket.once('close', settled);
    this.wss.handleUpgrade(req, socket, head, (ws) => onInbound(ws, address, settled));
  }
}
