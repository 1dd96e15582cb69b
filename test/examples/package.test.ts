import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { extractApi } from '../../scripts/api-docs.js';
import { bin, type PackedProject, packedProject } from './package.js';

describe('the npm package: what `npm pack` ships, its exports and types, its reference', () => {
  let project: PackedProject;
  before(async () => {
    project = await packedProject();
  });
  after(async () => {
    await project?.remove();
  });

  it('ships the build, the demo clips, docs and README, and nothing of tests, sources or web source maps', () => {
    const files = project.files;
    for (const needed of [
      'package.json',
      'README.md',
      'dist/node.js',
      'dist/node.d.ts',
      'dist/browser.js',
      'dist/browser.d.ts',
      'dist/api/room.js',
      'dist/cli/main.js',
      'dist/web/index.html',
      'assets/demo/demo.h264',
      'assets/demo/demo.ivf',
      'docs/PROTOCOL.md',
      'docs/LIBRARY.md',
    ])
      assert.ok(files.includes(needed), `${needed} is in the package`);
    const unwanted = files.filter(
      (f) =>
        /^(test|src|bench|scripts|examples|\.ci|seed|node_modules)\//.test(f) ||
        /\.test\.|fixtures/.test(f) ||
        /^dist\/web\/.*\.map$/.test(f) ||
        (f.startsWith('assets/') && !f.startsWith('assets/demo/demo.')),
    );
    assert.deepEqual(unwanted, []);
    assert.ok(files.length < 600, `${files.length} files`);
  });

  it('passes publint (strict) and arethetypeswrong (ESM-only profile) on the packed files', async () => {
    const lint = await bin('publint', ['--strict', '--pack', 'false', project.pkgDir], project.dir);
    // Errors and warnings fail (--strict exits non-zero on either); its one suggestion, "sideEffects": false, is not
    // taken: the web app is bundled from these sources, and telling Vite they are pure changed its output.
    assert.doesNotMatch(lint, /^(Errors|Warnings):/m, lint);
    assert.match(lint, /All good!|Suggestions:\n1\. [^\n]*"sideEffects"/, lint);
    assert.doesNotMatch(lint, /^2\. /m, lint);
    const types = await bin('attw', [project.tarball, '--profile', 'esm-only', '--format', 'ascii'], project.dir);
    // attw exits non-zero on any problem its profile counts; ESM-only ignores node10 and require() from CJS.
    const counted = types.split('\n').filter((l) => !l.includes('(ignored'));
    assert.deepEqual(counted.filter((l) => /💀|❌|⚠️|failed/u.test(l)), [], types);
    assert.equal(counted.filter((l) => /node16 \(from ESM\): 🟢|bundler: 🟢/u.test(l)).length, 4, types);
  });

  it('documents every export (and every member of the high-level API) in the reference API Extractor builds', () => {
    const report = extractApi();
    assert.ok(report.exports > 150, `${report.exports} exports`);
    assert.ok(report.apiMembers > 50, `${report.apiMembers} members`);
    assert.deepEqual(report.undocumented, []);
  });

  it('gives the browser entry the browser condition and keeps Node built-ins out of it', async () => {
    const manifest = JSON.parse(await readFile(join(project.pkgDir, 'package.json'), 'utf8')) as {
      exports: Record<string, Record<string, string>>;
    };
    assert.equal(manifest.exports['.']?.browser, './dist/browser.js');
    assert.equal(manifest.exports['.']?.types, './dist/node.d.ts');
    const browser = await readFile(join(project.pkgDir, 'dist', 'browser.js'), 'utf8');
    assert.match(browser, /joinRoom/);
    assert.doesNotMatch(browser, /from ['"]node:|from ['"](fs|net|os|child_process|dgram)['"]/);
  });
});
