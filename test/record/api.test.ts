import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Room } from '../../src/protocol/index.js';
import { eventually } from '../helpers/wait.js';
import { type HubProcess, startHubProcess } from '../web/hub-process.js';
import { decodeErrors, probe } from './probe.js';

interface Span {
  start: string;
  duration: number;
  url: string;
}

/** `peercam up --demo --record`: the hub records its demo camera and serves the recordings API to members only. */
describe('recordings API on the hub', () => {
  let hub: HubProcess;
  let token: string;
  const dir = mkdtempSync(join(tmpdir(), 'peercam-api-'));
  const base = () => `http://127.0.0.1:${hub.port}`;
  const auth = () => ({ authorization: `Bearer ${token}` });

  before(async () => {
    hub = await startHubProcess({ args: ['--record', join(dir, 'rec'), '--segment', '2s'] });
    // The hub's banner link carries the room key; the token derives from it (Room.credentials).
    token = (await Room.fromLink(hub.link)).credentials.httpToken;
  });
  after(async () => {
    await hub.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const spans = async (): Promise<Span[]> => {
    const r = await fetch(`${base()}/api/recordings/list?camera=${encodeURIComponent('Demo camera')}`, { headers: auth() });
    assert.equal(r.status, 200);
    return (await r.json()) as Span[];
  };

  it('without the token or with a wrong one: 401 and no bytes', async () => {
    for (const path of ['/api/recordings', '/api/recordings/list?camera=x', '/api/recordings/get?camera=x&start=0&duration=5']) {
      const none = await fetch(base() + path);
      assert.equal(none.status, 401, path);
      assert.match(none.headers.get('www-authenticate') ?? '', /^Bearer realm="peercam"$/);
      assert.doesNotMatch(await none.text(), /ftyp|\[/);
      const wrong = await fetch(base() + path, { headers: { authorization: 'Bearer nope' } });
      assert.equal(wrong.status, 401);
      assert.match(wrong.headers.get('www-authenticate') ?? '', /invalid_token/);
      const wrongQuery = await fetch(`${base()}${path}&access_token=nope`.replace('recordings&', 'recordings?'));
      assert.equal(wrongQuery.status, 401);
    }
  });

  it('lists the recorded span and serves a clip cut at keyframes that ffprobe reads and ffmpeg decodes', async () => {
    const [span] = await eventually(
      async () => {
        const s = await spans();
        assert.ok(s.length >= 1 && s[0]!.duration >= 7, JSON.stringify(s));
        return s;
      },
      { timeoutMs: 60_000, what: '7 s recorded', intervalMs: 500 },
    );
    const overview = (await (await fetch(`${base()}/api/recordings`, { headers: auth() })).json()) as { cameras: { camera: string }[]; recording: string[]; state: string };
    assert.deepEqual(overview.cameras.map((c) => c.camera), ['Demo_camera']);
    assert.deepEqual(overview.recording, ['Demo camera']);
    assert.equal(overview.state, 'ok');

    // 4 s from 1.5 s in: across at least one segment boundary (2 s segments), starting at the keyframe before.
    const from = new Date(Date.parse(span!.start) + 1500).toISOString();
    const r = await fetch(`${base()}/api/recordings/get?camera=Demo%20camera&start=${from}&duration=4&access_token=${token}`);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), 'video/mp4');
    assert.equal(r.headers.get('accept-ranges'), 'bytes');
    const body = new Uint8Array(await r.arrayBuffer());
    assert.equal(body.length, Number(r.headers.get('content-length')));
    const file = join(dir, 'clip.mp4');
    writeFileSync(file, body);
    const p = await probe(file);
    assert.equal(p.streams[0]?.codec, 'h264');
    assert.ok(Math.abs(p.startTime) < 0.001, `starts at 0, not ${p.startTime}`);
    const clipSeconds = Number(r.headers.get('x-clip-duration'));
    assert.ok(Math.abs(p.duration - clipSeconds) < 0.1, `probe ${p.duration} s vs header ${clipSeconds} s`);
    assert.ok(clipSeconds >= 4 && clipSeconds <= 6.1, `a keyframe at or before the start, through the end: ${clipSeconds} s`);
    assert.equal(p.streams[0]?.frames, Math.round(clipSeconds * 30), 'every frame of the range, 30 fps');
    assert.ok(Date.parse(r.headers.get('x-clip-start') ?? '') <= Date.parse(from));
    assert.equal(await decodeErrors(file), '');

    const part = await fetch(`${base()}/api/recordings/get?camera=Demo%20camera&start=${from}&duration=4`, { headers: { ...auth(), range: 'bytes=100-199' } });
    assert.equal(part.status, 206);
    assert.equal(part.headers.get('content-range'), `bytes 100-199/${body.length}`);
    assert.deepEqual(new Uint8Array(await part.arrayBuffer()), body.subarray(100, 200));

    const download = await fetch(`${base()}/api/recordings/get?camera=Demo%20camera&start=${from}&duration=4&download`, { headers: auth(), method: 'HEAD' });
    assert.match(download.headers.get('content-disposition') ?? '', /^attachment; filename="Demo_camera_.*\.mp4"$/);
    const nothing = await fetch(`${base()}/api/recordings/get?camera=Demo%20camera&start=2000-01-01T00:00:00Z&duration=4`, { headers: auth() });
    assert.equal(nothing.status, 404);
  });
});
