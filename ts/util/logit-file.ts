// The log-probabilities llama-perplexity saves with --kl-divergence-base FILE (tools/perplexity in the pinned
// tree), and the agreement of two such files over the same tokens: how the NPU path is compared with the CPU
// path on random-weight models, where near-ties are common (docs/models.md, "Agreement rule").
//
// File layout (little-endian): "_logits_", int32 n_ctx, int32 n_vocab, int32 n_chunk, int32 tokens[n_chunk ·
// n_ctx], then for every chunk the positions first = n_ctx/2 .. n_ctx-2, each a row of nv = 2·⌈n_vocab/2⌉ + 4
// uint16: float32 scale, float32 min_log_prob, then log p(token) = scale · q + min_log_prob per token (q = 0
// for anything more than 16 nats below the top).
import fs from 'node:fs';

const MAGIC = '_logits_';
const HEADER_INTS = 3;
const ROW_PREFIX_U16 = 4; // two float32

export interface LogitFile {
  nCtx: number;
  nVocab: number;
  nChunk: number;
  /** the evaluated tokens, n_chunk · n_ctx */
  tokens: Int32Array;
  /** evaluated positions (rows) */
  rows: number;
  /** log-probability of `token` at row `r` */
  logProb(r: number, token: number): number;
  /** the most probable token at row `r` (the lowest id on a tie, as llama-perplexity picks) */
  top(r: number): number;
  /** the token at row r's position: the last one the model read before predicting */
  readToken(r: number): number;
}

export function parseLogitFile(buf: Buffer): LogitFile {
  if (buf.length < MAGIC.length + 4 * HEADER_INTS || buf.toString('latin1', 0, MAGIC.length) !== MAGIC)
    throw new Error('not a llama-perplexity logits file (no "_logits_" header)');
  let o = MAGIC.length;
  const nCtx = buf.readInt32LE(o),
    nVocab = buf.readInt32LE(o + 4),
    nChunk = buf.readInt32LE(o + 8);
  o += 4 * HEADER_INTS;
  const tokens = new Int32Array(nChunk * nCtx);
  for (let i = 0; i < tokens.length; i++, o += 4) tokens[i] = buf.readInt32LE(o);
  const nv = 2 * Math.floor((nVocab + 1) / 2) + ROW_PREFIX_U16;
  const first = Math.floor(nCtx / 2);
  const perChunk = nCtx - 1 - first;
  const rows = nChunk * perChunk;
  const rowBytes = nv * 2;
  if (buf.length !== o + rows * rowBytes)
    throw new Error(`logits file: ${buf.length} bytes, expected ${o + rows * rowBytes} for ${rows} rows of ${nv}`);
  const base = o;
  const logProb = (r: number, token: number) => {
    const at = base + r * rowBytes;
    return buf.readFloatLE(at) * buf.readUInt16LE(at + 2 * (ROW_PREFIX_U16 + token)) + buf.readFloatLE(at + 4);
  };
  const top = (r: number) => {
    const at = base + r * rowBytes + 2 * ROW_PREFIX_U16;
    let best = 0;
    for (let t = 1; t < nVocab; t++) if (buf.readUInt16LE(at + 2 * t) > buf.readUInt16LE(at + 2 * best)) best = t;
    return best;
  };
  const readToken = (r: number) => tokens[Math.floor(r / perChunk) * nCtx + first + (r % perChunk)];
  return { nCtx, nVocab, nChunk, tokens, rows, logProb, top, readToken };
}

export function readLogitFile(file: string): LogitFile {
  return parseLogitFile(fs.readFileSync(file));
}

export interface Agreement {
  positions: number;
  /** the test's top token equals the reference's */
  sameTop: number;
  /** the same, or a near-tie: the reference's log-probability of the test's pick is within `tieNats` of its top */
  sameTopOrTie: number;
  tieNats: number;
  /** the largest gap, in the reference's log-probabilities, between its top and the test's pick */
  maxGapNats: number;
  /** root mean square difference of the log-probabilities (both above -15 nats; each row centred) */
  rmsDiffNats: number;
  /** the reference's top token is the token just read: a model that only repeats its input tells little */
  refRepeats: number;
}

const RMS_FLOOR_NATS = -15; // below this the files store 0 (clamped at 16 nats under the top)

/** How well `test` (e.g. the NPU run) agrees with `ref` (the CPU run) on the same tokens. */
export function agreement(ref: LogitFile, test: LogitFile, tieNats: number): Agreement {
  if (ref.rows !== test.rows || ref.nVocab !== test.nVocab || ref.tokens.some((t, i) => t !== test.tokens[i]))
    throw new Error('the two logits files do not cover the same tokens');
  let same = 0,
    tie = 0,
    maxGap = 0,
    repeats = 0,
    sq = 0,
    n = 0;
  for (let r = 0; r < ref.rows; r++) {
    const a = ref.top(r),
      b = test.top(r);
    const gap = ref.logProb(r, a) - ref.logProb(r, b);
    if (a === b) same++;
    if (a === ref.readToken(r)) repeats++;
    if (gap <= tieNats) tie++;
    maxGap = Math.max(maxGap, gap);
    const d: number[] = [];
    for (let t = 0; t < ref.nVocab; t++) {
      const x = ref.logProb(r, t),
        y = test.logProb(r, t);
      if (x > RMS_FLOOR_NATS && y > RMS_FLOOR_NATS) d.push(x - y);
    }
    const mean = d.reduce((s, v) => s + v, 0) / Math.max(1, d.length);
    for (const v of d) sq += (v - mean) ** 2;
    n += d.length;
  }
  return {
    positions: ref.rows,
    sameTop: same / ref.rows,
    sameTopOrTie: tie / ref.rows,
    tieNats,
    maxGapNats: maxGap,
    rmsDiffNats: Math.sqrt(sq / Math.max(1, n)),
    refRepeats: repeats / ref.rows,
  };
}
