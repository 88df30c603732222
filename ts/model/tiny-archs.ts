// Tiny random-weight models of the architectures the NPU path is proven on (docs/models.md): the
// metadata keys and tensor names the pinned llama.cpp loads for qwen2, qwen3, gemma2, gemma3 and qwen3moe
// (src/models/<arch>.cpp there), with the ratios of a real model of each (hidden : FFN : heads : KV heads,
// head size, tied or separate lm_head, experts) at a small hidden size. Their text is random words; they
// are for checking that every matmul of the architecture runs on the NPU and agrees with the CPU.
import { GGML_TYPE_F16, GgufWriter } from './gguf-writer.js';
import { tinyVocab, weightMakers, writeTokenizer } from './tiny-common.js';

export type TinyArch = 'qwen2' | 'qwen3' | 'gemma2' | 'gemma3' | 'qwen3moe';

export interface TinyArchSpec {
  /** the fixture's name (and file name) */
  name: string;
  arch: TinyArch;
  /** the full-size model whose ratios it keeps */
  mirrors: string;
  nEmbd: number;
  nFf: number;
  nLayer: number;
  nHead: number;
  nHeadKv: number;
  headDim: number;
  /** no output.weight: the lm_head is token_embd (TENSOR_DUPLICATED in the loader) */
  tied: boolean;
  /** qwen3moe: experts, experts per token, FFN size of one expert */
  nExpert?: number;
  nExpertUsed?: number;
  nFfExp?: number;
  /** gemma2/gemma3: sliding-window size of the local layers (smaller than the test windows, so it masks) */
  slidingWindow?: number;
  /** gemma3: every n-th layer is global (attention.sliding_window_pattern; the model's own default is 6) */
  swaPattern?: number;
  /** standard deviation of token_embd */
  embdStd: number;
  /** standard deviation of the layers' output projections (attn_output, ffn_down, ffn_down_exps) */
  outStd: number;
  /** gemma2/gemma3: weight of the post-attention and post-FFN norms (the scale of what a layer adds) */
  postNorm?: number;
  seed: number;
}

const N_MERGES = 300;
const N_CTX = 4096;
const RMS_EPS = 1e-6;
const MATRIX_STD = 0.05;
const PRINTABLE_DAMPING = 0.01; // lm_head rows of tokens that are not printable ASCII: readable random text
// Gemma 2's soft caps (gemma_pytorch config.py, get_config_for_2b_v2) and Gemma 3's RoPE bases
const GEMMA2_ATTN_SOFTCAP = 50;
const GEMMA2_FINAL_SOFTCAP = 30;
const GEMMA3_ROPE_BASE = 1e6;
const GEMMA3_ROPE_BASE_SWA = 1e4;
const QWEN_ROPE_BASE = 1e6;

/** The fixtures, one per architecture. Ratios from the real models' configs (docs/models.md). */
export const TINY_ARCHS: TinyArchSpec[] = [
  {
    // Qwen2.5-3B: hidden 2048, FFN 11008, 16 heads / 2 KV heads of 128, tied
    name: 'tiny-qwen2-3b-ratios',
    arch: 'qwen2',
    mirrors: 'Qwen2.5-3B',
    nEmbd: 256,
    nFf: 1376,
    nLayer: 2,
    nHead: 8,
    nHeadKv: 1,
    headDim: 32,
    tied: true,
    embdStd: 0.5,
    outStd: 5,
    seed: 2503,
  },
  {
    // Qwen3-1.7B: hidden 2048, FFN 6144, 16 heads / 8 KV heads of 128, Q/K norms, tied
    name: 'tiny-qwen3',
    arch: 'qwen3',
    mirrors: 'Qwen3-1.7B',
    nEmbd: 256,
    nFf: 768,
    nLayer: 2,
    nHead: 8,
    nHeadKv: 4,
    headDim: 32,
    tied: true,
    embdStd: 0.5,
    outStd: 5,
    seed: 3017,
  },
  {
    // Gemma 2 2B: hidden 2304, FFN 9216, 8 heads / 4 KV heads of 256 (Q width 2048 < hidden), soft caps,
    // local/global layers alternating, tied
    name: 'tiny-gemma2',
    arch: 'gemma2',
    mirrors: 'Gemma 2 2B',
    nEmbd: 288,
    nFf: 1152,
    nLayer: 2,
    nHead: 8,
    nHeadKv: 4,
    headDim: 32,
    tied: true,
    slidingWindow: 64,
    embdStd: 0.5,
    outStd: 0.05,
    postNorm: 500,
    seed: 2202,
  },
  {
    // Gemma 3 1B: hidden 1152, FFN 6912, 4 heads / 1 KV head of 256 (Q width 1024 < hidden), Q/K norms,
    // five local layers to one global, tied
    name: 'tiny-gemma3',
    arch: 'gemma3',
    mirrors: 'Gemma 3 1B',
    nEmbd: 288,
    nFf: 1728,
    nLayer: 2,
    nHead: 4,
    nHeadKv: 1,
    headDim: 64,
    tied: true,
    slidingWindow: 64,
    swaPattern: 2,
    embdStd: 0.5,
    outStd: 0.05,
    postNorm: 500,
    seed: 3001,
  },
  {
    // Qwen3-30B-A3B: hidden 2048, 32 heads / 4 KV heads of 128 (Q width 4096 > hidden), 128 experts, 8 per
    // token, expert FFN 768, separate lm_head
    name: 'tiny-qwen3moe',
    arch: 'qwen3moe',
    mirrors: 'Qwen3-30B-A3B',
    nEmbd: 256,
    nFf: 768,
    nLayer: 2,
    nHead: 8,
    nHeadKv: 1,
    headDim: 64,
    tied: false,
    nExpert: 16,
    nExpertUsed: 4,
    nFfExp: 96,
    embdStd: 0.5,
    outStd: 0.05,
    seed: 3303,
  },
];

export function tinyArch(name: string): TinyArchSpec {
  const spec = TINY_ARCHS.find((s) => s.name === name);
  if (!spec) throw new Error(`unknown tiny model '${name}' (known: ${TINY_ARCHS.map((s) => s.name).join(', ')})`);
  return spec;
}

const hasQkNorm = (a: TinyArch) => a === 'qwen3' || a === 'qwen3moe' || a === 'gemma3';
const isGemma = (a: TinyArch) => a === 'gemma2' || a === 'gemma3';

export function buildTinyArch(s: TinyArchSpec): GgufWriter {
  const v = tinyVocab(N_MERGES);
  const nVocab = v.tokens.length;
  const a = s.arch;
  const nQ = s.nHead * s.headDim,
    nKv = s.nHeadKv * s.headDim;
  const w = new GgufWriter()
    .str('general.architecture', a)
    .str('general.name', `rosenblatt-${s.name}`)
    .u32('general.file_type', 1) // MOSTLY_F16
    .u32(`${a}.context_length`, N_CTX)
    .u32(`${a}.embedding_length`, s.nEmbd)
    .u32(`${a}.block_count`, s.nLayer)
    .u32(`${a}.feed_forward_length`, s.nFf)
    .u32(`${a}.attention.head_count`, s.nHead)
    .u32(`${a}.attention.head_count_kv`, s.nHeadKv)
    .u32(`${a}.attention.key_length`, s.headDim)
    .u32(`${a}.attention.value_length`, s.headDim)
    .f32(`${a}.attention.layer_norm_rms_epsilon`, RMS_EPS)
    .f32(`${a}.rope.freq_base`, a === 'gemma3' ? GEMMA3_ROPE_BASE : QWEN_ROPE_BASE);
  if (a === 'gemma2') {
    w.f32(`${a}.attn_logit_softcapping`, GEMMA2_ATTN_SOFTCAP).f32(`${a}.final_logit_softcapping`, GEMMA2_FINAL_SOFTCAP);
  }
  if (a === 'gemma3') w.f32(`${a}.rope.freq_base_swa`, GEMMA3_ROPE_BASE_SWA);
  if (s.slidingWindow) w.u32(`${a}.attention.sliding_window`, s.slidingWindow);
  if (s.swaPattern) w.u32(`${a}.attention.sliding_window_pattern`, s.swaPattern);
  if (a === 'qwen3moe') {
    w.u32(`${a}.expert_count`, s.nExpert!)
      .u32(`${a}.expert_used_count`, s.nExpertUsed!)
      .u32(`${a}.expert_feed_forward_length`, s.nFfExp!);
  }
  writeTokenizer(w, v);

  const { mat, vec } = weightMakers(s.seed);
  const f16 = (name: string, ne: number[], values: Float32Array) => w.tensor(name, ne, values, GGML_TYPE_F16);
  const damped = (m: Float32Array) => {
    for (let t = 0; t < nVocab; t++) {
      if (!v.printable[t]) for (let j = 0; j < s.nEmbd; j++) m[t * s.nEmbd + j] *= PRINTABLE_DAMPING;
    }
    return m;
  };
  const embd = mat(s.nEmbd, nVocab, s.embdStd);
  f16('token_embd.weight', [s.nEmbd, nVocab], s.tied ? damped(embd) : embd);
  if (!s.tied) f16('output.weight', [s.nEmbd, nVocab], damped(mat(s.nEmbd, nVocab, 0.5)));
  w.tensor('output_norm.weight', [s.nEmbd], vec(s.nEmbd, 1));
  for (let i = 0; i < s.nLayer; i++) {
    const p = `blk.${i}.`;
    w.tensor(p + 'attn_norm.weight', [s.nEmbd], vec(s.nEmbd, 1));
    f16(p + 'attn_q.weight', [s.nEmbd, nQ], mat(s.nEmbd, nQ, MATRIX_STD));
    f16(p + 'attn_k.weight', [s.nEmbd, nKv], mat(s.nEmbd, nKv, MATRIX_STD));
    f16(p + 'attn_v.weight', [s.nEmbd, nKv], mat(s.nEmbd, nKv, MATRIX_STD));
    if (a === 'qwen2') {
      w.tensor(p + 'attn_q.bias', [nQ], vec(nQ));
      w.tensor(p + 'attn_k.bias', [nKv], vec(nKv));
      w.tensor(p + 'attn_v.bias', [nKv], vec(nKv));
    }
    if (hasQkNorm(a)) {
      w.tensor(p + 'attn_q_norm.weight', [s.headDim], vec(s.headDim, 1));
      w.tensor(p + 'attn_k_norm.weight', [s.headDim], vec(s.headDim, 1));
    }
    f16(p + 'attn_output.weight', [nQ, s.nEmbd], mat(nQ, s.nEmbd, s.outStd));
    if (isGemma(a)) w.tensor(p + 'post_attention_norm.weight', [s.nEmbd], vec(s.nEmbd, s.postNorm));
    w.tensor(p + 'ffn_norm.weight', [s.nEmbd], vec(s.nEmbd, 1));
    if (a === 'qwen3moe') {
      const e = s.nExpert!,
        ff = s.nFfExp!;
      w.tensor(p + 'ffn_gate_inp.weight', [s.nEmbd, e], mat(s.nEmbd, e, MATRIX_STD)); // the router stays F32
      f16(p + 'ffn_gate_exps.weight', [s.nEmbd, ff, e], mat(s.nEmbd, ff * e, MATRIX_STD));
      f16(p + 'ffn_up_exps.weight', [s.nEmbd, ff, e], mat(s.nEmbd, ff * e, MATRIX_STD));
      f16(p + 'ffn_down_exps.weight', [ff, s.nEmbd, e], mat(ff, s.nEmbd * e, s.outStd));
    } else {
      f16(p + 'ffn_gate.weight', [s.nEmbd, s.nFf], mat(s.nEmbd, s.nFf, MATRIX_STD));
      f16(p + 'ffn_up.weight', [s.nEmbd, s.nFf], mat(s.nEmbd, s.nFf, MATRIX_STD));
      f16(p + 'ffn_down.weight', [s.nFf, s.nEmbd], mat(s.nFf, s.nEmbd, s.outStd));
    }
    if (isGemma(a)) w.tensor(p + 'post_ffw_norm.weight', [s.nEmbd], vec(s.nEmbd, s.postNorm));
  }
  return w;
}
