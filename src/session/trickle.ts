import type { CandidateInit } from '../protocol/index.js';

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
    if (this.pending.length === 0) return;
    const candidates = this.pending;
    this.pending = [];
    this.flush({ candidates, done: this.done });
  }
}
