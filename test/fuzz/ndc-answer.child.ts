/**
 * Runs in its own process (see ndc-answer.fuzz.test.ts): feeds mutated offers to the node-datachannel camera peer's
 * answer() and mutated candidates to addCandidate(). libdatachannel is native code, so a crash would kill this process
 * instead of failing a test; the parent checks the exit status and this summary line.
 */
import fc from 'fast-check';
import { createCameraPeer, shutdownNdc } from '../../src/media/ndc/index.js';
import { PeercamError } from '../../src/protocol/index.js';
import { anyCandidate, anySdp, CHROMIUM_OFFER, mutatedSdp, NDC_OFFER } from './corpus.js';
import { withinDeadline } from './deadline.js';
import { NO_ICE } from '../helpers/loopback.js';

export interface NdcFuzzSummary {
  offers: number;
  answered: number;
  rejected: number;
  candidates: number;
  candidatesRejected: number;
  /** Rejections that were not a PeercamError (still an Error, still caught): the message says what the engine threw. */
  rawErrors: string[];
  /** Anything thrown that is not an Error at all, or a hang. */
  failures: string[];
  ms: number;
}

const runs = Number(process.argv[2] ?? 300);
const seed = Number(process.argv[3] ?? 0x4dc);
const fatal = (what: string) => (err: unknown) => {
  process.stdout.write(`${JSON.stringify({ fatal: `${what}: ${String(err)}` })}\n`);
  process.exit(3);
};
process.on('uncaughtException', fatal('uncaught exception'));
process.on('unhandledRejection', fatal('unhandled rejection'));

// Half near-valid mutations of offers that do answer (so the engine itself parses them), half anything.
const offers = fc.sample(
  fc.oneof(fc.constantFrom(NDC_OFFER, CHROMIUM_OFFER).chain((s) => mutatedSdp(s, 3)), anySdp()),
  { numRuns: runs, seed },
);
const candidates = fc.sample(fc.array(anyCandidate(), { minLength: 1, maxLength: 4 }), { numRuns: runs, seed: seed + 1 });
const summary: NdcFuzzSummary = { offers: 0, answered: 0, rejected: 0, candidates: 0, candidatesRejected: 0, rawErrors: [], failures: [], ms: 0 };
const config = NO_ICE;
const t0 = performance.now();

const judge = (err: unknown): 'clean' | 'raw' | 'bad' =>
  err instanceof PeercamError ? 'clean' : err instanceof Error ? 'raw' : 'bad';

for (let i = 0; i < offers.length; i++) {
  const offer = offers[i] ?? '';
  const peer = createCameraPeer(config, { video: { codec: ['H264', 'VP8'] }, audio: { codec: 'opus' } }, { bindAddress: '127.0.0.1' });
  summary.offers++;
  try {
    await withinDeadline(peer.answer(offer), 'answer()');
    summary.answered++;
    for (const c of candidates[i] ?? []) {
      summary.candidates++;
      try {
        await withinDeadline(peer.addCandidate(c), 'addCandidate()');
      } catch (err) {
        summary.candidatesRejected++;
        const verdict = judge(err);
        if (verdict === 'raw') summary.rawErrors.push(`addCandidate: ${String(err)}`);
        if (verdict === 'bad' || String(err).includes('(hang)')) summary.failures.push(`addCandidate(${JSON.stringify(c)}): ${String(err)}`);
      }
    }
  } catch (err) {
    summary.rejected++;
    const verdict = judge(err);
    if (verdict === 'raw') summary.rawErrors.push(`answer: ${String(err)}`);
    if (verdict === 'bad' || String(err).includes('(hang)')) summary.failures.push(`answer: ${String(err)}`);
  } finally {
    peer.close();
  }
}
summary.ms = Math.round(performance.now() - t0);
shutdownNdc();
process.stdout.write(`${JSON.stringify(summary)}\n`);
