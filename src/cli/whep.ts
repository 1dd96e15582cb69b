import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { addClientToken, CLIENT_TOKENS_FILE, formatClientTokens, parseClientTokens, revokeClientToken, type StoredClientToken } from '../hub/client-tokens.js';
import { COMMAND } from './command.js';
import { dataDir, loadRoom, writeFileSafely } from './home.js';

/** Where the hub of this data dir looks for client tokens. */
export const clientTokensFile = (): string => join(dataDir(), CLIENT_TOKENS_FILE);

async function readTokens(): Promise<StoredClientToken[]> {
  const text = await readFile(clientTokensFile(), 'utf8').catch(() => '');
  return parseClientTokens(text);
}

/** `peercam whep token add|list|revoke`: per-client tokens for the hub's WHEP and WHIP doors (docs/WHEP.md). */
export function registerWhep(program: Command): void {
  const whep = program.command('whep').description("the hub's WHEP/WHIP doors: per-client tokens the owner can revoke");
  const token = whep.command('token').description('bearer tokens of their own for WHEP players and WHIP publishers (stored hashed in PEERCAM_HOME)');
  const roomOption = ['--room <link|file>', 'the room (default: the one in the data dir)'] as const;
  token
    .command('add <name>')
    .description("make a token for one client (e.g. go2rtc, obs); it is printed once, only its SHA-256 is kept")
    .option(...roomOption)
    .option('--json', 'print {name, token}')
    .action(async (name: string, opts: { room?: string; json?: boolean }) => {
      const room = await loadRoom(opts.room);
      const { tokens, token: secret } = addClientToken(await readTokens(), room.id, name);
      await writeFileSafely(clientTokensFile(), formatClientTokens(tokens), 0o600);
      if (opts.json) process.stdout.write(`${JSON.stringify({ name, token: secret })}\n`);
      else process.stdout.write(`${secret}\n`);
      process.stderr.write(
        `Token for "${name}" (shown once; WHEP and WHIP only): Authorization: Bearer <token>, or ?access_token=<token>. ` +
          `Revoke it with \`${COMMAND} whep token revoke ${JSON.stringify(name)}\` (a running hub drops it at once).\n`,
      );
    });
  token
    .command('list')
    .description('the clients with a token in this room')
    .option(...roomOption)
    .option('--json', 'print [{name, created}]')
    .action(async (opts: { room?: string; json?: boolean }) => {
      const room = await loadRoom(opts.room);
      const mine = (await readTokens()).filter((t) => t.room === room.id).map((t) => ({ name: t.name, created: t.created }));
      if (opts.json) return void process.stdout.write(`${JSON.stringify(mine)}\n`);
      if (mine.length === 0) return void process.stderr.write(`No client tokens in this room. Add one: ${COMMAND} whep token add NAME\n`);
      for (const t of mine) process.stdout.write(`${t.name}\t${t.created}\n`);
    });
  token
    .command('revoke <name>')
    .description("revoke a client's token: a running hub refuses it from the next request and ends its open sessions")
    .option(...roomOption)
    .action(async (name: string, opts: { room?: string }) => {
      const room = await loadRoom(opts.room);
      const kept = revokeClientToken(await readTokens(), room.id, name);
      await writeFileSafely(clientTokensFile(), formatClientTokens(kept), 0o600);
      process.stderr.write(`Revoked the token of "${name}".\n`);
    });
}
