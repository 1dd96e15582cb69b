import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
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
 * A disk that fills up for real: the recorder runs in a mount namespace of its own (unshare -m) over a 8 MiB tmpfs;
 * the test reads that filesystem through /proc/<pid>/root. --min-free 0 lets the writes run into ENOSPC.
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
  const script = `mount -t tmpfs -o size=8m peercam-test ${mnt} && exec "$0" "$@"`;
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
  await waitFor(() => alive() && /Recording stopped: the disk holding .* is full \(ENOSPC\)/.test(out), { timeoutMs: 90_000, what: `ENOSPC\n${out}`, intervalMs: 200 });
  await waitFor(() => alive() && /recording resumed/.test(out), { timeoutMs: 30_000, what: 'resumed', intervalMs: 200 });
  // Its presence said it too, with the same words, then that it writes again.
  await waitFor(() => recorderSaid().some((r) => r?.state === 'ok'), { timeoutMs: 10_000, what: `the recorder's presence back to ok: ${watch.output()}` });
  const said = recorderSaid();
  const full = said.findIndex((r) => r?.state === 'full');
  assert.ok(full >= 0, `the recorder's presence said the disk is full: ${watch.output()}`);
  assert.match(said[full]?.error ?? '', /Recording stopped: the disk holding .* is full \(ENOSPC\)/);
  assert.ok(said.slice(full).some((r) => r?.state === 'ok'), 'then that it writes again');
  assert.deepEqual(said[full]?.cameras, ['garage'], 'and which camera it receives');
  const resumedAt = Date.now();
  await waitFor(() => alive() && listSegments(inside, 'garage').some((s) => !s.open && s.start > resumedAt), { timeoutMs: 30_000, what: 'segments after resuming', intervalMs: 200 });
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
