import type { Command } from 'commander';
import { HomeAssistantBridge } from '../events/homeassistant.js';
import { PeercamError } from '../protocol/index.js';

const HA_OPTION = ['--homeassistant <url>', "Home Assistant's MQTT broker, mqtt://user:pass@host:1883"] as const;

async function withBridge<T>(url: string, use: (bridge: HomeAssistantBridge) => Promise<T>): Promise<T> {
  const bridge = await HomeAssistantBridge.connect(url);
  try {
    return await use(bridge);
  } finally {
    await bridge.close();
  }
}

/**
 * `peercam homeassistant list|forget`: the cameras peercam announced to Home Assistant (MQTT discovery, docs/EVENTS.md),
 * and removing one for good (a camera given away or renamed): its retained configs and states are emptied, so HA
 * deletes its device. A camera that comes back announces itself again.
 */
export function registerHomeAssistant(program: Command): void {
  const ha = program.command('homeassistant').description('the cameras announced to Home Assistant by MQTT discovery');
  ha.command('list')
    .description('the peercam cameras announced on that broker (name and id)')
    .requiredOption(...HA_OPTION)
    .option('--json', 'print [{id, name}]')
    .action(async (opts: { homeassistant: string; json?: boolean }) => {
      const cameras = await withBridge(opts.homeassistant, (b) => b.announced());
      if (opts.json) return void process.stdout.write(`${JSON.stringify(cameras)}\n`);
      if (cameras.length === 0) return void process.stderr.write('No peercam camera is announced on that broker.\n');
      for (const c of cameras) process.stdout.write(`${c.name}\t${c.id}\n`);
    });
  ha.command('forget <camera>')
    .description('remove a camera (name or id) from Home Assistant: its device and entities go')
    .requiredOption(...HA_OPTION)
    .action(async (camera: string, opts: { homeassistant: string }) => {
      await withBridge(opts.homeassistant, async (b) => {
        const cameras = await b.announced();
        const matches = cameras.filter((c) => c.id === camera || c.name === camera);
        if (matches.length === 0)
          throw PeercamError.config(
            `No camera "${camera}" is announced to Home Assistant there${cameras.length ? ` (there are: ${cameras.map((c) => c.name).join(', ')})` : ''}.`,
          );
        if (matches.length > 1)
          throw PeercamError.config(`${matches.length} cameras are named "${camera}": give the id instead (${matches.map((c) => c.id).join(', ')}).`);
        const [match] = matches as [(typeof matches)[number]];
        await b.forget(match.id);
        process.stderr.write(`Removed "${match.name}" (${match.id}) from Home Assistant.\n`);
      });
    });
}
