import type { CandidateInit } from '../protocol/index.js';

/** ICE candidates gathered within one trickle window, sent together. */
export interface TrickleBatch {
  readonly candidates: CandidateInit[];
  readonly done: boolean;
}

/**
 * Collects local ICE candidates into few messages: a batch goes out when gathering completes or `windowMs` after its
 * first candidate, whichever comes first. On a LAN that is one message per side; with STUN/TURN usually two.
 * Candidates gathered before our description was sent wait for `release()` (one batcher per ICE generation).
 */
export class TrickleBatcher {
  private pending: CandidateInit[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private held = true;
  private done = false;
  private doneSent = false;

  constructor(
    private readonly flush: (batch: TrickleBatch) => void,
    private readonly windowMs = 100,
  ) {}

  add(candidate: CandidateInit): void {
    this.pending.push(candidate);
    this.maybeFlush();
  }

  gathered(): void {
    this.done = true;
    this.maybeFlush();
  }

  release(): void {
    this.held = false;
    this.maybeFlush();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.pending = [];
    this.held = true;
  }

  private maybeFlush(): void {
    if (this.held) return;
    if (this.done) this.sendNow();
    else if (this.pending.length > 0 && !this.timer) this.timer = setTimeout(() => this.sendNow(), this.windowMs);
  }

  private sendNow(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    // Gathering that ends after the last batch went out (no new candidate since) still says `done`, in an empty
    // batch: whoever waits for the last candidate (a WHEP answer, the ICE diagnosis) need not wait out a timer.
    if (this.pending.length === 0 && !(this.done && !this.doneSent)) return;
    const candidates = this.pending;
    this.pending = [];
    if (this.done) this.doneSent = true;
    this.flush({ candidates, done: this.done });
  }
}
