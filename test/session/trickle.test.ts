import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CandidateInit } from '../../src/protocol/index.js';
import { candidatesInSdp, type TrickleBatch, TrickleBatcher } from '../../src/session/trickle.js';

const host = (port: number): CandidateInit => ({ candidate: `candidate:1 1 udp 2122260223 192.168.1.2 ${port} typ host`, mid: '0' });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('TrickleBatcher: candidates ready with the description, the rest batched', () => {
  it('ready() ends a few ms after a burst of candidates, not at its cap', async () => {
    const b = new TrickleBatcher(() => {}, 100);
    const started = performance.now();
    const ready = b.ready(1000);
    setTimeout(() => b.add(host(1)), 5);
    setTimeout(() => b.add(host(2)), 8);
    await ready;
    const ms = performance.now() - started;
    assert.ok(ms < 500, `ready after ${Math.round(ms)} ms (cap 1000)`);
  });

  it('ready() ends at once when gathering completes, and at its cap when no candidate comes', async () => {
    const done = new TrickleBatcher(() => {}, 100);
    done.gathered();
    await done.ready(60_000);
    const none = new TrickleBatcher(() => {}, 100);
    const started = performance.now();
    await none.ready(30);
    assert.ok(performance.now() - started >= 25, 'waited for its cap');
  });

  it('never sends again the candidates the description carried; later ones go in one batch with the end', async () => {
    const sent: TrickleBatch[] = [];
    const b = new TrickleBatcher((batch) => sent.push(batch), 50);
    b.add(host(1));
    b.add(host(2));
    const sdp = `v=0\r\na=mid:0\r\na=${host(1).candidate}\r\na=${host(2).candidate}\r\n`;
    b.release(candidatesInSdp(sdp));
    b.add(host(1)); // the engine's event for a candidate the description already had
    await sleep(80);
    assert.deepEqual(sent, [], 'nothing left to send');
    b.add(host(3));
    b.gathered();
    assert.deepEqual(sent, [{ candidates: [host(3)], done: true }]);
  });

  it('says done in an empty batch when gathering ends after the description and the last batch, with nothing new', async () => {
    const sent: TrickleBatch[] = [];
    const b = new TrickleBatcher((batch) => sent.push(batch), 20);
    b.release(); // the description went out before gathering completed: it could not say end-of-candidates
    b.add(host(1));
    await sleep(50);
    b.gathered();
    // Without the empty batch a WHEP gateway waited 2 s for this camera's last candidate.
    assert.deepEqual(sent, [
      { candidates: [host(1)], done: false },
      { candidates: [], done: true },
    ]);
    b.gathered();
    assert.equal(sent.length, 2, 'said once');
  });
});
