import type { Answer, Question } from 'dns-packet';

/** A DNS-SD instance with everything needed to reach it (RFC 6763 4-6: PTR -> SRV + TXT -> A). */
export interface ResolvedInstance {
  /** Instance name as advertised, e.g. `peercam-abc._peercam._tcp.local`. */
  readonly instance: string;
  readonly host: string;
  readonly address: string;
  readonly port: number;
  /** TXT keys lower-cased (RFC 6763 6.4: keys are case-insensitive); values as text. */
  readonly txt: Readonly<Record<string, string>>;
}

interface Rec<T> {
  data: T;
  at: number;
  ttlMs: number;
  /** How many of the REFRESH_AT re-queries were sent for this record. */
  refreshed: number;
}

/** RFC 6762 5.2: re-query a record we still want at 80%, 85%, 90% and 95% of its TTL. */
const REFRESH_AT = [0.8, 0.85, 0.9, 0.95];
/** RFC 6762 10.1: a goodbye (TTL 0) is kept one more second, then removed. */
const GOODBYE_MS = 1000;
/** Don't ask for the same missing record more often than this. */
const ASK_AGAIN_MS = 1000;

/**
 * The browse side's record cache for one service type: ingests mDNS answers, honours TTLs and goodbyes, tells which
 * instances became resolvable or stopped being so, and which questions keep it fresh. Pure logic, clock injected.
 */
export class DnsSdCache {
  private readonly ptr = new Map<string, Rec<string>>();
  private readonly srv = new Map<string, Rec<{ target: string; port: number }>>();
  private readonly txt = new Map<string, Rec<Record<string, string>>>();
  private readonly a = new Map<string, Rec<string>>();
  private readonly resolved = new Map<string, ResolvedInstance>();
  private readonly asked = new Map<string, number>();
  readonly type: string;

  constructor(type: string) {
    this.type = type.toLowerCase();
  }

  /** Takes the answers and additionals of one response. */
  ingest(records: readonly Answer[], now: number): void {
    for (const r of records) {
      const name = r.name.toLowerCase();
      const ttl = 'ttl' in r && typeof r.ttl === 'number' ? r.ttl : 120;
      const rec = <T>(data: T): Rec<T> =>
        ttl === 0 ? { data, at: now, ttlMs: GOODBYE_MS, refreshed: REFRESH_AT.length } : { data, at: now, ttlMs: ttl * 1000, refreshed: 0 };
      if (r.type === 'PTR' && name === this.type) this.ptr.set(r.data.toLowerCase(), rec(r.data));
      else if (r.type === 'SRV' && this.isInstance(name)) this.srv.set(name, rec({ target: r.data.target.toLowerCase(), port: r.data.port }));
      else if (r.type === 'TXT' && this.isInstance(name)) this.txt.set(name, rec(parseTxt(r.data)));
      else if (r.type === 'A') this.a.set(name, rec(r.data));
    }
  }

  /** Drops expired records; returns the instances that became resolvable (or changed) and those that stopped. */
  update(now: number): { up: ResolvedInstance[]; down: ResolvedInstance[] } {
    expire(this.ptr, now);
    expire(this.srv, now);
    expire(this.txt, now);
    expire(this.a, now);
    const up: ResolvedInstance[] = [];
    const down: ResolvedInstance[] = [];
    for (const key of new Set([...this.ptr.keys(), ...this.resolved.keys()])) {
      const current = this.resolve(key);
      const before = this.resolved.get(key);
      if (current === undefined) {
        if (before) {
          this.resolved.delete(key);
          down.push(before);
        }
      } else if (!before || JSON.stringify(before) !== JSON.stringify(current)) {
        this.resolved.set(key, current);
        up.push(current);
      }
    }
    return { up, down };
  }

  /** Questions that fill gaps (SRV/TXT of a new instance, A of its host) and refresh records before they expire. */
  questions(now: number): Question[] {
    const out: Question[] = [];
    const want = (name: string, type: 'SRV' | 'TXT' | 'A', rec: Rec<unknown> | undefined) => {
      if (rec) {
        const step = REFRESH_AT[rec.refreshed];
        if (step === undefined || now < rec.at + rec.ttlMs * step) return;
        rec.refreshed++;
      } else {
        const key = `${type} ${name}`;
        if (now - (this.asked.get(key) ?? -Infinity) < ASK_AGAIN_MS) return;
        this.asked.set(key, now);
      }
      out.push({ name, type });
    };
    for (const [instance, p] of this.ptr) {
      want(p.data, 'SRV', this.srv.get(instance));
      want(p.data, 'TXT', this.txt.get(instance));
      const target = this.srv.get(instance)?.data.target;
      if (target !== undefined) want(target, 'A', this.a.get(target));
    }
    return out;
  }

  /** RFC 6762 7.1 known-answer suppression: PTRs we hold with more than half their TTL left. */
  knownAnswers(now: number): Answer[] {
    const out: Answer[] = [];
    for (const p of this.ptr.values()) {
      const left = p.at + p.ttlMs - now;
      if (p.refreshed === 0 && left > p.ttlMs / 2) out.push({ name: this.type, type: 'PTR', ttl: Math.floor(left / 1000), data: p.data });
    }
    return out;
  }

  instances(): ResolvedInstance[] {
    return [...this.resolved.values()];
  }

  private isInstance(name: string): boolean {
    return name.endsWith(`.${this.type}`);
  }

  private resolve(key: string): ResolvedInstance | undefined {
    const ptr = this.ptr.get(key);
    const srv = this.srv.get(key);
    const txt = this.txt.get(key);
    const a = srv ? this.a.get(srv.data.target) : undefined;
    if (!ptr || !srv || !txt || !a) return undefined;
    return { instance: ptr.data, host: srv.data.target, address: a.data, port: srv.data.port, txt: txt.data };
  }
}

function expire<T>(map: Map<string, Rec<T>>, now: number): void {
  for (const [k, r] of map) if (now >= r.at + r.ttlMs) map.delete(k);
}

/** RFC 6763 6.3/6.4: each string is `key=value` (or a bare `key`); the first occurrence of a key wins. */
export function parseTxt(data: string | Buffer | (string | Buffer)[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of Array.isArray(data) ? data : [data]) {
    const s = typeof item === 'string' ? item : item.toString('utf8');
    const eq = s.indexOf('=');
    const key = (eq < 0 ? s : s.slice(0, eq)).toLowerCase();
    if (key === '' || key in out) continue;
    out[key] = eq < 0 ? '' : s.slice(eq + 1);
  }
  return out;
}
