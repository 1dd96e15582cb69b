import { Duplex } from 'node:stream';

/**
 * Wraps a client's byte stream for the broker and destroys it as soon as an MQTT packet announces more than
 * `maxRemaining` bytes, before any of them is buffered. aedes (mqtt-packet) would otherwise collect a whole packet of
 * up to 256 MB in memory before anyone could look at it, authenticated or not.
 *
 * Only the fixed header is read (MQTT 3.1.1 section 2.2: one byte of type and flags, then the Remaining Length as a
 * variable byte integer of at most 4 bytes, 7 bits each, least significant first); the rest passes through untouched.
 */
export function limitMqttPackets(inner: Duplex, maxRemaining: number, onViolation: (why: string) => void): Duplex {
  let state: 'type' | 'length' | 'body' = 'type';
  let length = 0;
  let multiplier = 1;
  let lengthBytes = 0;
  let left = 0;

  /** Walks `chunk`; returns the reason to drop the client, or undefined. */
  const check = (chunk: Buffer): string | undefined => {
    let i = 0;
    while (i < chunk.length) {
      if (state === 'body') {
        const skip = Math.min(left, chunk.length - i);
        left -= skip;
        i += skip;
        if (left === 0) state = 'type';
        continue;
      }
      const byte = chunk[i++] as number;
      if (state === 'type') {
        state = 'length';
        length = 0;
        multiplier = 1;
        lengthBytes = 0;
        continue;
      }
      length += (byte & 0x7f) * multiplier;
      multiplier *= 128;
      lengthBytes++;
      if (length > maxRemaining) return `a packet of more than ${maxRemaining} bytes`;
      if (byte & 0x80) {
        if (lengthBytes === 4) return 'a malformed packet length';
        continue;
      }
      left = length;
      state = left === 0 ? 'type' : 'body';
    }
    return undefined;
  };

  const outer = new Duplex({
    read() {
      inner.resume();
    },
    write(chunk: Buffer, _encoding, callback) {
      inner.write(chunk, callback);
    },
    // aedes writes a packet in pieces (fixed header, topic, payload) between cork and uncork, and a WebSocket stream
    // sends each write as a message of its own: joined here, a packet (or a burst of them) is one message.
    writev(chunks, callback) {
      inner.write(chunks.length === 1 ? (chunks[0] as { chunk: Buffer }).chunk : Buffer.concat(chunks.map((c) => c.chunk as Buffer)), callback);
    },
    final(callback) {
      inner.end(callback);
    },
    destroy(err, callback) {
      inner.destroy();
      callback(err);
    },
  });
  inner.on('data', (chunk: Buffer) => {
    const why = check(chunk);
    if (why !== undefined) {
      onViolation(why);
      inner.destroy();
      outer.destroy();
      return;
    }
    if (!outer.push(chunk)) inner.pause();
  });
  inner.on('end', () => outer.push(null));
  inner.on('close', () => outer.destroy());
  inner.on('error', (err) => outer.destroy(err));
  return outer;
}
