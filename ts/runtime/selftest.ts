// MUL_MAT and attention checks through the plugin over FFI: the same operands and graph computed on
// RKNPU0 and on the CPU backend, compared by NMSE (test-backend-ops' bound for MUL_MAT and FLASH_ATTN_EXT is
// 5e-4). Attention cases take their K/V from a CPU buffer, as llama.cpp's KV cache is.
import type { Native } from '../ffi/llama.js';
import { LlamaError } from './errors.js';
import type { RknpuStats } from './plugin.js';

export const GGML_TYPES: Record<string, number> = {
  f32: 0,
  f16: 1,
  q4_0: 2,
  q5_0: 6,
  q8_0: 8,
  q4_K: 12,
  q6_K: 14,
  bf16: 30,
};
export const NMSE_BOUND = 5e-4;

export interface SelftestCase {
  /** a weight type (MUL_MAT of a resident weight), or an attention product on an F16 KV cache:
   * 'kq' (MUL_MAT of a [K, N, kvHeads] cache against [K, M, heads] queries: GQA broadcast) or 'fa'
   * (FLASH_ATTN_EXT, head size K, N keys, M queries, no mask) */
  type: string;
  K: number;
  N: number;
  M: number;
  heads?: number;
  kvHeads?: number;
}

export const ATTENTION_TYPES = ['kq', 'fa'];

export interface SelftestResult extends SelftestCase {
  nmse: number;
  /** measured: the NPU graph compute (the simulator's wall time on the simulator) */
  npuMs: number;
  /** timing MODEL of the NPU time at 200 MHz, [optimistic, pessimistic]; null without the plugin's counters */
  modelMs200: [number, number] | null;
  cpuMs: number;
  ok: boolean;
  error?: string;
}

/**
 * Deterministic uniform values in [-1, 1) (test-backend-ops' distribution for this bound), with mild
 * outlier channels (x4) in the activations. Strong outliers (x20) push per-token int8 past the bound:
 * that case is measured by the GEMM engine's tests and docs/accuracy.md, not gated here.
 */
function fill(n: number, seed: number, outliers = false): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 2 ** 32) * 2 - 1;
  }
  if (outliers) for (let i = 7; i < n; i += 97) out[i] *= 4;
  return out;
}

function device(native: Native, name: string): unknown {
  const g = native.ggml;
  for (let i = 0; i < Number(g.ggml_backend_dev_count()); i++) {
    const d = g.ggml_backend_dev_get(i);
    if (g.ggml_backend_dev_name(d) === name) return d;
  }
  return null;
}

/** One attention case on one backend: K/V (F16, a CPU buffer) and queries from w and x. */
function attention(
  native: Native,
  dev: unknown,
  c: SelftestCase,
  w: Float32Array,
  x: Float32Array,
): { y: Float32Array; ms: number } {
  const g = native.ggml;
  const H = c.heads ?? 1,
    G = c.kvHeads ?? 1;
  const params = {
    mem_size: 16 * Number(g.ggml_tensor_overhead()) + Number(g.ggml_graph_overhead()),
    mem_buffer: null,
    no_alloc: true,
  };
  const ctx = g.ggml_init(params);
  const backend = g.ggml_backend_dev_init(dev, null);
  let buffer: unknown = null;
  try {
    const k = g.ggml_new_tensor_3d(ctx, GGML_TYPES.f16, c.K, c.N, G);
    const v = g.ggml_new_tensor_3d(ctx, GGML_TYPES.f16, c.K, c.N, G);
    const q = g.ggml_new_tensor_3d(ctx, GGML_TYPES.f32, c.K, c.M, H);
    const out =
      c.type === 'fa' ? g.ggml_flash_attn_ext(ctx, q, k, v, null, 1 / Math.sqrt(c.K), 0, 0) : g.ggml_mul_mat(ctx, k, q);
    const graph = g.ggml_new_graph(ctx);
    g.ggml_build_forward_expand(graph, out);
    buffer = g.ggml_backend_alloc_ctx_tensors_from_buft(ctx, g.ggml_backend_cpu_buffer_type());
    const kvBytes = Number(g.ggml_row_size(GGML_TYPES.f16, c.K)) * c.N * G;
    for (const [t, off] of [
      [k, 0],
      [v, c.K * c.N * G],
    ] as const) {
      const q16 = Buffer.alloc(kvBytes);
      g.ggml_quantize_chunk(GGML_TYPES.f16, w.subarray(off, off + c.K * c.N * G), q16, 0, c.N * G, c.K, null);
      g.ggml_backend_tensor_set(t, q16, 0, kvBytes);
    }
    g.ggml_backend_tensor_set(q, x, 0, x.byteLength);
    const t0 = performance.now();
    const status = g.ggml_backend_graph_compute(backend, graph);
    const ms = performance.now() - t0;
    if (status !== 0) throw new LlamaError(`graph compute failed with status ${status}`);
    const y = new Float32Array(c.type === 'fa' ? c.K * H * c.M : c.N * c.M * H);
    g.ggml_backend_tensor_get(out, y, 0, y.byteLength);
    return { y, ms };
  } finally {
    if (buffer) g.ggml_backend_buffer_free(buffer);
    g.ggml_backend_free(backend);
    g.ggml_free(ctx);
  }
}

/** Y = X · Wᵀ on one backend; returns the output and the compute time. */
function mulMat(
  native: Native,
  dev: unknown,
  c: SelftestCase,
  w: Float32Array,
  x: Float32Array,
): { y: Float32Array; ms: number } {
  const g = native.ggml;
  const type = GGML_TYPES[c.type];
  const params = {
    mem_size: 16 * Number(g.ggml_tensor_overhead()) + Number(g.ggml_graph_overhead()),
    mem_buffer: null,
    no_alloc: true,
  };
  const wctx = g.ggml_init(params),
    actx = g.ggml_init(params);
  const backend = g.ggml_backend_dev_init(dev, null);
  const buffers: unknown[] = [];
  try {
    const wt = g.ggml_new_tensor_2d(wctx, type, c.K, c.N);
    const xt = g.ggml_new_tensor_2d(actx, GGML_TYPES.f32, c.K, c.M);
    const yt = g.ggml_mul_mat(actx, wt, xt);
    const graph = g.ggml_new_graph(actx);
    g.ggml_build_forward_expand(graph, yt);
    buffers.push(g.ggml_backend_alloc_ctx_tensors_from_buft(wctx, g.ggml_backend_dev_buffer_type(dev)));
    buffers.push(g.ggml_backend_alloc_ctx_tensors_from_buft(actx, g.ggml_backend_cpu_buffer_type()));
    const wbytes = Number(g.ggml_row_size(type, c.K)) * c.N;
    const wq = Buffer.alloc(wbytes);
    g.ggml_quantize_chunk(type, w, wq, 0, c.N, c.K, null);
    g.ggml_backend_tensor_set(wt, wq, 0, wbytes);
    g.ggml_backend_tensor_set(xt, x, 0, x.byteLength);
    const t0 = performance.now();
    const status = g.ggml_backend_graph_compute(backend, graph);
    const ms = performance.now() - t0;
    if (status !== 0) throw new LlamaError(`graph compute failed with status ${status}`);
    const y = new Float32Array(c.N * c.M);
    g.ggml_backend_tensor_get(yt, y, 0, y.byteLength);
    return { y, ms };
  } finally {
    for (const b of buffers) if (b) g.ggml_backend_buffer_free(b);
    g.ggml_backend_free(backend);
    g.ggml_free(wctx);
    g.ggml_free(actx);
  }
}

export function runSelftest(
  native: Native,
  cases: SelftestCase[],
  onResult?: (r: SelftestResult) => void,
  stats?: () => RknpuStats | null,
): SelftestResult[] {
  const npu = device(native, 'RKNPU0');
  const cpu = device(native, 'CPU');
  if (!npu) throw new LlamaError('no RKNPU0 device: the plugin found no NPU (RKNPU_DEVICE=sim selects the simulator)');
  if (!cpu) throw new LlamaError('no CPU device');
  const results: SelftestResult[] = [];
  for (const c of cases) {
    const attn = ATTENTION_TYPES.includes(c.type);
    if (!attn && !(c.type in GGML_TYPES))
      throw new LlamaError(
        `unknown weight type ${c.type} (one of ${[...Object.keys(GGML_TYPES), ...ATTENTION_TYPES].join(', ')})`,
      );
    const run = attn ? attention : mulMat;
    const w = fill(c.K * c.N * (attn ? 2 * (c.kvHeads ?? 1) : 1), 1 + c.K * 7 + c.N),
      x = fill(c.K * c.M * (attn ? (c.heads ?? 1) : 1), 2 + c.M, !attn);
    let r: SelftestResult;
    try {
      const s0 = stats?.() ?? null;
      const a = run(native, npu, c, w, x);
      const s1 = stats?.() ?? null;
      const modelMs200: [number, number] | null =
        s0 && s1 ? [s1.model_ms_200_opt - s0.model_ms_200_opt, s1.model_ms_200_pess - s0.model_ms_200_pess] : null;
      const b = run(native, cpu, c, w, x);
      let e = 0,
        ref = 0;
      for (let i = 0; i < a.y.length; i++) {
        e += (a.y[i] - b.y[i]) ** 2;
        ref += b.y[i] ** 2;
      }
      const nmse = ref > 0 ? e / ref : e;
      r = { ...c, nmse, npuMs: a.ms, modelMs200, cpuMs: b.ms, ok: nmse <= NMSE_BOUND };
    } catch (err) {
      r = { ...c, nmse: NaN, npuMs: NaN, modelMs200: null, cpuMs: NaN, ok: false, error: (err as Error).message };
    }
    results.push(r);
    onResult?.(r);
  }
  return results;
}

/** The default set: every weight type the plugin converts, Qwen2-like and odd shapes, several M. */
export function defaultCases(): SelftestCase[] {
  const shapes = [
    { K: 256, N: 64, M: 8 },
    { K: 512, N: 1023, M: 9 }, // odd N
    { K: 1536, N: 256, M: 32 }, // Qwen2.5-1.5B k/v projection
    { K: 768, N: 96, M: 130 }, // several M-tiles
  ];
  const out: SelftestCase[] = [];
  for (const type of ['f32', 'f16', 'q8_0', 'q4_0', 'q4_K', 'q6_K']) for (const s of shapes) out.push({ type, ...s });
  // attention over an F16 KV cache: Qwen2.5-1.5B's heads (12 query heads on 2 KV heads, head size 128), and
  // an odd KV length with head size 64
  out.push({ type: 'kq', K: 128, N: 256, M: 16, heads: 12, kvHeads: 2 });
  out.push({ type: 'fa', K: 128, N: 256, M: 16, heads: 12, kvHeads: 2 });
  out.push({ type: 'fa', K: 64, N: 113, M: 9, heads: 4, kvHeads: 4 });
  return out;
}
