import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startCamera } from '../../src/agent/camera.js';
import { shutdownNdc } from '../../src/media/ndc/index.js';
import { newDeviceId } from '../../src/protocol/index.js';
import { whepOffer } from '../fixtures/whep/offer.js';
import { waitFor } from '../helpers/wait.js';
import { LOOPBACK_ENGINE } from '../helpers/loopback.js';
import { startWhepHub, type WhepHub } from '../helpers/whep-hub.js';
import { NO_ICE } from '../helpers/loopback.js';

/** Conformance of the hub's WHEP door (draft-ietf-wish-whep-03, RFC 9725) against a Node camera, then a fuzz run. */
describe('WHEP door: status codes and headers', () => {
  let rig: WhepHub;
  const auth = () => ({ authorization: `Bearer ${rig.token}` });
  const url = (path: string) => `${rig.origin}${path}`;
  const post = (path: string, body: string, headers: Record<string, string> = {}) =>
    fetch(url(path), { method: 'POST', body, headers: { 'content-type': 'application/sdp', ...auth(), ...headers } });
  const patch = (location: string, body: string, headers: Record<string, string> = {}) =>
    fetch(url(location), { method: 'PATCH', body, headers: { 'content-type': 'application/trickle-ice-sdpfrag', ...auth(), ...headers } });
  const del = (location: string) => fetch(url(location), { method: 'DELETE', headers: auth() });

  before(async () => {
    rig = await startWhepHub({
      iceServers: [{ urls: 'stun:127.0.0.1:9' }, { urls: ['turn:127.0.0.1:9?transport=udp'], username: 'u', credential: 'p' }],
      relayLingerMs: 1000,
    });
  });
  after(async () => {
    await rig?.close();
    shutdownNdc();
  });

  it('POST: 201 with the answer (all candidates), Location, ETag, Link ice-server; DELETE frees the camera', async () => {
    const res = await post('/whep/Node%20cam', whepOffer());
    assert.equal(res.status, 201, await res.clone().text());
    assert.equal(res.headers.get('content-type'), 'application/sdp');
    const location = res.headers.get('location') ?? '';
    assert.match(location, /^\/whep\/Node%20cam\/[A-Za-z0-9_-]{22}$/);
    assert.match(res.headers.get('etag') ?? '', /^"[A-Za-z0-9_-]+"$/);
    assert.equal(res.headers.get('access-control-allow-origin'), '*');
    assert.match(res.headers.get('access-control-expose-headers') ?? '', /Location/);
    assert.equal(
      res.headers.get('link'),
      '<stun:127.0.0.1:9>; rel="ice-server", <turn:127.0.0.1:9?transport=udp>; rel="ice-server"; username="u"; credential="p"; credential-type="password"',
    );
    const answer = await res.text();
    assert.match(answer, /^v=0/);
    assert.match(answer, /^a=candidate:.* typ host/m, 'the answer carries the camera candidates');
    assert.match(answer, /^a=end-of-candidates/m);
    assert.match(answer, /^a=sendonly/m);
    assert.equal(rig.camera.viewers, 1);
    assert.equal(rig.door.gateway?.size, 1);

    // Trickle without If-Match (whip-whep sends none before its first restart): 204.
    const t = await patch(location, 'a=ice-ufrag:Ab3d\r\na=ice-pwd:pwdpwdpwdpwdpwdpwdpwdpwd\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\na=candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host\r\na=end-of-candidates\r\n');
    assert.equal(t.status, 204);
    const etag = t.headers.get('etag') ?? '';
    assert.equal((await patch(location, 'a=ice-ufrag:Ab3d\r\na=ice-pwd:pwdpwdpwdpwdpwdpwdpwdpwd\r\n', { 'if-match': etag })).status, 204);
    // Wrong ETag: 412. An ICE restart without If-Match: 428. A Node camera cannot restart ICE: 422.
    assert.equal((await patch(location, 'a=ice-ufrag:Ab3d\r\na=ice-pwd:pwdpwdpwdpwdpwdpwdpwdpwd\r\n', { 'if-match': '"nope"' })).status, 412);
    const restart = 'a=ice-ufrag:New1\r\na=ice-pwd:newnewnewnewnewnewnewnew\r\n';
    assert.equal((await patch(location, restart)).status, 428);
    assert.equal((await patch(location, restart, { 'if-match': '"nope"' })).status, 412);
    const r = await patch(location, restart, { 'if-match': '*' });
    assert.equal(r.status, 422, await r.text());
    // Bad PATCH bodies.
    assert.equal((await patch(location, 'a=ice-ufrag:x', { 'content-type': 'application/sdp' })).status, 415);
    assert.equal((await patch(location, 'hello world')).status, 400);

    const d = await del(location);
    assert.equal(d.status, 200);
    await waitFor(() => rig.camera.viewers === 0, { timeoutMs: 10_000, what: 'the camera to drop its WHEP viewer after DELETE' });
    assert.equal(rig.door.gateway?.size, 0);
    assert.equal((await del(location)).status, 404);
    assert.equal((await patch(location, restart, { 'if-match': '*' })).status, 404);
  });

  it('a complete offer (candidates inside, no PATCH ever, as go2rtc sends) gets 201; DELETE frees it', async () => {
    const complete = whepOffer().replace('a=mid:0\r\n', 'a=mid:0\r\na=candidate:1 1 udp 2122260223 127.0.0.1 50001 typ host\r\na=end-of-candidates\r\n');
    assert.match(complete, /a=candidate:/);
    const res = await post('/whep/Node%20cam', complete);
    assert.equal(res.status, 201, await res.clone().text());
    assert.equal((await del(res.headers.get('location') ?? '')).status, 200);
    await waitFor(() => rig.camera.viewers === 0, { timeoutMs: 10_000, what: 'the camera to free the session' });
  });

  it('?relay=always: the hub answers from its relay, one upstream session for every relayed client, closed after the last; 422 on restart; 400 for another mode', async () => {
    assert.equal((await post('/whep/Node%20cam?relay=sometimes', whepOffer())).status, 400);
    const a = await post('/whep/Node%20cam?relay=always', whepOffer());
    assert.equal(a.status, 201, await a.clone().text());
    assert.match(await a.text(), /^a=candidate:.* typ host/m, "the relay's candidates");
    const b = await post('/whep/Node%20cam?relay=always', whepOffer('Zz9y'));
    assert.equal(b.status, 201, await b.clone().text());
    assert.equal(rig.door.gateway?.relays.size, 1, 'one relay of the camera');
    assert.equal(rig.door.gateway?.size, 2);
    assert.equal(rig.camera.viewers, 1, 'the camera serves the relay once, whatever the number of relayed clients');
    const location = a.headers.get('location') ?? '';
    const r = await patch(location, 'a=ice-ufrag:New1\r\na=ice-pwd:newnewnewnewnewnewnewnew\r\n', { 'if-match': '*' });
    assert.equal(r.status, 422);
    assert.match(await r.text(), /relay/);
    assert.equal((await del(location)).status, 200);
    assert.equal((await del(b.headers.get('location') ?? '')).status, 200);
    assert.equal(rig.door.gateway?.size, 0);
    await waitFor(() => rig.door.gateway?.relays.size === 0 && rig.camera.viewers === 0, { timeoutMs: 10_000, what: 'the relay to hang up its camera session after its last client (linger 1 s)' });
  });

  it('refuses: 401 without or with a wrong token, 404 unknown camera, 415 / 400 bad bodies, 405 other methods', async () => {
    const noToken = await fetch(url('/whep/Node%20cam'), { method: 'POST', body: whepOffer(), headers: { 'content-type': 'application/sdp' } });
    assert.equal(noToken.status, 401);
    assert.equal(noToken.headers.get('www-authenticate'), 'Bearer realm="peercam"');
    const wrong = await post('/whep/Node%20cam', whepOffer(), { authorization: 'Bearer wrong' });
    assert.equal(wrong.status, 401);
    assert.match(wrong.headers.get('www-authenticate') ?? '', /invalid_token/);
    const query = await fetch(url(`/whep/Node%20cam?access_token=${rig.token}`), { method: 'HEAD' });
    assert.equal(query.status, 200, 'the token as access_token in the URL (go2rtc sends no header)');
    assert.equal((await fetch(url('/whep/Node%20cam?access_token=wrong'), { method: 'HEAD' })).status, 401);
    assert.equal((await post('/whep/Nobody', whepOffer())).status, 404);
    const bad = await post('/whep/Node%20cam', whepOffer(), { 'content-type': 'text/plain' });
    assert.equal(bad.status, 415);
    assert.equal(bad.headers.get('accept-post'), 'application/sdp');
    assert.equal((await post('/whep/Node%20cam', 'not sdp at all')).status, 400);
    assert.equal((await post('/whep/Node%20cam', whepOffer().replace(/a=fingerprint:.*\r\n/g, ''))).status, 400);
    assert.equal((await post('/whep/Node%20cam', 'v=0\r\n'.padEnd(60_000, 'x'))).status, 413);
    const get = await fetch(url('/whep/Node%20cam'), { headers: auth() });
    assert.equal(get.status, 405);
    assert.match(get.headers.get('allow') ?? '', /POST/);
    assert.equal(rig.door.gateway?.size, 0);
  });

  it('the WHIP door refuses: 401, 415, 400 (a recvonly offer), 409 (a name in use), 404 session, 405; OPTIONS', async () => {
    const whip = (body: string, headers: Record<string, string> = {}) =>
      fetch(url('/whip/Studio'), { method: 'POST', body, headers: { 'content-type': 'application/sdp', ...auth(), ...headers } });
    assert.equal((await fetch(url('/whip/Studio'), { method: 'POST', body: 'v=0', headers: { 'content-type': 'application/sdp' } })).status, 401);
    assert.equal((await whip(whepOffer(), { 'content-type': 'text/plain' })).status, 415);
    assert.equal((await whip(whepOffer())).status, 400, 'a recvonly (WHEP) offer sends nothing to ingest');
    assert.equal((await whip('garbage')).status, 400);
    const sendonly = whepOffer().replaceAll('a=recvonly', 'a=sendonly');
    assert.equal((await fetch(url('/whip/Node%20cam'), { method: 'POST', body: sendonly, headers: { 'content-type': 'application/sdp', ...auth() } })).status, 409);
    assert.equal((await fetch(url('/whip/Studio/nope'), { method: 'DELETE', headers: auth() })).status, 404);
    assert.equal((await fetch(url('/whip/Studio'), { method: 'GET', headers: auth() })).status, 405);
    const pre = await fetch(url('/whip/Studio'), { method: 'OPTIONS' });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers.get('accept-post'), 'application/sdp');
    assert.equal(rig.door.whip.size, 0);
  });

  it('OPTIONS answers CORS preflights without a token; HEAD says whether the camera is live', async () => {
    const pre = await fetch(url('/whep/Node%20cam'), {
      method: 'OPTIONS',
      headers: { origin: 'http://127.0.0.1:1', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
    });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers.get('access-control-allow-origin'), '*');
    assert.match(pre.headers.get('access-control-allow-methods') ?? '', /POST/);
    assert.match(pre.headers.get('access-control-allow-headers') ?? '', /Authorization/);
    assert.equal(pre.headers.get('accept-post'), 'application/sdp');
    assert.equal(pre.headers.get('link'), null, 'no ICE servers in a preflight');
    const head = await fetch(url('/whep/Node%20cam'), { method: 'HEAD', headers: auth() });
    assert.equal(head.status, 200);
    assert.equal((await fetch(url('/whep/Nobody'), { method: 'HEAD', headers: auth() })).status, 404);
  });

  it('a camera that left: 409 with Retry-After; the camera id works as well as its name', async () => {
    const join = async () => {
      // A second camera over the hub's broker, joined the way every member joins.
      const { SealedChannel } = await import('../../src/signaling/channel.js');
      const { MqttTransport } = await import('../../src/signaling/mqtt.js');
      const channel = new SealedChannel(rig.room, new MqttTransport({ url: rig.hub.brokerUrl, roomLogin: 'first' }), {
        self: newDeviceId(),
        presence: { name: 'Porch', role: 'camera' },
      });
      await channel.start();
      return channel;
    };
    const channel = await join();
    const cam = await startCamera({ channel, source: 'demo', name: 'Porch', peerConfig: NO_ICE, engine: LOOPBACK_ENGINE });
    await waitFor(() => rig.door.gateway?.isLive('Porch') === true, { timeoutMs: 10_000, what: 'the gateway to see Porch' });
    const byId = await post(`/whep/${channel.self}`, whepOffer());
    assert.equal(byId.status, 201);
    await cam.close();
    await channel.close();
    await waitFor(() => rig.door.gateway?.isLive('Porch') === false, { timeoutMs: 10_000, what: 'Porch to leave' });
    await waitFor(() => rig.door.gateway?.size === 0, { timeoutMs: 10_000, what: 'the WHEP session of a camera that left to end' });
    const res = await post('/whep/Porch', whepOffer());
    assert.equal(res.status, 409);
    assert.equal(res.headers.get('retry-after'), '5');
    assert.equal((await fetch(url('/whep/Porch'), { method: 'HEAD', headers: auth() })).status, 409);
  });

  it('fuzz: mutated offers, fragments and headers never crash the hub nor leak a session', async () => {
    const seedOffer = whepOffer();
    let state = 12345;
    const rand = (n: number) => {
      state = (state * 1103515245 + 12345) & 0x7fffffff;
      return state % n;
    };
    const mutate = (text: string): string => {
      const chars = [...text];
      const edits = 1 + rand(8);
      for (let i = 0; i < edits; i++) {
        const at = rand(chars.length + 1);
        switch (rand(4)) {
          case 0:
            chars.splice(at, 1 + rand(40));
            break;
          case 1:
            chars.splice(at, 0, String.fromCharCode(rand(0x3000)));
            break;
          case 2:
            chars.splice(at, 0, ...'\r\na=candidate:1 1 udp 1 127.0.0.1 9 typ host\r\n');
            break;
          default:
            chars[at] = ['\n', '\r', ':', ' ', '=', '\u0000', 'é'][rand(7)] ?? '';
        }
      }
      return chars.join('');
    };
    const types = ['application/sdp', 'application/SDP; charset=utf-8', 'application/trickle-ice-sdpfrag', 'text/plain', '', 'application/sdp;;;'];
    const statuses = new Map<number, number>();
    const count = (s: number) => statuses.set(s, (statuses.get(s) ?? 0) + 1);
    const open = await post('/whep/Node%20cam', seedOffer);
    assert.equal(open.status, 201);
    const live = open.headers.get('location') ?? '';
    const t0 = Date.now();
    for (let i = 0; i < 40; i++) {
      const res = await post(rand(5) === 0 ? `/whep/${mutate('Node cam')}`.replace(/[?#]/g, '') : '/whep/Node%20cam', mutate(seedOffer), {
        'content-type': types[rand(types.length)] ?? '',
      }).catch(() => undefined);
      if (!res) continue;
      count(res.status);
      assert.ok(res.status < 500 || res.status === 502 || res.status === 504, `POST got ${res.status}: ${await res.text()}`);
      const loc = res.headers.get('location');
      if (res.status === 201 && loc) assert.equal((await del(loc)).status, 200);
      const frag = mutate('a=ice-ufrag:Ab3d\r\na=ice-pwd:pwdpwdpwdpwdpwdpwdpwdpwd\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\na=candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host\r\n');
      const p = await patch(live, frag, rand(3) === 0 ? { 'if-match': mutate('"x"') } : {}).catch(() => undefined);
      if (p) {
        count(p.status);
        assert.ok(p.status < 500, `PATCH got ${p.status}: ${await p.text()}`);
      }
    }
    process.stdout.write(`# fuzz: 40 rounds in ${Date.now() - t0} ms, statuses ${JSON.stringify(Object.fromEntries(statuses))}\n`);
    assert.equal((await del(live)).status, 200);
    await waitFor(() => rig.door.gateway?.size === 0, { timeoutMs: 10_000, what: 'no WHEP session left after the fuzz run' });
    await waitFor(() => rig.camera.viewers === 0, { timeoutMs: 15_000, what: 'the camera to hold no session after the fuzz run' });
    const after = await post('/whep/Node%20cam', seedOffer);
    assert.equal(after.status, 201, 'the door still works');
    assert.equal((await del(after.headers.get('location') ?? '')).status, 200);
  });
});
