import { type DeviceId, type Logger, PeercamError, silentLogger } from '../protocol/index.js';
import { type PeerConfig, type Timeouts, ViewerSession } from '../session/index.js';
import { exponentialBackoff } from '../signaling/backoff.js';
import type { Channel, PeerInfo } from '../signaling/channel.js';
import { createViewerPeer, type NdcOptions, TurnBridge, type ViewerPeer } from '../media/ndc/index.js';
import type { VideoCodec } from '../media/sdp.js';
import { FrameCounter } from './frame-counter.js';

/** Options of the headless `watch`: which camera, for how long, with which engine. */
export interface WatchOptions {
  readonly channel: Channel;
  /** A camera's name or device id. */
  readonly camera: string;
  readonly peerConfig: PeerConfig;
  /** How long to watch once the first frame arrived (or to wait for it). */
  readonly seconds: number;
  /** How long to wait for the camera to be present. Default 10 s. */
  readonly findMs?: number;
  readonly engine?: NdcOptions;
  /** Video codecs to offer, preferred first. Default H.264 then VP8. */
  readonly videoCodecs?: readonly VideoCodec[];
  readonly timeouts?: Partial<Timeouts>;
  readonly log?: Logger;
  /** Called when a session (re)connects or ends, for live output. */
  readonly onEvent?: (event: string) => void;
  /** Called once at the start with a function that returns the report so far (long runs print progress with it). */
  readonly progress?: (current: () => WatchReport) => void;
}

/** What `peercam watch --json` prints. */
export interface WatchReport {
  camera: string;
  id: DeviceId;
  connectedMs: number | undefined;
  firstFrameMs: number | undefined;
  frames: number;
  keyframes: number;
  bytes: number;
  width: number | undefined;
  height: number | undefined;
  codec: string | undefined;
  candidateType: string | undefined;
  /** Sessions set up again after the first (camera restarted, network cut, broker restart). */
  reconnects: number;
  /** Longest gap between two frames after the first, in ms. */
  stalledMs: number;
  /** Opus RTP packets and payload bytes received from the camera's audio (0 when it has none). */
  audioPackets: number;
  audioBytes: number;
  /** Why no frame arrived, when none did. */
  error?: string;
}

/**
 * A headless viewer: finds the camera, negotiates, counts decodable frames for `seconds`, and keeps coming back by
 * itself whenever the session ends (camera restarted, ICE failed, broker outage) while time remains.
 */
export async function watch(options: WatchOptions): Promise<WatchReport> {
  const log = options.log ?? silentLogger;
  const started = performance.now();
  const target = await findCamera(options.channel, options.camera, options.findMs ?? 10_000);
  const turnBridge = await TurnBridge.open(options.peerConfig, log);
  try {
    return await watchCamera(options, target, started, turnBridge);
  } finally {
    turnBridge?.close();
  }
}

async function watchCamera(options: WatchOptions, target: PeerInfo, started: number, turnBridge: TurnBridge | undefined): Promise<WatchReport> {
  const log = options.log ?? silentLogger;
  let codec: 'H264' | 'VP8' | undefined;
  const counter = new FrameCounter(() => codec, started);
  const report: WatchReport = {
    camera: target.name,
    id: target.id,
    connectedMs: undefined,
    firstFrameMs: undefined,
    frames: 0,
    keyframes: 0,
    bytes: 0,
    width: undefined,
    height: undefined,
    codec: undefined,
    candidateType: undefined,
    reconnects: 0,
    stalledMs: 0,
    audioPackets: 0,
    audioBytes: 0,
  };
  let lastError: string | undefined;
  let session: ViewerSession | undefined;
  let sessions = 0;
  let done = false;
  let failuresInRow = 0;

  const begin = () => {
    if (done) return;
    let peer: ViewerPeer | undefined;
    const s = new ViewerSession({
      channel: options.channel,
      camera: target.id,
      config: options.peerConfig,
      ...(options.timeouts ? { timeouts: options.timeouts } : {}),
      log,
      peerFactory: (config) => {
        // Every peer (a new session, or an ICE restart, which replaces peers) is a new RTP stream.
        counter.newStream();
        peer = createViewerPeer(config, {
          ...options.engine,
          ...(turnBridge ? { turnBridge } : {}),
          ...(options.videoCodecs ? { videoCodecs: options.videoCodecs } : {}),
          log,
          audio: true,
          onRtp: (packet, kind) => {
            if (kind === 'audio') {
              report.audioPackets++;
              report.audioBytes += Math.max(0, packet.length - 12);
              return;
            }
            codec ??= peer?.negotiated?.codec;
            counter.push(packet);
          },
        });
        return peer;
      },
    });
    session = s;
    if (sessions++ > 0) report.reconnects++;
    s.on('connected', ({ ms, candidateType }) => {
      failuresInRow = 0;
      report.connectedMs ??= Math.round(performance.now() - started);
      report.candidateType = candidateType;
      options.onEvent?.(`connected in ${ms} ms (${candidateType ?? 'unknown'} path)`);
    });
    // Why ICE is stuck, as soon as it is (within the ICE timeout), not after the restarts ran out.
    s.on('trouble', (d) => {
      lastError = d.message;
      options.onEvent?.(`cannot connect yet: ${d.message}`);
    });
    s.on('closed', (reason, message) => {
      // A session closed by watch itself says nothing new; keep the reason the network gave.
      if (!(reason === 'local' && lastError !== undefined)) lastError = message;
      options.onEvent?.(`session ended (${reason}): ${message}`);
      if (session === s) session = undefined;
      if (!done) void comeBack();
    });
    s.start().catch((err: unknown) => {
      lastError = String(err);
      s.close('error', lastError);
    });
  };

  // After a session ends: wait until the camera is present again, then start over.
  const retry = exponentialBackoff({ initialMs: 250, maxMs: 4000, jitter: 'none' });
  const comeBack = async () => {
    await new Promise((r) => setTimeout(r, retry.nextDelayMs(failuresInRow++) ?? 4000));
    while (!done && !options.channel.peers.has(target.id)) await new Promise((r) => setTimeout(r, 100));
    begin();
  };

  const snapshot = (): WatchReport => {
    const now: WatchReport = {
      ...report,
      firstFrameMs: counter.stats.firstFrameMs,
      frames: counter.stats.frames,
      keyframes: counter.stats.keyframes,
      bytes: counter.stats.bytes,
      width: counter.stats.width,
      height: counter.stats.height,
      codec,
      stalledMs: counter.stats.stalledMs,
    };
    if (now.frames === 0) now.error = lastError ?? 'connected, but no decodable frame arrived';
    return now;
  };
  options.progress?.(snapshot);

  begin();
  // Watch `seconds` from the first frame; give up at `seconds` + 20 s if none arrives.
  const deadline = started + options.seconds * 1000 + 20_000;
  while (performance.now() < deadline) {
    if (counter.stats.firstFrameMs !== undefined && performance.now() - started >= counter.stats.firstFrameMs + options.seconds * 1000) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  done = true;
  if (session) {
    const last = session;
    last.close('local', 'watch finished');
    await last.drain();
  }
  return snapshot();
}

/** Waits for a camera with that name or id to be present. */
export async function findCamera(channel: Channel, nameOrId: string, timeoutMs: number): Promise<PeerInfo> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const cams = [...channel.peers.values()].filter((p) => p.role === 'camera' || p.role === 'hub');
    const hit = cams.find((p) => p.id === nameOrId) ?? cams.find((p) => p.name === nameOrId);
    if (hit) return hit;
    if (Date.now() > deadline) {
      const present = cams.map((p) => `"${p.name}"`).join(', ') || 'none';
      throw new PeercamError('not-found', `No camera named "${nameOrId}" is present in this room (cameras present: ${present}).`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
