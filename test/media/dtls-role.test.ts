import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import ndc from 'node-datachannel';
import { createCameraPeer, createViewerPeer, shutdownNdc } from '../../src/media/ndc/index.js';
import { asDtlsServer } from '../../src/media/ndc/connection.js';
import type { PeerConfig } from '../../src/session/peer.js';
import { reach } from '../helpers/direct-link.js';

const config: PeerConfig = { iceServers: [], iceTransportPolicy: 'all' };
const local = { bindAddress: '127.0.0.1' } as const;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

after(() => shutdownNdc());

describe('the node-datachannel answerer is the DTLS server', () => {
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
});
