import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CameraAgent, startCamera } from '../../src/agent/camera.js';
import { hubCertificate } from '../../src/hub/cert.js';
import { BearerGuard } from '../../src/hub/http-auth.js';
import { type Hub, startHub } from '../../src/hub/hub.js';
import { type WhepDoor, whepDoor } from '../../src/hub/whep/index.js';
import { newDeviceId, Room, silentLogger } from '../../src/protocol/index.js';
import type { NdcOptions } from '../../src/media/ndc/index.js';
import type { IceServer } from '../../src/session/index.js';
import { freePort } from './brokers.js';
import { LOOPBACK_ENGINE } from './loopback.js';
import { waitFor } from './wait.js';

export interface WhepHub {
  readonly hub: Hub;
  readonly door: WhepDoor;
  readonly room: Room;
  /** The room's HTTP token (Authorization: Bearer). */
  readonly token: string;
  /** http://127.0.0.1:PORT */
  readonly origin: string;
  /** The Node camera "Node cam" (the demo clip) inside the hub process, to read its viewer count. */
  readonly camera: CameraAgent;
  close(): Promise<void>;
}

/**
 * A hub in this process with its WHEP door and one Node camera ("Node cam", the demo clip) joined over its broker.
 * ICE stays on loopback (tests run in a loopback-only namespace); `whipEngine` binds the WHIP door's peers elsewhere
 * (libnice-based publishers such as GStreamer gather no loopback candidates).
 */
export async function startWhepHub(options: { iceServers?: readonly IceServer[]; whipEngine?: NdcOptions; relayLingerMs?: number } = {}): Promise<WhepHub> {
  const dir = await mkdtemp(join(tmpdir(), 'peercam-whep-'));
  const room = await Room.create({ name: 'WHEP test' });
  const config = { iceServers: options.iceServers ?? [], iceTransportPolicy: 'all' as const };
  const certificate = await hubCertificate(dir, ['127.0.0.1'], (file, body, mode) => writeFile(file, body, { mode }));
  const door = whepDoor({ id: async () => newDeviceId(), guard: new BearerGuard(room.credentials.httpToken), config, log: silentLogger, rateLimit: { burst: 1000, perSecond: 1000 }, engine: options.whipEngine ?? LOOPBACK_ENGINE, ...(options.relayLingerMs !== undefined ? { relayLingerMs: options.relayLingerMs } : {}) });
  let camera: CameraAgent | undefined;
  const hub = await startHub({
    room,
    port: await freePort(),
    mqttPort: 0,
    certificate,
    lanAddresses: [],
    peerConfig: config,
    webRoot: join(import.meta.dirname, '..', '..', 'dist', 'web'),
    prefixRoutes: door.prefixRoutes,
    extras: [
      (_info, join) => door.start(join),
      async (_info, join) => {
        const channel = await join({ id: newDeviceId(), name: 'Node cam', role: 'camera' });
        camera = await startCamera({ channel, source: 'demo', name: 'Node cam', peerConfig: config, engine: LOOPBACK_ENGINE });
        return camera;
      },
    ],
  });
  if (!camera) throw new Error('the Node camera did not start');
  const cam = camera;
  // The gateway hears of the camera through the broker's retained presence.
  await waitFor(() => door.gateway?.isLive('Node cam') === true, {
    timeoutMs: 10_000,
    what: 'the WHEP gateway to see the Node camera',
  });
  return {
    hub,
    door,
    room,
    token: room.credentials.httpToken,
    origin: `http://127.0.0.1:${hub.webPort}`,
    camera: cam,
    async close() {
      await hub.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
