import { type AddressInfo, connect, createServer, type Socket } from 'node:net';

/**
 * A raw TCP front for a broker that reads each connection's CONNECT and decides by its protocol level what to do:
 * pass it to the broker behind, close the socket (RabbitMQ 3.10's answer to MQTT 5), or answer with bytes that are
 * no CONNACK. It records the protocol level of every CONNECT it saw.
 */
export type GateMode = 'pass' | 'close-v5' | 'close-all' | 'garbage-v5';

export interface MqttGate {
  readonly url: string;
  readonly port: number;
  /** Protocol level (4 = 3.1.1, 5) of every CONNECT, in arrival order. */
  readonly levels: number[];
  mode: GateMode;
  /** Drops every open connection (both sides), as a broker node going away would. */
  cut(): void;
  close(): Promise<void>;
}

/** Byte offset of the protocol level in a CONNECT: after the fixed header's varint length and "\0\4MQTT". */
function protocolLevel(head: Buffer): number | undefined {
  if (head.length < 2 || head[0] !== 0x10) return undefined;
  let i = 1;
  while (i < head.length && (head[i]! & 0x80) !== 0) i++;
  const at = i + 1 + 6;
  return at < head.length ? head[at] : undefined;
}

export async function startMqttGate(behind: { port: number }, mode: GateMode = 'pass'): Promise<MqttGate> {
  const levels: number[] = [];
  const sockets = new Set<Socket>();
  const track = (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
  };
  const gate = {
    mode,
    levels,
    cut() {
      for (const s of sockets) s.destroy();
    },
  };
  const server = createServer((client) => {
    track(client);
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const level = protocolLevel(head);
      if (level === undefined) return;
      client.off('data', onData);
      levels.push(level);
      if (gate.mode === 'close-all' || (gate.mode === 'close-v5' && level === 5)) {
        client.end();
        return;
      }
      if (gate.mode === 'garbage-v5' && level === 5) {
        // Packet type 0 is reserved in every MQTT version: a parse error for the client.
        client.end(Buffer.from([0x00, 0x00]));
        return;
      }
      const upstream = connect(behind.port, '127.0.0.1');
      track(upstream);
      upstream.write(head);
      client.pipe(upstream);
      upstream.pipe(client);
      upstream.on('close', () => client.destroy());
      client.on('close', () => upstream.destroy());
    };
    client.on('data', onData);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(gate, {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    async close() {
      gate.cut();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  });
}
