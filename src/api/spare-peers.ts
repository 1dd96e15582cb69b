import type { PeerConfig, W3cPeer } from '../session/index.js';

/** How long a spare waits for a camera before it is closed. */
const KEEP_MS = 30_000;

/**
 * Viewer connections made before any camera is known, each with its offer made (W3cPeer.prepareOffer): a page that
 * prepares them while it still waits for the broker starts its first sessions without the browser's WebRTC set-up
 * (~100-200 ms measured, docs/BENCHMARKS.md). A spare is only used for the ICE settings it was made with; unused ones
 * are closed after 30 s or with the room.
 */
export class SparePeers {
  private spares: { peer: W3cPeer; key: string; timer: ReturnType<typeof setTimeout> }[] = [];

  constructor(private readonly make: (config: PeerConfig) => W3cPeer) {}

  /** Makes `count` spares for `config` (fewer when some wait already). */
  prepare(config: PeerConfig, count: number): void {
    const key = configKey(config);
    while (this.spares.length < count) {
      const peer = this.make(config);
      peer.prepareOffer();
      const timer = setTimeout(() => this.drop(peer), KEEP_MS);
      this.spares.push({ peer, key, timer });
    }
  }

  /** A spare made for `config`, now the caller's, or undefined. */
  take(config: PeerConfig): W3cPeer | undefined {
    const key = configKey(config);
    const at = this.spares.findIndex((s) => s.key === key && s.peer.state !== 'closed');
    if (at < 0) return undefined;
    const [spare] = this.spares.splice(at, 1);
    clearTimeout(spare!.timer);
    return spare!.peer;
  }

  close(): void {
    for (const s of this.spares.splice(0)) {
      clearTimeout(s.timer);
      s.peer.close();
    }
  }

  private drop(peer: W3cPeer): void {
    this.spares = this.spares.filter((s) => s.peer !== peer);
    peer.close();
  }
}

function configKey(config: PeerConfig): string {
  return JSON.stringify([config.iceTransportPolicy, config.iceServers]);
}
