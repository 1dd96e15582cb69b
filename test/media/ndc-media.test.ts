import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { createCameraPeer, createViewerPeer, shutdownNdc } from '../../src/media/ndc/index.js';
import { parseRtp, writeRtp } from '../../src/media/rtp.js';
import type { PeerConfig } from '../../src/session/peer.js';
import { PeercamError } from '../../src/protocol/index.js';
import { linkDirect } from '../helpers/direct-link.js';
import { startFfmpegRtp } from '../helpers/ffmpeg-rtp.js';
import { waitFor } from '../helpers/wait.js';
import { NO_ICE } from '../helpers/loopback.js';

const config: PeerConfig = NO_ICE;
const local = { bindAddress: '127.0.0.1' } as const;

after(() => shutdownNdc());

function header(p: Uint8Array): { pt: number; ssrc: number } {
  return { pt: p[1]! & 0x7f, ssrc: new DataView(p.buffer, p.byteOffset, p.byteLength).getUint32(8) };
}

describe('node-datachannel camera peer <-> viewer peer', () => {
  it('connects, carries ffmpeg H.264 RTP with the negotiated PT and SSRC, and delivers the viewer PLI', async (t) => {
    const keyframeRequests: string[] = [];
    const received: { pt: number; ssrc: number }[] = [];
    const camera = createCameraPeer(config, { video: { codec: 'H264' }, onKeyframeRequest: (r) => keyframeRequests.push(r.kind) }, local);
    const viewer = createViewerPeer(config, { ...local, onRtp: (p) => received.push(header(p)) });
    t.after(() => {
      viewer.close();
      camera.close();
    });
    const { ms, answer } = await linkDirect(viewer, camera);
    t.diagnostic(`connected in ${ms} ms`);
    const negotiated = camera.negotiated;
    assert.ok(negotiated);
    assert.equal(negotiated.codec, 'H264');
    assert.equal(negotiated.videoPt, 102);
    assert.match(answer, new RegExp(`a=ssrc:${negotiated.ssrc} `));
    assert.match(answer, /a=sendonly/);
    assert.deepEqual(viewer.negotiated, { codec: 'H264', videoPt: 102, remoteSsrc: negotiated.ssrc, audioPt: undefined });

    const source = await startFfmpegRtp('H264', (raw) => {
      const p = parseRtp(raw);
      camera.sendRtp(writeRtp(p.payload, { ...p, payloadType: negotiated.videoPt, ssrc: negotiated.ssrc }));
    });
    t.after(() => source.stop());
    await waitFor(() => received.length >= 30, { timeoutMs: 10000, what: '30 RTP packets at the viewer' });
    assert.ok(received.every((r) => r.pt === negotiated.videoPt && r.ssrc === negotiated.ssrc));

    await waitFor(() => viewer.requestKeyframe() && keyframeRequests.length > 0, { timeoutMs: 3000, what: 'a PLI at the camera', intervalMs: 200 });
    assert.equal(keyframeRequests[0], 'pli');
    assert.equal(await viewer.candidateType(), 'host');
    await source.stop();
    // Sending after close is refused, not a crash.
    camera.close();
    assert.equal(camera.sendRtp(new Uint8Array(20)), false);
    assert.equal(camera.state, 'closed');
  });

  it('falls back to VP8 when the viewer offers no H.264 and the source can send VP8', async (t) => {
    const received: { pt: number; ssrc: number }[] = [];
    const camera = createCameraPeer(config, { video: { codec: ['H264', 'VP8'] } }, local);
    const viewer = createViewerPeer(config, { ...local, videoCodecs: ['VP8'], onRtp: (p) => received.push(header(p)) });
    t.after(() => {
      viewer.close();
      camera.close();
    });
    await linkDirect(viewer, camera);
    const negotiated = camera.negotiated;
    assert.equal(negotiated?.codec, 'VP8');
    assert.equal(negotiated?.videoPt, 96);
    const source = await startFfmpegRtp('VP8', (raw) => {
      const p = parseRtp(raw);
      camera.sendRtp(writeRtp(p.payload, { ...p, payloadType: negotiated.videoPt, ssrc: negotiated.ssrc }));
    });
    t.after(() => source.stop());
    await waitFor(() => received.length >= 10, { timeoutMs: 10000, what: '10 VP8 packets at the viewer' });
    assert.ok(received.every((r) => r.pt === 96));
  });

  it('refuses an offer without a codec the source can send, and a second (ICE restart) offer', async (t) => {
    const h264Only = createCameraPeer(config, { video: { codec: 'H264' } }, local);
    const vp8Viewer = createViewerPeer(config, { ...local, videoCodecs: ['VP8'] });
    t.after(() => {
      vp8Viewer.close();
      h264Only.close();
    });
    const offer = await vp8Viewer.createOffer({ iceRestart: false });
    await assert.rejects(h264Only.answer(offer), (e: unknown) => e instanceof PeercamError && e.code === 'media' && /offered VP8/.test(e.message));
    await assert.rejects(vp8Viewer.createOffer({ iceRestart: true }), /cannot restart ICE/);

    const camera = createCameraPeer(config, { video: { codec: 'H264' } }, local);
    const viewer = createViewerPeer(config, local);
    t.after(() => {
      viewer.close();
      camera.close();
    });
    const { offer: first } = await linkDirect(viewer, camera);
    assert.equal(camera.canRestartIce, false);
    // What a browser's restartIce() offer changes: the ICE credentials. libdatachannel rejects it ("Invalid ICE
    // settings from remote SDP"), so the peer refuses it up front and the session replaces the peer.
    const restart = first.replace(/a=ice-ufrag:\S+/g, 'a=ice-ufrag:fresh').replace(/a=ice-pwd:\S+/g, 'a=ice-pwd:freshfreshfreshfreshfresh');
    await assert.rejects(camera.answer(restart), /cannot restart ICE/);
    assert.equal(camera.state, 'connected');
  });
});
