import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mintTurnCredentials, turnRestConfig } from '../../src/agent/turn-rest.js';
import { HUB_AGENT } from '../../src/hub/hub.js';
import { lendIce } from '../../src/hub/lend-ice.js';
import { newDeviceId, parseEnvelope } from '../../src/protocol/index.js';
import { DEFAULT_PUBLIC_STUN, iceAdvertOf, type PeerConfig, withLentIce } from '../../src/session/index.js';
import { type PeerInfo, SealedChannel } from '../../src/signaling/channel.js';
import { memoryRoom } from '../helpers/memory-room.js';

const own: PeerConfig = { iceServers: [{ urls: 'stun:127.0.0.1:3478' }], iceTransportPolicy: 'all' };
const turnA = { urls: 'turn:127.0.0.2:3478', username: '1:x', credential: 'c' };

describe('ICE servers lent by members', () => {
  it('a viewer adds the camera’s and every hub’s servers to its own, once each; other cameras lend nothing', () => {
    const members = [
      { id: 'cam1', role: 'camera', ice: { servers: [turnA] } },
      { id: 'cam2', role: 'camera', ice: { servers: [{ urls: 'turn:127.0.0.3' , username: 'u', credential: 'p' }] } },
      { id: 'hub1', role: 'hub', ice: { servers: [{ urls: 'stun:127.0.0.1:3478' }, turnA, { urls: 'stun:127.0.0.4' }] } },
      { id: 'old', role: 'hub' }, // an older hub: no ice field
    ];
    const merged = withLentIce(own, members, 'cam1');
    assert.deepEqual(merged.iceServers.map((s) => s.urls), ['stun:127.0.0.1:3478', 'turn:127.0.0.2:3478', 'stun:127.0.0.4']);
    assert.equal(merged.iceTransportPolicy, 'all');
    assert.equal(withLentIce(own, [], 'cam1'), own, 'nothing lent: the same config');
  });

  it('a hub that asks for relays (peercam up --relay) makes its members relay-only; a camera cannot', () => {
    assert.equal(withLentIce(own, [{ id: 'h', role: 'hub', ice: { servers: [turnA], policy: 'relay' } }]).iceTransportPolicy, 'relay');
    assert.equal(withLentIce(own, [{ id: 'c', role: 'camera', ice: { servers: [turnA], policy: 'relay' } }], 'c').iceTransportPolicy, 'all');
  });

  it('advertises configured servers only (not the public STUN default), nothing when there are none', () => {
    assert.equal(iceAdvertOf({ iceServers: [{ urls: DEFAULT_PUBLIC_STUN }], iceTransportPolicy: 'all' }), undefined);
    assert.deepEqual(iceAdvertOf({ iceServers: [turnA], iceTransportPolicy: 'relay' }), { servers: [turnA], policy: 'relay' });
  });

  it('the presence field is optional and size-limited; a receiver of older presence is unaffected', () => {
    const presence = (body: object) => ({ v: 1, type: 'presence', from: newDeviceId(), to: '*', sid: '', seq: 1, ts: Date.now(), body: { name: 'n', role: 'hub', ...body } });
    assert.notEqual(parseEnvelope(presence({})), 'malformed');
    const withIce = parseEnvelope(presence({ ice: { servers: [turnA] } }));
    assert.ok(withIce !== 'malformed' && withIce !== 'unknown-version' && withIce.type === 'presence' && withIce.body.ice?.servers.length === 1);
    assert.equal(parseEnvelope(presence({ ice: { servers: Array.from({ length: 9 }, () => turnA) } })), 'malformed');
    assert.equal(parseEnvelope(presence({ ice: { servers: [{ urls: 'x'.repeat(600) }] } })), 'malformed');
  });
});

describe('the hub lending its ICE servers', () => {
  const TALK = { id: 'talk', name: 'Talk', kinds: ['audio' as const] };
  it('renews the lent credentials in its presence and keeps the rest of that presence as it was', async () => {
    const { broker, room, channels } = await memoryRoom(['viewer']);
    const member = channels[0]!;
    const hubId = newDeviceId();
    // Credentials as a TURN REST config mints them: a getter, fresh ones from some moment on.
    let username = '1700000600:peercam';
    const config = {
      iceTransportPolicy: 'all' as const,
      refreshMs: 20,
      get iceServers() {
        return [{ urls: 'turn:127.0.0.6:3478', username, credential: 'c' }];
      },
    };
    const seen: PeerInfo[] = [];
    member.on('peer', (p) => {
      if (p.id === hubId) seen.push(p);
    });
    const lent = await lendIce(
      async (self) => {
        const channel = new SealedChannel(room, broker.transport(), {
          self: self.id,
          presence: { name: self.name, role: self.role, agent: HUB_AGENT, ...(self.ice ? { ice: self.ice } : {}), sources: [TALK] },
        });
        await channel.start();
        return channel;
      },
      { id: hubId, name: 'Hub' },
      config,
    );
    try {
      const until = async (test: () => boolean) => {
        for (let i = 0; i < 200 && !test(); i++) await new Promise((r) => setTimeout(r, 10));
        assert.ok(test(), JSON.stringify(seen.map((p) => p.ice)));
      };
      await until(() => seen.length > 0);
      assert.equal(seen[0]?.ice?.servers[0]?.username, '1700000600:peercam');
      username = '1700000901:peercam';
      await until(() => seen.at(-1)?.ice?.servers[0]?.username === '1700000901:peercam');
      const last = seen.at(-1)!;
      assert.deepEqual([last.name, last.role, last.agent, last.sources], ['Hub', 'hub', HUB_AGENT, [TALK]]);
    } finally {
      await lent?.close();
      await member.close();
    }
  });
});

describe('TURN REST credentials (coturn use-auth-secret)', () => {
  it('username <expiry>:<name>, credential base64(HMAC-SHA1(secret, username))', () => {
    // Vector computed with: printf '1700000000:peercam' | openssl dgst -sha1 -hmac secret -binary | base64
    assert.deepEqual(mintTurnCredentials('secret', 'peercam', 1_700_000_000), { username: '1700000000:peercam', credential: 'HTu6j/TE8opjJOMaRHyVdzVxnjc=' });
  });

  it('mints for TURN URLs without credentials, re-mints after half the lifetime, never exposes the secret', () => {
    let now = 1_700_000_000_000;
    const config = turnRestConfig(
      { iceServers: [{ urls: 'stun:127.0.0.5' }, { urls: 'turn:127.0.0.6:3478' }, { urls: 'turn:127.0.0.7', username: 'u', credential: 'p' }], iceTransportPolicy: 'all' },
      { secret: 'secret', ttlS: 600, now: () => now },
    );
    assert.equal(config.refreshMs, 300_000);
    const first = config.iceServers;
    assert.equal(first[1]?.username, '1700000600:peercam');
    assert.deepEqual(first[2], { urls: 'turn:127.0.0.7', username: 'u', credential: 'p' });
    now += 299_000;
    assert.equal(config.iceServers[1]?.username, '1700000600:peercam');
    now += 2_000;
    assert.equal(config.iceServers[1]?.username, '1700000901:peercam');
    assert.ok(!JSON.stringify(iceAdvertOf(config)).includes('secret'));
    assert.throws(() => turnRestConfig({ iceServers: [{ urls: 'stun:127.0.0.5' }], iceTransportPolicy: 'all' }, { secret: 'x' }), /no TURN server/);
  });
});
