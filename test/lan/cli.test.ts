import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Room } from '../../src/protocol/index.js';
import { type HostProcess, NetnsRig } from '../helpers/netns.js';
import { startCapture } from '../helpers/capture.js';
import { sleep } from '../helpers/wait.js';

/** What `peercam ls --json` prints per device. */
interface Entry {
  id: string;
  name?: string;
  role: string;
  via: string;
  room?: string;
}

/** A CLI process in a host, with every stdout line and when the test received it. */
interface Cli {
  proc: HostProcess;
  spawnedAt: number;
  lines: { t: number; text: string }[];
}

/**
 * Issue 5's "must show", through the CLI: `peercam camera|watch|ls --lan` in three namespaced hosts (A, B, C on one
 * bridge), no broker anywhere except the hub test at the end. Latencies are measured from the camera's "is live"
 * line (the test receives it; process start-up is not counted) to the observer's line listing it.
 */
describe('peercam --lan in a namespaced LAN', { timeout: 180_000 }, () => {
  let rig: NetnsRig;
  let link: string;
  let observer: Cli;
  let porch: Cli & { id: string; liveAt: number };
  const homes: string[] = [];
  let outerCapture: ReturnType<typeof startCapture> | undefined;

  before(async () => {
    // Any mDNS reaching the test's own (loopback-only) namespace would be a leak out of the rig.
    outerCapture = startCapture([]);
    await outerCapture.listening;
    rig = await NetnsRig.up(['a', 'b', 'c']);
    link = await (await Room.create()).link();
    // A long-running observer: one JSON line per change of the merged list.
    observer = await cli('b', ['ls', '--lan', '--interface', 'lan0', '--watch', '--json', '--room', link]);
    await untilLine(observer, (l) => l === '[]', 20_000, 'the observer ready');
  });

  after(async () => {
    await rig?.down();
    outerCapture?.stop();
    for (const dir of homes) await rm(dir, { recursive: true, force: true });
  });

  async function cli(host: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Cli> {
    const home = await mkdtemp(join(tmpdir(), 'peercam-lan-'));
    homes.push(home);
    const spawnedAt = Date.now();
    const proc = rig.spawn(host, [process.execPath, '--import', 'tsx', 'src/cli/main.ts', ...args], {
      PEERCAM_HOME: home,
      PEERCAM_ICE_BIND: rig.address(host),
      ...env,
    });
    const out: Cli = { proc, spawnedAt, lines: [] };
    let buffered = '';
    proc.child.stdout?.on('data', (chunk: string) => {
      buffered += chunk;
      for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
        out.lines.push({ t: Date.now(), text: buffered.slice(0, nl) });
        buffered = buffered.slice(nl + 1);
      }
    });
    return out;
  }

  /** The first line (from index `from` on) that matches; polled, since lines are timestamped by our own listener. */
  async function untilLine(c: Cli, match: (text: string) => boolean, timeoutMs: number, what: string, from = 0) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = c.lines.slice(from).find((l) => match(l.text));
      if (hit) return hit;
      if (!c.proc.running) throw new Error(`process exited before ${what}\n${c.proc.stdout}\n${c.proc.stderr}`);
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}\nstdout:\n${c.proc.stdout}\nstderr:\n${c.proc.stderr}`);
      await sleep(5);
    }
  }

  /** The observer's first list (from line `from` on) that passes `check`. */
  function untilListed(check: (list: Entry[]) => boolean, timeoutMs: number, what: string, from = 0) {
    return untilLine(observer, (text) => text.startsWith('[') && check(JSON.parse(text) as Entry[]), timeoutMs, what, from);
  }

  async function camera(host: string, name: string, roomLink = link, extra: string[] = []): Promise<Cli & { id: string; liveAt: number }> {
    const c = await cli(host, ['camera', '--lan', '--interface', 'lan0', '--source', 'demo', '--name', name, '--room', roomLink, ...extra]);
    const live = await untilLine(c, (l) => / is live /.test(l), 30_000, `${name} live`);
    const id = /\(([a-z2-7]{16})\)/.exec(live.text)?.[1];
    assert.ok(id, `device id in "${live.text}"`);
    assert.match(live.text, /via the LAN,/, 'LAN only: no broker configured');
    return { ...c, id, liveAt: live.t };
  }

  it('a camera in host A is listed by `ls --lan` in host B within 1.5 s of starting', async () => {
    // Process start-up alone (node + tsx + the CLI's imports), to tell it apart from discovery.
    const boot = await cli('a', ['--version']);
    assert.equal(await boot.proc.exited, 0);
    const startupMs = (boot.lines[0]?.t ?? Number.NaN) - boot.spawnedAt;
    const from = observer.lines.length;
    const cam = await camera('a', 'porch');
    porch = cam;
    const listed = await untilListed((l) => l.some((e) => e.id === cam.id), 5_000, 'porch listed', from);
    const entry = (JSON.parse(listed.text) as Entry[]).find((e) => e.id === cam.id);
    assert.deepEqual(entry, { id: cam.id, name: 'porch', role: 'camera', via: 'lan' });
    const ms = listed.t - cam.liveAt;
    const fromSpawn = listed.t - cam.spawnedAt;
    process.stderr.write(
      `# porch listed ${ms} ms after its "is live" line; ${fromSpawn} ms after spawn (\`peercam --version\` alone: ${startupMs} ms)\n`,
    );
    assert.ok(ms <= 1500, `listed ${ms} ms after the camera was live`);
    // A one-shot listing says the same.
    const once = await cli('b', ['ls', '--lan', '--interface', 'lan0', '--json', '--seconds', '1.5', '--room', link]);
    assert.equal(await once.proc.exited, 0, once.proc.stderr);
    const list = JSON.parse(once.lines.at(-1)?.text ?? '[]') as Entry[];
    assert.deepEqual(list, [{ id: cam.id, name: 'porch', role: 'camera', via: 'lan' }]);
  });

  it('`watch --lan` in host B receives frames with no broker running', async () => {
    const w = await cli('b', ['watch', 'porch', '--lan', '--interface', 'lan0', '--json', '--seconds', '2', '--room', link]);
    assert.equal(await w.proc.exited, 0, w.proc.stderr);
    const report = JSON.parse(w.lines.at(-1)?.text ?? '{}') as { id: string; frames: number; codec: string; candidateType: string; firstFrameMs: number };
    assert.equal(report.id, porch.id);
    assert.ok(report.frames > 10, `${report.frames} frames`);
    assert.equal(report.codec, 'H264');
    assert.equal(report.candidateType, 'host');
    process.stderr.write(`# watch --lan: first frame ${report.firstFrameMs} ms after start (discovery included), ${report.frames} frames\n`);
  });

  it('two cameras in A and C both appear', async () => {
    const from = observer.lines.length;
    const shed = await camera('c', 'shed');
    await untilListed((l) => l.some((e) => e.id === porch.id) && l.some((e) => e.id === shed.id), 5_000, 'porch and shed listed', from);
    await shed.proc.kill('SIGTERM');
  });

  it('a camera killed with SIGKILL disappears from B within 3 s', async () => {
    const cam = await camera('c', 'doomed');
    await untilListed((l) => l.some((e) => e.id === cam.id), 5_000, 'doomed listed');
    const from = observer.lines.length;
    const killedAt = Date.now();
    await cam.proc.kill('SIGKILL');
    const gone = await untilListed((l) => !l.some((e) => e.id === cam.id), 5_000, 'doomed gone', from);
    const ms = gone.t - killedAt;
    process.stderr.write(`# doomed gone from the list ${ms} ms after SIGKILL\n`);
    assert.ok(ms <= 3000, `gone ${ms} ms after SIGKILL`);
  });

  it('a camera of another room is listed as foreign and never connected to', async () => {
    // Every TCP connection attempt towards host C from now on (our devices would dial the camera's LAN port).
    const port = 17_777;
    const syns = startCapture(['ip', 'netns', 'exec', rig.ns('c')], 'lan0', `tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn and dst port ${port}`);
    await syns.listening;
    const other = await camera('c', 'neighbour', await (await Room.create()).link(), ['--lan-port', String(port)]);
    await untilListed((l) => l.some((e) => e.id === other.id), 5_000, 'neighbour listed as foreign');
    const once = await cli('b', ['ls', '--lan', '--interface', 'lan0', '--json', '--seconds', '2.5', '--room', link]);
    assert.equal(await once.proc.exited, 0, once.proc.stderr);
    const list = JSON.parse(once.lines.at(-1)?.text ?? '[]') as Entry[];
    assert.deepEqual(
      list.find((e) => e.id === other.id),
      { id: other.id, role: 'camera', room: 'foreign', via: 'lan' },
    );
    assert.ok(list.some((e) => e.id === porch.id && e.room === undefined), 'our camera is a member');
    await other.proc.kill('SIGTERM');
    assert.equal(await syns.stop(), 0, 'nobody dialed the foreign camera');
  });

  it('`--no-mdns` with --lan is a clear error', async () => {
    const c = await cli('b', ['ls', '--lan', '--no-mdns', '--room', link]);
    assert.equal(await c.proc.exited, 2);
    assert.match(c.proc.stderr, /LAN discovery needs mDNS.*--peer ws:\/\/host:port/);
  });

  it('a hub on the LAN: devices join its broker too, so MQTT-only viewers see LAN cameras', async () => {
    const hub = await cli('c', ['up', '--interface', 'lan0', '--port', '18443', '--mqtt-port', '18830', '--no-qr', '--room', link]);
    const from = observer.lines.length;
    // The camera and the observer found the hub on the LAN and joined its broker: porch is now on both.
    await untilListed((l) => l.some((e) => e.id === porch.id && e.via === 'lan+mqtt') && l.some((e) => e.role === 'hub'), 30_000, 'porch via lan+mqtt', from);
    await untilLine(porch, (l) => /broker mqtt:\/\/10\.77\.0\.3:18830 joined/.test(l), 5_000, 'porch joined the hub broker');
    // A viewer of the hub's broker only (as the hub's browser pages are) sees the LAN camera.
    const mqttOnly = await cli('b', ['ls', '--broker', 'mqtt://10.77.0.3:18830', '--json', '--seconds', '1', '--room', link]);
    assert.equal(await mqttOnly.proc.exited, 0, mqttOnly.proc.stderr);
    const list = JSON.parse(mqttOnly.lines.at(-1)?.text ?? '[]') as Entry[];
    assert.deepEqual(
      list.find((e) => e.id === porch.id),
      { id: porch.id, name: 'porch', role: 'camera', via: 'mqtt' },
    );
    // The hub goes: LAN devices leave its broker and carry on over the LAN.
    const before = observer.lines.length;
    await hub.proc.kill('SIGTERM');
    await untilListed((l) => l.some((e) => e.id === porch.id && e.via === 'lan') && !l.some((e) => e.role === 'hub'), 5_000, 'porch back to lan only', before);
  });

  it('nothing mDNS reached the test namespace outside the rig', async () => {
    const count = await outerCapture?.stop();
    outerCapture = undefined;
    assert.equal(count, 0);
  });
});
