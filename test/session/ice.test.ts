import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PeercamError } from '../../src/protocol/index.js';
import { chooseIceServers, DEFAULT_PUBLIC_STUN, iceFailureAdvice, isLocalHost, parseIceServer } from '../../src/session/index.js';

describe('ICE server choice', () => {
  it('parses STUN and TURN URLs with credentials and transport', () => {
    assert.deepEqual(parseIceServer('stun:example.org:3478'), { urls: 'stun:example.org:3478' });
    assert.deepEqual(parseIceServer('turn:alice:s%40cret@turn.example.org:3478?transport=tcp'), {
      urls: 'turn:turn.example.org:3478?transport=tcp',
      username: 'alice',
      credential: 's@cret',
    });
    assert.deepEqual(parseIceServer('turns:u:p@turn.example.org:5349'), { urls: 'turns:turn.example.org:5349', username: 'u', credential: 'p' });
  });

  it('explains unusable URLs and TURN without credentials', () => {
    assert.throws(() => parseIceServer('http://x'), (e: unknown) => e instanceof PeercamError && /not an ICE server URL/.test(e.message));
    assert.throws(() => parseIceServer('turn:turn.example.org:3478'), (e: unknown) => e instanceof PeercamError && /needs credentials/.test(e.message));
  });

  it('flags win over the environment; "none" means no servers', () => {
    assert.deepEqual(chooseIceServers({ flags: ['stun:a:1'], env: 'stun:b:2', broker: 'mqtts://broker.example.org' }), [{ urls: 'stun:a:1' }]);
    assert.deepEqual(chooseIceServers({ env: 'stun:b:2, turn:u:p@c:3' }), [{ urls: 'stun:b:2' }, { urls: 'turn:c:3', username: 'u', credential: 'p' }]);
    assert.deepEqual(chooseIceServers({ flags: ['none'], broker: 'mqtts://broker.example.org' }), []);
    assert.deepEqual(chooseIceServers({ env: 'none', broker: 'mqtts://broker.example.org' }), []);
  });

  it('adds public STUN by default only when the broker is not local', () => {
    assert.deepEqual(chooseIceServers({ broker: 'mqtts://broker.example.org:8883' }), [{ urls: DEFAULT_PUBLIC_STUN }]);
    for (const local of ['mqtt://127.0.0.1:1883', 'ws://localhost/mqtt', 'mqtt://192.168.1.4', 'mqtt://10.0.0.2', 'mqtt://172.20.1.1', 'mqtt://pi.local', 'mqtt://[::1]:1883'])
      assert.deepEqual(chooseIceServers({ broker: local }), [], local);
    assert.deepEqual(chooseIceServers({}), []);
    assert.equal(isLocalHost('mqtt://172.32.0.1'), false);
  });

  it('advises on an ICE failure: TURN when there is none, UDP TURN for a browser facing a Node camera over TCP/TLS relays', () => {
    const relay = (urls: string[]) => ({ iceServers: [{ urls, username: 'u', credential: 'p' }], iceTransportPolicy: 'relay' as const });
    assert.match(iceFailureAdvice({ iceServers: [], iceTransportPolicy: 'all' }, undefined), /a TURN server is needed/);
    const tcpOnly = relay(['turn:h:3478?transport=tcp', 'turns:h:443?transport=tcp']);
    assert.match(iceFailureAdvice(tcpOnly, 'peercam/0.1.0 node'), /add a UDP TURN URL.*libjuice|libjuice.*add a UDP TURN URL/);
    assert.match(iceFailureAdvice(tcpOnly, 'peercam/0.1.0 web'), /reachable from both devices/);
    assert.match(iceFailureAdvice(relay(['turn:h:3478?transport=tcp', 'turn:h:3478']), 'peercam/0.1.0 node'), /reachable from both devices/);
  });
});
