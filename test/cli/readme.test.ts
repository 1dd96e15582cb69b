import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { banner } from '../../src/hub/banner.js';
import { Room } from '../../src/protocol/index.js';
import { cliHome } from '../helpers/cli.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));

/** Runs a command line exactly as a user types it in the clone (words split on spaces; no quoting needed here). */
async function typed(line: string, env: NodeJS.ProcessEnv): Promise<{ stdout: string; stderr: string }> {
  const [cmd, ...args] = line.trim().split(/\s+/);
  assert.ok(cmd, `a command in "${line}"`);
  // npm's update check would try the registry: nothing of this test may leave the machine.
  return run(cmd, args, { cwd: root, env: { ...env, npm_config_update_notifier: 'false' }, timeout: 60_000 });
}

/** The `npx peercam ...` lines of the README's sh blocks, comments and `[...]` placeholders stripped. */
async function readmeCommands(): Promise<string[]> {
  const readme = await readFile(`${root}README.md`, 'utf8');
  const blocks = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');
  return blocks
    .flatMap((b) => b.split('\n'))
    .map((l) => l.replace(/\s+#.*$/, '').trim())
    .filter((l) => /^(npx )?peercam\b/.test(l));
}

/** `npx peercam room new` -> ['room', 'new']; `npx peercam camera --lan ...` -> ['camera']. */
function subcommand(line: string): string[] {
  const words = line.split(/\s+/).slice(2);
  const out: string[] = [];
  for (const w of words) {
    if (w.startsWith('-') || w.startsWith('[')) break;
    out.push(w);
    if (out[0] !== 'room') break;
  }
  return out;
}

/**
 * Issue 9 item 7: after the README's set-up (`npm ci`, which builds dist/), the commands the README and the hub
 * banner print run as written, from the clone, with `npx peercam` (no `peercam` on PATH needed).
 */
describe('the README and banner commands run as written', () => {
  let home: Awaited<ReturnType<typeof cliHome>>;

  before(async () => {
    home = await cliHome();
  });
  after(() => home.remove());

  it('every README command is `npx peercam <command>`, and that command takes the options the README gives it', async () => {
    const lines = await readmeCommands();
    assert.ok(lines.length >= 10, `README has its command lines (${lines.length})`);
    for (const line of lines) assert.match(line, /^npx peercam /, `README prints "${line}"`);
    const { stdout: help } = await typed('npx peercam --help', home.env);
    assert.match(help, /^Usage: npx peercam \[options\] \[command\]/m);
    const checked = new Map<string, string>();
    for (const line of lines) {
      const sub = subcommand(line).join(' ');
      assert.match(help, new RegExp(`^  ${subcommand(line)[0]}\\b`, 'm'), `"${sub}" is a command (${line})`);
      // The options: from the built CLI directly (npx itself costs seconds per run; it is exercised above and below).
      if (!checked.has(sub)) checked.set(sub, (await typed(`${process.execPath} dist/cli/main.js ${sub} --help`, home.env)).stdout);
      const subHelp = checked.get(sub) ?? '';
      for (const flag of line.match(/(?<=\s|\[)--[a-z][a-z-]*/g) ?? []) assert.ok(subHelp.includes(flag), `"${sub} --help" lists ${flag} (README: ${line})`);
    }
  });

  it('`npx peercam room new` then `room show` in a fresh home print the same link', async () => {
    const made = await typed('npx peercam room new --no-qr', home.env);
    const link = made.stdout.trim().split('\n').pop() ?? '';
    assert.match(link, /^peercam:\/\/room#k=/);
    const shown = await typed('npx peercam room show', home.env);
    assert.ok(shown.stdout.includes(link), shown.stdout);
    // The hints the CLI prints name the same command.
    await assert.rejects(typed('npx peercam room new --no-qr', home.env), (err: { stderr?: string }) => /`npx peercam room show`/.test(err.stderr ?? ''));
  });

  it("the banner's terminal command runs as printed", async () => {
    const room = await Room.create();
    const text = await banner(
      { room, localUrl: 'http://127.0.0.1:8443/', lanUrls: [], webPort: 8443, brokerUrl: 'mqtt://127.0.0.1:1883', mqttPort: 1883 },
      { qr: false, fingerprint: 'AA', demo: false },
    );
    const line = /Camera from a terminal:\s+(npx peercam [^\n(]+)/.exec(text)?.[1];
    assert.ok(line, text);
    assert.equal(line.trim(), 'npx peercam camera --broker mqtt://127.0.0.1:1883');
    // With --help appended it runs, and the options it uses exist (running it for real needs a broker: other tests).
    const { stdout } = await typed(`${line} --help`, home.env);
    assert.match(stdout, /^Usage: npx peercam camera \[options\]/m);
    assert.match(stdout, /--broker <url>/);
  });
});
