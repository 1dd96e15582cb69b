/**
 * The MQTT 3.1.1 and 5 packets our browser client speaks (mqtt-ws.ts): CONNECT, SUBSCRIBE, PUBLISH, PUBACK, PINGREQ
 * and DISCONNECT out; CONNACK, SUBACK, PUBLISH, PUBACK, PINGRESP and DISCONNECT in. Section numbers are MQTT 5's
 * (docs.oasis-open.org/mqtt/mqtt/v5.0); 3.1.1 is the same without the properties.
 */
import type { MqttConnectOptions, MqttProtocolVersion } from './mqtt-client.js';

/** A packet that breaks the protocol or our size limit; the connection is closed with it (a plain Error, no code). */
export class MqttMalformed extends Error {
  override readonly name = 'MqttMalformed';
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** Builds one packet: fixed header + variable-length Remaining Length (section 1.5.5, 2.1.4) + body. */
class Writer {
  private readonly parts: Uint8Array[] = [];
  private length = 0;

  bytes(b: Uint8Array): this {
    this.parts.push(b);
    this.length += b.length;
    return this;
  }
  byte(n: number): this {
    return this.bytes(Uint8Array.of(n));
  }
  u16(n: number): this {
    return this.bytes(Uint8Array.of(n >> 8, n & 0xff));
  }
  u32(n: number): this {
    return this.bytes(Uint8Array.of(n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff));
  }
  varint(n: number): this {
    return this.bytes(varint(n));
  }
  /** A UTF-8 string or binary data: two-byte length, then the bytes (section 1.5.4, 1.5.6). */
  binary(b: Uint8Array): this {
    if (b.length > 0xffff) throw new RangeError(`an MQTT string or binary field holds at most 65535 bytes, not ${b.length}`);
    return this.u16(b.length).bytes(b);
  }
  string(s: string): this {
    return this.binary(encoder.encode(s));
  }
  /** The packet: `first` byte, Remaining Length, then what was written. */
  packet(first: number): Uint8Array<ArrayBuffer> {
    const head = varint(this.length);
    const out = new Uint8Array(1 + head.length + this.length);
    out[0] = first;
    out.set(head, 1);
    let at = 1 + head.length;
    for (const part of this.parts) {
      out.set(part, at);
      at += part.length;
    }
    return out;
  }
}

/** A variable byte integer (MQTT 3.1.1 section 2.2.3, MQTT 5 section 1.5.5): the Remaining Length, property lengths. */
export function varint(n: number): Uint8Array {
  if (n < 0 || n > 268_435_455 || !Number.isInteger(n)) throw new RangeError(`${n} does not fit an MQTT variable byte integer`);
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return Uint8Array.from(out);
}

/** CONNECT (section 3.1): clean start, keepalive, client id, will (empty will properties on 5), login. */
export function encodeConnect(o: MqttConnectOptions): Uint8Array<ArrayBuffer> {
  const v5 = o.protocolVersion === 5;
  const will = o.will;
  const flags =
    (o.username !== undefined ? 0x80 : 0) |
    (o.password !== undefined ? 0x40 : 0) |
    (will?.retain ? 0x20 : 0) |
    ((will?.qos ?? 0) << 3) |
    (will ? 0x04 : 0) |
    (o.clean ? 0x02 : 0);
  const w = new Writer().string('MQTT').byte(o.protocolVersion).byte(flags).u16(o.keepalive);
  if (v5) {
    const max = o.properties?.maximumPacketSize;
    const props = new Writer();
    if (max !== undefined) props.byte(0x27).u32(max);
    properties(w, props);
  }
  w.string(o.clientId);
  if (will) {
    if (v5) w.varint(0);
    w.string(will.topic).binary(encoder.encode(will.payload));
  }
  if (o.username !== undefined) w.string(o.username);
  if (o.password !== undefined) w.binary(encoder.encode(o.password));
  return w.packet(0x10);
}

/** SUBSCRIBE (section 3.8): one QoS per topic, no other subscription options. */
export function encodeSubscribe(version: MqttProtocolVersion, id: number, topics: readonly (readonly [string, 0 | 1])[]): Uint8Array<ArrayBuffer> {
  const w = new Writer().u16(id);
  if (version === 5) w.varint(0);
  for (const [topic, qos] of topics) w.string(topic).byte(qos);
  return w.packet(0x82);
}

/** PUBLISH (section 3.3); `id` for QoS 1; the Message Expiry Interval on 5 (section 3.3.2.3.3). */
export function encodePublish(
  version: MqttProtocolVersion,
  topic: string,
  payload: Uint8Array,
  o: { readonly qos: 0 | 1; readonly retain: boolean; readonly id: number; readonly expirySeconds: number | undefined },
): Uint8Array<ArrayBuffer> {
  const w = new Writer().string(topic);
  if (o.qos === 1) w.u16(o.id);
  if (version === 5) {
    const props = new Writer();
    if (o.expirySeconds !== undefined) props.byte(0x02).u32(o.expirySeconds);
    properties(w, props);
  }
  w.bytes(payload);
  return w.packet(0x30 | (o.qos << 1) | (o.retain ? 1 : 0));
}

/** PUBACK (section 3.4): success needs no reason code on 5 (section 3.4.2.1). */
export function encodePuback(id: number): Uint8Array<ArrayBuffer> {
  return new Writer().u16(id).packet(0x40);
}

export const PINGREQ: Uint8Array<ArrayBuffer> = Uint8Array.of(0xc0, 0);
/** Normal disconnection: no reason code means 0 on 5 (section 3.14.2.1). */
export const DISCONNECT: Uint8Array<ArrayBuffer> = Uint8Array.of(0xe0, 0);

function properties(w: Writer, props: Writer): void {
  const body = props.packet(0).subarray(1); // the Remaining Length is the Property Length's encoding too
  w.bytes(body);
}

export type Incoming =
  | {
      readonly type: 'connack';
      readonly sessionPresent: boolean;
      readonly code: number;
      readonly retainAvailable: boolean | undefined;
      readonly reasonString: string | undefined;
      readonly serverKeepAlive: number | undefined;
    }
  | { readonly type: 'publish'; readonly topic: string; readonly payload: Uint8Array; readonly qos: 0 | 1; readonly id: number }
  | { readonly type: 'puback'; readonly id: number; readonly code: number }
  | { readonly type: 'suback'; readonly id: number; readonly codes: readonly number[] }
  | { readonly type: 'pingresp' }
  | { readonly type: 'disconnect'; readonly code: number };

/**
 * Splits the bytes of a stream into packets: several per chunk, and a packet split over chunks. Refuses a packet
 * over `maxBytes` as soon as its header says so, so it never buffers more than that.
 */
export class PacketReader {
  private buffer: Uint8Array = new Uint8Array(0);

  constructor(
    private readonly version: MqttProtocolVersion,
    private readonly maxBytes: number,
  ) {}

  /** The whole packets now complete; throws MqttMalformed on a bad or oversized one. */
  push(chunk: Uint8Array): Incoming[] {
    this.buffer = this.buffer.length === 0 ? chunk : concat(this.buffer, chunk);
    const out: Incoming[] = [];
    for (;;) {
      const head = header(this.buffer);
      if (!head) break;
      const total = head.offset + head.length;
      if (total > this.maxBytes) throw new MqttMalformed(`the broker sent a ${total}-byte MQTT packet, over our ${this.maxBytes}-byte limit`);
      if (this.buffer.length < total) break;
      out.push(decode(this.version, this.buffer[0]!, this.buffer.subarray(head.offset, total)));
      this.buffer = this.buffer.subarray(total);
    }
    if (this.buffer.length > 0 && this.buffer.byteOffset > 0) this.buffer = this.buffer.slice(); // let the old chunk go
    return out;
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** The Remaining Length and where the body starts, or undefined while incomplete (section 1.5.5: at most 4 bytes). */
function header(b: Uint8Array): { readonly length: number; readonly offset: number } | undefined {
  let length = 0;
  for (let i = 1; i <= 4; i++) {
    const byte = b[i];
    if (byte === undefined) return undefined;
    length += (byte & 0x7f) * 128 ** (i - 1);
    if ((byte & 0x80) === 0) return { length, offset: i + 1 };
  }
  throw new MqttMalformed('the broker sent an MQTT packet whose Remaining Length runs over 4 bytes');
}

/** Reads a packet body; every read checks its bounds. */
class Reader {
  private at = 0;
  constructor(private readonly b: Uint8Array) {}

  get left(): number {
    return this.b.length - this.at;
  }
  byte(): number {
    return this.take(1)[0]!;
  }
  u16(): number {
    const b = this.take(2);
    return (b[0]! << 8) | b[1]!;
  }
  u32(): number {
    const b = this.take(4);
    return ((b[0]! << 24) >>> 0) + ((b[1]! << 16) | (b[2]! << 8) | b[3]!);
  }
  varint(): number {
    let n = 0;
    for (let i = 0; i < 4; i++) {
      const byte = this.byte();
      n += (byte & 0x7f) * 128 ** i;
      if ((byte & 0x80) === 0) return n;
    }
    throw new MqttMalformed('the broker sent a variable byte integer over 4 bytes');
  }
  binary(): Uint8Array {
    return this.take(this.u16());
  }
  string(): string {
    try {
      return decoder.decode(this.binary());
    } catch (err) {
      if (err instanceof MqttMalformed) throw err;
      throw new MqttMalformed('the broker sent a string that is not UTF-8');
    }
  }
  rest(): Uint8Array {
    return this.take(this.left);
  }
  take(n: number): Uint8Array {
    if (n > this.left) throw new MqttMalformed('the broker sent an MQTT packet shorter than its fields');
    const out = this.b.subarray(this.at, this.at + n);
    this.at += n;
    return out;
  }
}

/** The MQTT 5 properties a packet carries (section 2.2.2): the ones we read, the others skipped by their type. */
function readProperties(r: Reader): Map<number, number | string> {
  const length = r.varint();
  const props = new Reader(r.take(length));
  const out = new Map<number, number | string>();
  while (props.left > 0) {
    const id = props.varint();
    const type = PROPERTY_TYPES.get(id);
    if (type === undefined) throw new MqttMalformed(`the broker sent an unknown MQTT 5 property 0x${id.toString(16)}`);
    const value = type === 'byte' ? props.byte() : type === 'u16' ? props.u16() : type === 'u32' ? props.u32() : type === 'varint' ? props.varint() : undefined;
    if (value !== undefined) out.set(id, value);
    else if (type === 'string') out.set(id, props.string());
    else if (type === 'binary') props.binary();
    else {
      props.string();
      props.string();
    }
  }
  return out;
}

/** Every MQTT 5 property identifier and its type (section 2.2.2.2). */
const PROPERTY_TYPES: ReadonlyMap<number, 'byte' | 'u16' | 'u32' | 'varint' | 'string' | 'binary' | 'pair'> = new Map([
  [0x01, 'byte'], // Payload Format Indicator
  [0x02, 'u32'], // Message Expiry Interval
  [0x03, 'string'], // Content Type
  [0x08, 'string'], // Response Topic
  [0x09, 'binary'], // Correlation Data
  [0x0b, 'varint'], // Subscription Identifier
  [0x11, 'u32'], // Session Expiry Interval
  [0x12, 'string'], // Assigned Client Identifier
  [0x13, 'u16'], // Server Keep Alive
  [0x15, 'string'], // Authentication Method
  [0x16, 'binary'], // Authentication Data
  [0x17, 'byte'], // Request Problem Information
  [0x18, 'u32'], // Will Delay Interval
  [0x19, 'byte'], // Request Response Information
  [0x1a, 'string'], // Response Information
  [0x1c, 'string'], // Server Reference
  [0x1f, 'string'], // Reason String
  [0x21, 'u16'], // Receive Maximum
  [0x22, 'u16'], // Topic Alias Maximum
  [0x23, 'u16'], // Topic Alias
  [0x24, 'byte'], // Maximum QoS
  [0x25, 'byte'], // Retain Available
  [0x26, 'pair'], // User Property
  [0x27, 'u32'], // Maximum Packet Size
  [0x28, 'byte'], // Wildcard Subscription Available
  [0x29, 'byte'], // Subscription Identifier Available
  [0x2a, 'byte'], // Shared Subscription Available
]);

function decode(version: MqttProtocolVersion, first: number, body: Uint8Array): Incoming {
  const r = new Reader(body);
  const v5 = version === 5;
  const type = first >> 4;
  const flags = first & 0x0f;
  const packet = ((): Incoming => {
    switch (type) {
      case 2: {
        const sessionPresent = (r.byte() & 1) === 1;
        const code = r.byte();
        // A broker refusing MQTT 5 answers with a 3.1.1 CONNACK (aedes): no properties.
        const props = v5 && r.left > 0 ? readProperties(r) : new Map<number, number | string>();
        const retain = props.get(0x25);
        const reason = props.get(0x1f);
        const keepAlive = props.get(0x13);
        return {
          type: 'connack',
          sessionPresent,
          code,
          retainAvailable: retain === undefined ? undefined : retain !== 0,
          reasonString: typeof reason === 'string' ? reason : undefined,
          serverKeepAlive: typeof keepAlive === 'number' ? keepAlive : undefined,
        };
      }
      case 3: {
        const qos = (flags >> 1) & 3;
        if (qos > 1) throw new MqttMalformed(`the broker sent a QoS ${qos} PUBLISH; we subscribe with QoS 1 at most`);
        const topic = r.string();
        const id = qos === 1 ? r.u16() : 0;
        if (v5) {
          const alias = readProperties(r).get(0x23);
          if (alias !== undefined) throw new MqttMalformed('the broker sent a topic alias, which we never allowed');
        }
        return { type: 'publish', topic, payload: r.rest(), qos: qos === 1 ? 1 : 0, id };
      }
      case 4: {
        const id = r.u16();
        const code = v5 && r.left > 0 ? r.byte() : 0;
        if (v5 && r.left > 0) readProperties(r);
        return { type: 'puback', id, code };
      }
      case 9: {
        const id = r.u16();
        if (v5) readProperties(r);
        const codes = Array.from(r.rest());
        if (codes.length === 0) throw new MqttMalformed('the broker sent a SUBACK without reason codes');
        return { type: 'suback', id, codes };
      }
      case 13:
        return { type: 'pingresp' };
      case 14: {
        const code = v5 && r.left > 0 ? r.byte() : 0;
        if (v5 && r.left > 0) readProperties(r);
        return { type: 'disconnect', code };
      }
      default:
        throw new MqttMalformed(`the broker sent an MQTT packet of type ${type}, which this client never asks for`);
    }
  })();
  const expectedFlags = type === 3 ? flags : 0;
  if (flags !== expectedFlags) throw new MqttMalformed(`the broker sent an MQTT packet of type ${type} with invalid flags ${flags}`);
  if (r.left > 0) throw new MqttMalformed(`the broker sent an MQTT packet of type ${type} with ${r.left} trailing bytes`);
  return packet;
}
