// The embedded default model: Qwen2 architecture (llama.cpp `qwen2`), random weights, a real
// byte-level BPE, small enough to make in a second. It exercises every MUL_MAT shape class of a
// Qwen2 layer (q/k/v/o, gate/up/down, lm_head) with K-quant-friendly sizes (multiples of 256).
import { GGML_TYPE_F16, GgufWriter } from './gguf-writer.js';
import { byteToUnicode, trainBpe } from './bpe.js';

export interface TinyQwen2Shape {
  nEmbd: number;
  nFf: number;
  nLayer: number;
  nHead: number;
  nHeadKv: number;
  nCtx: number;
  nMerges: number;
  seed: number;
}

export const DEFAULT_SHAPE: TinyQwen2Shape = {
  nEmbd: 256,
  nFf: 768,
  nLayer: 2,
  nHead: 4,
  nHeadKv: 2,
  nCtx: 2048,
  nMerges: 300,
  seed: 1958,
};

// Our own words, only to give the BPE some English to learn merges from.
const CORPUS = `
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

/** The matmul shapes of Qwen2.5-1.5B (hidden 1536, FFN 8960, 28 layers, 12 heads, 2 KV heads) with the small
 * vocabulary of the default model: for timing the CPU share of a prefill (docs/performance.md, "Projection"),
 * not for text. */
export const QWEN25_1_5B_SHAPE: TinyQwen2Shape = {
  ...DEFAULT_SHAPE,
  nEmbd: 1536,
  nFf: 8960,
  nLayer: 28,
  nHead: 12,
  nHeadKv: 2,
  nCtx: 4096,
};

/** Deterministic normal samples (mulberry32 + Box-Muller). */
function gaussian(seed: number) {
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

export function buildTinyQwen2(shape: TinyQwen2Shape = DEFAULT_SHAPE): GgufWriter {
  const { nEmbd, nFf, nLayer, nHead, nHeadKv, nCtx } = shape;
  const headDim = nEmbd / nHead;
  const bpe = trainBpe(CORPUS, shape.nMerges);
  const specials = ['<|endoftext|>', '<|im_start|>', '<|im_end|>'];
  const tokens = [...bpe.tokens, ...specials];
  const nVocab = tokens.length;
  const NORMAL = 1,
    CONTROL = 3;
  const types = tokens.map((_, i) => (i >= bpe.tokens.length ? CONTROL : NORMAL));

  const w = new GgufWriter()
    .str('general.architecture', 'qwen2')
    .str('general.name', 'rosenblatt-tiny-qwen2')
    .u32('general.file_type', 1) // MOSTLY_F16
    .u32('qwen2.context_length', nCtx)
    .u32('qwen2.embedding_length', nEmbd)
    .u32('qwen2.block_count', nLayer)
    .u32('qwen2.feed_forward_length', nFf)
    .u32('qwen2.attention.head_count', nHead)
    .u32('qwen2.attention.head_count_kv', nHeadKv)
    .f32('qwen2.attention.layer_norm_rms_epsilon', 1e-6)
    .f32('qwen2.rope.freq_base', 1e6)
    .str('tokenizer.ggml.model', 'gpt2')
    .str('tokenizer.ggml.pre', 'qwen2')
    .strArray('tokenizer.ggml.tokens', tokens)
    .i32Array('tokenizer.ggml.token_type', types)
    .strArray('tokenizer.ggml.merges', bpe.merges)
    .u32('tokenizer.ggml.bos_token_id', nVocab - 3)
    .u32('tokenizer.ggml.eos_token_id', nVocab - 3)
    .u32('tokenizer.ggml.padding_token_id', nVocab - 3)
    .bool('tokenizer.ggml.add_bos_token', false)
    .str(
      'tokenizer.chat_template',
      "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}" +
        '{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}',
    );

  const g = gaussian(shape.seed);
  // numpy (n_out, n_in) == ggml ne [n_in, n_out]
  const mat = (nIn: number, nOut: number, std = 0.05) => Float32Array.from({ length: nIn * nOut }, () => g() * std);
  const vec = (n: number, val?: number) =>
    Float32Array.from({ length: n }, () => (val === undefined ? g() * 0.02 : val));

  w.tensor('token_embd.weight', [nEmbd, nVocab], mat(nEmbd, nVocab, 0.5), GGML_TYPE_F16);
  // An untied lm_head: with random weights a tied one mostly predicts the input token again. Rows of
  // tokens that are not printable ASCII are damped, so the random text stays readable on a terminal.
  const u2b = new Map(byteToUnicode().map((ch, b) => [ch, b]));
  const printable = tokens.map(
    (t, i) =>
      i < bpe.tokens.length &&
      [...t].every((ch) => {
        const b = u2b.get(ch)!;
        return b >= 0x20 && b < 0x7f;
      }),
  );
  const lmHead = mat(nEmbd, nVocab, 0.5);
  for (let t = 0; t < nVocab; t++) if (!printable[t]) for (let j = 0; j < nEmbd; j++) lmHead[t * nEmbd + j] *= 0.01;
  w.tensor('output.weight', [nEmbd, nVocab], lmHead, GGML_TYPE_F16);
  w.tensor('output_norm.weight', [nEmbd], vec(nEmbd, 1));
  for (let i = 0; i < nLayer; i++) {
    const p = `blk.${i}.`;
    w.tensor(p + 'attn_norm.weight', [nEmbd], vec(nEmbd, 1));
    w.tensor(p + 'attn_q.weight', [nEmbd, nEmbd], mat(nEmbd, nEmbd), GGML_TYPE_F16);
    w.tensor(p + 'attn_q.bias', [nEmbd], vec(nEmbd));
    w.tensor(p + 'attn_k.weight', [nEmbd, nHeadKv * headDim], mat(nEmbd, nHeadKv * headDim), GGML_TYPE_F16);
    w.tensor(p + 'attn_k.bias', [nHeadKv * headDim], vec(nHeadKv * headDim));
    w.tensor(p + 'attn_v.weight', [nEmbd, nHeadKv * headDim], mat(nEmbd, nHeadKv * headDim), GGML_TYPE_F16);
    w.tensor(p + 'attn_v.bias', [nHeadKv * headDim], vec(nHeadKv * headDim));
    w.tensor(p + 'attn_output.weight', [nEmbd, nEmbd], mat(nEmbd, nEmbd), GGML_TYPE_F16);
    w.tensor(p + 'ffn_norm.weight', [nEmbd], vec(nEmbd, 1));
    w.tensor(p + 'ffn_gate.weight', [nEmbd, nFf], mat(nEmbd, nFf), GGML_TYPE_F16);
    w.tensor(p + 'ffn_up.weight', [nEmbd, nFf], mat(nEmbd, nFf), GGML_TYPE_F16);
    w.tensor(p + 'ffn_down.weight', [nFf, nEmbd], mat(nFf, nEmbd), GGML_TYPE_F16);
  }
  return w;
}
