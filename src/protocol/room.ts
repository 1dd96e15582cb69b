import { concatBytes, fromBase64Url, randomBytes, toBase32, toBase64Url, utf8 } from './bytes.js';
import { PeercamError } from './errors.js';
import { SealKey } from './seal.js';

/** The 32 random bytes that make a room: whoever has them is a member. */
export const SECRET_BYTES = 32;
const CHECK_BYTES = 2;
/** Public room id: topic segment and TXT value. 20 base32 chars = 100 bits. */
export type RoomId = string;
/** A room id: 20 base32 characters. */
export const ROOM_ID_PATTERN = /^[a-z2-7]{20}$/;

/** The base of a pairing link when no web address is given. */
export const DEFAULT_LINK_BASE = 'peercam://room';

/** What a pairing link carries besides the secret. */
export interface RoomOptions {
  /** MQTT broker the room meets on, carried in the link so every device finds it. */
  readonly broker?: string;
  /** A human name for the room (shown in the UI). */
  readonly name?: string;
}

/**
 * What a member shows to the room's own servers (the hub's HTTP API and embedded broker), derived from the secret so
 * the pairing link stays the only credential. Not secret from members; secret from everyone else.
 */
export interface RoomCredentials {
  /** Bearer token for the hub's HTTP API beyond the public pages (base64url of 32 bytes). */
  readonly httpToken: string;
  /** MQTT username on a hub's embedded broker: `peercam-<roomId>` (public, like the room id). */
  readonly brokerUsername: string;
  /** MQTT password on a hub's embedded broker (base64url of 32 bytes). */
  readonly brokerPassword: string;
}

/** A room: its secret, public id, sealing key and credentials, all derived from the 32-byte secret of its link. */
export class Room {
  private constructor(
    readonly secret: Uint8Array,
    readonly id: RoomId,
    readonly key: SealKey,
    readonly credentials: RoomCredentials,
    readonly options: RoomOptions,
  ) {}

  static async fromSecret(secret: Uint8Array, options: RoomOptions = {}): Promise<Room> {
    if (secret.length !== SECRET_BYTES) throw PeercamError.badLink(`the secret has ${secret.length} of ${SECRET_BYTES} bytes`);
    const ikm = await crypto.subtle.importKey('raw', secret as BufferSource, 'HKDF', false, ['deriveBits', 'deriveKey']);
    const hkdf = (info: string) => ({ name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(0), info: utf8.encode(info) as BufferSource });
    const bits = async (info: string) => new Uint8Array(await crypto.subtle.deriveBits(hkdf(info), ikm, 256));
    // Side by side, not one after another: each WebCrypto call is a round trip to another thread, and a page waits
    // for all of them before it can join its room (issue 15).
    const [idBits, sealKey, httpToken, brokerPassword] = await Promise.all([
      bits('peercam/v1 room-id'),
      crypto.subtle.deriveKey(hkdf('peercam/v1 seal'), ikm, { name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']),
      bits('peercam/v1 http-token'),
      bits('peercam/v1 broker-password'),
    ]);
    const id = toBase32(idBits).slice(0, 20);
    const credentials: RoomCredentials = { httpToken: toBase64Url(httpToken), brokerUsername: `peercam-${id}`, brokerPassword: toBase64Url(brokerPassword) };
    return new Room(secret, id, new SealKey(sealKey), credentials, options);
  }

  static async create(options: RoomOptions = {}): Promise<Room> {
    return Room.fromSecret(randomBytes(SECRET_BYTES), options);
  }

  /** Parses a pairing link (any URL or text whose fragment holds `k=`), as printed by `link()`. */
  static async fromLink(link: string): Promise<Room> {
    const text = link.trim();
    if (text === '') throw PeercamError.badLink('it is empty');
    const hash = text.indexOf('#');
    const fragment = hash >= 0 ? text.slice(hash + 1) : text;
    const params = new URLSearchParams(fragment);
    const k = params.get('k');
    if (k === null || k === '') throw PeercamError.badLink('it has no room key (the part after "#k=")');
    if (!/^[A-Za-z0-9_-]+$/.test(k)) throw PeercamError.badLink('the room key has characters that do not belong in it');
    const raw = fromBase64Url(k);
    if (raw === undefined || raw.length !== SECRET_BYTES + CHECK_BYTES)
      throw PeercamError.badLink(
        raw === undefined || raw.length < SECRET_BYTES + CHECK_BYTES ? 'it is truncated (the room key is too short)' : 'the room key is too long',
      );
    const secret = raw.slice(0, SECRET_BYTES);
    const broker = params.get('b');
    const name = params.get('n');
    // The checksum beside the keys, not before them: one WebCrypto round trip less before a page can join (issue 15).
    const [check, room] = await Promise.all([checksum(secret), Room.fromSecret(secret, { ...(broker ? { broker } : {}), ...(name ? { name } : {}) })]);
    if (check[0] !== raw[SECRET_BYTES] || check[1] !== raw[SECRET_BYTES + 1])
      throw PeercamError.badLink('it is damaged (the room key checksum does not match)');
    return room;
  }

  /** The pairing link: `base#k=<secret+check>[&b=<broker>][&n=<name>]`. The fragment never reaches a web server. */
  async link(base: string = DEFAULT_LINK_BASE, overrides: RoomOptions = {}): Promise<string> {
    const opts = { ...this.options, ...overrides };
    const params = new URLSearchParams();
    params.set('k', toBase64Url(concatBytes(this.secret, await checksum(this.secret))));
    if (opts.broker) params.set('b', opts.broker);
    if (opts.name) params.set('n', opts.name);
    return `${base.split('#')[0]}#${params.toString()}`;
  }

  withOptions(options: RoomOptions): Room {
    return new Room(this.secret, this.id, this.key, this.credentials, { ...this.options, ...options });
  }
}

async function checksum(secret: Uint8Array): Promise<Uint8Array> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', secret as BufferSource));
  return digest.slice(0, CHECK_BYTES);
}
