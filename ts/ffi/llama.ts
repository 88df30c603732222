// koffi declarations for the parts of llama.h (pinned llama.cpp) that Rosenblatt uses.
// One place for every C signature; test/ffi-layout.test.ts checks these struct layouts against the
// pinned header with a compiled probe, so a drift in the pin shows up as a failing test, not a crash.
import koffi, { type LibraryHandle } from 'koffi';
import path from 'node:path';

export const llama_model_params = koffi.struct('llama_model_params', {
  devices: 'void *',
  tensor_buft_overrides: 'void *',
  n_gpu_layers: 'int32_t',
  split_mode: 'int32_t',
  load_mode: 'int32_t',
  lazy_mode: 'int32_t',
  main_gpu: 'int32_t',
  tensor_split: 'void *',
  progress_callback: 'void *',
  progress_callback_user_data: 'void *',
  kv_overrides: 'void *',
  vocab_only: 'bool',
  check_tensors: 'bool',
  use_extra_bufts: 'bool',
  no_host: 'bool',
  no_alloc: 'bool',
  load_mtp: 'bool',
});

export const llama_context_params = koffi.struct('llama_context_params', {
  n_ctx: 'uint32_t',
  n_batch: 'uint32_t',
  n_ubatch: 'uint32_t',
  n_seq_max: 'uint32_t',
  n_rs_seq: 'uint32_t',
  n_outputs_max: 'uint32_t',
  n_outputs_max_per_seq: 'uint32_t',
  n_threads: 'int32_t',
  n_threads_batch: 'int32_t',
  ctx_type: 'int32_t',
  rope_scaling_type: 'int32_t',
  pooling_type: 'int32_t',
  attention_type: 'int32_t',
  flash_attn_type: 'int32_t',
  rope_freq_base: 'float',
  rope_freq_scale: 'float',
  yarn_ext_factor: 'float',
  yarn_attn_factor: 'float',
  yarn_beta_fast: 'float',
  yarn_beta_slow: 'float',
  yarn_orig_ctx: 'uint32_t',
  defrag_thold: 'float',
  cb_eval: 'void *',
  cb_eval_user_data: 'void *',
  type_k: 'int32_t',
  type_v: 'int32_t',
  abort_callback: 'void *',
  abort_callback_data: 'void *',
  embeddings: 'bool',
  offload_kqv: 'bool',
  no_perf: 'bool',
  op_offload: 'bool',
  swa_full: 'bool',
  kv_unified: 'bool',
  samplers: 'void *',
  n_samplers: 'size_t',
  ctx_other: 'void *',
});

export const llama_batch = koffi.struct('llama_batch', {
  n_tokens: 'int32_t',
  token: 'void *',
  embd: 'void *',
  pos: 'void *',
  n_seq_id: 'void *',
  seq_id: 'void *',
  logits: 'void *',
});

export const ggml_init_params = koffi.struct('ggml_init_params', {
  mem_size: 'size_t',
  mem_buffer: 'void *',
  no_alloc: 'bool',
});

export const llama_sampler_chain_params = koffi.struct('llama_sampler_chain_params', { no_perf: 'bool' });
export const llama_chat_message = koffi.struct('llama_chat_message', { role: 'const char *', content: 'const char *' });

// ggml_log_callback: void (*)(enum ggml_log_level level, const char * text, void * user_data)
export const ggml_log_callback = koffi.proto('void ggml_log_callback(int level, const char *text, void *user_data)');
// llama_progress_callback: bool (*)(float progress, void * user_data)
export const llama_progress_callback = koffi.proto('bool llama_progress_callback(float progress, void *user_data)');

// Entry points of libggml-rknpu.so reached through ggml_backend_reg_get_proc_address.
export const RKNPU_MODEL_SOURCE_LEN = 96;
export const rknpu_stats = koffi.struct('ggml_backend_rknpu_stats', {
  matmuls: 'uint64_t',
  failures: 'uint64_t',
  tasks: 'uint64_t',
  jobs: 'uint64_t',
  glue_ms: 'double',
  npu_wait_ms: 'double',
  // timing MODEL of the NPU time: optimistic and pessimistic bound at 200 MHz and 1 GHz
  model_ms_200_opt: 'double',
  model_ms_200_pess: 'double',
  model_ms_1000_opt: 'double',
  model_ms_1000_pess: 'double',
  reuse_tasks: 'uint64_t',
  model_source: koffi.array('char', RKNPU_MODEL_SOURCE_LEN, 'String'),
  // MUL_MAT_ID: expert row groups on the NPU (included in matmuls), and below RKNPU_MIN_BATCH on the CPU
  expert_matmuls: 'uint64_t',
  expert_cpu_matmuls: 'uint64_t',
  // attention on the NPU: KQ/KQV MUL_MATs and FLASH_ATTN_EXT nodes, the NPU GEMMs they ran as, their host work
  attention_ops: 'uint64_t',
  attention_matmuls: 'uint64_t',
  attention_host_ms: 'double',
  // weight MUL_MATs split between the NPU and the CPU (RKNPU_CPU_SHARE): split count, each engine's 1e9 MACs,
  // the CPU parts' wall time
  split_matmuls: 'uint64_t',
  npu_share_gmacs: 'double',
  cpu_share_gmacs: 'double',
  cpu_share_ms: 'double',
});
export const rknpu_get_stats_fn = koffi.proto(
  'bool ggml_backend_rknpu_get_stats_fn(_Out_ ggml_backend_rknpu_stats *out)',
);
export const rknpu_sim_inject_fault_fn = koffi.proto('int ggml_backend_rknpu_sim_inject_fault_fn(const char *spec)');
// Whether the plugin registered its device, and why not: a library without this entry point is not
// the Rosenblatt plugin.
export const RKNPU_STATUS_REASON_LEN = 512;
export const RKNPU_STATUS_DESCRIPTION_LEN = 256;
export const rknpu_status = koffi.struct('ggml_backend_rknpu_status', {
  present: 'int32_t',
  config_error: 'int32_t',
  is_simulator: 'int32_t',
  reserved: 'int32_t',
  reason: koffi.array('char', RKNPU_STATUS_REASON_LEN, 'String'),
  description: koffi.array('char', RKNPU_STATUS_DESCRIPTION_LEN, 'String'),
});
export const rknpu_get_status_fn = koffi.proto(
  'void ggml_backend_rknpu_get_status_fn(_Out_ ggml_backend_rknpu_status *out)',
);

export type LlamaLib = ReturnType<typeof bindLlama>;

function bindLlama(lib: LibraryHandle) {
  const f = (sig: string) => lib.func(sig);
  return {
    llama_backend_init: f('void llama_backend_init(void)'),
    llama_log_set: f('void llama_log_set(ggml_log_callback *cb, void *user_data)'),
    llama_model_default_params: f('llama_model_params llama_model_default_params(void)'),
    llama_context_default_params: f('llama_context_params llama_context_default_params(void)'),
    llama_sampler_chain_default_params: f('llama_sampler_chain_params llama_sampler_chain_default_params(void)'),
    llama_model_load_from_file: f('void *llama_model_load_from_file(const char *path, llama_model_params params)'),
    llama_model_free: f('void llama_model_free(void *model)'),
    llama_init_from_model: f('void *llama_init_from_model(void *model, llama_context_params params)'),
    llama_free: f('void llama_free(void *ctx)'),
    llama_n_ctx: f('uint32_t llama_n_ctx(void *ctx)'),
    llama_model_get_vocab: f('void *llama_model_get_vocab(void *model)'),
    llama_model_desc: f('int32_t llama_model_desc(void *model, _Out_ char *buf, size_t buf_size)'),
    llama_model_size: f('uint64_t llama_model_size(void *model)'),
    llama_model_n_params: f('uint64_t llama_model_n_params(void *model)'),
    llama_model_chat_template: f('const char *llama_model_chat_template(void *model, const char *name)'),
    llama_vocab_n_tokens: f('int32_t llama_vocab_n_tokens(void *vocab)'),
    llama_vocab_is_eog: f('bool llama_vocab_is_eog(void *vocab, int32_t token)'),
    llama_tokenize: f(
      'int32_t llama_tokenize(void *vocab, const char *text, int32_t text_len, _Out_ int32_t *tokens, int32_t n_tokens_max, bool add_special, bool parse_special)',
    ),
    llama_token_to_piece: f(
      'int32_t llama_token_to_piece(void *vocab, int32_t token, _Out_ uint8_t *buf, int32_t length, int32_t lstrip, bool special)',
    ),
    llama_chat_apply_template: f(
      'int32_t llama_chat_apply_template(const char *tmpl, const llama_chat_message *chat, size_t n_msg, bool add_ass, _Out_ uint8_t *buf, int32_t length)',
    ),
    llama_batch_get_one: f('llama_batch llama_batch_get_one(int32_t *tokens, int32_t n_tokens)'),
    llama_decode: f('int32_t llama_decode(void *ctx, llama_batch batch)'),
    llama_get_memory: f('void *llama_get_memory(void *ctx)'),
    llama_memory_clear: f('void llama_memory_clear(void *mem, bool data)'),
    llama_sampler_chain_init: f('void *llama_sampler_chain_init(llama_sampler_chain_params params)'),
    llama_sampler_chain_add: f('void llama_sampler_chain_add(void *chain, void *smpl)'),
    llama_sampler_init_greedy: f('void *llama_sampler_init_greedy(void)'),
    llama_sampler_init_dist: f('void *llama_sampler_init_dist(uint32_t seed)'),
    llama_sampler_init_top_k: f('void *llama_sampler_init_top_k(int32_t k)'),
    llama_sampler_init_top_p: f('void *llama_sampler_init_top_p(float p, size_t min_keep)'),
    llama_sampler_init_temp: f('void *llama_sampler_init_temp(float t)'),
    llama_sampler_sample: f('int32_t llama_sampler_sample(void *smpl, void *ctx, int32_t idx)'),
    llama_sampler_free: f('void llama_sampler_free(void *smpl)'),
  };
}

export type GgmlLib = ReturnType<typeof bindGgml>;

// ggml-backend.h: registry and device enumeration, dynamic loading (libggml-base + libggml).
function bindGgml(base: LibraryHandle, ggml: LibraryHandle) {
  const b = (sig: string) => base.func(sig);
  return {
    ggml_backend_load: ggml.func('void *ggml_backend_load(const char *path)'),
    ggml_backend_unload: ggml.func('void ggml_backend_unload(void *reg)'),
    ggml_backend_load_all_from_path: ggml.func('void ggml_backend_load_all_from_path(const char *dir)'),
    ggml_backend_reg_count: ggml.func('size_t ggml_backend_reg_count(void)'),
    ggml_backend_reg_get: ggml.func('void *ggml_backend_reg_get(size_t index)'),
    ggml_backend_dev_count: ggml.func('size_t ggml_backend_dev_count(void)'),
    ggml_backend_dev_get: ggml.func('void *ggml_backend_dev_get(size_t index)'),
    ggml_backend_reg_name: b('const char *ggml_backend_reg_name(void *reg)'),
    ggml_backend_reg_dev_count: b('size_t ggml_backend_reg_dev_count(void *reg)'),
    ggml_backend_reg_get_proc_address: b('void *ggml_backend_reg_get_proc_address(void *reg, const char *name)'),
    ggml_backend_dev_name: b('const char *ggml_backend_dev_name(void *dev)'),
    ggml_backend_dev_description: b('const char *ggml_backend_dev_description(void *dev)'),
    ggml_backend_dev_type: b('int ggml_backend_dev_type(void *dev)'),
    ggml_backend_dev_memory: b('void ggml_backend_dev_memory(void *dev, _Out_ size_t *free, _Out_ size_t *total)'),
    ggml_backend_dev_backend_reg: b('void *ggml_backend_dev_backend_reg(void *dev)'),
    // graphs, for selftest: one MUL_MAT computed on two backends
    ggml_init: b('void *ggml_init(ggml_init_params params)'),
    ggml_free: b('void ggml_free(void *ctx)'),
    ggml_tensor_overhead: b('size_t ggml_tensor_overhead(void)'),
    ggml_graph_overhead: b('size_t ggml_graph_overhead(void)'),
    ggml_new_tensor_2d: b('void *ggml_new_tensor_2d(void *ctx, int type, int64_t ne0, int64_t ne1)'),
    ggml_mul_mat: b('void *ggml_mul_mat(void *ctx, void *a, void *b)'),
    // attention, for selftest: KV-cache-shaped operands and flash attention
    ggml_new_tensor_3d: b('void *ggml_new_tensor_3d(void *ctx, int type, int64_t ne0, int64_t ne1, int64_t ne2)'),
    ggml_flash_attn_ext: b(
      'void *ggml_flash_attn_ext(void *ctx, void *q, void *k, void *v, void *mask, float scale, float max_bias, float logit_softcap)',
    ),
    ggml_new_graph: b('void *ggml_new_graph(void *ctx)'),
    ggml_build_forward_expand: b('void ggml_build_forward_expand(void *graph, void *tensor)'),
    ggml_row_size: b('size_t ggml_row_size(int type, int64_t ne)'),
    ggml_quantize_chunk: b(
      'size_t ggml_quantize_chunk(int type, const float *src, _Out_ uint8_t *dst, int64_t start, int64_t nrows, int64_t n_per_row, const float *imatrix)',
    ),
    ggml_backend_alloc_ctx_tensors_from_buft: b(
      'void *ggml_backend_alloc_ctx_tensors_from_buft(void *ctx, void *buft)',
    ),
    ggml_backend_buffer_free: b('void ggml_backend_buffer_free(void *buffer)'),
    ggml_backend_cpu_buffer_type: b('void *ggml_backend_cpu_buffer_type(void)'),
    ggml_backend_dev_buffer_type: b('void *ggml_backend_dev_buffer_type(void *dev)'),
    ggml_backend_dev_init: b('void *ggml_backend_dev_init(void *dev, const char *params)'),
    ggml_backend_free: b('void ggml_backend_free(void *backend)'),
    ggml_backend_tensor_set: b(
      'void ggml_backend_tensor_set(void *tensor, const void *data, size_t offset, size_t size)',
    ),
    ggml_backend_tensor_get: b(
      'void ggml_backend_tensor_get(void *tensor, _Out_ void *data, size_t offset, size_t size)',
    ),
    ggml_backend_graph_compute: b('int ggml_backend_graph_compute(void *backend, void *graph)'),
  };
}

export interface Native {
  dir: string;
  llama: LlamaLib;
  ggml: GgmlLib;
}

let loaded: Native | null = null;

/** Load libllama and libggml from the bin dir of the pinned build (once per process). */
export function loadNative(binDir: string): Native {
  if (loaded) {
    if (loaded.dir !== binDir) throw new Error(`native libraries already loaded from ${loaded.dir}, not ${binDir}`);
    return loaded;
  }
  const open = (name: string) => {
    const p = path.join(binDir, name);
    try {
      return koffi.load(p);
    } catch (e) {
      throw new Error(`cannot load ${p}: ${(e as Error).message}`);
    }
  };
  const base = open('libggml-base.so');
  const ggml = open('libggml.so');
  const llama = open('libllama.so');
  loaded = { dir: binDir, llama: bindLlama(llama), ggml: bindGgml(base, ggml) };
  return loaded;
}
