import { DataChannelIndex } from './data-index.js';
import { MsePlayer } from './mse-player.js';
import type { RemoteRecorder } from './remote.js';
import type { RecordingsSource } from './source.js';

/** Download streams take as much as the channel carries: one credit for the whole clip. */
const DOWNLOAD_CREDIT = Number.MAX_SAFE_INTEGER;

/** Recordings from the room's recorder over a data channel: what DataChannelIndex lists, played through MSE. */
export class DataChannelRecordings extends DataChannelIndex implements RecordingsSource {
  private readonly player: MsePlayer;

  constructor(recorder: RemoteRecorder, video: HTMLVideoElement, aheadS?: number) {
    super(recorder);
    this.player = new MsePlayer(video, () => recorder.open(), aheadS);
  }

  play(camera: string, from: number, seconds: number): Promise<number | undefined> {
    return this.player.play(camera, from, seconds);
  }

  offerDownload(link: HTMLAnchorElement, camera: string, from: number, seconds: number): void {
    link.removeAttribute('href');
    link.href = '#download';
    link.onclick = (e) => {
      e.preventDefault();
      void this.download(link, camera, from, seconds);
    };
  }

  /** Fetches the whole clip over the channel, then saves it; says how fast it came (multiples of real time). */
  private async download(a: HTMLAnchorElement, camera: string, from: number, seconds: number): Promise<void> {
    const link = await this.recorder.open();
    const parts: Uint8Array[] = [];
    const t0 = performance.now();
    let firstByte: number | undefined;
    const done = new Promise<number>((resolve) => {
      const onBytes = (b: Uint8Array) => {
        firstByte ??= performance.now() - t0;
        parts.push(b.slice());
      };
      void link
        .clip(camera, from, seconds, DOWNLOAD_CREDIT, { onBytes, onDone: (bytes) => resolve(bytes) })
        .then(({ header }) => {
          a.dataset.clipSeconds = String(header.durationMs / 1000);
        })
        .catch(() => resolve(-1));
    });
    const bytes = await done;
    const elapsed = performance.now() - t0;
    if (bytes < 0) return;
    a.dataset.bytes = String(bytes);
    a.dataset.ms = String(Math.round(elapsed));
    // Asking, finding the clip and the first message apart from the transfer itself (tests, bug reports).
    a.dataset.firstByteMs = String(Math.round(firstByte ?? elapsed));
    const blob = new Blob(parts as BlobPart[], { type: 'video/mp4' });
    const save = document.createElement('a');
    save.href = URL.createObjectURL(blob);
    save.download = `${camera}_${new Date(from).toISOString().replace(/[:.]/g, '-')}.mp4`;
    save.click();
    setTimeout(() => URL.revokeObjectURL(save.href), 60_000);
  }
}
