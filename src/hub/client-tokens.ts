import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, statSync, unwatchFile, watchFile } from 'node:fs';
import { PeercamError } from '../protocol/index.js';
import type { Client, ClientCheck } from './http-auth.js';

/**
 * Per-client tokens for the hub's WHEP and WHIP doors (docs/WHEP.md): the owner gives each player or publisher its
 * own bearer token and revokes one without rotating the room. Stored as SHA-256 digests only (a token is 256 random
 * bits, so a plain digest is enough), per room: rotating the room voids them all.
 */
export interface StoredClientToken {
  /** The room id it was made for; a hub of another room ignores it. */
  readonly room: string;
  /** The owner's name for the client ("go2rtc", "obs-studio"), unique per room. */
  readonly name: string;
  /** hex SHA-256 of the token. */
  readonly sha256: string;
  /** ISO time it was made. */
  readonly created: string;
}

/** The file in the data dir (PEERCAM_HOME) holding them, mode 0600. */
export const CLIENT_TOKENS_FILE = 'client-tokens.json';

const TOKEN_PREFIX = 'pct_';
const NAME = /^[\w.@+-][\w .@+-]{0,63}$/;

/** A new client token: `pct_` and 256 random bits, base64url. Shown once; only its digest is kept. */
export function newClientToken(): string {
  return `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
}

/** hex SHA-256 of a token, as stored and looked up. */
export function tokenDigest(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** The tokens in a file's text; entries that are not well formed are left out (a hand-edited file cannot break the hub). */
export function parseClientTokens(text: string): StoredClientToken[] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return [];
  }
  const list = typeof data === 'object' && data !== null && 'tokens' in data && Array.isArray(data.tokens) ? (data.tokens as unknown[]) : [];
  return list.filter(
    (t): t is StoredClientToken =>
      typeof t === 'object' &&
      t !== null &&
      typeof (t as StoredClientToken).room === 'string' &&
      typeof (t as StoredClientToken).name === 'string' &&
      typeof (t as StoredClientToken).created === 'string' &&
      /^[0-9a-f]{64}$/.test(String((t as StoredClientToken).sha256)),
  );
}

/** The file's text for a list of tokens. */
export function formatClientTokens(tokens: readonly StoredClientToken[]): string {
  return `${JSON.stringify({ v: 1, tokens }, null, 2)}\n`;
}

/** Adds a client of `room` named `name`; returns the new list and the token (to show once). */
export function addClientToken(tokens: readonly StoredClientToken[], room: string, name: string): { tokens: StoredClientToken[]; token: string } {
  if (!NAME.test(name)) throw PeercamError.config(`"${name}" is not a usable client name: 1-64 letters, digits, spaces or . _ @ + -.`);
  if (tokens.some((t) => t.room === room && t.name === name))
    throw PeercamError.config(`A client named "${name}" already has a token in this room. Revoke it first, or pick another name.`);
  const token = newClientToken();
  return { tokens: [...tokens, { room, name, sha256: tokenDigest(token), created: new Date().toISOString() }], token };
}

/** Removes the client `name` of `room`; a name that is not there is an error that lists the ones that are. */
export function revokeClientToken(tokens: readonly StoredClientToken[], room: string, name: string): StoredClientToken[] {
  const kept = tokens.filter((t) => !(t.room === room && t.name === name));
  if (kept.length === tokens.length) {
    const names = tokens.filter((t) => t.room === room).map((t) => t.name);
    throw PeercamError.config(`No client named "${name}" in this room${names.length > 0 ? ` (there are: ${names.join(', ')})` : ' (it has none)'}.`);
  }
  return kept;
}

/**
 * The hub's live view of the file for one room. Every check first looks whether the file changed (one stat), so a
 * `peercam whep token revoke` counts for the very next request, with no restart; a 1 s poll (`watch`) also ends the
 * open sessions of a revoked client when no request comes.
 */
export class ClientTokens implements ClientCheck {
  /** digest -> client */
  private byDigest = new Map<string, Client>();
  /** Open sessions per client id, ended when its token goes. */
  private readonly open = new Map<string, Set<{ end: () => void; ended: () => boolean }>>();
  private stamp = '';
  private watching = false;

  constructor(
    readonly file: string,
    readonly room: string,
  ) {
    this.refresh();
  }

  check(token: string): Client | undefined {
    this.refresh();
    return this.byDigest.get(tokenDigest(token));
  }

  whenRevoked(client: Client, end: () => void, ended: () => boolean): void {
    const set = this.open.get(client.id) ?? new Set();
    this.open.set(client.id, set);
    for (const s of set) if (s.ended()) set.delete(s);
    set.add({ end, ended });
    // Revoked between the check and now: end at once.
    this.refresh();
    if (!this.byDigest.has(client.id)) this.endSessions(client.id);
  }

  /** Polls the file each second so a revocation ends open sessions without waiting for a request. */
  watch(): this {
    if (!this.watching) {
      this.watching = true;
      watchFile(this.file, { interval: 1000, persistent: false }, () => this.refresh());
    }
    return this;
  }

  close(): void {
    if (this.watching) unwatchFile(this.file);
    this.watching = false;
    this.open.clear();
  }

  private refresh(): void {
    let stamp: string;
    try {
      const s = statSync(this.file);
      stamp = `${s.ino}:${s.size}:${s.mtimeMs}`;
    } catch {
      stamp = 'none';
    }
    if (stamp === this.stamp) return;
    this.stamp = stamp;
    let text = '';
    try {
      text = stamp === 'none' ? '' : readFileSync(this.file, 'utf8');
    } catch {
      // unreadable now: no client tokens until it is readable again (the room's token still works)
    }
    const next = new Map<string, Client>();
    for (const t of parseClientTokens(text)) if (t.room === this.room) next.set(t.sha256, { name: t.name, id: t.sha256 });
    this.byDigest = next;
    for (const id of [...this.open.keys()]) if (!next.has(id)) this.endSessions(id);
  }

  private endSessions(id: string): void {
    const set = this.open.get(id);
    this.open.delete(id);
    for (const s of set ?? []) if (!s.ended()) s.end();
  }
}
