// The embedded default model: Qwen2 architecture (llama.cpp `qwen2`), random weights, a real
// byte-level BPE, small enough to make in a second. It exercises every MUL_MAT shape class of a
// Qwen2 layer (q/k/v/o, gate/up/down, lm_head) with K-quant-friendly sizes (multiples of 256).
import { GGML_TYPE_F16, GgufWriter } from './gguf-writer.js';
import { tinyVocab, weightMakers, writeTokenizer } from './tiny-common.js';

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

export function buildTinyQwen2(shape: TinyQwen2Shape = DEFAULT_SHAPE): GgufWriter {
  const { nEmbd, nFf, nLayer, nHead, nHeadKv, nCtx } = shape;
  const headDim = nEmbd / nHead;
  const v = tinyVocab(shape.nMerges);
  const nVocab = v.tokens.length;

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
    .f32('qwen2.rope.freq_base', 1e6);
  writeTokenizer(w, v).str(
    'tokenizer.chat_template',
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}" +
      '{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}',
  );

  const { mat, vec } = weightMakers(shape.seed);

  w.tensor('token_embd.weight', [nEmbd, nVocab], mat(nEmbd, nVocab, 0.5), GGML_TYPE_F16);
  // An untied lm_head: with random weights a tied one mostly predicts the input token again. Rows of
  // tokens that are not printable ASCII are damped, so the random text stays readable on a terminal.
  const lmHead = mat(nEmbd, nVocab, 0.5);
  for (let t = 0; t < nVocab; t++) if (!v.printable[t]) for (let j = 0; j < nEmbd; j++) lmHead[t * nEmbd + j] *= 0.01;
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
