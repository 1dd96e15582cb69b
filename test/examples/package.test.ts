import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { extractApi } from '../../scripts/api-docs.js';
import { bin, type PackedProject, packedProject, REPO } from './package.js';

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
      exports: Record<string, Record<string, string | Record<string, string>>>;
    };
    // Under "browser", code and types both of the browser build; else the Node entry's.
    assert.deepEqual(manifest.exports['.']?.browser, { types: './dist/browser.d.ts', default: './dist/browser.js' });
    assert.equal(manifest.exports['.']?.types, './dist/node.d.ts');
    const browser = await readFile(join(project.pkgDir, 'dist', 'browser.js'), 'utf8');
    assert.match(browser, /joinRoom/);
    assert.doesNotMatch(browser, /from ['"]node:|from ['"](fs|net|os|child_process|dgram)['"]/);
  });

  it('types a browser project (bundler resolution) with the browser API, and a Node project with the Node API', async () => {
    // What a TypeScript page gets: `peercam/browser`, or `peercam` with the "browser" condition (customConditions);
    // a watch's `stream` is a MediaStream. Type errors fail tsc, so each assignment is the assertion.
    await writeFile(
      join(project.dir, 'page.ts'),
      [
        "import { type BrowserRoom, joinRoom } from 'peercam';",
        "import { joinRoom as joinFromSubpath } from 'peercam/browser';",
        "const room: BrowserRoom = await joinRoom('#k=x');",
        "const again: BrowserRoom = await joinFromSubpath({ link: '#k=x', name: 'page' });",
        'const stream: MediaStream = (await room.watch(again.cameras()[0]!)).stream;',
        // What the web app's tiles, call and camera page use of the browser API.
        "import { type BrowserPublication, exponentialBackoff, type IceProblem, roomOnChannel, type SealedChannel } from 'peercam/browser';",
        'const watch = await room.watch(again.cameras()[0]!, { retry: exponentialBackoff({ initialMs: 1000 }) });',
        "watch.on('trouble', (message: string, problem: IceProblem) => console.log(message, problem));",
        'const talk: RTCRtpSender | undefined = watch.talkBack;',
        'const pc: RTCPeerConnection | undefined = watch.peerConnection;',
        'const camera: BrowserPublication = await room.publish(stream, { talkBack: true });',
        "camera.on('talkBack', (t) => { const heard: MediaStream = t.stream; console.log(heard); });",
        'await camera.replaceStream(stream);',
        'declare const channel: SealedChannel;',
        "const own: BrowserRoom = roomOnChannel(channel, { presence: { name: 'page', role: 'viewer' } });",
        'export { stream, talk, pc, own };',
      ].join('\n'),
    );
    await writeFile(
      join(project.dir, 'server.ts'),
      [
        "import { joinRoom, type NodeRoom, type NodeWatch } from 'peercam';",
        "const room: NodeRoom = await joinRoom({ link: '#k=x', lan: true });",
        'const watch: NodeWatch = await room.watch(room.cameras()[0]!, { videoCodecs: ["VP8"] });',
        'export { watch };',
      ].join('\n'),
    );
    const base = { target: 'es2022', module: 'esnext', strict: true, noEmit: true, skipLibCheck: true };
    const configs = {
      'tsconfig.page.json': { compilerOptions: { ...base, moduleResolution: 'bundler', customConditions: ['browser'], lib: ['es2022', 'dom'], types: [] }, files: ['page.ts'] },
      'tsconfig.server.json': { compilerOptions: { ...base, module: 'nodenext', moduleResolution: 'nodenext', types: ['node'], typeRoots: [join(REPO, 'node_modules', '@types')] }, files: ['server.ts'] },
    };
    for (const [file, config] of Object.entries(configs)) {
      await writeFile(join(project.dir, file), JSON.stringify(config));
      await bin('tsc', ['-p', file], project.dir);
    }
    // Without the condition, `peercam` is the Node entry's types: a browser project says so with peercam/browser.
    await writeFile(join(project.dir, 'plain.ts'), "import { joinRoom, type NodeRoom } from 'peercam';\nexport const room: NodeRoom = await joinRoom('#k=x');\n");
    await writeFile(join(project.dir, 'tsconfig.plain.json'), JSON.stringify({ compilerOptions: { ...base, moduleResolution: 'bundler', lib: ['es2022', 'dom'], types: [] }, files: ['plain.ts'] }));
    await bin('tsc', ['-p', 'tsconfig.plain.json'], project.dir);
  });
});
