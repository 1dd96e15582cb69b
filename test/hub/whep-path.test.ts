import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { choosePath } from '../../src/hub/whep/path.js';

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
});
