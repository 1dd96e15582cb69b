import { join } from 'node:path';
import type { Command } from 'commander';
import { eventJson, type MotionEvent, MotionWatch } from '../agent/motion.js';
import { bridgeRoom, HomeAssistantBridge } from '../events/homeassistant.js';
import { Webhook } from '../events/webhook.js';
import type { Source } from '../media/sources/index.js';
import { type DeviceId, type Logger, PeercamError } from '../protocol/index.js';
import type { Channel } from '../signaling/channel.js';
import { dataDir } from './home.js';

export interface MotionCliOptions {
  /** false for --no-motion. */
  motion: boolean;
  motionQuiet: string;
  onEvent?: string;
  homeassistant?: string;
}

/** The motion options of a command that runs cameras (`camera`). */
export function addMotionOptions(cmd: Command): Command {
  return cmd
    .option('--no-motion', 'no motion detection (no analysis frames, no events)')
    .option('--motion-quiet <seconds>', 'a motion event ends after this long without motion', '10')
    .option('--on-event <url>', 'POST each motion event as JSON to this webhook (ntfy, Gotify, Node-RED, a script)')
    .option('--homeassistant <url>', "publish the cameras to Home Assistant by MQTT discovery on its broker (mqtt://user:pass@host:1883; plaintext there)");
}

/**
 * --homeassistant for a hub or recorder: a member of the room that bridges every camera's events to Home Assistant.
 * Undefined without the option.
 */
export async function startHomeAssistantMember(
  opts: Pick<MotionCliOptions, 'homeassistant'>,
  join: () => Promise<Channel>,
  log: Logger,
): Promise<{ close(): Promise<void> } | undefined> {
  if (!opts.homeassistant) return undefined;
  const bridge = await HomeAssistantBridge.connect(opts.homeassistant, { log });
  const channel = await join();
  const off = bridgeRoom(bridge, channel);
  return {
    close: async () => {
      off();
      await bridge.close();
    },
  };
}

/** Source options that make a source emit analysis frames, unless --no-motion. */
export function analysisOption(opts: Pick<MotionCliOptions, 'motion'>): { analysis?: object } {
  return opts.motion === false ? {} : { analysis: {} };
}

/**
 * Starts motion detection for one camera: settings kept in $PEERCAM_HOME/motion-<id>.json, events said on the terminal
 * and posted to the webhook. Undefined with --no-motion.
 */
export async function startMotion(
  opts: MotionCliOptions,
  camera: { channel: Channel; source: Source; name: string; id: DeviceId },
  log: Logger,
  say?: (line: string) => void,
): Promise<{ watch: MotionWatch; close(): void } | undefined> {
  if (opts.motion === false) return undefined;
  const quiet = Number(opts.motionQuiet);
  if (!(quiet > 0 && quiet <= 3600)) throw PeercamError.config(`--motion-quiet ${opts.motionQuiet}: give seconds, more than 0 and at most 3600.`);
  if (!camera.source.analysis) {
    say?.('motion detection off: this source gives no analysis frames (the demo needs ffmpeg to decode its clip once)');
    return undefined;
  }
  let webhook: Webhook | undefined;
  try {
    webhook = opts.onEvent ? new Webhook({ url: opts.onEvent, log }) : undefined;
  } catch (err) {
    throw PeercamError.config((err as Error).message);
  }
  // A camera bridges itself: its availability goes offline by the broker's last will if it dies.
  const ha = opts.homeassistant ? await HomeAssistantBridge.connect(opts.homeassistant, { log, lastWill: camera.id }) : undefined;
  ha?.camera({ id: camera.id, name: camera.name });
  const watch = await MotionWatch.start({
    channel: camera.channel,
    source: camera.source,
    name: camera.name,
    settingsFile: join(dataDir(), `motion-${camera.id}.json`),
    timing: { quietMs: quiet * 1000 },
    log,
  });
  watch.on('event', (e: MotionEvent) => {
    say?.(`motion ${e.phase} (score ${(e.score * 100).toFixed(1)} %)`);
    webhook?.post(eventJson(e));
    ha?.motion(camera.id, e);
  });
  watch.on('settings', (s, by) => say?.(`motion settings ${by ? `changed by ${camera.channel.peers.get(by)?.name ?? by}` : 'loaded'}: ${s.enabled ? `on, sensitivity ${s.sensitivity}, ${s.zones.length} zone(s), ${s.masks.length} mask(s)` : 'off'}`));
  return {
    watch,
    close: () => {
      webhook?.close();
      watch.close();
      void ha?.close();
    },
  };
}
