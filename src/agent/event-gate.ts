/**
 * When a camera is recorded in events mode: from its motion start until its end plus the post-roll (the pre-roll
 * comes from the recorder's in-memory GOPs, counted back from when the motion began). Driven by the `motion` messages
 * the camera sends the recorder, timed on the recorder's clock (arrival, less the detection delay for a start).
 */
export class EventGate {
  readonly preRollMs: number;
  private readonly postRollMs: number;
  private readonly now: () => number;
  private events = new Set<string>();
  private until = Number.NEGATIVE_INFINITY;
  private began: number | undefined;

  constructor(options: { preRollMs?: number; postRollMs?: number; now?: () => number } = {}) {
    this.preRollMs = options.preRollMs ?? 5000;
    this.postRollMs = options.postRollMs ?? 10_000;
    this.now = options.now ?? Date.now;
  }

  get active(): boolean {
    return this.events.size > 0;
  }

  /** An event started; `began`: when its motion began (recorder's clock, ms), default now. */
  start(event: string, began = this.now()): void {
    if (this.events.size === 0 && !this.recording(this.now())) this.began = began;
    this.events.add(event);
  }

  /**
   * When the motion of the clip being opened began (the pre-roll counts back from it), while recording; a clip that
   * runs on into a new event keeps its own start.
   */
  get since(): number | undefined {
    return this.began;
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
