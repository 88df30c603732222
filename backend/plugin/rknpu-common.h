// Shared objects of the RKNPU ggml plugin: the device context (one NPU, its GEMM engine and run
// settings) and the sidecar that holds each weight's NPU copy (design B of
// docs/hardware/ggml-backend.md §2.3: ggml's bytes stay at tensor->data, the NPU copy lives beside them).
#pragma once

#include "ggml-backend-impl.h"
#include "ggml-rknpu.h"
#include "rk_gemm.h"
#include "rknpu-config.h"

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#define RKNPU_NAME "RKNPU"

struct rknpu_device_context {
    rk_gemm_engine *engine = nullptr;
    npu_device_info info = {};
    rknpu_config config;
    npu_envelope envelope = npu_envelope_safe; // the engine plans in it (rknpu_envelope_choose)
    std::string envelope_note;                 // which envelope and what became of the board profile
    std::string description;
    std::mutex mutex; // one engine, one caller at a time (rk_gemm.h)
    // counters since load, for selftest/bench through get_proc_address
    uint64_t n_matmuls = 0, n_failures = 0, n_tasks = 0, n_jobs = 0;
    double glue_ns = 0, npu_wait_ns = 0;
    double model_ns_200[NPU_MODEL_BOUNDS] = {}, model_ns_1000[NPU_MODEL_BOUNDS] = {}; // [optimistic, pessimistic]
    uint64_t n_reuse_tasks = 0;
    // MUL_MAT_ID: experts' row groups run on the NPU (also counted in n_matmuls) and on the CPU (below min_batch)
    uint64_t n_expert_matmuls = 0, n_expert_cpu_matmuls = 0;
    // attention (rknpu-attention.cpp): KQ/KQV MUL_MATs and FLASH_ATTN_EXT nodes, the NPU GEMMs they ran as,
    // and their host work outside the engine (packing the cache's K/V, gathers, the softmax)
    uint64_t n_attn_ops = 0, n_attn_matmuls = 0;
    double attn_host_ns = 0;
    struct rknpu_attention *attn = nullptr; // per-call operands and scratch
    uint32_t fd_groups_logged = 1;          // the engine's fd groups the log has announced (rk_gemm.h)
    // weight conversions since load: converted, read from the weight cache, written to it (rknpu-weight-cache.h)
    uint64_t n_converted = 0, n_cache_hits = 0, n_cache_stores = 0;
    double convert_ns = 0, cache_read_ns = 0;
    // weight MUL_MATs split between the engines (rknpu-split.h): how many, the MACs each engine computed in all
    // weight MUL_MATs (split or not), and the CPU parts' measured wall time
    uint64_t n_split_matmuls = 0;
    double npu_share_macs = 0, cpu_share_macs = 0, cpu_share_ns = 0;
    // the CPU backend's measured speed per weight type (MACs/ns, 0 = not measured yet), for RKNPU_CPU_SHARE=auto
    double cpu_macs_per_ns[GGML_TYPE_COUNT] = {};
};

// Adds one NPU matmul's statistics to the device's counters. Caller holds dev.mutex.
void rknpu_count_run(rknpu_device_context &dev, const rk_gemm_stats &st);

// The NPU copy of one weight. `valid` is false until converted, and again after any write to
// tensor->data; conversion happens in set_tensor (whole writes to WEIGHTS buffers) or lazily at the
// first graph_compute that needs it.
// Sidecars are kept per buffer and found by the weight's address, not through tensor->extra:
// rpc-server deserialises fresh tensor structs for every command. The recorded shape and type
// guard against a different tensor at the same address.
// A 3-D weight [K, N, n_expert] (MUL_MAT_ID's expert stack) gets one NPU weight per expert, each
// prepared like a 2-D weight from its [K, N] slab: the NPU copy costs what n_expert 2-D weights cost.
struct rknpu_sidecar {
    rk_weight *weight = nullptr;      // 2-D weights (MUL_MAT)
    std::vector<rk_weight *> experts; // 3-D weights (MUL_MAT_ID): experts[e] is the slab e
    bool valid = false;
    double npu_macs_per_ns = 0; // its NPU runs' measured speed (rk_gemm_run, glue included), for the split
    ggml_type type = GGML_TYPE_COUNT;
    int64_t ne0 = 0, ne1 = 0, ne2 = 0;

    // The NPU weight of slab e (a 2-D weight, or a stack of one, is its own slab 0).
    rk_weight *slab(int64_t e) const { return experts.empty() ? weight : experts[e]; }
};
// Frees the sidecar's NPU weights (it becomes invalid).
void rknpu_sidecar_release(rknpu_sidecar *sc);

ggml_backend_buffer_type_t ggml_backend_rknpu_buffer_type(void);

// Convert (or re-convert) a weight into its sidecar. Caller holds the buffer mutex. Returns 0 or a
// negative errno; the reason is logged.
int rknpu_sidecar_convert(rknpu_device_context *dev, const ggml_tensor *t, rknpu_sidecar *sc);
// The sidecar of a weight, converted now if needed (under the owning buffer's mutex); nullptr with the
// reason logged when that fails or the tensor has none.
rknpu_sidecar *rknpu_sidecar_ready(rknpu_device_context *dev, const ggml_tensor *t);
bool rknpu_is_weight_type(ggml_type type);
// The accuracy mode a weight of this type runs in (see rknpu_weight_mode in ggml-rknpu.cpp).
rk_gemm_mode rknpu_weight_mode(const rknpu_device_context &dev, ggml_type type);

// What MUL_MAT and MUL_MAT_ID both need (ggml-rknpu.cpp): F32 activations and output that may be 8-bit
// quantized in the weight's mode, and src0 a real, contiguous weight of a convertible type in an RKNPU
// buffer (or not yet allocated: a capability probe) whose [K, N] the engine plans.
bool rknpu_weight_op_supported(const rknpu_device_context &dev, const ggml_tensor *op);

// MUL_MAT_ID (rknpu-mul-mat-id.cpp): the placement policy for expert stacks, and the op itself; `cpu` runs
// the experts whose row groups are below min_batch, from ggml's own bytes.
bool rknpu_mul_mat_id_supported(const rknpu_device_context &dev, const ggml_tensor *op);
ggml_status rknpu_mul_mat_id(rknpu_device_context &dev, ggml_backend_t cpu, ggml_tensor *dst);
// Overwrite the given rows of a MUL_MAT's dst (rows of src1 holding a NaN or an infinity) with what the CPU
// backend computes for the node (rknpu-nonfinite.cpp).
ggml_status rknpu_nonfinite_rows_on_cpu(ggml_backend_t cpu, ggml_tensor *dst, const int64_t *rows, int64_t n_rows);
// The attention and expert paths note here, per thread, an input holding a NaN or an infinity (an engine run
// that left rows out, rk_gemm_stats.nonfinite_rows, or a per-call weight refused with -EDOM); the graph then
// recomputes the node on the CPU backend. rknpu_nonfinite_take says whether one was noted and clears it.
void rknpu_nonfinite_note(void);
bool rknpu_nonfinite_take(void);
