import type { CandidateInit } from '../protocol/index.js';

/** ICE candidates gathered within one trickle window, sent together. */
export interface TrickleBatch {
  readonly candidates: CandidateInit[];
  readonly done: boolean;
}

/** After a candidate, how long more may come in the same burst (host candidates arrive within a few ms). */
const SETTLE_MS = 10;

/**
 * Collects local ICE candidates into few messages: a batch goes out when gathering completes or `windowMs` after its
 * first candidate, whichever comes first. On a LAN that is one message per side; with STUN/TURN usually two.
 * Candidates gathered before our description was sent wait for `release()` (one batcher per ICE generation); those
 * the description itself carries are never sent again.
 */
export class TrickleBatcher {
  private pending: CandidateInit[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private held = true;
  private done = false;
  private doneSent = false;
  /** Batches sent, and whether our description went out before gathering completed. */
  private batches = 0;
  private releasedEarly = false;
  private included: ReadonlySet<string> = new Set();
  /** While ready() waits: told of each candidate (false) or of the end of gathering or of the batcher (true). */
  private onActivity: ((final: boolean) => void) | undefined;

  constructor(
    private readonly flush: (batch: TrickleBatch) => void,
    private readonly windowMs = 100,
  ) {}

  add(candidate: CandidateInit): void {
    if (this.included.has(candidateKey(candidate.candidate))) return;
    this.pending.push(candidate);
    this.onActivity?.(false);
    this.maybeFlush();
  }

  gathered(): void {
    this.done = true;
    this.onActivity?.(true);
    this.maybeFlush();
  }

  /**
   * Resolves once the candidates that come at once are here: gathering complete, or SETTLE_MS after the last of a
   * burst, or `capMs` after the call when none came (a relay-only peer waits for its TURN server: trickle it later).
   */
  ready(capMs: number): Promise<void> {
    return new Promise((resolve) => {
      let settle: ReturnType<typeof setTimeout> | undefined;
      const finish = () => {
        clearTimeout(settle);
        clearTimeout(cap);
        this.onActivity = undefined;
        resolve();
      };
      const cap = setTimeout(finish, capMs);
      this.onActivity = (final) => {
        clearTimeout(settle);
        if (final) finish();
        else settle = setTimeout(finish, SETTLE_MS);
      };
      if (this.done) finish();
      else if (this.pending.length > 0) this.onActivity(false);
    });
  }

  /** Our description was sent: candidates may follow it, except those it carried (`included`, as in the SDP). */
  release(included: ReadonlySet<string> = new Set()): void {
    this.included = included;
    this.pending = this.pending.filter((c) => !included.has(candidateKey(c.candidate)));
    this.held = false;
    this.releasedEarly = !this.done;
    this.maybeFlush();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.pending = [];
    this.held = true;
    this.onActivity?.(true);
  }

  private maybeFlush(): void {
    if (this.held) return;
    if (this.done) this.sendNow();
    else if (this.pending.length > 0 && !this.timer) this.timer = setTimeout(() => this.sendNow(), this.windowMs);
  }

  private sendNow(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    // Gathering that ends after our description (which could not say end-of-candidates then) or after the last batch,
    // with no new candidate, still says `done`, in an empty batch: whoever waits for the last candidate (a WHEP
    // answer) need not wait out a timer. When the description already said it, nothing more is sent.
    const lateEnd = this.done && !this.doneSent && (this.releasedEarly || this.batches > 0);
    if (this.pending.length === 0 && !lateEnd) return;
    const candidates = this.pending;
    this.pending = [];
    this.batches++;
    if (this.done) this.doneSent = true;
    this.flush({ candidates, done: this.done });
  }
}

/**
 * A candidate as its SDP line and its trickle form both name it: foundation, component, transport, priority, address,
 * port and type (engines add different extensions, e.g. Chromium's `ufrag` only in the trickle form).
 */
export function candidateKey(candidate: string): string {
  const text = candidate.trim();
  return (text.startsWith('a=') ? text.slice(2) : text).split(/\s+/).slice(0, 8).join(' ');
}

/** The candidates a description carries, each with the mid of its m-section; and whether it says they are all. */
export function candidatesOfSdp(sdp: string): { candidates: CandidateInit[]; complete: boolean } {
  const candidates: CandidateInit[] = [];
  let mid = '';
  let complete = false;
  for (const line of sdp.split(/\r?\n/)) {
    if (line.startsWith('m=')) mid = '';
    else if (line.startsWith('a=mid:')) mid = line.slice(6).trim();
    else if (line.startsWith('a=candidate:')) candidates.push({ candidate: line.slice(2).trim(), mid });
    else if (line.trim() === 'a=end-of-candidates') complete = true;
  }
  return { candidates, complete };
}

/** The candidates an SDP carries (its a=candidate lines), as candidateKey() names them. */
export function candidatesInSdp(sdp: string): Set<string> {
  return new Set(candidatesOfSdp(sdp).candidates.map((c) => candidateKey(c.candidate)));
}
