import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Room } from '../../src/protocol/index.js';
import { startCapture } from '../helpers/capture.js';
import { type HostProcess, NetnsRig } from '../helpers/netns.js';

/** What `peercam ls --json` prints per device. */
interface Entry {
  id: string;
  name?: string;
  role: string;
  via: string;
}

/**
 * Issue 9 item 2: `--lan` with no `--interface` in hosts whose only network interface is a veth (`lan0@ifN` in
 * `ip link`, as in Docker, LXC, Kubernetes): every non-loopback IPv4 interface is used, ciao is given the names, and
 * discovery works both ways; a host with loopback alone is told so.
 */
describe('peercam --lan with no --interface (veth names)', { timeout: 170_000 }, () => {
  let rig: NetnsRig;
  let link: string;
  const homes: string[] = [];
  let outerCapture: ReturnType<typeof startCapture> | undefined;

  before(async () => {
    // Any mDNS reaching the test's own (loopback-only) namespace would be a leak out of the rig.
    outerCapture = startCapture([]);
    await outerCapture.listening;
    rig = await NetnsRig.up(['a', 'b']);
    link = await (await Room.create()).link();
  });
  after(async () => {
    await rig?.down();
    outerCapture?.stop();
    for (const dir of homes) await rm(dir, { recursive: true, force: true });
  });

  /** `peercam <args>` (from the sources, like the other LAN CLI tests) in a host, with a data dir of its own. */
  async function cli(host: string, args: string[], wrap: string[] = []): Promise<HostProcess> {
    const home = await mkdtemp(join(tmpdir(), 'peercam-lan-'));
    homes.push(home);
    return rig.spawn(host, [...wrap, process.execPath, '--import', 'tsx', 'src/cli/main.ts', ...args], {
      PEERCAM_HOME: home,
      PEERCAM_ICE_BIND: rig.address(host),
    });
  }

  /** The last stdout line of a process that ran to completion (exit 0). */
  async function lastLine(p: HostProcess): Promise<string> {
    assert.equal(await p.exited, 0, p.stderr);
    return p.stdout.trim().split('\n').at(-1) ?? '';
  }

  it('the rig shows veth names, the ones ciao could not match', async () => {
    const { stdout } = await rig.exec('a', ['ip', '-o', 'link', 'show', 'lan0']);
    assert.match(stdout, /lan0@if\d+/);
  });

  for (const [camHost, viewHost] of [
    ['a', 'b'],
    ['b', 'a'],
  ] as const) {
    it(`a camera in host ${camHost.toUpperCase()} is listed by ls --lan and plays in watch --lan in host ${viewHost.toUpperCase()}`, async () => {
      const name = `anyif-${camHost}`;
      const cam = await cli(camHost, ['camera', '--lan', '--source', 'demo', '--name', name, '--room', link]);
      try {
        const id = await cam.until(() => /\(([a-z2-7]{16})\) is live /.exec(cam.stdout)?.[1], 30_000, `${name} live`);
        assert.match(cam.stdout, /via the LAN,/);
        // `ls` only browses (it neither announces nor advertises): it can list the camera only from its mDNS records.
        const list = JSON.parse(await lastLine(await cli(viewHost, ['ls', '--lan', '--json', '--seconds', '2', '--room', link]))) as Entry[];
        assert.deepEqual(list.find((e) => e.id === id), { id, name, role: 'camera', via: 'lan' }, JSON.stringify(list));
        const w = await cli(viewHost, ['watch', name, '--lan', '--json', '--seconds', '2', '--room', link]);
        const report = JSON.parse(await lastLine(w)) as { id: string; frames: number; firstFrameMs: number };
        assert.equal(report.id, id);
        assert.ok(report.frames > 10, `${report.frames} frames`);
        assert.doesNotMatch(cam.stderr + w.stderr, /besides loopback/);
        process.stderr.write(`# no --interface, camera in ${camHost}, watch in ${viewHost}: first frame ${report.firstFrameMs} ms (discovery included)\n`);
      } finally {
        await cam.kill('SIGTERM');
      }
    });
  }

  it('a host with loopback alone: --lan says discovery reaches only this machine', async () => {
    // A fresh network namespace inside host A: loopback only (mDNS there reaches nothing outside it).
    const p = await cli('a', ['ls', '--lan', '--json', '--seconds', '1', '--room', link], ['unshare', '-n', 'sh', '-c', 'ip link set lo up && exec "$0" "$@"']);
    assert.equal(await p.exited, 0, p.stderr);
    assert.match(p.stderr, /peercam: no network interface with an IPv4 address here besides loopback.*--peer ws:\/\/host:port/);
  });

  it('nothing mDNS reached the test namespace outside the rig', async () => {
    const count = await outerCapture?.stop();
    outerCapture = undefined;
    assert.equal(count, 0);
  });
});
