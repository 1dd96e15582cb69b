import type { Command } from 'commander';
import { joinRoom as joinNodeRoom, type NodeLanOptions, type NodeRoom } from '../api/node.js';
import { type DeviceId, type Logger, PeercamError, type PresenceBody, type Room } from '../protocol/index.js';
import type { Channel } from '../signaling/channel.js';
import type { LanRoom } from '../signaling/lan/join.js';
import { brokerUrl, engineOptions, mdnsEnabled, type NetOptions, peerConfig } from './context.js';
import { loadRoom } from './home.js';

/** What `--lan` adds to camera, watch and ls. */
export interface LanCliOptions extends NetOptions {
  lan?: boolean;
  interface?: string;
  peer?: string[];
  lanPort?: string;
}

export function addLanOptions(cmd: Command): Command {
  return cmd
    .option('--lan', 'find and signal devices on this LAN directly (mDNS + WebSocket); also joins a broker when one is configured or a hub is seen')
    .option('--interface <name>', 'with --lan: pin discovery and LAN links to this interface (name or IPv4 address; default: every interface but loopback)')
    .option('--peer <ws://host:port>', 'with --lan: also dial this device directly (networks without multicast), repeatable', collect, [])
    .option('--lan-port <n>', 'with --lan: port of our LAN WebSocket (default: a free port)');
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** A joined room, over the broker alone or (with --lan) over the LAN and any broker, merged. */
export interface Joined {
  readonly room: Room;
  /** The room as the library's API holds it (watch, publish, devices). */
  readonly node: NodeRoom;
  /** The room's channel without data-channel offers (the API's data endpoint answers those). */
  readonly channel: Channel;
  /** The broker joined at start (undefined: LAN only). */
  readonly broker: string | undefined;
  /** Set with --lan. */
  readonly lan: LanRoom | undefined;
  /** "mqtt://...", "the LAN", "the LAN + mqtt://..." for status lines. */
  describe(): string;
  close(): Promise<void>;
}

export interface Self {
  readonly id: DeviceId;
  readonly presence: PresenceBody;
  /** false: observe without publishing our presence or advertising (ls). */
  readonly announce?: boolean;
  /** mDNS instance name. */
  readonly mdnsName?: string;
  /** Advertise on mDNS even when not announcing (a long-running `ls --watch`, so new devices dial it at once). */
  readonly advertise?: boolean;
}

/** The broker the user configured (flag, PEERCAM_BROKER, the link's `b=`); no default, unlike the broker-only mode. */
export function configuredBroker(options: NetOptions, room: Room): string | undefined {
  return options.broker ?? process.env.PEERCAM_BROKER ?? room.options.broker;
}

/** Joins the room through the library's `joinRoom`, with the CLI's flags, ICE servers and device identity. */
export async function joinRoom(options: LanCliOptions, self: Self, log: Logger): Promise<Joined> {
  const lan = options.lan ? lanOptions(options, self) : undefined;
  if (!lan)
    for (const [flag, set] of [
      ['--interface', options.interface !== undefined],
      ['--peer', (options.peer ?? []).length > 0],
      ['--lan-port', options.lanPort !== undefined],
    ] as const)
      if (set) throw PeercamError.config(`${flag} only applies to LAN mode; add --lan.`);
  const room = await loadRoom(options.room);
  const broker = lan ? configuredBroker(options, room) : brokerUrl(options, room);
  const bind = engineOptions(options).bindAddress;
  const node = await joinNodeRoom({
    link: room,
    id: self.id,
    presence: self.presence,
    announce: self.announce ?? true,
    peerConfig: peerConfig(options, broker),
    ...(broker !== undefined ? { broker } : {}),
    ...(bind !== undefined ? { bindAddress: bind } : {}),
    ...(lan ? { lan } : {}),
    log,
  });
  if (node.lan?.lan.discovery.offline)
    process.stderr.write(
      'peercam: no network interface with an IPv4 address here besides loopback, so LAN discovery (mDNS) finds only ' +
        'devices on this machine. Connect to a network, or dial devices directly with --peer ws://host:port.\n',
    );
  const lanRoom = node.lan;
  return {
    room,
    node,
    channel: node.mediaChannel,
    broker: lanRoom ? lanRoom.brokers()[0] : broker,
    lan: lanRoom,
    describe: () => (lanRoom ? ['the LAN', ...lanRoom.brokers()].join(' + ') : (broker ?? '')),
    close: () => node.leave(),
  };
}

/** The LAN options of `joinRoom` from --lan, --interface, --peer, --lan-port and --no-mdns (checked). */
function lanOptions(options: LanCliOptions, self: Self): NodeLanOptions {
  const peers = options.peer ?? [];
  for (const url of peers)
    if (!/^wss?:\/\/[^/\s]+:\d+\/?$/.test(url)) throw PeercamError.config(`--peer takes ws://host:port (a peercam device's LAN port), not "${url}".`);
  const mdns = mdnsEnabled(options);
  if (!mdns && peers.length === 0)
    throw PeercamError.config(
      'LAN discovery needs mDNS, which is off here (--no-mdns or PEERCAM_MDNS=off). Turn it on, or name the devices to dial with --peer ws://host:port.',
    );
  const port = options.lanPort === undefined ? undefined : Number(options.lanPort);
  if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port <= 65535))
    throw PeercamError.config(`--lan-port must be a port number (0-65535), not "${options.lanPort}".`);
  return {
    // --no-mdns must reach the transport, which otherwise only reads PEERCAM_MDNS.
    mdns,
    ...(self.advertise !== undefined ? { advertise: self.advertise } : {}),
    ...(self.mdnsName !== undefined ? { instanceName: self.mdnsName } : {}),
    ...(options.interface !== undefined ? { interface: options.interface } : {}),
    ...(port !== undefined ? { port } : {}),
    ...(peers.length > 0 ? { peers } : {}),
  };
}
