import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { listSegments } from '../../src/record/store.js';
import { startAedes } from '../helpers/brokers.js';
import { cliHome, runCli, spawnCli } from '../helpers/cli.js';
import { waitFor } from '../helpers/wait.js';
import { decodeErrors } from './probe.js';

const MAIN = join(import.meta.dirname, '..', '..', 'dist', 'cli', 'main.js');

/**
 * A disk that fills up for real: the recorder runs in a mount namespace of its own (unshare -m) over a 64 MiB tmpfs
 * that something else has filled but for 3 MiB (a ballast file); the test reads and frees that filesystem through
 * /proc/<pid>/root. --min-free 0 lets the writes run into ENOSPC. First the recordings cannot make the room retention
 * asks for after a full disk (10 % of it), so writing stays stopped until the test frees space; then the recordings
 * themselves fill the disk, and retention makes room by itself.
 */
it('disk full (ENOSPC on a small tmpfs): one clear error, oldest deleted, recording resumes, every file plays', async () => {
  const broker = await startAedes();
  after(() => broker.stop());
  const home = await cliHome();
  after(() => home.remove());
  assert.equal((await runCli(['room', 'new', '--no-qr', '--broker', broker.url], home.env)).code, 0);
  // A member of the room watching presence, as every member's page does: the recorder says when it stops writing.
  const watch = spawnCli(['ls', '--watch', '--json'], home.env);
  after(() => watch.stop());
  const recorderSaid = () =>
    watch
      .output()
      .split('\n')
      .flatMap((line) => {
        try {
          return (JSON.parse(line) as { role: string; recording?: { state: string; error?: string; cameras?: string[] } }[])
            .filter((e) => e.role === 'viewer')
            .map((e) => e.recording);
        } catch {
          return [];
        }
      });
  const cam = spawnCli(['camera', '--source', 'testsrc', '--name', 'garage', '--size', '640x360', '--gop', '1', '--bitrate', '6000'], home.env);
  after(() => cam.kill());
  await cam.waitFor(/is live in room/);

  const mnt = mkdtempSync(join(tmpdir(), 'peercam-tmpfs-'));
  after(() => rmSync(mnt, { recursive: true, force: true }));
  const script = `mount -t tmpfs -o size=64m peercam-test ${mnt} && dd if=/dev/zero of=${mnt}/ballast bs=1M count=61 status=none && exec "$0" "$@"`;
  const rec = spawn('unshare', ['-m', '--', 'sh', '-c', script, process.execPath, MAIN, 'record', '--out', mnt, '--segment', '1s', '--min-free', '0'], {
    env: home.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  rec.stdout.on('data', (d: Buffer) => (out += d.toString()));
  rec.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => rec.on('close', resolve));
  after(async () => {
    if (rec.exitCode === null) rec.kill('SIGKILL');
    await exited;
  });
  const inside = join('/proc', String(rec.pid), 'root', mnt);
  const alive = () => rec.exitCode === null || assert.fail(`the recorder exited:\n${out}`);

  await waitFor(() => alive() && listSegments(inside, 'garage').some((s) => !s.open), { timeoutMs: 30_000, what: 'a first segment', intervalMs: 100 });
  const first = listSegments(inside, 'garage')[0]!.path;
  const full = /Recording stopped: the disk holding .* is full \(ENOSPC\)/;
  await waitFor(() => alive() && full.test(out), { timeoutMs: 90_000, what: `ENOSPC\n${out}`, intervalMs: 200 });
  // Deleting every recording frees less than retention asks for: writing stays stopped, and every member is told,
  // with the same words and the camera it receives.
  await waitFor(() => recorderSaid().some((r) => r?.state === 'full'), { timeoutMs: 10_000, what: `the recorder's presence saying full: ${watch.output()}` });
  const said = recorderSaid().find((r) => r?.state === 'full');
  assert.match(said?.error ?? '', full);
  assert.deepEqual(said?.cameras, ['garage'], 'and which camera it receives');
  assert.doesNotMatch(out, /recording resumed/, 'no room was made yet');
  // Space freed by hand (10 MiB of the ballast): recording resumes by itself within a retry, and members are told.
  truncateSync(join(inside, 'ballast'), 51 * 1024 * 1024);
  await waitFor(() => alive() && /recording resumed/.test(out), { timeoutMs: 30_000, what: 'resumed', intervalMs: 200 });
  await waitFor(() => recorderSaid().at(-1)?.state === 'ok', { timeoutMs: 10_000, what: `the recorder's presence back to ok: ${watch.output()}` });
  const resumedAt = Date.now();
  await waitFor(() => alive() && listSegments(inside, 'garage').some((s) => !s.open && s.start > resumedAt), { timeoutMs: 30_000, what: 'segments after resuming', intervalMs: 200 });
  // Now the recordings fill the disk themselves: retention deletes the oldest and recording goes on, with no help.
  await waitFor(() => alive() && (out.match(/Recording stopped/g)?.length ?? 0) >= 2 && (out.match(/recording resumed/g)?.length ?? 0) >= 2, {
    timeoutMs: 60_000,
    what: `a second full disk, and room made by retention\n${out.slice(-3000)}`,
    intervalMs: 200,
  });
  assert.ok(!existsSync(first), 'the oldest segment was deleted to make room');
  // The tmpfs lives as long as the recorder's namespace: check the files while it runs.
  // Retention keeps deleting the oldest as the disk fills again, so a file may go while it is being read.
  let decoded = 0;
  for (const seg of listSegments(inside, 'garage').filter((s) => !s.open).reverse().slice(0, 5)) {
    const errors = await decodeErrors(seg.path);
    if (errors && !existsSync(seg.path)) continue;
    assert.equal(errors, '', seg.path);
    decoded++;
  }
  assert.ok(decoded >= 3, `${decoded} segments decoded`);

  const stops = out.match(/Recording stopped/g)?.length ?? 0;
  const resumes = out.match(/recording resumed/g)?.length ?? 0;
  assert.ok(stops >= 1 && stops <= resumes + 1, `one error per full disk, not one per frame: ${stops} stops, ${resumes} resumes`);
  rec.kill('SIGTERM');
  assert.equal(await exited, 0, out.slice(-2000));
  process.stdout.write(`# disk full: ${stops} stop(s), ${resumes} resume(s)\n`);
});
