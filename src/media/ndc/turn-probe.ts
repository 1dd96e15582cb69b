import { createHash, createHmac, randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import type { IceServerError } from '../../session/ice-diagnosis.js';
import { isStreamedTurn, urlsOf } from '../../session/ice.js';
import type { IceServer } from '../../session/peer.js';

// STUN/TURN constants (RFC 8489 5-6, 14; RFC 8656 18)
const MAGIC = 0x2112a442;
const ALLOCATE_REQUEST = 0x0003;
const ALLOCATE_SUCCESS = 0x0103;
const ALLOCATE_ERROR = 0x0113;
const REFRESH_REQUEST = 0x0004;
const ATTR = { username: 0x0006, integrity: 0x0008, errorCode: 0x0009, lifetime: 0x000d, realm: 0x0014, nonce: 0x0015, transport: 0x0019 };

/**
 * libjuice (the Node engine) keeps a TURN server's refusal to itself: when no relay candidate came, this asks the
 * server the way libjuice did — an Allocate over UDP, then again with the long-term credential (RFC 8656 7.2, RFC 8489
 * 9.2) — and reports a refusal (401/403/437/441) or silence (701) as the browser's icecandidateerror would. A
 * successful test allocation is released at once (Refresh with LIFETIME 0).
 */
export async function probeTurn(server: IceServer, url: string, timeoutMs = 2000): Promise<IceServerError | undefined> {
  const m = /^turn:(\[[0-9a-fA-F:.]+\]|[^:?[\]]+)(?::(\d+))?/.exec(url);
  if (!m || server.username === undefined || server.credential === undefined) return undefined;
  const host = (m[1] ?? '').replace(/^\[|\]$/g, '');
  const port = m[2] ? Number(m[2]) : 3478;
  const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
  const ask = (msg: Buffer) =>
    new Promise<Buffer | undefined>((resolve) => {
      const timer = setTimeout(() => done(undefined), timeoutMs);
      const onMessage = (reply: Buffer) => reply.length >= 20 && reply.subarray(8, 20).equals(msg.subarray(8, 20)) && done(reply);
      const done = (r: Buffer | undefined) => {
        clearTimeout(timer);
        socket.off('message', onMessage);
        resolve(r);
      };
      socket.on('message', onMessage);
      socket.send(msg, port, host, (err) => err && done(undefined));
    });
  try {
    socket.on('error', () => {});
    const transport = Buffer.from([17, 0, 0, 0]); // UDP
    const first = await ask(stunMessage(ALLOCATE_REQUEST, [[ATTR.transport, transport]]));
    if (!first) return { url, code: 701, text: `no answer from ${host}:${port} within ${timeoutMs} ms` };
    const realm = attribute(first, ATTR.realm);
    const nonce = attribute(first, ATTR.nonce);
    if (readType(first) !== ALLOCATE_ERROR || !realm || !nonce) return undefined;
    const key = createHash('md5').update(`${server.username}:${realm.toString('utf8')}:${server.credential}`).digest();
    const authed: [number, Buffer][] = [
      [ATTR.transport, transport],
      [ATTR.username, Buffer.from(server.username, 'utf8')],
      [ATTR.realm, realm],
      [ATTR.nonce, nonce],
    ];
    const second = await ask(stunMessage(ALLOCATE_REQUEST, authed, key));
    if (!second) return { url, code: 701, text: `no answer from ${host}:${port} to the authenticated request` };
    if (readType(second) === ALLOCATE_SUCCESS) {
      const release: [number, Buffer][] = [[ATTR.lifetime, Buffer.alloc(4)], ...authed.slice(1)];
      await ask(stunMessage(REFRESH_REQUEST, release, key));
      return undefined;
    }
    const err = attribute(second, ATTR.errorCode);
    if (!err || err.length < 4) return undefined;
    const code = (err[2] ?? 0) * 100 + (err[3] ?? 0);
    return { url, code, text: err.subarray(4).toString('utf8') };
  } finally {
    socket.close();
  }
}

/** Probes every UDP TURN server of the config (TCP/TLS ones go through the TURN bridge, which logs its own errors). */
export async function probeTurnServers(servers: readonly IceServer[]): Promise<IceServerError[]> {
  const probes = servers.flatMap((s) => urlsOf(s).filter((u) => /^turn:/i.test(u) && !isStreamedTurn(u)).map((u) => probeTurn(s, u)));
  return (await Promise.all(probes)).filter((e): e is IceServerError => e !== undefined);
}

function stunMessage(type: number, attrs: readonly [number, Buffer][], key?: Buffer): Buffer {
  const parts: Buffer[] = [];
  for (const [t, v] of attrs) {
    const head = Buffer.alloc(4);
    head.writeUInt16BE(t, 0);
    head.writeUInt16BE(v.length, 2);
    parts.push(head, v, Buffer.alloc((4 - (v.length % 4)) % 4));
  }
  let body = Buffer.concat(parts);
  const header = Buffer.alloc(20);
  header.writeUInt16BE(type, 0);
  header.writeUInt32BE(MAGIC, 4);
  randomBytes(12).copy(header, 8);
  if (key) {
    // MESSAGE-INTEGRITY covers the header with a length that already counts the integrity attribute (RFC 8489 14.5).
    header.writeUInt16BE(body.length + 24, 2);
    const mac = createHmac('sha1', key).update(Buffer.concat([header, body])).digest();
    const head = Buffer.alloc(4);
    head.writeUInt16BE(ATTR.integrity, 0);
    head.writeUInt16BE(20, 2);
    body = Buffer.concat([body, head, mac]);
  }
  header.writeUInt16BE(body.length, 2);
  return Buffer.concat([header, body]);
}

function readType(msg: Buffer): number {
  return msg.readUInt16BE(0);
}

function attribute(msg: Buffer, type: number): Buffer | undefined {
  let at = 20;
  const end = Math.min(msg.length, 20 + msg.readUInt16BE(2));
  while (at + 4 <= end) {
    const t = msg.readUInt16BE(at);
    const len = msg.readUInt16BE(at + 2);
    if (t === type) return msg.subarray(at + 4, at + 4 + len);
    at += 4 + len + ((4 - (len % 4)) % 4);
  }
  return undefined;
}
