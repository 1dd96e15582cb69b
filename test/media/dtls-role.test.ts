import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import ndc from 'node-datachannel';
import { createCameraPeer, createViewerPeer, shutdownNdc } from '../../src/media/ndc/index.js';
import { answersActive, asDtlsServer } from '../../src/media/ndc/connection.js';
import type { CandidateInit } from '../../src/protocol/index.js';
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

  it("answers a Node viewer's offer, which holds its candidates until the answer is in, as the client: 30 connections, no DTLS retransmit", async () => {
    // libdatachannel logs each DTLS retransmission (verbose). The viewer's ICE connects first (the camera has none of
    // its candidates to check until it has the answer): as the server, the camera would get the viewer's ClientHello
    // before its own DTLS transport exists and wait a second for it again.
    let retransmits = 0;
    ndc.initLogger('Verbose', (_level, message) => {
      if (message.includes('DTLS retransmit done')) retransmits++;
    });
    after(() => ndc.initLogger('Error', () => {}));
    const sessions = 30;
    for (let i = 0; i < sessions; i++) {
      const camera = createCameraPeer(config, { video: { codec: 'H264' } }, local);
      const viewer = createViewerPeer(config, local);
      const told: CandidateInit[] = [];
      viewer.on('candidate', (c) => told.push(c));
      try {
        const connected = Promise.all([reach(viewer, 'connected'), reach(camera, 'connected')]);
        const offer = await viewer.createOffer({ iceRestart: false });
        assert.match(offer, /a=setup:actpass/);
        assert.doesNotMatch(offer, /a=candidate:|a=end-of-candidates/);
        assert.equal(viewer.candidatesHeld, true);
        const answer = await camera.answer(offer);
        assert.match(answer, /^a=setup:active\r?$/m);
        await sleep(30); // the signaling's way back
        assert.equal(told.length, 0, 'no candidate is told before the answer');
        await viewer.acceptAnswer(answer);
        assert.equal(viewer.candidatesHeld, false);
        assert.ok(told.length > 0, 'the held candidates are told with the answer');
        // Their way to the camera, one signaling hop. Handed over in the same tick, the camera's own check can still
        // win and its ClientHello reach the viewer first (9 retransmissions in 30 connections, measured).
        await sleep(5);
        for (const c of told) await camera.addCandidate(c);
        await connected;
      } finally {
        viewer.close();
        camera.close();
      }
    }
    assert.equal(retransmits, 0, `${retransmits} DTLS retransmissions in ${sessions} connections`);
  });

  it("answers an offer that carries its candidates (a browser's) as the server, a=setup:passive", async () => {
    const viewer = createViewerPeer(config, local);
    const camera = createCameraPeer(config, { video: { codec: 'H264' } }, local);
    try {
      await viewer.createOffer({ iceRestart: false });
      // The viewer's description as libdatachannel keeps it, candidates in: what a browser's offer looks like.
      const withCandidates = viewer.currentLocalDescription?.();
      assert.ok(withCandidates);
      assert.match(withCandidates, /^a=candidate:/m);
      assert.equal(answersActive(config, withCandidates), false);
      const answer = await camera.answer(withCandidates);
      assert.match(answer, /^a=setup:passive\r?$/m);
      assert.doesNotMatch(answer, /a=setup:active/);
    } finally {
      viewer.close();
      camera.close();
    }
  });

  it('answers as the client (a=setup:active) when it has a TURN server, candidates or not (test/agent/camera-watch.test.ts: why)', async () => {
    const offer = 'v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=setup:actpass\r\na=candidate:1 1 UDP 2114977791 127.0.0.1 5000 typ host\r\n';
    assert.equal(answersActive(NO_ICE, offer), false);
    assert.equal(answersActive(NO_ICE, offer.replace(/a=candidate:.*\r\n/, '')), true);
    assert.equal(answersActive({ iceServers: [{ urls: 'stun:127.0.0.1:3478' }], iceTransportPolicy: 'all' }, offer), false);
    for (const urls of ['turn:127.0.0.1:3478', 'TURNS:127.0.0.1:5349', ' turn:127.0.0.1:3478?transport=tcp']) {
      assert.equal(answersActive({ iceServers: [{ urls: ['stun:127.0.0.1:3478', urls] }], iceTransportPolicy: 'all' }, offer), true, urls);
    }
    const turn: PeerConfig = { iceServers: [{ urls: 'turn:127.0.0.1:3478', username: 'u', credential: 'p' }], iceTransportPolicy: 'all' };
    const camera = createCameraPeer(turn, { video: { codec: 'H264' } }, local);
    const viewer = createViewerPeer(config, local);
    try {
      await viewer.createOffer({ iceRestart: false });
      const offer = viewer.currentLocalDescription?.() ?? '';
      assert.match(offer, /^a=candidate:/m);
      const answer = await camera.answer(offer);
      assert.match(answer, /^a=setup:active\r?$/m);
      assert.doesNotMatch(answer, /a=setup:passive/);
    } finally {
      viewer.close();
      camera.close();
    }
  });
});
