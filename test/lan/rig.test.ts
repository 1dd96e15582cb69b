import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { Room } from '../../src/protocol/index.js';
import { type Event, type HostProcess, NetnsRig } from '../helpers/netns.js';

/**
 * LAN discovery and direct links between processes in three namespaced hosts (A, B, C on one bridge). Devices are
 * the fixture test/fixtures/lan/node.ts (SealedChannel over LanTransport); later this suite can drive the CLI with
 * `--lan` instead by swapping rig.node() for a spawn of `peercam camera|watch|ls --lan`.
 */
describe('LAN transport in a namespaced LAN', { timeout: 120_000 }, () => {
  let rig: NetnsRig;
  let link: string;
  let viewer: HostProcess;
  let viewerId: string;
  let outerCapture: ReturnType<typeof startCapture> | undefined;
  let cameraA: { proc: HostProcess; id: string };

  before(async () => {
    // Everything mDNS that reaches this (the test's own, loopback-only) namespace would be a leak out of the rig.
    outerCapture = startCapture([]);
    await outerCapture.listening;
    rig = await NetnsRig.up(['a', 'b', 'c']);
    link = await (await Room.create()).link();
    viewer = rig.node('b', { link, role: 'viewer', name: 'viewer-b', interface: 'lan0' });
    viewerId = String((await viewer.waitFor((e) => e.ev === 'ready', 20_000, 'viewer ready')).id);
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

  it('a camera in host A is seen by a viewer in host B within 1.5 s of starting', async () => {
    const cam = await camera('a', link, 'cam-a');
    cameraA = cam;
    const seen = await viewer.waitFor((e) => e.ev === 'peer' && e.id === cam.id, 5_000, 'viewer sees cam-a');
    assert.equal(seen.role, 'camera');
    assert.equal(seen.name, 'cam-a');
    assert.ok(seen.t - cam.starting.t <= 1500, `seen ${seen.t - cam.starting.t} ms after the camera started`);
    const ready = cam.proc.events.find((e) => e.ev === 'ready');
    assert.deepEqual(ready?.mdns, { bind: '0.0.0.0', multicastInterface: rig.address('a') }, 'mDNS pinned to lan0 of host A');
  });

  it('a message sent B -> A over the direct link arrives', async () => {
    viewer.send({ cmd: 'send', to: cameraA.id, text: 'hello from B' });
    const got = await cameraA.proc.waitFor((e) => e.ev === 'message', 5_000, 'cam-a receives the message');
    assert.equal(got.from, viewerId);
    assert.equal(got.type, 'hangup');
    assert.deepEqual(got.body, { reason: 'hello from B' });
  });

  it('two cameras in A and C both appear', async () => {
    const camC = await camera('c', link, 'cam-c');
    await viewer.waitFor((e) => e.ev === 'peer' && e.id === camC.id, 5_000, 'viewer sees cam-c');
    const stats = await viewer.ask({ cmd: 'stats' }, 'stats');
    assert.deepEqual(new Set(stats.connected as string[]), new Set([cameraA.id, camC.id]));
    await camC.proc.kill();
  });

  it('a camera killed with SIGKILL disappears from B within 3 s', async () => {
    const cam = await camera('c', link, 'cam-kill');
    await viewer.waitFor((e) => e.ev === 'peer' && e.id === cam.id, 5_000, 'viewer sees cam-kill');
    const killedAt = Date.now();
    await cam.proc.kill('SIGKILL');
    const gone = await viewer.waitFor((e) => e.ev === 'gone' && e.id === cam.id, 5_000, 'cam-kill gone');
    assert.ok(gone.t - killedAt <= 3000, `gone ${gone.t - killedAt} ms after SIGKILL`);
  });

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

  it('a camera of another room is reported foreign and never connected to', async () => {
    const otherLink = await (await Room.create()).link();
    const foreign = await camera('c', otherLink, 'cam-foreign');
    const seen = await viewer.waitFor((e) => e.ev === 'foreign' && e.id === foreign.id, 5_000, 'viewer reports cam-foreign');
    assert.equal(seen.address, rig.address('c'));
    // Give a wrong dial every chance to happen: a few browse rounds.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    const fstats = await foreign.proc.ask({ cmd: 'stats' }, 'stats');
    assert.equal(fstats.inbound, 0, 'the foreign camera saw no connection');
    const vstats = await viewer.ask({ cmd: 'stats' }, 'stats');
    assert.ok(!(vstats.connected as string[]).includes(foreign.id));
    assert.ok((vstats.foreign as string[]).includes(foreign.id));
    assert.ok(!viewer.events.some((e) => e.ev === 'peer' && e.id === foreign.id));
    await foreign.proc.kill();
  });

  it('mDNS stays inside the rig: seen on lan0 of host B, zero packets outside', async () => {
    const inner = startCapture(['ip', 'netns', 'exec', rig.ns('b')], 'lan0');
    await inner.listening;
    const cam = await camera('c', link, 'cam-capture');
    await viewer.waitFor((e) => e.ev === 'peer' && e.id === cam.id, 5_000, 'viewer sees cam-capture');
    await cam.proc.kill();
    const innerCount = await inner.stop();
    assert.ok(innerCount > 0, 'the capture works: mDNS was seen inside the rig');
    const outerCount = await outerCapture?.stop();
    outerCapture = undefined;
    assert.equal(outerCount, 0, 'no mDNS packet outside the rig');
  });
});

/** tcpdump of UDP 5353 (in our own namespace, or inside a host with a prefix); `stop()` resolves to the packet count. */
function startCapture(prefix: readonly string[], iface = 'any') {
  const argv = [...prefix, 'tcpdump', '-i', iface, '-n', '-l', '-p', 'udp', 'port', '5353'];
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let packets = 0;
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    packets += chunk.split('\n').filter((l) => l.trim() !== '').length;
  });
  const listening = new Promise<void>((resolve, reject) => {
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
      if (stderr.includes('listening on')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`tcpdump exited (${code}): ${stderr}`)));
  });
  listening.catch(() => {});
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve())); // 'close': after stdout drained
  return {
    listening,
    async stop(): Promise<number> {
      if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGINT');
      await exited;
      return packets;
    },
  };
}
