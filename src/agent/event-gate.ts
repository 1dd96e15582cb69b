/**
 * When a camera is recorded in events mode: from its motion start until its end plus the post-roll (the pre-roll
 * comes from the recorder's in-memory GOPs). Driven by the `motion` messages the camera sends the recorder, timed by
 * their arrival (the recorder's clock, not the camera's).
 */
export class EventGate {
  readonly preRollMs: number;
  private readonly postRollMs: number;
  private readonly now: () => number;
  private events = new Set<string>();
  private until = Number.NEGATIVE_INFINITY;

  constructor(options: { preRollMs?: number; postRollMs?: number; now?: () => number } = {}) {
    this.preRollMs = options.preRollMs ?? 5000;
    this.postRollMs = options.postRollMs ?? 10_000;
    this.now = options.now ?? Date.now;
  }

  get active(): boolean {
    return this.events.size > 0;
  }

  start(event: string): void {
    this.events.add(event);
  }

  end(event: string): void {
    if (!this.events.delete(event)) return;
    if (this.events.size === 0) this.until = this.now() + this.postRollMs;
  }

  /** The camera left the room: whatever it had under way ends now (its end message will never come). */
  gone(): void {
    if (this.events.size === 0) return;
    this.events.clear();
    this.until = this.now() + this.postRollMs;
  }

  recording(wallMs: number): boolean {
    return this.events.size > 0 || wallMs < this.until;
  }
}
