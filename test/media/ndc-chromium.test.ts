import assert from 'node:assert/strict';
import { after, before, describe, it, type TestContext } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { type CameraPeer, createCameraPeer, shutdownNdc } from '../../src/media/ndc/index.js';
import { parseRtp, writeRtp } from '../../src/media/rtp.js';
import type { CandidateInit } from '../../src/protocol/index.js';
import type { IceServer, PeerConfig } from '../../src/session/peer.js';
import { launchBrowser, type StaticServer, serveFixtures } from '../helpers/chromium.js';
import { type Coturn, startCoturn } from '../helpers/coturn.js';
import { startFfmpegRtp } from '../helpers/ffmpeg-rtp.js';
import { waitFor } from '../helpers/wait.js';
import { NO_ICE } from '../helpers/loopback.js';

/** What test/fixtures/browser/viewer.html reports. */
interface PageStats {
  connectionState: string;
  videoWidth: number;
  videoHeight: number;
  frameCallbacks: number;
  framesDecoded: number;
  pliCount: number;
  audioPackets: number;
  localCandidateType: string | null;
  relayProtocol: string | null;
}

interface Scenario {
  readonly page: { readonly iceServers: readonly IceServer[]; readonly iceTransportPolicy: 'all' | 'relay'; readonly audio: boolean };
  readonly camera: PeerConfig;
  readonly cameraAudio: boolean;
}

interface Outcome {
  readonly camera: CameraPeer;
  readonly connectedMs: number;
  readonly firstFrameMs: number;
  readonly stats: PageStats;
  readonly answer: string;
  readonly keyframeRequests: number;
}

let chromium: Browser;
let server: StaticServer;

before(async () => {
  server = await serveFixtures();
  chromium = await launchBrowser();
});
after(async () => {
  await chromium?.close();
  await server?.close();
  shutdownNdc();
});

/**
 * Chromium offers (bare RTCPeerConnection, recvonly), the node-datachannel camera answers, ffmpeg's H.264 (and Opus)
 * flows through `sendRtp` rewritten to the negotiated PT/SSRC. Descriptions and candidates are handed over through
 * page.evaluate / exposeFunction: no signaling server.
 */
async function watch(t: TestContext, scenario: Scenario): Promise<Outcome> {
  const page: Page = await chromium.newPage();
  t.after(() => page.close());
  const fromPage: CandidateInit[] = [];
  let camera: CameraPeer | undefined;
  let cameraReady = false;
  await page.exposeFunction('peercamCandidate', (c: CandidateInit) => {
    if (camera && cameraReady) void camera.addCandidate(c).catch(() => {});
    else fromPage.push(c);
  });
  await page.goto(`${server.origin}/viewer.html`);

  let keyframeRequests = 0;
  const started = Date.now();
  const offer = await page.evaluate((o) => (window as unknown as ViewerWindow).viewer.start(o), scenario.page);
  const cam = createCameraPeer(
    scenario.camera,
    { video: { codec: 'H264' }, ...(scenario.cameraAudio ? { audio: { codec: 'opus' as const } } : {}), onKeyframeRequest: () => keyframeRequests++ },
    { bindAddress: '127.0.0.1' },
  );
  camera = cam;
  t.after(() => cam.close());
  const connected = new Promise<number>((resolve, reject) => {
    cam.on('state', (s) => {
      if (s === 'connected') resolve(Date.now() - started);
      if (s === 'failed') reject(new Error('the camera peer failed to connect'));
    });
  });
  let pageReady = false;
  const toPage: CandidateInit[] = [];
  const sendToPage = (c: CandidateInit) => page.evaluate((x) => (window as unknown as ViewerWindow).viewer.addCandidate(x), c).catch(() => {});
  cam.on('candidate', (c) => (pageReady ? void sendToPage(c) : toPage.push(c)));

  const answer = await cam.answer(offer);
  cameraReady = true;
  for (const c of fromPage.splice(0)) await cam.addCandidate(c).catch(() => {});
  await page.evaluate((a) => (window as unknown as ViewerWindow).viewer.accept(a), answer);
  pageReady = true;
  for (const c of toPage.splice(0)) await sendToPage(c);

  const video = await startFfmpegRtp('H264', (raw) => {
    const n = cam.negotiated;
    if (!n) return;
    const p = parseRtp(raw);
    cam.sendRtp(writeRtp(p.payload, { ...p, payloadType: n.videoPt, ssrc: n.ssrc }));
  });
  t.after(() => video.stop());
  if (scenario.cameraAudio) {
    const audio = await startFfmpegRtp('OPUS', (raw) => {
      const a = cam.negotiated?.audio;
      if (!a) return;
      const p = parseRtp(raw);
      cam.sendAudioRtp(writeRtp(p.payload, { ...p, payloadType: a.pt, ssrc: a.ssrc }));
    });
    t.after(() => audio.stop());
  }

  const connectedMs = await connected;
  let stats: PageStats | undefined;
  await waitFor(
    async () => {
      stats = await page.evaluate(() => (window as unknown as ViewerWindow).viewer.stats());
      return stats.framesDecoded > 0 && stats.videoWidth > 0 && stats.frameCallbacks > 0;
    },
    { timeoutMs: 15000, what: 'Chromium to decode and present frames', intervalMs: 50 },
  );
  const firstFrameMs = Date.now() - started;
  // Let it play a little so the counts mean a stream, not one lucky frame.
  await new Promise((r) => setTimeout(r, 1500));
  stats = await page.evaluate(() => (window as unknown as ViewerWindow).viewer.stats());
  return { camera: cam, connectedMs, firstFrameMs, stats, answer, keyframeRequests };
}

interface ViewerWindow {
  viewer: {
    start(o: Scenario['page']): Promise<string>;
    accept(sdp: string): Promise<void>;
    addCandidate(c: CandidateInit): Promise<void>;
    stats(): Promise<PageStats>;
  };
}

const direct: PeerConfig = NO_ICE;

describe('Chromium viewer <-> node-datachannel camera', () => {
  it('plays the camera H.264 on host candidates; the offered audio m-line without a camera audio source stays silent', async (t) => {
    const r = await watch(t, { page: { iceServers: [], iceTransportPolicy: 'all', audio: true }, camera: direct, cameraAudio: false });
    t.diagnostic(`connected ${r.connectedMs} ms, first frame ${r.firstFrameMs} ms, ${JSON.stringify(r.stats)}, PLIs at camera ${r.keyframeRequests}`);
    assert.equal(r.stats.connectionState, 'connected');
    assert.equal(r.stats.videoWidth, 320);
    assert.equal(r.stats.videoHeight, 240);
    assert.ok(r.stats.framesDecoded >= 10, `framesDecoded ${r.stats.framesDecoded}`);
    assert.ok(r.stats.frameCallbacks >= 10, `frameCallbacks ${r.stats.frameCallbacks}`);
    assert.equal(r.stats.localCandidateType, 'host');
    assert.equal(await r.camera.candidateType(), 'host');
    assert.equal(r.camera.negotiated?.codec, 'H264');
    assert.match(r.answer, new RegExp(`a=rtpmap:${r.camera.negotiated?.videoPt} H264/90000`));
    assert.equal(r.stats.audioPackets, 0);
  });

  it('plays H.264 and Opus when the camera has audio', async (t) => {
    const r = await watch(t, { page: { iceServers: [], iceTransportPolicy: 'all', audio: true }, camera: direct, cameraAudio: true });
    t.diagnostic(`connected ${r.connectedMs} ms, first frame ${r.firstFrameMs} ms, audio packets ${r.stats.audioPackets}`);
    assert.ok(r.camera.negotiated?.audio);
    assert.ok(r.stats.framesDecoded > 0);
    assert.ok(r.stats.audioPackets > 10, `audio packets ${r.stats.audioPackets}`);
  });
});

describe('Chromium viewer <-> node-datachannel camera through coturn (relay only)', () => {
  let turn: Coturn;
  before(async () => {
    // Relayed addresses on 127.0.0.2 so that no host socket on 127.0.0.1 can shortcut the relay (see coturn.ts).
    turn = await startCoturn({ relayIp: '127.0.0.2' });
  });
  after(() => turn?.stop());

  it('TURN over UDP on both sides: both select relay candidates', async (t) => {
    const udp = turn.iceServer('udp');
    const r = await watch(t, {
      page: { iceServers: [udp], iceTransportPolicy: 'relay', audio: false },
      camera: { iceServers: [udp], iceTransportPolicy: 'relay' },
      cameraAudio: false,
    });
    t.diagnostic(`connected ${r.connectedMs} ms, first frame ${r.firstFrameMs} ms, ${JSON.stringify(r.stats)}`);
    assert.equal(r.stats.localCandidateType, 'relay');
    assert.equal(r.stats.relayProtocol, 'udp');
    assert.equal(await r.camera.candidateType(), 'relay');
    assert.ok(r.stats.framesDecoded > 0);
  });
  // TURN over TCP: node-datachannel cannot (libjuice skips TCP relays, see ndc-config.test.ts), and Chromium's own
  // TURN/TCP allocation on this loopback coturn never connected, even to a host candidate (Send indications leave,
  // nothing comes back); left out until that is understood.
});
