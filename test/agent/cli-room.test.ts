import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Room } from '../../src/protocol/index.js';
import { cliHome, runCli } from '../helpers/cli.js';

describe('peercam room', () => {
  it('room new saves a private room file in PEERCAM_HOME, prints link and QR; room show prints it again', async () => {
    const home = await cliHome();
    after(() => home.remove());
    const made = await runCli(['room', 'new', '--name', 'Home', '--broker', 'mqtts://broker.example.org:8883'], home.env);
    assert.equal(made.code, 0, made.stderr);
    const link = made.stdout.trim().split('\n').pop()!;
    assert.match(link, /^peercam:\/\/room#k=[\w-]{46}&b=mqtts/);
    assert.ok(made.stdout.split('\n').length > 10, 'a terminal QR code precedes the link');
    const file = join(home.dir, 'room');
    assert.equal((await stat(file)).mode & 0o777, 0o600, 'the room file is private');
    assert.ok((await readFile(file, 'utf8')).includes(link));
    const shown = await runCli(['room', 'show', '--json'], home.env);
    const json = JSON.parse(shown.stdout) as { roomId: string; link: string; broker: string; name: string; httpToken: string };
    assert.equal(json.link, link);
    assert.equal(json.roomId, (await Room.fromLink(link)).id);
    assert.equal(json.httpToken, (await Room.fromLink(link)).credentials.httpToken);
    assert.equal(json.broker, 'mqtts://broker.example.org:8883');
    assert.equal(json.name, 'Home');
  });

  it('refuses to replace a room without --force; --out writes a room file that --room reads', async () => {
    const home = await cliHome();
    after(() => home.remove());
    await runCli(['room', 'new', '--no-qr'], home.env);
    const again = await runCli(['room', 'new', '--no-qr'], home.env);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /already exists.*--force/);
    const out = join(home.dir, 'shop.room');
    const made = await runCli(['room', 'new', '--no-qr', '--out', out], home.env);
    assert.equal(made.code, 0, made.stderr);
    const shown = await runCli(['room', 'show', '--json', '--room', out], home.env);
    assert.equal((JSON.parse(shown.stdout) as { link: string }).link, made.stdout.trim());
  });

  it('says what to do with no room, a truncated link, or an unreadable room file', async () => {
    const home = await cliHome();
    after(() => home.remove());
    const none = await runCli(['room', 'show'], home.env);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /No room yet.*peercam room new/);
    const bad = await runCli(['ls', '--room', 'peercam://room#k=abcdef'], home.env);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /truncated/);
    const missing = await runCli(['room', 'show', '--room', join(home.dir, 'nope')], home.env);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /Cannot read the room file/);
  });

  it('ls says how to fix a broker that is not there', async () => {
    const home = await cliHome();
    after(() => home.remove());
    await runCli(['room', 'new', '--no-qr', '--broker', 'mqtt://127.0.0.1:9'], home.env);
    const r = await runCli(['ls'], home.env);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /Cannot reach the MQTT broker at mqtt:\/\/127\.0\.0\.1:9.*Is it running/);
  });
});
