import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Fanout } from '../../src/media/fanout.js';
import type { ViewerFeed } from '../../src/media/viewer-feed.js';
import { ClipStream } from './clip.js';

setFlagsFromString('--expose-gc');
const gc: () => void = runInNewContext('gc');

async function settle(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    gc();
    await sleep(10);
  }
  return process.memoryUsage().heapUsed;
}

describe('Fanout memory', () => {
  const f = new Fanout({ codec: 'H264', clockRate: 90000, tickMs: 1, burstBytesPerTick: 1 << 20 });
  after(() => f.close());

  it('frees everything a viewer held over 100 add/remove cycles', async () => {
    const src = new ClipStream();
    for (const p of src.frames(45)) f.push(p); // a GOP of 15 frames cached
    const cycle = async (refs: WeakRef<ViewerFeed>[]) => {
      let got = 0;
      const feed = f.addViewer({ payloadType: 96, sink: (b) => (got += b.length) });
      refs.push(new WeakRef(feed));
      await new Promise<void>((resolve) => feed.on('state', (s) => s === 'live' && resolve()));
      for (const p of src.frames(3)) f.push(p); // live packets fill its NACK history
      assert.ok(got > 0);
      feed.close();
    };
    // Warm-up: JIT, lazily allocated internals.
    await cycle([]);
    const before = await settle();
    const refs: WeakRef<ViewerFeed>[] = [];
    for (let i = 0; i < 100; i++) await cycle(refs);
    const afterHeap = await settle();
    assert.equal(f.viewerCount, 0);
    assert.equal(refs.filter((r) => r.deref() !== undefined).length, 0, 'every closed feed was collected');
    // Each feed held a GOP-sized burst in its history (~100 KB); 100 leaked would be ~10 MB.
    const grown = afterHeap - before;
    assert.ok(grown < 2 * 1024 * 1024, `heap grew by ${grown} bytes over 100 cycles`);
  });
});
