import { utf8 } from './bytes.js';
import type { Body, Envelope, EnvelopeOf, MessageType } from './envelope.js';
import { BROADCAST, MAX_SEALED_BYTES, MAX_SKEW_MS, PROTOCOL_VERSION, parseEnvelope } from './envelope.js';
import type { DropReason } from './errors.js';
import type { DeviceId, SessionId } from './ids.js';
import type { Room } from './room.js';
import { SeenWindow } from './seen.js';
import { topics } from './topics.js';

/** What opening a sealed payload gave: the envelope, or why it was dropped. */
export type Opened<E extends Envelope = Envelope> = { ok: true; envelope: E } | { ok: false; reason: DropReason; detail: string };

/** Options of a Courier (the clock, injectable for tests). */
export interface CourierOptions {
  /** Clock, injectable for tests. */
  readonly now?: () => number;
  /** Replay memory per sender; older entries are forgotten (they are stale by then anyway). */
  readonly maxSeenPerSender?: number;
}

/**
 * Seals what one device sends and opens what it receives, in one room. It enforces every receive rule of protocol v1:
 * size, authenticity (AES-GCM with the address as AAD), version, schema, recipient, clock skew and replay.
 */
export class Courier {
  private seq: number;
  private readonly now: () => number;
  private readonly seen: SeenWindow;

  constructor(
    readonly room: Room,
    readonly self: DeviceId,
    options: CourierOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.seen = new SeenWindow(this.now, options.maxSeenPerSender);
    // Start from the clock so a restarted device with the same id never reuses a (from, seq) a peer still remembers.
    this.seq = this.now() * 16;
  }

  /** Seals a message for `to`'s inbox. Returns the address (topic) and the sealed payload. */
  async seal<T extends MessageType>(to: DeviceId, type: T, sid: SessionId, body: Body<T>): Promise<{ address: string; payload: string }> {
    const address = topics.inbox(this.room.id, to);
    return { address, payload: await this.sealAt(address, to, type, sid, body) };
  }

  /** Seals this device's presence (retained, so it is exempt from skew and replay rules on receipt). */
  async sealPresence(body: Body<'presence'>): Promise<{ address: string; payload: string }> {
    const address = topics.presence(this.room.id, this.self);
    return { address, payload: await this.sealAt(address, BROADCAST, 'presence', '', body) };
  }

  /** Seals a who-is-here query, broadcast at this device's presence address (not retained). */
  async sealQuery(body: Body<'query'>): Promise<{ address: string; payload: string }> {
    const address = topics.presence(this.room.id, this.self);
    return { address, payload: await this.sealAt(address, BROADCAST, 'query', '', body) };
  }

  private async sealAt<T extends MessageType>(address: string, to: string, type: T, sid: SessionId, body: Body<T>): Promise<string> {
    const envelope = { v: PROTOCOL_VERSION, type, from: this.self, to, sid, seq: this.seq++, ts: this.now(), body };
    const payload = await this.room.key.seal(utf8.encode(JSON.stringify(envelope)), address);
    if (payload.length > MAX_SEALED_BYTES) throw new RangeError(`sealed ${type} is ${payload.length} bytes, over the ${MAX_SEALED_BYTES} limit`);
    return payload;
  }

  /** Opens a message from this device's inbox. */
  async open(payload: string | Uint8Array): Promise<Opened> {
    const address = topics.inbox(this.room.id, this.self);
    const opened = await this.openAt(address, payload);
    if (!opened.ok) return opened;
    const e = opened.envelope;
    if (e.type === 'presence' || e.type === 'query') return drop('malformed', `${e.type} in an inbox`);
    if (e.to !== this.self) return drop('wrong-recipient', `sealed for ${e.to}`);
    const skew = Math.abs(this.now() - e.ts);
    if (skew > MAX_SKEW_MS) return drop('stale', `${e.type} from ${e.from} is ${Math.round(skew / 1000)} s off our clock`);
    if (!this.seen.firstTime(e.from, e.seq, e.ts)) return drop('replay', `${e.type} seq ${e.seq} from ${e.from} seen before`);
    return opened;
  }

  /** Opens a retained presence published at `presence/<device>`. */
  async openPresence(device: DeviceId, payload: string | Uint8Array): Promise<Opened<EnvelopeOf<'presence'>>> {
    const opened = await this.openBroadcast(device, payload);
    if (!opened.ok || opened.envelope.type === 'presence') return opened as Opened<EnvelopeOf<'presence'>>;
    return drop('malformed', 'not a presence of that device');
  }

  /**
   * Opens what arrived at `presence/<device>`: its retained presence, or a live who-is-here query. A query is not
   * retained, so the inbox rules for freshness and replay apply to it.
   */
  async openBroadcast(device: DeviceId, payload: string | Uint8Array): Promise<Opened<EnvelopeOf<'presence'> | EnvelopeOf<'query'>>> {
    const opened = await this.openAt(topics.presence(this.room.id, device), payload);
    if (!opened.ok) return opened;
    const e = opened.envelope;
    if ((e.type !== 'presence' && e.type !== 'query') || e.from !== device || e.to !== BROADCAST) return drop('malformed', 'not a presence of that device');
    if (e.type === 'query') {
      const skew = Math.abs(this.now() - e.ts);
      if (skew > MAX_SKEW_MS) return drop('stale', `query from ${e.from} is ${Math.round(skew / 1000)} s off our clock`);
      if (!this.seen.firstTime(e.from, e.seq, e.ts)) return drop('replay', `query seq ${e.seq} from ${e.from} seen before`);
    }
    return { ok: true, envelope: e };
  }

  private async openAt(address: string, payload: string | Uint8Array): Promise<Opened> {
    if (payload.length > MAX_SEALED_BYTES) return drop('oversize', `${payload.length} bytes, limit ${MAX_SEALED_BYTES}`);
    let text: string;
    try {
      text = typeof payload === 'string' ? payload : utf8.decode(payload);
    } catch {
      return drop('malformed', 'payload is not UTF-8');
    }
    const plain = await this.room.key.open(text, address);
    if (plain === 'malformed') return drop('malformed', 'payload is not a sealed box');
    if (plain === 'bad-tag') return drop('bad-tag', 'authentication failed (forged, tampered, another room, or another address)');
    let json: unknown;
    try {
      json = JSON.parse(utf8.decode(plain));
    } catch {
      return drop('malformed', 'sealed payload is not JSON');
    }
    const envelope = parseEnvelope(json);
    if (envelope === 'unknown-version') return drop('unknown-version', 'envelope version is not 1');
    if (envelope === 'malformed') return drop('malformed', 'envelope does not match protocol v1');
    return { ok: true, envelope };
  }
}

function drop(reason: DropReason, detail: string): { ok: false; reason: DropReason; detail: string } {
  return { ok: false, reason, detail };
}
