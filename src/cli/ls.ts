import type { Command } from 'commander';
import { newDeviceId } from '../protocol/index.js';
import type { PeerInfo } from '../signaling/channel.js';
import { addNetOptions, joinOverMqtt, logger, type NetOptions, presenceOf } from './context.js';

interface LsOptions extends NetOptions {
  seconds: string;
  json?: boolean;
}

export function registerLs(program: Command): void {
  addNetOptions(
    program
      .command('ls')
      .description('list the devices present in the room')
      .option('--seconds <n>', 'how long to listen for presence', '2')
      .option('--json', 'print a JSON array of {id, name, role, via}'),
  ).action(async (opts: LsOptions) => {
    const log = logger(opts);
    const seconds = Number(opts.seconds);
    if (!Number.isFinite(seconds) || seconds < 0) throw new RangeError(`--seconds must be a number of seconds, not "${opts.seconds}"`);
    // Watch without announcing ourselves: listing a room must not change what others see.
    const { channel } = await joinOverMqtt(opts, { id: newDeviceId(), presence: presenceOf('ls', 'viewer'), announce: false }, log);
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
    const peers = [...channel.peers.values()];
    await channel.close();
    process.stdout.write(opts.json ? `${JSON.stringify(peers.map(summary))}\n` : table(peers));
  });
}

function summary(p: PeerInfo) {
  return { id: p.id, name: p.name, role: p.role, via: p.via };
}

function table(peers: PeerInfo[]): string {
  if (peers.length === 0) return 'No devices present in this room.\n';
  const rows = [['ID', 'NAME', 'ROLE', 'VIA'], ...peers.map((p) => [p.id, p.name, p.role, p.via])];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return `${rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n')}\n`;
}
