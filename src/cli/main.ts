#!/usr/bin/env node
import { Command } from 'commander';
import { engineLogFromEnv, shutdownNdc } from '../media/ndc/index.js';
import { PeercamError } from '../protocol/index.js';
import { COMMAND } from './command.js';
import { hangExitSeconds, startHangWatchdog } from './hang-watchdog.js';
import { VERSION } from './context.js';

/**
 * Each command's module, in the order help lists them. Only the one that runs is loaded: a camera does not load the
 * hub's broker, web server and certificates (on this machine 11 MB of heap and 0.36 s to load instead of 19 MB and
 * 0.78 s), and a recorder's full GCs walk a smaller heap.
 */
const COMMANDS: Record<string, () => Promise<(program: Command) => void>> = {
  room: async () => (await import('./room.js')).registerRoom,
  ls: async () => (await import('./ls.js')).registerLs,
  camera: async () => (await import('./camera.js')).registerCamera,
  watch: async () => (await import('./watch.js')).registerWatch,
  record: async () => (await import('./record.js')).registerRecord,
  up: async () => (await import('./up.js')).registerUp,
  whep: async () => (await import('./whep.js')).registerWhep,
  homeassistant: async () => (await import('./homeassistant.js')).registerHomeAssistant,
};

const program = new Command()
  .name(COMMAND)
  .description('Any phone, laptop or Pi as a live camera; watch them all from one screen. Peer-to-peer WebRTC, sealed signaling.')
  .version(VERSION)
  .addHelpText(
    'after',
    `\nRun it from the peercam folder after \`npm ci\` as \`${COMMAND} <command>\` (npm runs the project's own bin);\n` +
      '`npm link` in that folder once puts a bare `peercam` on PATH. Start with: ' + `${COMMAND} room new`,
  );
/** The commands that run until stopped (or for a while): a hung engine must not leave them alive but deaf. */
const LONG_RUNNING = new Set(['camera', 'record', 'up', 'watch']);
// Before any command makes a peer: libdatachannel's own log, when asked for (PEERCAM_WEBRTC_LOG), and the watchdog.
program.hook('preAction', (_program, command) => {
  engineLogFromEnv();
  if (LONG_RUNNING.has(command.name())) startHangWatchdog(hangExitSeconds());
});
// The program has no options of its own that take a value: the first word is the command. Help, a typo or no
// command at all gets every command (the list, and the suggestions for a misspelt one).
const asked = process.argv.slice(2).find((arg) => !arg.startsWith('-'));
const load = asked !== undefined && Object.hasOwn(COMMANDS, asked) ? [COMMANDS[asked]!] : Object.values(COMMANDS);
for (const register of await Promise.all(load.map((f) => f()))) register(program);

program
  .parseAsync()
  .then(() => {
    // node-datachannel's threads keep the process alive until released (DESIGN.md: cleanup() before exit).
    shutdownNdc();
    process.exit(process.exitCode ?? 0);
  })
  .catch((err: unknown) => {
  if (err instanceof PeercamError) {
    process.stderr.write(`peercam: ${err.message}\n`);
    if (process.env.PEERCAM_LOG === 'debug' && err.cause) process.stderr.write(`cause: ${String(err.cause)}\n`);
    process.exit(err.code === 'bad-config' || err.code === 'bad-link' ? 2 : 1);
  }
  if (err instanceof RangeError) {
    process.stderr.write(`peercam: ${err.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`peercam: unexpected error (please report it): ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
