import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const REPO = join(import.meta.dirname, '..', '..');

/** A temp project with the packed peercam installed in node_modules, and the repo's examples/ copied in. */
export interface PackedProject {
  readonly dir: string;
  readonly tarball: string;
  /** Paths inside the tarball, without the leading "package/". */
  readonly files: readonly string[];
  /** The installed package's directory (node_modules/peercam). */
  readonly pkgDir: string;
  remove(): Promise<void>;
}

/**
 * `npm pack` of the built repo, installed into a fresh project the way npm lays it out: the tarball's contents in
 * node_modules/peercam (so imports go through its exports map), its dependencies linked from the repo's node_modules
 * (tests run without a network; CI fills that folder with `npm ci`). Needs `npm run build` first (npm test does it).
 */
export async function packedProject(): Promise<PackedProject> {
  await stat(join(REPO, 'dist', 'node.js')).catch(() => {
    throw new Error('dist/ is missing: run `npm run build` before this test (npm test does).');
  });
  const dir = await mkdtemp(join(tmpdir(), 'peercam-pack-'));
  const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: REPO, maxBuffer: 64 * 1024 * 1024 });
  const packed = JSON.parse(stdout) as { filename: string; files: { path: string }[] }[];
  const first = packed[0];
  if (!first) throw new Error(`npm pack printed nothing usable: ${stdout.slice(0, 200)}`);
  const tarball = join(dir, first.filename);
  const project = join(dir, 'project');
  const pkgDir = join(project, 'node_modules', 'peercam');
  await mkdir(pkgDir, { recursive: true });
  await run('tar', ['-xzf', tarball, '-C', pkgDir, '--strip-components=1']);
  const manifest = JSON.parse(await readFile(join(pkgDir, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
  for (const dep of Object.keys(manifest.dependencies ?? {})) {
    const link = join(project, 'node_modules', dep);
    await mkdir(dirname(link), { recursive: true });
    await symlink(join(REPO, 'node_modules', dep), link, 'dir');
  }
  await cp(join(REPO, 'examples'), join(project, 'examples'), { recursive: true });
  await writeFile(join(project, 'package.json'), JSON.stringify({ name: 'peercam-user', private: true, type: 'module', dependencies: { peercam: first.filename } }));
  return { dir: project, tarball, files: first.files.map((f) => f.path), pkgDir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** Runs a tool from the repo's node_modules/.bin; resolves with its output, rejects with it on a non-zero exit. */
export async function bin(name: string, args: readonly string[], cwd: string): Promise<string> {
  try {
    const { stdout, stderr } = await run(join(REPO, 'node_modules', '.bin', name), [...args], { cwd, maxBuffer: 16 * 1024 * 1024, env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' } });
    return stdout + stderr;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${name} ${args.join(' ')} failed:\n${e.stdout ?? ''}${e.stderr ?? e.message}`);
  }
}
