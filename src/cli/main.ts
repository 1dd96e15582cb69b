#!/usr/bin/env node
import { Command } from 'commander';
import { PeercamError } from '../protocol/index.js';
import { VERSION } from './context.js';
import { registerLs } from './ls.js';
import { registerRoom } from './room.js';

const program = new Command()
  .name('peercam')
  .description('Any phone, laptop or Pi as a live camera; watch them all from one screen. Peer-to-peer WebRTC, sealed signaling.')
  .version(VERSION);
registerRoom(program);
registerLs(program);

program.parseAsync().catch((err: unknown) => {
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
