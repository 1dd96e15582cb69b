import type { CandidateInit } from '../../src/protocol/index.js';
import type { Peer, PeerState } from '../../src/session/peer.js';

/**
 * Connects an offerer and an answerer in-process, no signaling: descriptions are handed over directly and candidates
 * are held until the receiving side has its remote description, as the session layer does.
 */
export async function linkDirect(offerer: Peer, answerer: Peer): Promise<{ offer: string; answer: string; ms: number }> {
  const started = Date.now();
  const toAnswerer = relay(offerer, answerer);
  const toOfferer = relay(answerer, offerer);
  const connected = Promise.all([reach(offerer, 'connected'), reach(answerer, 'connected')]);
  const offer = await offerer.createOffer({ iceRestart: false });
  const answer = await answerer.answer(offer);
  await toAnswerer.ready();
  await offerer.acceptAnswer(answer);
  await toOfferer.ready();
  await connected;
  return { offer, answer, ms: Date.now() - started };
}

/** Resolves when `peer` reaches `state`; rejects on failed/closed first. */
export function reach(peer: Peer, state: PeerState): Promise<void> {
  return new Promise((resolve, reject) => {
    if (peer.state === state) return resolve();
    const off = peer.on('state', (s) => {
      if (s === state) {
        off();
        resolve();
      } else if (s === 'failed' || s === 'closed') {
        off();
        reject(new Error(`peer became ${s} while waiting for ${state}`));
      }
    });
  });
}

function relay(from: Peer, to: Peer): { ready: () => Promise<void> } {
  let held: CandidateInit[] | undefined = [];
  from.on('candidate', (c) => {
    if (held) held.push(c);
    else void to.addCandidate(c).catch(() => {});
  });
  return {
    async ready() {
      const list = held ?? [];
      held = undefined;
      for (const c of list) await to.addCandidate(c);
    },
  };
}
