import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type CandidateCounts, countCandidate, diagnoseIce, type IceFacts, noCandidates } from '../../src/session/index.js';
import { NO_ICE } from '../helpers/loopback.js';

const counts = (c: Partial<CandidateCounts>): CandidateCounts => ({ ...noCandidates(), ...c });
const facts = (f: Partial<IceFacts>): IceFacts => ({
  config: NO_ICE,
  local: counts({ host: 1 }),
  remote: counts({ host: 1 }),
  localDone: true,
  remoteDone: true,
  serverErrors: [],
  self: 'this page',
  other: 'the camera',
  ...f,
});
const stun = { iceServers: [{ urls: 'stun:127.0.0.1:3478' }], iceTransportPolicy: 'all' } as const;
const turn = { iceServers: [{ urls: 'turn:127.0.0.1:3479', username: 'u', credential: 'p' }], iceTransportPolicy: 'all' } as const;

describe('why ICE found no path, and what to do', () => {
  it('counts candidates by type', () => {
    const c = noCandidates();
    for (const line of ['candidate:1 1 udp 2122260223 10.0.0.2 5000 typ host', 'candidate:2 1 udp 1686052607 203.0.113.9 6000 typ srflx raddr 10.0.0.2 rport 5000', 'a=candidate:3 1 UDP 16777215 198.51.100.1 7000 typ relay raddr 0.0.0.0 rport 0'])
      countCandidate(c, line);
    assert.deepEqual(c, { host: 1, srflx: 1, prflx: 0, relay: 1 });
  });

  it('no STUN/TURN server anywhere: says what is missing and which flag adds it', () => {
    const d = diagnoseIce(facts({}));
    assert.equal(d.problem, 'no-ice-servers');
    assert.match(d.message, /^No STUN\/TURN server known to this page or the camera: this page gathered host 1, srflx 0, relay 0; the camera host 1, srflx 0, relay 0/);
    assert.match(d.message, /--ice-server turn:user:password@host:3478/);
  });

  it('STUN but no relay anywhere (symmetric NAT or firewall): TURN needed', () => {
    const d = diagnoseIce(facts({ config: stun, local: counts({ host: 1, srflx: 1 }), remote: counts({ host: 1, srflx: 1 }) }));
    assert.equal(d.problem, 'turn-needed');
    assert.match(d.message, /^TURN needed \(symmetric NAT or firewall\): this page gathered host 1, srflx 1, relay 0/);
    assert.match(d.message, /add a TURN server: --ice-server turn:/i);
  });

  it('the TURN server refused the credentials: says so, before anything else', () => {
    const d = diagnoseIce(facts({ config: turn, serverErrors: [{ url: 'turn:127.0.0.1:3479', code: 401, text: 'Unauthorized' }] }));
    assert.equal(d.problem, 'turn-refused');
    assert.match(d.message, /^TURN refused \(credentials\): turn:127\.0\.0\.1:3479 answered 401 Unauthorized/);
    assert.match(d.message, /--turn-secret/);
  });

  it('TURN given but silent: unreachable; no candidate at all: no usable network', () => {
    assert.equal(diagnoseIce(facts({ config: turn, serverErrors: [{ url: 'turn:127.0.0.1:3479', code: 701, text: 'timeout' }] })).problem, 'turn-unreachable');
    const none = diagnoseIce(facts({ local: noCandidates() }));
    assert.equal(none.problem, 'no-local-candidates');
    assert.match(none.message, /this page gathered host 0, srflx 0, relay 0; .*no usable network address/);
    assert.match(diagnoseIce(facts({ remoteDone: false })).message, /the camera host 1, srflx 0, relay 0 so far/);
  });

  it('relays on a side and still no pair: no-path (the TURN-specific advice is added by the session)', () => {
    assert.equal(diagnoseIce(facts({ config: turn, local: counts({ host: 1, relay: 1 }) })).problem, 'no-path');
  });
});
