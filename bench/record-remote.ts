/**
 * A member that reaches a recorder only through the broker (bench:record): opens the recordings data channel as the
 * web app does (an offer for the `recordings` source, sealed signaling) and times what comes over it.
 */
import { createDataPeer, type DataPeer } from '../src/media/ndc/index.js';
import { type DeviceId, newDeviceId, type Room } from '../src/protocol/index.js';
import { type ClipHeader, parseChunk, parseRecordingsReply, RECORDINGS_LABEL, RECORDINGS_SOURCE, type RecordingsOverview, type RecordingsSpan } from '../src/protocol/recordings-wire.js';
import { ViewerSession } from '../src/session/index.js';
import { type PeerInfo, SealedChannel } from '../src/signaling/channel.js';
import { MqttTransport } from '../src/signaling/mqtt.js';
import { NO_ICE } from '../test/helpers/loopback.js';

export interface RemoteRecordings {
  /** ms from asking to the channel being open. */
  readonly openMs: number;
  overview(): Promise<RecordingsOverview>;
  spans(camera: string): Promise<RecordingsSpan[]>;
  /** Streams a whole clip with unlimited credit: ms to its first byte and to its end, its bytes and length. */
  clip(camera: string, start: number, seconds: number): Promise<{ firstByteMs: number; totalMs: number; bytes: number; header: ClipHeader }>;
  close(): Promise<void>;
}

export async function openRemoteRecordings(room: Room, broker: string): Promise<RemoteRecordings> {
  const channel = new SealedChannel(room, new MqttTransport({ url: broker }), { self: newDeviceId(), presence: { name: 'bench member', role: 'viewer' } });
  await channel.start();
  const recorder = await new Promise<DeviceId>((resolve) => {
    const isRecorder = (p: PeerInfo) => p.sources?.some((x) => x.id === RECORDINGS_SOURCE) ?? false;
    const now = [...channel.peers.values()].find(isRecorder);
    if (now) return resolve(now.id);
    channel.on('peer', (p) => isRecorder(p) && resolve(p.id));
  });
  const t0 = performance.now();
  let next = 1;
  const pending = new Map<number, (body: unknown, done?: number) => void>();
  const bytesOf = new Map<number, (n: number) => void>();
  let opened: () => void = () => {};
  const open = new Promise<void>((r) => (opened = r));
  let peer: DataPeer | undefined;
  const session = new ViewerSession({
    channel,
    camera: recorder,
    source: RECORDINGS_SOURCE,
    config: NO_ICE,
    peerFactory: (config) => {
      peer = createDataPeer(config, {
        bindAddress: '127.0.0.1',
        label: RECORDINGS_LABEL,
        onOpen: () => opened(),
        onMessage: (text) => {
          const r = parseRecordingsReply(text);
          if (!r) return;
          const waiting = pending.get(r.id);
          if ('done' in r) {
            pending.delete(r.id);
            waiting?.(undefined, r.bytes);
          } else if (waiting && !r.ok) throw new Error(r.error.message);
          else waiting?.(r.ok ? r.body : undefined);
        },
        onBinary: (data) => {
          const c = parseChunk(data);
          if (c) bytesOf.get(c.id)?.(c.payload.length);
        },
      });
      return peer;
    },
  });
  await session.start();
  await open;
  const openMs = performance.now() - t0;
  const ask = <T>(req: Record<string, unknown>): Promise<T> => {
    const id = next++;
    return new Promise((resolve) => {
      pending.set(id, (body) => {
        pending.delete(id);
        resolve(body as T);
      });
      peer?.send(JSON.stringify({ ...req, id }));
    });
  };
  return {
    openMs,
    overview: () => ask<RecordingsOverview>({ op: 'overview' }),
    spans: (camera) => ask<RecordingsSpan[]>({ op: 'list', camera, start: 0, end: Date.now() + 86_400_000 }),
    clip: (camera, start, seconds) => {
      const id = next++;
      const s = performance.now();
      let first = 0;
      let bytes = 0;
      return new Promise((resolve) => {
        let header: ClipHeader | undefined;
        bytesOf.set(id, (n) => {
          if (bytes === 0) first = performance.now() - s;
          bytes += n;
        });
        pending.set(id, (body, done) => {
          if (done === undefined) {
            header = body as ClipHeader;
            return;
          }
          pending.delete(id);
          bytesOf.delete(id);
          if (header) resolve({ firstByteMs: first, totalMs: performance.now() - s, bytes, header });
        });
        peer?.send(JSON.stringify({ id, op: 'clip', camera, start, duration: seconds, credit: Number.MAX_SAFE_INTEGER }));
      });
    },
    close: async () => {
      session.close('local', 'bench done');
      await session.drain();
      await channel.close();
    },
  };
}
