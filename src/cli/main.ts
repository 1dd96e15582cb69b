#!/usr/bin/env node
import { Command } from 'commander';
import { engineLogFromEnv, shutdownNdc } from '../media/ndc/index.js';
import { PeercamError } from '../protocol/index.js';
import { COMMAND } from './command.js';
import { hangExitSeconds, startHangWatchdog } from './hang-watchdog.js';
import { VERSION } from './context.js';
import { registerCamera } from './camera.js';
import { registerHomeAssistant } from './homeassistant.js';
import { registerLs } from './ls.js';
import { registerRecord } from './record.js';
import { registerRoom } from './room.js';
import { registerUp } from './up.js';
import { registerWatch } from './watch.js';
import { registerWhep } from './whep.js';

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
registerRoom(program);
registerLs(program);
registerCamera(program);
registerWatch(program);
registerRecord(program);
registerUp(program);
registerWhep(program);
registerHomeAssistant(program);

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
