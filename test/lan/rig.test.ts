import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Room } from '../../src/protocol/index.js';
import { startCapture } from '../helpers/capture.js';
import { waitFor } from '../helpers/wait.js';
import { type Event, type HostProcess, NetnsRig } from '../helpers/netns.js';

/**
 * LanTransport itself between processes in namespaced hosts (A, B, C on one bridge), driven through the fixture
 * test/fixtures/lan/node.ts (SealedChannel + LanTransport). What a user does (discovery, frames, SIGKILL, foreign
 * rooms, the hub) is tested through the CLI in cli.test.ts; this file keeps what the CLI cannot show: a frozen
 * process noticed by heartbeat, and where the mDNS sockets are bound.
 */
describe('LAN transport in a namespaced LAN', { timeout: 120_000 }, () => {
  let rig: NetnsRig;
  let link: string;
  let viewer: HostProcess;
  let outerCapture: ReturnType<typeof startCapture> | undefined;

  before(async () => {
    // Everything mDNS that reaches this (the test's own, loopback-only) namespace would be a leak out of the rig.
    outerCapture = startCapture([]);
    await outerCapture.listening;
    rig = await NetnsRig.up(['a', 'b', 'c']);
    link = await (await Room.create()).link();
    viewer = rig.node('b', { link, role: 'viewer', name: 'viewer-b', interface: 'lan0' });
    const ready = await viewer.waitFor((e) => e.ev === 'ready', 20_000, 'viewer ready');
    assert.deepEqual(ready.mdns, { bind: '0.0.0.0', multicastInterfaces: [rig.address('b')] }, 'mDNS pinned to lan0 of host B');
  });

  after(async () => {
    await rig?.down();
    outerCapture?.stop();
  });

  async function camera(host: string, roomLink: string, name: string): Promise<{ proc: HostProcess; id: string; starting: Event }> {
    const proc = rig.node(host, { link: roomLink, role: 'camera', name, interface: 'lan0' });
    const starting = await proc.waitFor((e) => e.ev === 'starting', 20_000, `${name} starting`);
    await proc.waitFor((e) => e.ev === 'ready', 5_000, `${name} ready`);
    return { proc, id: String(starting.id), starting };
  }

  it('a camera that freezes (SIGSTOP: socket open, silent) is gone from B within 3 s by heartbeat', async () => {
    const cam = await camera('c', link, 'cam-frozen');
    await viewer.waitFor((e) => e.ev === 'peer' && e.id === cam.id, 5_000, 'viewer sees cam-frozen');
    const stoppedAt = Date.now();
    process.kill(cam.proc.pid, 'SIGSTOP');
    try {
      const gone = await viewer.waitFor((e) => e.ev === 'gone' && e.id === cam.id, 5_000, 'cam-frozen gone');
      assert.ok(gone.t - stoppedAt <= 3000, `gone ${gone.t - stoppedAt} ms after it froze`);
    } finally {
      await cam.proc.kill('SIGKILL');
    }
  });

  it('mDNS stays inside the rig: seen on lan0 of host B, zero packets outside', async () => {
    const inner = startCapture(['ip', 'netns', 'exec', rig.ns('b')], 'lan0');
    await inner.listening;
    const cam = await camera('c', link, 'cam-capture');
    await viewer.waitFor((e) => e.ev === 'peer' && e.id === cam.id, 5_000, 'viewer sees cam-capture');
    const ready = cam.proc.events.find((e) => e.ev === 'ready');
    assert.deepEqual(ready?.mdns, { bind: '0.0.0.0', multicastInterfaces: [rig.address('c')] }, 'mDNS pinned to lan0 of host C');
    // The camera re-announces and answers queries for a while: give tcpdump's line-buffered output time to show them.
    await waitFor(() => inner.count() > 0, { timeoutMs: 5000, what: 'mDNS on lan0 of host B' }).catch(() => {});
    await cam.proc.kill();
    const innerCount = await inner.stop();
    assert.ok(innerCount > 0, 'the capture works: mDNS was seen inside the rig');
    const outerCount = await outerCapture?.stop();
    outerCapture = undefined;
    assert.equal(outerCount, 0, 'no mDNS packet outside the rig');
  });
});
