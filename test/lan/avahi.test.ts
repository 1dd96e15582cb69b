import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { newDeviceId, Room } from '../../src/protocol/index.js';
import { type HostProcess, NetnsRig } from '../helpers/netns.js';

/** Interop with Avahi (the Linux reference mDNS stack), each daemon in its host namespace with its own dbus. */
describe('LAN discovery interoperates with Avahi', { timeout: 120_000 }, () => {
  let rig: NetnsRig;
  let dir: string;
  let room: Room;
  let link: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'peercam-avahi-'));
    rig = await NetnsRig.up(['a', 'b', 'c']);
    room = await Room.create();
    link = await room.link();
  });

  after(async () => {
    await rig?.down();
    await rm(dir, { recursive: true, force: true });
  });

  it('avahi-browse -rpt in host B resolves our camera advertised in A, with its TXT records', async () => {
    const avahiB = await rig.avahi('b', join(dir, 'b'));
    const cam: HostProcess = rig.node('a', { link, role: 'camera', name: 'cam-a', interface: 'lan0' });
    const ready = await cam.waitFor((e) => e.ev === 'ready', 20_000, 'camera ready');
    const port = Number(ready.port);
    let line: string | undefined;
    const deadline = Date.now() + 10_000;
    while (!line && Date.now() < deadline) {
      const out = await avahiB.run(['avahi-browse', '-rpt', '_peercam._tcp']);
      line = out.split('\n').find((l) => l.startsWith('=') && l.includes(`;${port};`));
    }
    assert.ok(line, 'avahi-browse resolved the camera');
    // =;lan0;IPv4;<instance>;_peercam._tcp;local;<host>;<address>;<port>;"k=v" ...
    const fields = line.split(';');
    assert.equal(fields[1], 'lan0');
    assert.equal(fields[4], '_peercam._tcp');
    assert.equal(fields[3], 'cam-a');
    assert.equal(fields[7], rig.address('a'));
    const txt = new Set([...(fields[9] ?? '').matchAll(/"([^"]*)"/g)].map((m) => m[1]));
    assert.deepEqual(txt, new Set(['v=1', `id=${ready.id}`, `r=${room.id}`, 'role=camera']));
  });

  it('our browser in host B sees a service published with avahi-publish in host C', async () => {
    const avahiC = await rig.avahi('c', join(dir, 'c'));
    const viewer = rig.node('b', { link, role: 'viewer', name: 'viewer-b', interface: 'lan0' });
    await viewer.waitFor((e) => e.ev === 'ready', 20_000, 'viewer ready');
    const id = newDeviceId();
    const publish = avahiC.spawn(['avahi-publish', '-s', 'avahi-cam', '_peercam._tcp', '4242', 'v=1', `id=${id}`, `r=${room.id}`, 'role=camera']);
    const seen = await viewer.waitFor((e) => e.ev === 'service' && e.id === id, 10_000, 'viewer resolves the Avahi service');
    assert.equal(seen.room, room.id);
    assert.equal(seen.role, 'camera');
    assert.equal(seen.port, 4242);
    assert.equal(seen.address, rig.address('c'));
    assert.match(String(seen.instance), /^avahi-cam\._peercam\._tcp\.local$/i);
    await publish.kill('SIGTERM');
  });
});
