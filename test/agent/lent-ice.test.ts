import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import mqtt from 'mqtt';
import type { WatchReport } from '../../src/agent/watch.js';
import { loadRoom } from '../../src/cli/home.js';
import { newDeviceId } from '../../src/protocol/index.js';
import { SealedChannel, type PeerInfo } from '../../src/signaling/channel.js';
import { MqttTransport } from '../../src/signaling/mqtt.js';
import { type MosquittoBroker, startMosquitto } from '../helpers/brokers.js';
import { cliHome, runCli, spawnCli } from '../helpers/cli.js';
import { type Coturn, startCoturn } from '../helpers/coturn.js';

const SECRET = 'owner-only-turn-secret-4711';

/**
 * ICE servers that travel with the room: a camera given a TURN REST secret lends minted, short-lived TURN credentials
 * in its sealed presence; a `peercam watch` with no ICE server of its own relays through them. A subscriber on `#`
 * sees none of it.
 */
describe('ICE servers lent in the sealed presence, TURN REST credentials', () => {
  let broker: MosquittoBroker;
  let turn: Coturn;
  before(async () => {
    broker = await startMosquitto();
    turn = await startCoturn({ relayIp: '127.0.0.2', authSecret: SECRET });
  });
  after(async () => {
    await turn.stop();
    await broker.stop();
  });

  it('a viewer without ICE servers relays through the camera’s minted TURN credentials; the broker sees no ICE detail', async (t) => {
    const eavesdropper = await mqtt.connectAsync(broker.url, { protocolVersion: 5, reconnectPeriod: 0 });
    t.after(() => eavesdropper.endAsync(true));
    const seen: string[] = [];
    eavesdropper.on('message', (topic, payload) => seen.push(`${topic} ${payload.toString('latin1')}`));
    await eavesdropper.subscribeAsync('#', { qos: 1 });

    const home = await cliHome();
    t.after(() => home.remove());
    assert.equal((await runCli(['room', 'new', '--no-qr', '--broker', broker.url], home.env)).code, 0);
    const turnUrl = turn.urls.udp; // no user:pass in it: minted from the secret
    const camera = spawnCli(['camera', '--source', 'demo', '--name', 'shelf', '--relay', '--ice-server', turnUrl, '--turn-ttl', '3600'], {
      ...home.env,
      PEERCAM_TURN_SECRET: SECRET,
    });
    t.after(() => camera.kill());
    await camera.waitFor(/is live in room/);

    // What a member reads in the camera's presence: minted credentials, `<expiry>:<name>`, never the secret.
    const room = await loadRoom(join(home.dir, 'room'));
    const member = new SealedChannel(room, new MqttTransport({ url: broker.url }), { self: newDeviceId(), presence: { name: 'm', role: 'viewer' }, announce: false });
    t.after(() => member.close());
    const lent = new Promise<PeerInfo>((resolve) => member.on('peer', (p) => p.role === 'camera' && resolve(p)));
    await member.start();
    const cam = await lent;
    const server = cam.ice?.servers[0] ?? assert.fail('the camera lends no ICE server');
    assert.equal(server.urls, turnUrl);
    const [expiry, name] = (server.username ?? '').split(':');
    assert.equal(name, 'peercam');
    const left = Number(expiry) - Date.now() / 1000;
    assert.ok(left > 3500 && left <= 3600, `credential lives ${left} s more, --turn-ttl 3600`);
    assert.equal(server.credential, createHmac('sha1', SECRET).update(server.username ?? '').digest('base64'));
    assert.equal(cam.ice?.policy, 'relay');
    assert.ok(!JSON.stringify(cam).includes(SECRET));

    // The viewer has no ICE server at all (a loopback broker adds no default): only the lent TURN can carry it.
    const r = await runCli(['watch', 'shelf', '--seconds', '2', '--json', '--relay'], home.env);
    assert.equal(r.code, 0, `watch failed: ${r.stdout}\n${r.stderr}`);
    const report = JSON.parse(r.stdout) as WatchReport;
    assert.equal(report.candidateType, 'relay');
    assert.ok(report.frames >= 20, `frames ${report.frames}`);
    assert.match(await turn.log(), /peercam/, 'coturn saw the minted username');

    const wire = seen.join('\n');
    assert.ok(seen.length > 0, 'the eavesdropper received the room traffic');
    for (const secretish of [SECRET, turnUrl, '127.0.0.1', 'turn:', server.username ?? '', server.credential ?? '', 'iceServers', '"ice"'])
      assert.ok(!wire.includes(secretish), `"${secretish}" is readable on the broker`);
  });
});
