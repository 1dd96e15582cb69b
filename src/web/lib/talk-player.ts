import type { DeviceId } from '../../protocol/index.js';
import { h } from './dom.js';
import { icon } from './icons.js';
import type { TalkBackAudio } from '../../api/browser.js';

/**
 * Plays viewers' talk-back audio on a camera, one <audio> per viewer, with a level meter read from getStats
 * (inbound-rtp audioLevel). A browser that blocks sound until the page is touched gets a button for it.
 */
export class TalkPlayer {
  private readonly rows = new Map<DeviceId, { el: HTMLElement; timer: ReturnType<typeof setInterval> }>();

  constructor(
    private readonly root: HTMLElement,
    private readonly nameOf: (id: DeviceId) => string,
  ) {}

  add(talk: TalkBackAudio): void {
    this.remove(talk.viewer);
    const audio = h('audio', { autoplay: true });
    audio.srcObject = talk.stream;
    const meter = h('meter', { min: 0, max: 1, value: 0, 'aria-label': 'talk-back level' });
    const unblock = h('button', { type: 'button', hidden: true, onclick: () => void audio.play().then(() => (unblock.hidden = true)) }, 'Tap to hear');
    // Every viewer has a talk-back transceiver; a row shows only while sound actually arrives from it.
    const el = h('li', { class: 'talker', 'data-viewer': talk.viewer, hidden: true }, h('span', {}, icon('speaker'), ` ${this.nameOf(talk.viewer)}`), meter, unblock, audio);
    audio.play().catch(() => (unblock.hidden = false));
    this.root.append(el);
    let packets = 0;
    let heardAt = 0;
    const timer = setInterval(async () => {
      if (talk.peerConnection.connectionState === 'closed') return this.remove(talk.viewer);
      const report = await talk.peerConnection.getStats().catch(() => undefined);
      report?.forEach((s: RTCStats) => {
        const r = s as RTCInboundRtpStreamStats;
        if (s.type !== 'inbound-rtp' || r.kind !== 'audio') return;
        meter.value = r.audioLevel ?? 0;
        el.dataset.energy = String(r.totalAudioEnergy ?? 0);
        el.dataset.packets = String(r.packetsReceived ?? 0);
        el.classList.toggle('speaking', (r.audioLevel ?? 0) > 0.01);
        if ((r.packetsReceived ?? 0) > packets) heardAt = performance.now();
        packets = r.packetsReceived ?? 0;
        el.hidden = performance.now() - heardAt > 2000;
      });
    }, 250);
    this.rows.set(talk.viewer, { el, timer });
  }

  remove(viewer: DeviceId): void {
    const row = this.rows.get(viewer);
    if (!row) return;
    clearInterval(row.timer);
    row.el.remove();
    this.rows.delete(viewer);
  }
}
