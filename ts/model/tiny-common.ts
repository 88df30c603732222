// What the tiny random-weight models share: the text their byte-level BPE learns from, a seeded
// normal generator, the vocabulary (the BPE's tokens and three specials) and its tokenizer keys, and
// the weight makers.
import { byteToUnicode, trainBpe } from './bpe.js';
import type { GgufWriter } from './gguf-writer.js';

// Our own words, only to give the BPE some English to learn merges from.
export const CORPUS = `
The perceptron was built in 1958 as a machine that learns to tell patterns apart. It weighed its
inputs, added them up and fired when the sum passed a threshold. Today the same multiply and add
runs on neural processing units: an array of small multipliers that take eight bit integers and
accumulate them into thirty two bit sums. A matrix multiplication is a convolution with a kernel of
one by one, so the unit that was made for images can run the layers of a language model. The weights
are converted once when the model is loaded, the activations are quantized for every batch, and the
results are scaled back to floating point numbers. The processor keeps the work that is not a matrix
product: the embeddings, the attention softmax, the norms, the rotary positions and the sampling of
the next token. Open drivers in the mainline kernel make this possible without closed libraries.
`.repeat(3);

/** Deterministic normal samples (mulberry32 + Box-Muller). */
export function gaussian(seed: number) {
  let a = seed >>> 0;
  const uni = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(uni() + 1e-12)) * Math.cos(2 * Math.PI * uni());
}
export interface TinyVocab {
  tokens: string[];
  merges: string[];
  /** 1 = normal, 3 = control (the specials) */
  types: number[];
  /** tokens whose bytes are all printable ASCII (the specials are not) */
  printable: boolean[];
  /** the first special, <|endoftext|>: BOS, EOS and padding */
  endOfText: number;
}

const NORMAL = 1,
  CONTROL = 3;
const SPECIALS = ['<|endoftext|>', '<|im_start|>', '<|im_end|>'];

export function tinyVocab(nMerges: number): TinyVocab {
  const bpe = trainBpe(CORPUS, nMerges);
  const tokens = [...bpe.tokens, ...SPECIALS];
  const u2b = new Map(byteToUnicode().map((ch, b) => [ch, b]));
  return {
    tokens,
    merges: bpe.merges,
    types: tokens.map((_, i) => (i >= bpe.tokens.length ? CONTROL : NORMAL)),
    printable: tokens.map(
      (t, i) =>
        i < bpe.tokens.length &&
        [...t].every((ch) => {
          const b = u2b.get(ch)!;
          return b >= 0x20 && b < 0x7f;
        }),
    ),
    endOfText: bpe.tokens.length,
  };
}

/** The tokenizer keys of a GPT-2 style BPE (llama.cpp's "gpt2" model with the qwen2 pre-tokenizer). */
export function writeTokenizer(w: GgufWriter, v: TinyVocab): GgufWriter {
  return w
    .str('tokenizer.ggml.model', 'gpt2')
    .str('tokenizer.ggml.pre', 'qwen2')
    .strArray('tokenizer.ggml.tokens', v.tokens)
    .i32Array('tokenizer.ggml.token_type', v.types)
    .strArray('tokenizer.ggml.merges', v.merges)
    .u32('tokenizer.ggml.bos_token_id', v.endOfText)
    .u32('tokenizer.ggml.eos_token_id', v.endOfText)
    .u32('tokenizer.ggml.padding_token_id', v.endOfText)
    .bool('tokenizer.ggml.add_bos_token', false);
}

/** Weight makers over one seeded generator: numpy (n_out, n_in) == ggml ne [n_in, n_out]. */
export function weightMakers(seed: number) {
  const g = gaussian(seed);
  return {
    mat: (nIn: number, nOut: number, std = 0.05) => Float32Array.from({ length: nIn * nOut }, () => g() * std),
    vec: (n: number, val?: number) => Float32Array.from({ length: n }, () => (val === undefined ? g() * 0.02 : val)),
  };
}
