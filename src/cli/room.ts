import { access } from 'node:fs/promises';
import type { Command } from 'commander';
import QRCode from 'qrcode';
import { PeercamError, Room } from '../protocol/index.js';
import { COMMAND } from './command.js';
import { loadRoom, roomFile, saveRoom } from './home.js';

export function registerRoom(program: Command): void {
  const room = program.command('room').description('create or show the room (the pairing link every device shares)');
  room
    .command('new')
    .description('create a new room and print its pairing link and QR code')
    .option('--out <file>', 'write the room file here instead of the data dir')
    .option('--broker <url>', 'MQTT broker the room meets on (carried in the link)')
    .option('--name <name>', 'a name for the room')
    .option('--force', 'replace the existing room (devices paired with the old link must be paired again)')
    .option('--no-qr', 'do not print the QR code')
    .action(async (opts: { out?: string; broker?: string; name?: string; force?: boolean; qr: boolean }) => {
      const file = opts.out ?? roomFile();
      if (!opts.force && (await exists(file))) {
        throw PeercamError.config(
          `A room already exists in ${file}. Show it with \`${COMMAND} room show\`, or replace it with --force (devices paired with the old link will need the new one).`,
        );
      }
      const created = await Room.create({ ...(opts.broker ? { broker: opts.broker } : {}), ...(opts.name ? { name: opts.name } : {}) });
      await saveRoom(created, file);
      await print(created, opts.qr);
      process.stderr.write(`Saved to ${file} (keep it private: the link is the key to the room).\n`);
    });
  room
    .command('show')
    .description('print the pairing link, room id and QR code')
    .option('--room <link|file>', 'a link or room file (default: the room in the data dir)')
    .option('--no-qr', 'do not print the QR code')
    .option('--json', "print {roomId, link, broker, name, httpToken} as JSON (httpToken: Bearer token for the hub's members-only HTTP)")
    .action(async (opts: { room?: string; qr: boolean; json?: boolean }) => {
      const r = await loadRoom(opts.room);
      if (opts.json) {
        process.stdout.write(`${JSON.stringify({ roomId: r.id, link: await r.link(), broker: r.options.broker ?? null, name: r.options.name ?? null, httpToken: r.credentials.httpToken })}\n`);
        return;
      }
      await print(r, opts.qr);
    });
}

async function print(room: Room, qr: boolean): Promise<void> {
  const link = await room.link();
  if (qr) {
    // The terminal QR ends with a colour reset and no newline: without one the link would carry escape codes.
    const code = await QRCode.toString(link, { type: 'terminal', small: true });
    process.stdout.write(code.endsWith('\n') ? code : `${code}\n`);
  }
  process.stdout.write(`${link}\n`);
  process.stderr.write(`room id ${room.id}${room.options.broker ? `, broker ${room.options.broker}` : ''}\n`);
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}
