import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import ndc from 'node-datachannel';
import { createCameraPeer, createViewerPeer, shutdownNdc } from '../../src/media/ndc/index.js';
import { answersActive, asDtlsServer } from '../../src/media/ndc/connection.js';
import type { PeerConfig } from '../../src/session/peer.js';
import { reach } from '../helpers/direct-link.js';
import { NO_ICE } from '../helpers/loopback.js';

const config: PeerConfig = NO_ICE;
const local = { bindAddress: '127.0.0.1' } as const;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

after(() => shutdownNdc());

describe("the node-datachannel answerer's DTLS role", () => {
  it('reads the offer as active: actpass only, CRLF or LF, every media section', () => {
    const offer = 'v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=setup:actpass\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=setup:actpass\r\n';
    assert.equal(asDtlsServer(offer), offer.replaceAll('a=setup:actpass', 'a=setup:active'));
    assert.equal(asDtlsServer('a=setup:actpass\na=mid:0\n'), 'a=setup:active\na=mid:0\n');
    for (const kept of ['a=setup:active\r\n', 'a=setup:passive\r\n', 'a=x-setup:actpass\r\n', 'a=setup:actpassive\r\n']) assert.equal(asDtlsServer(kept), kept);
  });

  it('answers a=setup:passive, and no handshake waits for a DTLS retransmit when the answer takes 30 ms to come back', async () => {
    // libdatachannel logs each DTLS retransmission (verbose). Before, the answerer was the client: its ClientHello
    // left as soon as its ICE check succeeded, reached an offerer still waiting for the answer, was dropped, and was
    // sent again a second later.
    let retransmits = 0;
    ndc.initLogger('Verbose', (_level, message) => {
      if (message.includes('DTLS retransmit done')) retransmits++;
    });
    after(() => ndc.initLogger('Error', () => {}));
    const sessions = 30;
    for (let i = 0; i < sessions; i++) {
      const camera = createCameraPeer(config, { video: { codec: 'H264' } }, local);
      const viewer = createViewerPeer(config, local);
      try {
        const connected = Promise.all([reach(viewer, 'connected'), reach(camera, 'connected')]);
        const offer = await viewer.createOffer({ iceRestart: false });
        assert.match(offer, /a=setup:actpass/);
        const answer = await camera.answer(offer);
        assert.match(answer, /^a=setup:passive\r?$/m);
        assert.doesNotMatch(answer, /a=setup:active/);
        await sleep(30); // the signaling's way back
        await viewer.acceptAnswer(answer);
        await connected;
      } finally {
        viewer.close();
        camera.close();
      }
    }
    assert.equal(retransmits, 0, `${retransmits} DTLS retransmissions in ${sessions} connections`);
  });

  it('answers as the client (a=setup:active) only when it has a TURN server (test/agent/camera-watch.test.ts: why)', async () => {
    assert.equal(answersActive(NO_ICE), false);
    assert.equal(answersActive({ iceServers: [{ urls: 'stun:127.0.0.1:3478' }], iceTransportPolicy: 'all' }), false);
    for (const urls of ['turn:127.0.0.1:3478', 'TURNS:127.0.0.1:5349', ' turn:127.0.0.1:3478?transport=tcp']) {
      assert.equal(answersActive({ iceServers: [{ urls: ['stun:127.0.0.1:3478', urls] }], iceTransportPolicy: 'all' }), true, urls);
    }
    const turn: PeerConfig = { iceServers: [{ urls: 'turn:127.0.0.1:3478', username: 'u', credential: 'p' }], iceTransportPolicy: 'all' };
    const camera = createCameraPeer(turn, { video: { codec: 'H264' } }, local);
    const viewer = createViewerPeer(config, local);
    try {
      const answer = await camera.answer(await viewer.createOffer({ iceRestart: false }));
      assert.match(answer, /^a=setup:active\r?$/m);
      assert.doesNotMatch(answer, /a=setup:passive/);
    } finally {
      viewer.close();
      camera.close();
    }
  });
});
