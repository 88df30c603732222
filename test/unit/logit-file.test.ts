// The llama-perplexity logits file reader and the agreement measure, on files written here in that layout
// (tools/perplexity in the pinned tree): header, tokens, rows of scale / minimum / uint16 log-probabilities
// for the second half of every window.
import t from 'tap';
import { agreement, parseLogitFile } from '../../ts/util/logit-file.js';

const SPAN_NATS = 16; // llama-perplexity keeps 16 nats under the top

/** A file of n_chunk windows of n_ctx tokens whose row r holds the log-probabilities lp(r) (length n_vocab). */
function logitFile(nCtx: number, nVocab: number, nChunk: number, tokens: number[], lp: (r: number) => number[]) {
  const nv = 2 * Math.floor((nVocab + 1) / 2) + 4;
  const rows = nChunk * (nCtx - 1 - Math.floor(nCtx / 2));
  const b = Buffer.alloc(8 + 12 + 4 * tokens.length + rows * nv * 2);
  b.write('_logits_', 0, 'latin1');
  (b.writeInt32LE(nCtx, 8), b.writeInt32LE(nVocab, 12), b.writeInt32LE(nChunk, 16));
  tokens.forEach((x, i) => b.writeInt32LE(x, 20 + 4 * i));
  let o = 20 + 4 * tokens.length;
  for (let r = 0; r < rows; r++, o += nv * 2) {
    const v = lp(r),
      max = Math.max(...v),
      min = max - SPAN_NATS,
      scale = SPAN_NATS / 65535;
    (b.writeFloatLE(scale, o), b.writeFloatLE(min, o + 4));
    v.forEach((x, i) => b.writeUInt16LE(x > min ? Math.round((x - min) / scale) : 0, o + 8 + 2 * i));
  }
  return b;
}

const tokens = [5, 1, 2, 3, 0, 4, 4, 2, 1, 0, 3, 3]; // 2 windows of 6: rows read positions 3, 4 of each
const ref = (r: number) =>
  [
    [-1, -2, -3, -9, -30],
    [-5, -1, -1.5, -7, -2],
    [-0.2, -3, -4, -4, -4],
    [-3, -3, -0.5, -6, -1],
  ][r];

t.test('reads the header, the tokens, the log-probabilities and the top of each row', (t) => {
  const f = parseLogitFile(logitFile(6, 5, 2, tokens, ref));
  t.same([f.nCtx, f.nVocab, f.nChunk, f.rows], [6, 5, 2, 4], 'two windows of 6 tokens: rows for positions 3 and 4');
  t.same([...f.tokens], tokens);
  t.same([0, 1, 2, 3].map(f.top), [0, 1, 0, 2]);
  t.same([0, 1, 2, 3].map(f.readToken), [3, 0, 0, 3], 'the token at each row position');
  t.ok(Math.abs(f.logProb(1, 2) + 1.5) < 1e-3, 'log p to the file resolution');
  t.equal(f.logProb(0, 4), -1 - SPAN_NATS, 'beyond 16 nats: the floor');
  t.throws(() => parseLogitFile(Buffer.from('_logitz_0000000000000')), /not a llama-perplexity logits file/);
  t.throws(() => parseLogitFile(logitFile(6, 5, 2, tokens, ref).subarray(0, 100)), /expected/);
  t.end();
});

t.test('agreement: the same top, a near-tie within the bound, a miss beyond it', (t) => {
  const a = parseLogitFile(logitFile(6, 5, 2, tokens, ref));
  t.same(
    agreement(a, a, 1),
    {
      positions: 4,
      sameTop: 1,
      sameTopOrTie: 1,
      tieNats: 1,
      maxGapNats: 0,
      rmsDiffNats: 0,
      refRepeats: 0.25,
    },
    'a file agrees with itself; row 2 predicts the token just read',
  );
  // row 1 picks token 2 (0.5 nat below the top: a near-tie), row 3 token 4 (0.5 below), row 0 token 1 (1 below)
  const b = parseLogitFile(
    logitFile(
      6,
      5,
      2,
      tokens,
      (r) =>
        [
          [-3, -1, -3, -9, -30],
          [-5, -2, -1, -7, -2],
          [-0.2, -3, -4, -4, -4],
          [-3, -3, -1, -6, -0.5],
        ][r],
    ),
  );
  const g = agreement(a, b, 0.75);
  t.equal(g.sameTop, 0.25, 'one row of four has the same top');
  t.equal(g.sameTopOrTie, 0.75, 'two more are near-ties within 0.75 nat; row 0 is 1 nat off');
  t.ok(Math.abs(g.maxGapNats - 1) < 1e-3, `largest gap 1 nat (${g.maxGapNats})`);
  t.ok(g.rmsDiffNats > 0.5, `rms difference ${g.rmsDiffNats}`);
  t.equal(agreement(a, b, 1.001).sameTopOrTie, 1, 'with a bound just above 1 nat (the file resolution) all agree');
  t.throws(() => agreement(a, parseLogitFile(logitFile(6, 5, 2, [...tokens].reverse(), ref)), 1), /same tokens/);
  t.end();
});
