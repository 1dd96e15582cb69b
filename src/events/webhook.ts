import { type Logger, silentLogger } from '../protocol/index.js';

export interface WebhookOptions {
  readonly url: string;
  /** Attempts per event (the first included). Default 6. */
  readonly attempts?: number;
  /** First retry after this long, doubling, with 20 % jitter. Default 1 s. */
  readonly backoffMs?: number;
  /** One POST's time limit. Default 10 s. */
  readonly timeoutMs?: number;
  /** Events waiting beyond this many are dropped, oldest first (a dead endpoint must not eat memory). Default 100. */
  readonly maxQueue?: number;
  readonly log?: Logger;
}

/**
 * `--on-event URL`: POSTs each event as JSON (docs/EVENTS.md), one at a time in order, retried with backoff on
 * network errors and 5xx/429 answers. `post()` returns at once: a slow or dead webhook never holds up the camera.
 */
export class Webhook {
  private readonly queue: { body: string; attempt: number }[] = [];
  private running = false;
  private closed = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private wake: (() => void) | undefined;
  private readonly log: Logger;
  /** Delivered and given up, since start. */
  readonly stats = { delivered: 0, failed: 0, dropped: 0 };

  constructor(private readonly options: WebhookOptions) {
    const u = new URL(options.url);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new RangeError(`--on-event ${options.url}: use an http:// or https:// URL`);
    this.log = (options.log ?? silentLogger).child({ webhook: `${u.origin}${u.pathname}` });
  }

  post(event: object): void {
    if (this.closed) return;
    this.queue.push({ body: JSON.stringify(event), attempt: 0 });
    const max = this.options.maxQueue ?? 100;
    while (this.queue.length > max) {
      this.queue.shift();
      this.stats.dropped++;
    }
    if (!this.running) void this.drain();
  }

  private async drain(): Promise<void> {
    this.running = true;
    while (!this.closed && this.queue.length > 0) {
      const item = this.queue[0]!;
      const ok = await this.send(item.body);
      if (this.closed) break;
      if (ok === 'done' || ok === 'reject' || ++item.attempt >= (this.options.attempts ?? 6)) {
        this.queue.shift();
        if (ok === 'done') this.stats.delivered++;
        else {
          this.stats.failed++;
          this.log.warn({ attempts: item.attempt }, 'webhook gave up on an event');
        }
        continue;
      }
      const base = (this.options.backoffMs ?? 1000) * 2 ** (item.attempt - 1);
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        this.timer = setTimeout(resolve, base * (0.8 + 0.4 * Math.random()));
      });
    }
    this.running = false;
  }

  /** 'done' (2xx), 'reject' (4xx other than 429: retrying will not help), 'retry'. */
  private async send(body: string): Promise<'done' | 'reject' | 'retry'> {
    try {
      const res = await fetch(this.options.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'peercam/0.1.0' },
        body,
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 10_000),
      });
      await res.arrayBuffer().catch(() => undefined);
      if (res.ok) return 'done';
      this.log.debug({ status: res.status }, 'webhook answered with an error');
      return res.status >= 500 || res.status === 429 ? 'retry' : 'reject';
    } catch (err) {
      this.log.debug({ err: String(err) }, 'webhook unreachable');
      return 'retry';
    }
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.wake?.();
  }
}
