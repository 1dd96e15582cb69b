import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WhepGateway } from '../../src/hub/whep/gateway.js';
import { choosePath } from '../../src/hub/whep/path.js';
import { whepOffer } from '../fixtures/whep/offer.js';
import { memoryRoom } from '../helpers/memory-room.js';
import { waitFor } from '../helpers/wait.js';

const host = (address: string) => `candidate:1 1 UDP 2122317823 ${address} 50000 typ host`;
const srflx = (address: string) => `candidate:2 1 UDP 1686052607 ${address} 50001 typ srflx raddr 192.168.1.2 rport 50000`;
const relay = (address: string) => `candidate:3 1 UDP 41885695 ${address} 50002 typ relay raddr 0.0.0.0 rport 0`;

/** `--whep-relay auto` (docs/WHEP.md): direct when the client can plausibly reach the camera, else the hub relays. */
describe('WHEP path (auto): direct or relayed', () => {
  const path = (client: string, camera: string[], clientHasIceServers = false) => choosePath({ client, camera, clientHasIceServers }).path;

  it('direct: a client on the hub machine, a camera on the client LAN (IPv4 /24, IPv6 /64), a camera with TURN', () => {
    assert.equal(path('127.0.0.1', [host('192.168.1.2')]), 'direct');
    assert.equal(path('::1', [host('10.0.0.2')]), 'direct');
    assert.equal(path('::ffff:192.168.1.20', [host('192.168.1.2')]), 'direct');
    assert.equal(path('2001:db8:1:2::20', [host('2001:db8:1:2:0:0:0:2')]), 'direct');
    assert.equal(path('203.0.113.3', [host('192.168.1.2'), relay('203.0.113.10')]), 'direct');
  });

  it('direct: a LAN client and a browser camera behind mDNS names; both sides with STUN', () => {
    assert.equal(path('192.168.7.20', [host('5f3a2c1e-0c1d-4d3e-9f00-1a2b3c4d5e6f.local')]), 'direct');
    assert.equal(path('198.51.100.7', [host('192.168.1.2'), srflx('203.0.113.2')], true), 'direct');
  });

  it('relay: a client from elsewhere and a camera with private host addresses only; srflx without client STUN; no candidates', () => {
    assert.equal(path('203.0.113.3', [host('192.168.1.2')]), 'relay');
    assert.equal(path('::ffff:203.0.113.3', [host('192.168.1.2'), host('fd00::2')]), 'relay');
    assert.equal(path('198.51.100.7', [host('192.168.1.2'), srflx('203.0.113.2')], false), 'relay');
    assert.equal(path('198.51.100.7', [host('5f3a2c1e-0c1d-4d3e-9f00-1a2b3c4d5e6f.local')]), 'relay');
    assert.equal(path('192.168.2.20', []), 'relay');
  });

  it('the gateway decides from the camera\'s last direct answer, and relays a client whose direct session failed ICE', async () => {
    const { channels } = await memoryRoom(['hub', 'camera']);
    const [hub, cam] = channels;
    assert.ok(hub && cam);
    // A camera that answers with one private host candidate, then finds that ICE fails and asks for a restart.
    cam.on('message', (e) => {
      if (e.type !== 'offer') return;
      const { gen } = e.body;
      void (async () => {
        await cam.send(e.from, 'answer', e.sid, { sdp: 'v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:0\r\na=sendonly\r\n', gen, restartable: false });
        await cam.send(e.from, 'candidates', e.sid, { gen, candidates: [{ candidate: host('192.168.1.2'), mid: '0' }], done: true });
        await cam.send(e.from, 'restart', e.sid, { reason: 'ICE failed' });
      })();
    });
    const gateway = new WhepGateway({ channel: hub, candidatesMs: 500 });
    try {
      await waitFor(() => gateway.isLive('camera-1'), { timeoutMs: 5000, what: 'the gateway to see the camera' });
      const camera = gateway.camera('camera-1');
      assert.equal(gateway.decide(camera, '192.168.1.20'), 'ask', 'no answer of this camera seen yet');
      const { session } = await gateway.open(camera, whepOffer(), undefined, { mode: 'auto', client: '192.168.1.20' });
      assert.equal(session.relay, undefined, 'a client on the camera LAN goes direct');
      assert.equal(gateway.decide(camera, '203.0.113.3'), 'relay', 'decided from the camera answer: a client from elsewhere is relayed');
      await waitFor(() => gateway.decide(camera, '192.168.1.20') === 'relay', { timeoutMs: 5000, what: 'the failed direct session to count' });
      assert.equal(gateway.decide(camera, '192.168.1.21'), 'direct', 'only the client whose session failed');
    } finally {
      await gateway.close();
      await Promise.all(channels.map((c) => c.close()));
    }
  });
});
