import { access } from 'node:fs/promises';
import { hostname } from 'node:os';
import type { Command } from 'commander';
import { startCamera } from '../agent/camera.js';
import { certificateNames, lanAddresses } from '../hub/addresses.js';
import { banner } from '../hub/banner.js';
import { hubCertificate } from '../hub/cert.js';
import { type Closable, type HubInfo, type JoinRoom, startHub } from '../hub/hub.js';
import { advertiseHub } from '../hub/lan.js';
import { PeercamMetrics } from '../metrics/index.js';
import { lendIce } from '../hub/lend-ice.js';
import { findInterface } from '../signaling/lan/netif.js';
import { shutdownNdc } from '../media/ndc/index.js';
import { type Logger, PeercamError, Room } from '../protocol/index.js';
import { RECORDINGS_PRESENCE_SOURCE, type Recorder } from '../agent/recorder.js';
import { recordingsRoutes } from '../hub/recordings-api.js';
import { BearerGuard } from '../hub/http-auth.js';
import { isRelayMode, WHEP_RELAY_MODES, whepDoor } from '../hub/whep/index.js';
import { ClientTokens } from '../hub/client-tokens.js';
import { clientTokensFile } from './whep.js';
import { untilSignal } from './camera.js';
import { engineOptions, logger, mdnsEnabled, peerConfig, TURN_SECRET_OPTION, TURN_TTL_OPTION } from './context.js';
import { addRecordOptions, defaultRecordingsDir, type RecordCliOptions, recorderSettings, startRecorder } from './record.js';
import { dataDir, deviceId, loadRoom, roomFile, saveRoom, writeFileSafely } from './home.js';
import { addMotionOptions, analysisOption, type MotionCliOptions, startHomeAssistantMember, startMotion } from './motion.js';

interface UpOptions extends RecordCliOptions, MotionCliOptions {
  record?: string | boolean;
  port: string;
  mqttPort: string;
  demo?: boolean;
  mdns: boolean;
  interface?: string;
  room?: string;
  broker?: string;
  iceServer?: string[];
  relay?: boolean;
  turnSecret?: string;
  turnTtl?: string;
  qr: boolean;
  verbose?: boolean;
  whepRelay: string;
}

export const DEFAULT_WEB_PORT = 8443;
export const DEFAULT_MQTT_PORT = 1883;

export function registerUp(program: Command): void {
  const cmd = program
    .command('up')
    .description('run the hub: web app (HTTPS on the LAN, HTTP on 127.0.0.1, same port), MQTT broker, pairing QR code')
    .option('--port <n>', 'web port: https://<LAN address>:N and http://127.0.0.1:N', String(DEFAULT_WEB_PORT))
    .option('--mqtt-port <n>', 'MQTT (TCP) port of the embedded broker; 0 = any free port', String(DEFAULT_MQTT_PORT))
    .option('--demo', 'add a demo camera (a looping clip) to the room')
    .option('--room <link|file>', 'serve this room instead of the one in the data dir')
    .option('--broker <url>', "the room's broker away from home (wss://host/mqtt; also PEERCAM_BROKER): put in the pairing link, the hub bridges its room there, so LAN devices and members away meet; the embedded broker keeps serving the LAN")
    .option('--ice-server <url>', 'STUN/TURN server for the pages and the demo camera, repeatable (or none)', collect, [])
    .option('--relay', 'only use TURN relays')
    .option(...TURN_SECRET_OPTION)
    .option(...TURN_TTL_OPTION)
    .option('--no-mdns', 'send nothing on mDNS (also PEERCAM_MDNS=off)')
    .option('--interface <name>', 'advertise the hub on the LAN on this interface only (name or IPv4 address)')
    .option('--no-qr', 'do not print the QR code')
    .option('--whep-relay <mode>', 'WHEP media through the hub: auto (when the client cannot reach the camera), always, never (docs/WHEP.md)', 'auto')
    .option('-v, --verbose', 'log what happens (also PEERCAM_LOG=debug|info|warn)')
    .option('--record [dir]', 'record every camera of the room (default folder: recordings/ in PEERCAM_HOME) and serve the recordings API');
  addMotionOptions(addRecordOptions(cmd)).action(async (opts: UpOptions) => {
      const log = logger(opts);
      const port = portOption(opts.port, '--port', false);
      const mqttPort = portOption(opts.mqttPort, '--mqtt-port', true);
      const broker = opts.broker ?? process.env.PEERCAM_BROKER;
      const room = withBroker(await hubRoom(opts.room), broker);
      const addresses = lanAddresses();
      const certificate = await hubCertificate(dataDir(), certificateNames(addresses), writeFileSafely, log);
      const config = peerConfig(opts, undefined);
      const extras: ((hub: HubInfo, join: JoinRoom) => Promise<Closable>)[] = [];
      const metrics = new PeercamMetrics();
      // The owner's STUN/TURN servers reach every member in the hub's sealed presence, not only the pages it serves.
      extras.push(async (_hub, join) => (await lendIce(join, { id: await deviceId('hub:ice'), name: `peercam hub ${hostname()}` }, config, log)) ?? { close: async () => {} });
      if (opts.demo) extras.push((_hub, join) => demoCamera(join, config, log, metrics, opts));
      if (opts.homeassistant) {
        const ha = opts.homeassistant;
        extras.push(async (_hub, join) => {
          const member = async () => join({ id: await deviceId('hub:homeassistant'), name: 'Home Assistant bridge', role: 'viewer' });
          return (await startHomeAssistantMember({ homeassistant: ha }, member, log)) ?? { close: async () => {} };
        });
      }
      const recording = opts.record === undefined || opts.record === false ? undefined : hubRecorder(opts, room, config, log, metrics);
      if (recording) extras.push(recording.start);
      // LAN advertising (DNS-SD of the hub and its broker) when mDNS is allowed; with --no-mdns or
      // PEERCAM_MDNS=off nothing may be sent on mDNS, so nothing is added.
      if (mdnsEnabled(opts))
        extras.push(async (hub) => {
          const address = opts.interface !== undefined ? findInterface(opts.interface).address : addresses[0];
          const where = { ...(address ? { address } : {}), ...(opts.interface !== undefined ? { interface: opts.interface } : {}) };
          return advertiseHub({ room, id: await deviceId('hub'), mqttPort: hub.mqttPort, ...where, log });
        });
      else log.info({}, 'mDNS off: the hub is not advertised on the LAN');
      const routes = recording?.routes;
      // The WHEP door (docs/WHEP.md): every WHEP player can watch a camera of the room, with the room's HTTP token or
      // a client token of its own (`peercam whep token add`), which the owner can revoke while the hub runs.
      const clientTokens = new ClientTokens(clientTokensFile(), room.id).watch();
      const relay = opts.whepRelay;
      if (!isRelayMode(relay)) throw PeercamError.config(`--whep-relay ${relay} is not one of ${WHEP_RELAY_MODES.join(', ')}.`);
      const whep = whepDoor({ id: () => deviceId('hub:whep'), guard: new BearerGuard(room.credentials.httpToken, clientTokens), config, log, engine: engineOptions({}), relay });
      extras.push((_hub, join) => whep.start(join));
      const hub = await startHub({
        room,
        port,
        mqttPort,
        certificate,
        lanAddresses: addresses,
        peerConfig: config,
        extras,
        metrics,
        ...(routes ? { routes } : {}),
        prefixRoutes: whep.prefixRoutes,
        log,
        ...(broker ? { broker } : {}),
      });
      process.stdout.write(await banner(hub, { qr: opts.qr, fingerprint: certificate.fingerprint, demo: opts.demo === true }));
      await untilSignal();
      process.stdout.write('peercam hub: stopping\n');
      await hub.close();
      clientTokens.close();
      shutdownNdc();
    });
}

/** The stored room, created on first run. Its link carries no broker: pages use the hub that served them. */
async function hubRoom(option: string | undefined): Promise<Room> {
  if (option) return loadRoom(option);
  const exists = await access(roomFile()).then(
    () => true,
    () => false,
  );
  if (exists) {
    const stored = await loadRoom();
    return Room.fromSecret(stored.secret, stored.options.name ? { name: stored.options.name } : {});
  }
  const room = await Room.create();
  await saveRoom(room);
  process.stderr.write(`peercam: created a new room in ${roomFile()} (keep it private: the link is the key).\n`);
  return room;
}

/** `up --record`: the recorder joins the room over the hub's broker; its folder is served by the recordings API. */
function hubRecorder(opts: UpOptions, room: Room, config: ReturnType<typeof peerConfig>, log: Logger, metrics?: PeercamMetrics) {
  const root = typeof opts.record === 'string' ? opts.record : defaultRecordingsDir();
  const settings = recorderSettings(opts, root);
  let recorder: Recorder | undefined;
  const start = async (_hub: HubInfo, join: JoinRoom): Promise<Closable> => {
    const channel = await join({ id: await deviceId('recorder:hub'), name: 'Recorder', role: 'viewer', sources: [RECORDINGS_PRESENCE_SOURCE] });
    recorder = await startRecorder(channel, config, settings, engineOptions({}), log, metrics);
    process.stderr.write(`peercam hub: recording every camera into ${root}\n`);
    return recorder;
  };
  const routes = recordingsRoutes({
    root,
    token: room.credentials.httpToken,
    status: () => ({
      recording: recorder?.cameras.map((c) => c.name) ?? [],
      state: recorder?.guard.state ?? 'starting',
      error: recorder?.guard.error?.message,
    }),
  });
  return { start, routes };
}

async function demoCamera(join: JoinRoom, config: ReturnType<typeof peerConfig>, log: Logger, metrics: PeercamMetrics, opts: MotionCliOptions): Promise<Closable> {
  const name = 'Demo camera';
  const id = await deviceId('camera:hub-demo');
  const channel = await join({ id, name, role: 'camera' });
  const camera = await startCamera({ channel, source: 'demo', name, peerConfig: config, engine: engineOptions({}), log, sourceOptions: analysisOption(opts) });
  metrics.watchCamera(camera, name);
  metrics.watchDrops(channel);
  metrics.watchLink(channel);
  // Not --homeassistant here: the hub's bridge member already announces every camera of the room, this one included.
  const motion = await startMotion({ motion: opts.motion, motionQuiet: opts.motionQuiet, ...(opts.onEvent ? { onEvent: opts.onEvent } : {}) }, { channel, source: camera.source, name, id }, log);
  if (motion) metrics.watchMotion(motion.watch, name);
  return {
    close: async () => {
      motion?.close();
      await camera.close();
    },
  };
}

/** The room with the away-from-home broker in its link, so a phone paired at home finds the room at work too. */
function withBroker(room: Room, broker: string | undefined): Room {
  if (broker === undefined) return room;
  if (!/^wss?:\/\//.test(broker))
    process.stderr.write(`peercam: --broker ${broker} is not a WebSocket URL: browsers cannot use it (give wss://host/mqtt).\n`);
  return room.withOptions({ broker });
}

function portOption(text: string, flag: string, zeroOk: boolean): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < (zeroOk ? 0 : 1) || n > 65535)
    throw PeercamError.config(`${flag} must be a port number (${zeroOk ? 0 : 1}-65535), not "${text}".`);
  return n;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
