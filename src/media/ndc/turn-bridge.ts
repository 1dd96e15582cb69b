import { createSocket, type RemoteInfo, type Socket as UdpSocket } from 'node:dgram';
import { connect as tcpConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { type Logger, PeercamError, silentLogger } from '../../protocol/index.js';
import { isStreamedTurn, urlsOf } from '../../session/ice.js';
import type { IceServer, PeerConfig } from '../../session/peer.js';
import { toNdcIceServer } from './config.js';
import { mendRelayedCheck, type PasswordOf } from './tiebreaker-fix.js';

/** Where libjuice should send its TURN traffic instead of a TCP/TLS server: a UDP socket of this bridge. */
export interface BridgedServer {
  readonly hostname: string;
  readonly port: number;
}

/** A TURN allocation is refreshed at least every 10 min (RFC 8656 3.2 default lifetime); quieter means it is gone. */
const IDLE_MS = 11 * 60_000;
/** One stream per libjuice agent socket; more than this on one server is a leak or a local abuser. */
const MAX_STREAMS = 512;
/** Bytes a stream may buffer while the TCP/TLS connection is not draining (two seconds of 2 Mb/s video). */
const MAX_BUFFERED = 512 * 1024;

/**
 * TURN over TCP and TLS for node-datachannel, whose ICE agent (libjuice) speaks TURN over UDP only
 * (https://github.com/paullouisageneau/libjuice/issues/257).
 *
 * For every `turn:...?transport=tcp` or `turns:` server, the bridge listens on a UDP port of 127.0.0.1 and libjuice
 * is pointed there as if it were a UDP TURN server. Each local agent socket gets its own TCP (or TLS) connection to
 * the real server, so the server sees one client per allocation, exactly as with a native TCP client. STUN messages
 * pass unchanged (they carry their own length); ChannelData is padded to a multiple of four bytes on the stream and
 * unpadded on the way back (RFC 8656 12.5). The peer side of the relay is UDP either way: only the client leg rides
 * on TCP, which is what gets a camera out of a network that blocks UDP.
 *
 * On the way in, checks that Chromium signed with a zero tie-breaker are mended for libjuice (see tiebreaker-fix.ts):
 * peers register their local ICE credentials with `trust`.
 */
export class TurnBridge {
  private readonly relays = new Map<string, Relay>();
  private readonly passwords = new Map<string, string>();
  private readonly passwordOf: PasswordOf = (ufrag) => this.passwords.get(ufrag);

  private constructor(private readonly log: Logger) {}

  /** Opens one relay per TCP/TLS TURN URL in `config`; undefined when there is none (nothing to bridge). */
  static async open(config: PeerConfig, log: Logger = silentLogger): Promise<TurnBridge | undefined> {
    const streamed = streamedTurnUrls(config.iceServers);
    if (streamed.length === 0) return undefined;
    const bridge = new TurnBridge(log.child({ part: 'turn-bridge' }));
    try {
      for (const { url, server } of streamed) {
        if (bridge.relays.has(url)) continue; // the same server listed twice: one relay serves both
        const target = toNdcIceServer(url, server);
        const relay = await Relay.listen(
          { host: target.hostname, port: target.port ?? 3478, tls: target.relayType === 'TurnTls', url },
          bridge.log,
          bridge.passwordOf,
        );
        bridge.relays.set(url, relay);
      }
    } catch (err) {
      bridge.close();
      throw err;
    }
    return bridge;
  }

  /** The local UDP address standing in for this TCP/TLS server URL, if it is bridged. */
  local(url: string): BridgedServer | undefined {
    const relay = this.relays.get(url.trim());
    return relay ? { hostname: '127.0.0.1', port: relay.port } : undefined;
  }

  /** A local ICE agent's credentials (from its local description), so checks for it can be mended and re-signed. */
  trust(ufrag: string, password: string): void {
    this.passwords.set(ufrag, password);
  }

  forget(ufrag: string): void {
    this.passwords.delete(ufrag);
  }

  /** Streams now open (one per agent socket that talked to a server). */
  get streams(): number {
    let n = 0;
    for (const r of this.relays.values()) n += r.streams;
    return n;
  }

  close(): void {
    for (const r of this.relays.values()) r.close();
    this.relays.clear();
  }
}

/** `turn:` with transport=tcp and every `turns:` URL, with the server entry that holds its credentials. */
export function streamedTurnUrls(servers: readonly IceServer[]): { url: string; server: IceServer }[] {
  const out: { url: string; server: IceServer }[] = [];
  for (const server of servers) {
    for (const url of urlsOf(server)) if (isStreamedTurn(url)) out.push({ url: url.trim(), server });
  }
  return out;
}

interface Target {
  readonly host: string;
  readonly port: number;
  readonly tls: boolean;
  readonly url: string;
}

/** One bridged server: a UDP socket on loopback, and a stream to the server per local sender. */
class Relay {
  private readonly streams_ = new Map<string, Stream>();
  private closed = false;
  /** Said once per outage: libjuice retransmits every request, and each try is a new connection that fails too. */
  private failing = false;

  private constructor(
    private readonly udp: UdpSocket,
    private readonly target: Target,
    private readonly log: Logger,
    private readonly passwordOf: PasswordOf,
  ) {
    udp.on('message', (msg, from) => this.fromAgent(msg, from));
    udp.on('error', (err) => this.log.warn({ err, url: target.url }, 'the TURN bridge socket failed'));
  }

  static async listen(target: Target, log: Logger, passwordOf: PasswordOf): Promise<Relay> {
    const udp = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(0, '127.0.0.1', () => {
        udp.off('error', reject);
        resolve();
      });
    }).catch((err: unknown) => {
      throw PeercamError.config(`Cannot open a local UDP port on 127.0.0.1 to bridge TURN over TCP/TLS: ${String(err)}.`, err);
    });
    return new Relay(udp, target, log, passwordOf);
  }

  get port(): number {
    return this.udp.address().port;
  }

  get streams(): number {
    return this.streams_.size;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.streams_.values()) s.close();
    this.streams_.clear();
    this.udp.close();
  }

  private fromAgent(msg: Buffer, from: RemoteInfo): void {
    const length = frameLength(msg);
    if (this.closed || length === undefined || length < 0 || length > msg.length) return; // not STUN nor ChannelData
    const key = `${from.address}:${from.port}`;
    let stream = this.streams_.get(key);
    if (!stream) {
      if (this.streams_.size >= MAX_STREAMS) {
        this.log.warn({ url: this.target.url }, `more than ${MAX_STREAMS} TURN allocations through one bridge; dropped a new one`);
        return;
      }
      const created: Stream = new Stream(this.target, this.log, {
        deliver: (frame) => this.udp.send(mendRelayedCheck(frame, this.passwordOf) ?? frame, from.port, from.address),
        ended: () => {
          if (this.streams_.get(key) === created) this.streams_.delete(key);
        },
        failed: (err) => this.failed(err),
        alive: () => {
          this.failing = false;
        },
      });
      stream = created;
      this.streams_.set(key, stream);
    }
    stream.send(msg.subarray(0, length));
  }

  private failed(err: unknown): void {
    const what = this.target.tls
      ? 'the TURN server over TLS failed (is the port right, and its certificate trusted? NODE_EXTRA_CA_CERTS adds a CA)'
      : 'the TURN server over TCP failed (is it running, and the port right?)';
    if (this.failing) this.log.debug({ err: String(err), url: this.target.url }, what);
    else this.log.warn({ err: String(err), url: this.target.url }, what);
    this.failing = true;
  }
}

interface StreamHooks {
  /** A whole STUN message or ChannelData frame from the server, unpadded. */
  deliver(frame: Buffer): void;
  ended(): void;
  failed(err: unknown): void;
  /** The server answered: the path works. */
  alive(): void;
}

/** One TCP/TLS connection to the TURN server, carrying one agent socket's TURN traffic. */
class Stream {
  private readonly socket: Socket;
  private pending: Buffer = Buffer.alloc(0);
  private idle: NodeJS.Timeout;
  private ended = false;

  constructor(
    private readonly target: Target,
    private readonly log: Logger,
    private readonly hooks: StreamHooks,
  ) {
    const options = { host: target.host, port: target.port };
    this.socket = target.tls
      ? tlsConnect({ ...options, ...(isIP(target.host) === 0 ? { servername: target.host } : {}), ALPNProtocols: ['stun.turn'] })
      : tcpConnect(options);
    this.socket.setNoDelay(true);
    this.socket.on('data', (chunk: Buffer) => this.fromServer(chunk));
    this.socket.on('error', (err) => {
      hooks.failed(err);
      this.close();
    });
    this.socket.on('close', () => this.close());
    this.idle = setTimeout(() => this.close(), IDLE_MS);
    this.idle.unref();
  }

  send(msg: Buffer): void {
    if (this.ended) return;
    if (this.socket.writableLength > MAX_BUFFERED) return; // the server is not keeping up: drop like UDP would
    this.idle.refresh();
    const padded = (msg.length + 3) & ~3;
    this.socket.write(padded === msg.length ? msg : Buffer.concat([msg, Buffer.alloc(padded - msg.length)]));
  }

  close(): void {
    if (this.ended) return;
    this.ended = true;
    clearTimeout(this.idle);
    this.socket.destroy();
    this.hooks.ended();
  }

  private fromServer(chunk: Buffer): void {
    this.idle.refresh();
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    for (;;) {
      const length = frameLength(this.pending);
      if (length === undefined) break;
      if (length < 0) {
        this.log.warn({ url: this.target.url }, 'the TURN server sent something that is neither STUN nor ChannelData; closing');
        this.close();
        return;
      }
      const onWire = this.pending[0] !== undefined && this.pending[0] >= 0x40 ? (length + 3) & ~3 : length;
      if (this.pending.length < onWire) break;
      this.hooks.alive();
      this.hooks.deliver(this.pending.subarray(0, length));
      this.pending = this.pending.subarray(onWire);
    }
  }
}

/**
 * Length of the STUN message or ChannelData frame at the start of `buf` (without ChannelData padding): undefined when
 * more bytes are needed, -1 when it is neither. STUN starts with two zero bits (RFC 8489 5), ChannelData with a
 * channel number in 0x4000-0x4FFF (RFC 8656 12).
 */
export function frameLength(buf: Uint8Array): number | undefined {
  if (buf.length < 4) return undefined;
  const first = buf[0] ?? 0;
  const declared = ((buf[2] ?? 0) << 8) | (buf[3] ?? 0);
  if (first >> 6 === 0) return declared % 4 === 0 ? 20 + declared : -1;
  if (first >= 0x40 && first <= 0x4f) return 4 + declared;
  return -1;
}
