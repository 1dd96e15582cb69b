import { CameraAgent, type CameraAgentOptions } from '../../src/agent/camera.js';
import { createViewerPeer, type ViewerOptions } from '../../src/media/ndc/index.js';
import { ViewerSession } from '../../src/session/index.js';
import type { SealedChannel } from '../../src/signaling/channel.js';
import { LOOPBACK_ENGINE, NO_ICE } from './loopback.js';
import { memoryRoom } from './memory-room.js';


/**
 * A Node camera (CameraAgent) and a viewer's channel in one in-memory room, with real node-datachannel peers on
 * loopback: what happens between a camera and a Node viewer, without a broker or a network namespace.
 */
export interface CameraRig {
  readonly agent: CameraAgent;
  readonly camera: SealedChannel;
  readonly viewer: SealedChannel;
  /** A new viewer session to the camera (not started); `peer` adds to the viewer peer's options. */
  session(peer?: ViewerOptions): ViewerSession;
  /** Closes the camera and both channels (sessions are the caller's). */
  close(): Promise<void>;
}

/** `engine` replaces the camera's loopback engine options (`{}`: it binds nothing, so it gathers no candidate here). */
export async function cameraRig(options: Pick<CameraAgentOptions, 'source' | 'name' | 'sourceOptions' | 'engine'>): Promise<CameraRig> {
  // No sender budget: bench:connect starts sessions back to back, and the camera's rate limit (100 messages, then 20/s)
  // would drop an offer every ~38 sessions, to be re-sent 5 s later (measured).
  const { channels } = await memoryRoom(['camera', 'viewer'], { rateLimit: false });
  const [camera, viewer] = channels as [SealedChannel, SealedChannel];
  const agent = await CameraAgent.start({ engine: LOOPBACK_ENGINE, ...options, channel: camera, peerConfig: NO_ICE });
  return {
    agent,
    camera,
    viewer,
    session: (peer = {}) =>
      new ViewerSession({ channel: viewer, camera: camera.self, config: NO_ICE, peerFactory: (c) => createViewerPeer(c, { ...LOOPBACK_ENGINE, ...peer }) }),
    close: async () => {
      await agent.close();
      await Promise.all(channels.map((c) => c.close()));
    },
  };
}
