import assert from 'node:assert/strict';
import { mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { addClientToken, ClientTokens, formatClientTokens, revokeClientToken } from '../../src/hub/client-tokens.js';
import { Room } from '../../src/protocol/index.js';
import { whepOffer } from '../fixtures/whep/offer.js';
import { runCli } from '../helpers/cli.js';
import { waitFor } from '../helpers/wait.js';
import { type HubProcess, startHubProcess } from '../web/hub-process.js';

/**
 * Per-client tokens for the WHEP/WHIP doors: `peercam whep token add|list|revoke` against a running `peercam up`
 * (its demo camera). Revoking takes effect without a restart: 401 for the token, its open session ended.
 */
describe('WHEP/WHIP client tokens the owner can revoke', () => {
  let hub: HubProcess;
  let roomToken: string;
  const url = (path: string) => `http://127.0.0.1:${hub.port}${path}`;
  const cli = async (...args: string[]) => runCli(args, hub.env, 30_000);
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
  const postOffer = (token: string) => fetch(url('/whep/Demo%20camera'), { method: 'POST', body: whepOffer(), headers: { 'content-type': 'application/sdp', ...bearer(token) } });
  const trickle = (location: string, token: string) =>
    fetch(url(location), { method: 'PATCH', body: 'a=ice-ufrag:Ab3d\r\na=ice-pwd:pwdpwdpwdpwdpwdpwdpwdpwd\r\n', headers: { 'content-type': 'application/trickle-ice-sdpfrag', ...bearer(token) } });

  before(async () => {
    hub = await startHubProcess({ args: ['--no-qr'] });
    roomToken = (await Room.fromLink(hub.link)).credentials.httpToken;
  });
  after(async () => {
    await hub?.close();
  });

  it('keeps digests only, per room; bad names and duplicates are refused; a revocation ends the client\'s sessions', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'peercam-tokens-'));
    try {
      const file = join(dir, 'client-tokens.json');
      const first = addClientToken([], 'roomA', 'go2rtc');
      assert.match(first.token, /^pct_[A-Za-z0-9_-]{43}$/);
      assert.throws(() => addClientToken(first.tokens, 'roomA', 'go2rtc'), /already has a token/);
      assert.throws(() => addClientToken(first.tokens, 'roomA', '../etc'), /not a usable client name/);
      const other = addClientToken(first.tokens, 'roomB', 'go2rtc');
      assert.throws(() => revokeClientToken(other.tokens, 'roomA', 'nobody'), /there are: go2rtc/);
      await writeFile(file, formatClientTokens(other.tokens));
      const text = await readFile(file, 'utf8');
      assert.ok(!text.includes(first.token.slice(4)), 'the token itself is not stored');

      const tokens = new ClientTokens(file, 'roomA');
      const client = tokens.check(first.token);
      assert.equal(client?.name, 'go2rtc');
      assert.equal(tokens.check(other.token), undefined, "another room's token");
      let ended = 0;
      tokens.whenRevoked(client ?? { name: '', id: '' }, () => ended++, () => false);
      // Rewritten as `revoke` does (a new file renamed over the old): seen by the next check.
      await writeFile(`${file}.tmp`, formatClientTokens(revokeClientToken(other.tokens, 'roomA', 'go2rtc')));
      await rename(`${file}.tmp`, file);
      assert.equal(tokens.check(first.token), undefined);
      assert.equal(ended, 1);
      tokens.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a client token opens WHEP and WHIP (header or access_token) but not the other members-only routes; revoking it: 401 at once and its session ends', async () => {
    const add = async (name: string) => {
      const added = await cli('whep', 'token', 'add', name, '--json');
      assert.equal(added.code, 0, added.stderr);
      return (JSON.parse(added.stdout) as { token: string }).token;
    };
    const player = await add('player');
    const publisher = await add('publisher');
    const file = join(hub.env.PEERCAM_HOME ?? '', 'client-tokens.json');
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    assert.ok(!(await readFile(file, 'utf8')).includes(player.slice(4)), 'only digests are stored');

    // WHEP with the client token: 201; HEAD by access_token: 200. WHIP: past the door's auth (400 for a junk offer).
    const res = await postOffer(player);
    assert.equal(res.status, 201, await res.clone().text());
    const location = res.headers.get('location') ?? '';
    assert.equal((await trickle(location, player)).status, 204);
    assert.equal((await fetch(url(`/whep/Demo%20camera?access_token=${player}`), { method: 'HEAD' })).status, 200);
    const whip = await fetch(url('/whip/Studio'), { method: 'POST', body: 'v=0\r\n', headers: { 'content-type': 'application/sdp', ...bearer(publisher) } });
    assert.equal(whip.status, 400);
    // Only the doors: the metrics stay the room's.
    assert.equal((await fetch(url('/metrics'), { headers: bearer(player) })).status, 401);
    assert.equal((await fetch(url('/metrics'), { headers: bearer(roomToken) })).status, 200);

    const revoked = await cli('whep', 'token', 'revoke', 'player');
    assert.equal(revoked.code, 0, revoked.stderr);
    // The next request already fails (no restart), by header and by URL; the other client is untouched.
    const refused = await postOffer(player);
    assert.equal(refused.status, 401);
    assert.match(refused.headers.get('www-authenticate') ?? '', /invalid_token/);
    assert.equal((await fetch(url(`/whep/Demo%20camera?access_token=${player}`), { method: 'HEAD' })).status, 401);
    assert.equal((await trickle(location, player)).status, 401);
    assert.equal((await fetch(url('/whip/Studio'), { method: 'POST', body: 'v=0\r\n', headers: { 'content-type': 'application/sdp', ...bearer(publisher) } })).status, 400);
    const list = await cli('whep', 'token', 'list', '--json');
    assert.deepEqual(
      (JSON.parse(list.stdout) as { name: string }[]).map((t) => t.name),
      ['publisher'],
    );
    // Its open session ended too: the room's token finds it gone.
    await waitFor(async () => (await trickle(location, roomToken)).status === 404, { timeoutMs: 10_000, intervalMs: 200, what: 'the revoked client\'s session to end' });
  });
});
