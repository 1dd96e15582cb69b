import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { toNdcIceServer, toRtcConfig } from '../../src/media/ndc/config.js';
import { engineLogFromEnv } from '../../src/media/ndc/connection.js';
import { TurnBridge } from '../../src/media/ndc/turn-bridge.js';
import { PeercamError } from '../../src/protocol/index.js';

const creds = { username: 'u', credential: 'p:@x' };

describe('node-datachannel ICE configuration', () => {
  it('converts STUN and TURN URLs (udp, tcp, tls, IPv6) to the object form', () => {
    assert.deepEqual(toNdcIceServer('stun:example.org', { urls: '' }), { hostname: 'example.org', port: 3478 });
    assert.deepEqual(toNdcIceServer('turn:10.0.0.1:3479?transport=udp', { urls: '', ...creds }), {
      hostname: '10.0.0.1',
      port: 3479,
      username: 'u',
      password: 'p:@x',
      relayType: 'TurnUdp',
    });
    assert.equal(toNdcIceServer('turn:h:1?transport=tcp', { urls: '', ...creds }).relayType, 'TurnTcp');
    assert.deepEqual(toNdcIceServer('turns:[::1]', { urls: '', ...creds }), {
      hostname: '::1',
      port: 5349,
      username: 'u',
      password: 'p:@x',
      relayType: 'TurnTls',
    });
  });

  it('rejects malformed URLs and TURN without credentials with a config error', () => {
    const isConfig = (e: unknown) => e instanceof PeercamError && e.code === 'bad-config';
    assert.throws(() => toNdcIceServer('http://x', { urls: '' }), isConfig);
    assert.throws(() => toNdcIceServer('turn:h:3478', { urls: '' }), isConfig);
    assert.throws(() => toNdcIceServer('stun:h:70000', { urls: '' }), isConfig);
  });

  it('skips TCP/TLS relays without a bridge (libjuice cannot use them) and refuses relay-only without a usable relay', () => {
    const tcp = { urls: 'turn:127.0.0.1:3478?transport=tcp', ...creds };
    const udp = { urls: ['turn:127.0.0.1:3478?transport=udp'], ...creds };
    assert.deepEqual(toRtcConfig({ iceServers: [tcp, udp], iceTransportPolicy: 'relay' }, {}).iceServers.length, 1);
    assert.throws(
      () => toRtcConfig({ iceServers: [tcp], iceTransportPolicy: 'relay' }, {}),
      (e: unknown) => e instanceof PeercamError && /needs a TURN server/.test(e.message),
    );
  });

  it('with a TurnBridge, TCP and TLS relays become UDP relays on a local port of the bridge', async () => {
    const config = {
      iceServers: [{ urls: ['turn:192.0.2.1:3478?transport=tcp', 'turns:turn.example:443?transport=tcp'], ...creds }, { urls: 'stun:192.0.2.1' }],
      iceTransportPolicy: 'relay' as const,
    };
    const bridge = await TurnBridge.open(config);
    assert.ok(bridge);
    try {
      const servers = toRtcConfig(config, { turnBridge: bridge }).iceServers.map((s) => (typeof s === 'string' ? assert.fail(`object form expected: ${s}`) : s));
      assert.equal(servers.length, 3);
      const [tcp, tls] = servers;
      assert.equal(tcp?.hostname, '127.0.0.1');
      assert.equal(tcp?.relayType, 'TurnUdp');
      assert.equal(tcp?.username, 'u');
      assert.notEqual(tcp?.port, tls?.port, 'one local port per server');
      assert.equal(bridge.streams, 0, 'no connection to a server before an agent talks to it');
    } finally {
      bridge.close();
    }
    assert.equal(await TurnBridge.open({ iceServers: [{ urls: 'turn:h:1', ...creds }], iceTransportPolicy: 'all' }), undefined, 'nothing to bridge');
  });

  it('passes bind address, port range and policy through', () => {
    const rtc = toRtcConfig({ iceServers: [], iceTransportPolicy: 'all' }, { bindAddress: '127.0.0.1', portRange: { begin: 40000, end: 40100 } });
    assert.deepEqual(rtc, { iceServers: [], iceTransportPolicy: 'all', bindAddress: '127.0.0.1', portRangeBegin: 40000, portRangeEnd: 40100 });
    assert.throws(() => toRtcConfig({ iceServers: [], iceTransportPolicy: 'all' }, { portRange: { begin: 5000, end: 4000 } }), /port range/);
  });

  it('PEERCAM_WEBRTC_LOG: off when unset or "off", a clear error for a level libdatachannel does not have', () => {
    for (const off of [undefined, '', 'off']) assert.doesNotThrow(() => engineLogFromEnv(off));
    for (const bad of ['loud', 'constructor', 'toString']) {
      assert.throws(() => engineLogFromEnv(bad), (err: unknown) => err instanceof PeercamError && /PEERCAM_WEBRTC_LOG=\w+: use one of verbose, debug, info, warning, error or off/.test(err.message));
    }
  });
});
