/**
 * Keeps the screen on while the camera is live (Screen Wake Lock API). The browser drops the lock whenever the page is
 * hidden, so it is asked for again each time the page becomes visible. Browsers without the API just let the screen
 * sleep; the page says so.
 */
export class ScreenAwake {
  private sentinel: WakeLockSentinel | undefined;
  private wanted = false;
  private readonly onVisible = () => {
    if (document.visibilityState === 'visible' && this.wanted) void this.acquire();
  };

  /** Whether the browser supports it at all. */
  get supported(): boolean {
    return 'wakeLock' in navigator;
  }

  get held(): boolean {
    return this.sentinel !== undefined && !this.sentinel.released;
  }

  async keep(): Promise<void> {
    this.wanted = true;
    document.addEventListener('visibilitychange', this.onVisible);
    await this.acquire();
  }

  async release(): Promise<void> {
    this.wanted = false;
    document.removeEventListener('visibilitychange', this.onVisible);
    await this.sentinel?.release().catch(() => {});
    this.sentinel = undefined;
  }

  private async acquire(): Promise<void> {
    if (!this.supported || this.held) return;
    try {
      this.sentinel = await navigator.wakeLock.request('screen');
    } catch {
      // refused (battery saver, not visible): the screen may sleep; the camera keeps running while it can
    }
  }
}
