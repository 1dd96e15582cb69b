import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Logger, newDeviceId, newSessionId } from '../../src/protocol/index.js';
import { SealedChannel } from '../../src/signaling/channel.js';
import { MemoryBroker } from '../../src/signaling/memory.js';
import { DropLog, RateLimiter } from '../../src/signaling/rate-limit.js';
import { Room } from '../../src/protocol/index.js';
import { waitFor } from '../helpers/wait.js';

function recordingLogger(lines: { obj: object; msg: string | undefined }[]): Logger {
  const log: Logger = {
    debug() {},
    info() {},
    warn: (obj, msg) => void lines.push({ obj, msg }),
    error: (obj, msg) => void lines.push({ obj, msg }),
    child: () => log,
  };
  return log;
}

describe('per-sender rate limits', () => {
  it('a token bucket allows the burst, then the sustained rate, per sender', () => {
    let now = 0;
    const limiter = new RateLimiter({ burst: 5, perSecond: 2, now: () => now });
    const taken = Array.from({ length: 8 }, () => limiter.take('a'));
    assert.deepEqual(taken, [true, true, true, true, true, false, false, false]);
    assert.equal(limiter.take('b'), true, 'another sender has its own budget');
    now += 1000; // two tokens back
    assert.deepEqual([limiter.take('a'), limiter.take('a'), limiter.take('a')], [true, true, false]);
    now += 60_000; // refills up to the burst, not beyond
    assert.equal(Array.from({ length: 7 }, () => limiter.take('a')).filter(Boolean).length, 5);
  });

  it('remembers at most maxSenders, forgetting the least recently seen', () => {
    const limiter = new RateLimiter({ burst: 1, perSecond: 0.001, maxSenders: 3, now: () => 0 });
    for (const s of ['a', 'b', 'c']) assert.equal(limiter.take(s), true);
    assert.equal(limiter.take('a'), false);
    limiter.take('d'); // evicts b (a was used more recently)
    assert.equal(limiter.size, 3);
    assert.equal(limiter.take('b'), true, 'a forgotten sender starts with a fresh bucket');
    assert.equal(limiter.take('a'), false);
  });

  it('rejects a budget that makes no sense', () => {
    assert.throws(() => new RateLimiter({ burst: 0 }), RangeError);
    assert.throws(() => new RateLimiter({ perSecond: 0 }), RangeError);
  });

  it('logs a flood of drops once per interval with a count, not once per message', () => {
    let now = 0;
    const lines: { obj: object; msg: string | undefined }[] = [];
    const drops = new DropLog(recordingLogger(lines), 10_000, () => now);
    for (let i = 0; i < 1000; i++) drops.note('bad-tag', `#${i}`);
    drops.note('rate-limited', 'x');
    assert.equal(lines.length, 2, 'first of each reason');
    now += 10_000;
    drops.note('bad-tag', 'later');
    assert.equal(lines.length, 3);
    assert.match(lines[2]?.msg ?? '', /dropped 1000 signaling messages \(bad-tag\)/);
    assert.equal((lines[2]!.obj as { suppressed: number }).suppressed, 999);
  });

  it('SealedChannel drops an authenticated member over its budget as rate-limited; others still get through', async (t) => {
    const broker = new MemoryBroker();
    const room = await Room.create();
    const lines: { obj: object; msg: string | undefined }[] = [];
    const make = (name: string, extra: object = {}) =>
      new SealedChannel(room, broker.transport(), { self: newDeviceId(), presence: { name, role: 'viewer' }, ...extra });
    const camera = make('camera', { rateLimit: { burst: 10, perSecond: 0.01 }, log: recordingLogger(lines) });
    const noisy = make('noisy');
    const calm = make('calm');
    for (const c of [camera, noisy, calm]) t.after(() => c.close());
    await Promise.all([camera, noisy, calm].map((c) => c.start()));
    const got: string[] = [];
    const dropped: string[] = [];
    camera.on('message', (e) => got.push(e.from));
    camera.on('dropped', (reason) => dropped.push(reason));
    await waitFor(() => camera.peers.size === 2, { timeoutMs: 2000, what: 'presences' });
    await Promise.all(Array.from({ length: 50 }, () => noisy.send(camera.self, 'hangup', newSessionId(), { reason: 'spam' })));
    await calm.send(camera.self, 'hangup', newSessionId(), { reason: 'hello' });
    await waitFor(() => got.length + dropped.length === 51, { timeoutMs: 2000, what: 'all 51 messages handled' });
    // Its presence spent one token of the burst of 10.
    assert.equal(got.filter((f) => f === noisy.self).length, 9, 'the burst passes');
    assert.equal(dropped.filter((r) => r === 'rate-limited').length, 41);
    assert.ok(got.includes(calm.self), 'a calm member is not affected');
    assert.equal(lines.filter((l) => (l.obj as { reason?: string }).reason === 'rate-limited').length, 1, 'logged once, not 40 times');
  });
});
