import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { createDataPeer, shutdownNdc } from '../../src/media/ndc/index.js';
import { PeercamError } from '../../src/protocol/index.js';
import type { PeerConfig } from '../../src/session/peer.js';
import { linkDirect } from '../helpers/direct-link.js';
import { waitFor } from '../helpers/wait.js';
import { NO_ICE } from '../helpers/loopback.js';

const config: PeerConfig = NO_ICE;
const local = { bindAddress: '127.0.0.1' } as const;

after(() => shutdownNdc());

describe('node-datachannel data peer', () => {
  it('two data peers connect and echo a message through the channel', async (t) => {
    const heard: string[] = [];
    let answerer: ReturnType<typeof createDataPeer> | undefined;
    const offerer = createDataPeer(config, { ...local, label: 'echo', onMessage: (m) => heard.push(m) });
    answerer = createDataPeer(config, { ...local, onMessage: (m) => answerer?.send(`echo:${m}`) });
    t.after(() => {
      offerer.close();
      answerer?.close();
    });
    const { ms, offer } = await linkDirect(offerer, answerer);
    t.diagnostic(`connected in ${ms} ms`);
    assert.match(offer, /m=application \d+ UDP\/DTLS\/SCTP webrtc-datachannel/);
    await waitFor(() => offerer.open && answerer.open, { timeoutMs: 5000, what: 'the channel to open on both sides' });
    // The first message can race the channel's DCEP handshake on the far side: re-send until the echo comes back.
    await waitFor(() => heard.length > 0 || (offerer.send('ping') && false), { timeoutMs: 5000, what: 'the echo', intervalMs: 100 });
    assert.equal(heard[0], 'echo:ping');
    assert.equal(await offerer.candidateType(), 'host');
    assert.equal(offerer.canRestartIce, false);

    answerer.close();
    assert.equal(answerer.state, 'closed');
    assert.equal(answerer.send('late'), false);
    await assert.rejects(answerer.addCandidate({ candidate: 'candidate:1 1 UDP 1 127.0.0.1 9 typ host', mid: '0' }), (e: unknown) => e instanceof PeercamError && e.code === 'closed');
  });

  it('ignores an end-of-candidates marker and rejects a garbage candidate with a clear error', async (t) => {
    const offerer = createDataPeer(config, local);
    const answerer = createDataPeer(config, local);
    t.after(() => {
      offerer.close();
      answerer.close();
    });
    await answerer.answer(await offerer.createOffer({ iceRestart: false }));
    await answerer.addCandidate({ candidate: '', mid: '0' });
    await assert.rejects(answerer.addCandidate({ candidate: 'candidate:nonsense', mid: '0' }), (e: unknown) => e instanceof PeercamError && e.code === 'ice-failed');
    await assert.rejects(offerer.createOffer({ iceRestart: true }), /cannot restart ICE/);
  });
});
