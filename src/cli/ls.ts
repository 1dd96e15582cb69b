import type { Command } from 'commander';
import { newDeviceId } from '../protocol/index.js';
import type { PeerInfo } from '../signaling/channel.js';
import type { LanService } from '../signaling/lan/index.js';
import { untilSignal } from './camera.js';
import { addNetOptions, logger, presenceOf } from './context.js';
import { addLanOptions, type Joined, joinRoom, type LanCliOptions } from './lan.js';

interface LsOptions extends LanCliOptions {
  seconds: string;
  json?: boolean;
  watch?: boolean;
}

/** One row of `ls --json`: a member of the room, or (with --lan) a device of another room seen on the LAN. */
export type LsEntry =
  | { id: string; name: string; role: string; via: PeerInfo['via']; recording?: PeerInfo['recording'] }
  | { id: string; role: string; room: 'foreign'; via: 'lan' };

export function registerLs(program: Command): void {
  addLanOptions(
    addNetOptions(
      program
        .command('ls')
        .description('list the devices present in the room (with --lan: also devices of other rooms on this LAN, as foreign)')
        .option('--seconds <n>', 'how long to listen for presence', '2')
        .option('--watch', 'keep listening and print the list again on every change, until interrupted')
        .option('--json', 'print a JSON array of {id, name, role, via[, recording]} (recording: a recorder\'s {state, error, cameras}; foreign devices: {id, role, room: "foreign", via: "lan"})'),
    ),
  ).action(async (opts: LsOptions) => {
    const log = logger(opts);
    const seconds = Number(opts.seconds);
    if (!Number.isFinite(seconds) || seconds < 0) throw new RangeError(`--seconds must be a number of seconds, not "${opts.seconds}"`);
    // Watch without announcing ourselves: listing a room must not change what others see. A long-running --watch
    // is advertised on mDNS all the same (never as a member), so a device that starts dials it at once instead of
    // being found only after its own probing and announcement (~1 s, RFC 6762 8).
    const self = { id: newDeviceId(), presence: presenceOf('ls', 'viewer'), announce: false, advertise: opts.watch === true };
    const joined = await joinRoom(opts, self, log);
    const print = () => process.stdout.write(opts.json ? `${JSON.stringify(entries(joined))}\n` : table(entries(joined)));
    if (opts.watch) {
      let last = '';
      const changed = () => {
        const now = JSON.stringify(entries(joined));
        if (now === last) return;
        last = now;
        print();
      };
      for (const event of ['join', 'update', 'leave'] as const) joined.node.on(event, changed);
      joined.lan?.lan.on('foreign', changed);
      // Foreign devices leaving (mDNS goodbye or expiry) raise no event: look again now and then.
      const timer = setInterval(changed, 1000);
      changed();
      await untilSignal();
      clearInterval(timer);
    } else {
      await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
      print();
    }
    await joined.close();
  });
}

export function entries(joined: Joined): LsEntry[] {
  const members: LsEntry[] = [...joined.node.devices.values()].map((p) => ({
    id: p.id,
    name: p.name,
    role: p.role,
    via: p.via,
    ...(p.recording ? { recording: p.recording } : {}),
  }));
  const foreign: LsEntry[] = (joined.lan?.lan.foreign() ?? []).map((s: LanService) => ({ id: s.id, role: s.role, room: 'foreign', via: 'lan' }));
  return [...members, ...foreign];
}

function table(list: LsEntry[]): string {
  if (list.length === 0) return 'No devices present in this room.\n';
  // A recorder that does not write says so in a last column (shown only then).
  const note = (e: LsEntry) => ('recording' in e && e.recording && e.recording.state !== 'ok' ? `recording stopped (${e.recording.state})` : '');
  const notes = list.some((e) => note(e) !== '');
  const rows = [
    ['ID', 'NAME', 'ROLE', 'VIA', ...(notes ? ['NOTE'] : [])],
    ...list.map((e) => [...('room' in e ? [e.id, '(another room)', e.role, e.via] : [e.id, e.name, e.role, e.via]), ...(notes ? [note(e)] : [])]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return `${rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n')}\n`;
}
