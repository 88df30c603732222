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

#define RKNPU_NAME "RKNPU"

struct rknpu_device_context {
    rk_gemm_engine *engine = nullptr;
    npu_device_info info = {};
    rknpu_config config;
    std::string description;
    std::mutex mutex; // one engine, one caller at a time (rk_gemm.h)
    // counters since load, for selftest/bench through get_proc_address
    uint64_t n_matmuls = 0, n_failures = 0, n_tasks = 0, n_jobs = 0;
    double glue_ns = 0, npu_wait_ns = 0;
    double model_ns_200[NPU_MODEL_BOUNDS] = {}, model_ns_1000[NPU_MODEL_BOUNDS] = {}; // [optimistic, pessimistic]
    uint64_t n_reuse_tasks = 0;
};

// The NPU copy of one weight. `valid` is false until converted, and again after any write to
// tensor->data; conversion happens in set_tensor (whole writes to WEIGHTS buffers) or lazily at the
// first graph_compute that needs it.
// Sidecars are kept per buffer and found by the weight's address, not through tensor->extra:
// rpc-server deserialises fresh tensor structs for every command. The recorded shape and type
// guard against a different tensor at the same address.
struct rknpu_sidecar {
    rk_weight *weight = nullptr;
    bool valid = false;
    ggml_type type = GGML_TYPE_COUNT;
    int64_t ne0 = 0, ne1 = 0;
};

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
// Overwrite the given rows of a MUL_MAT's dst (rows of src1 holding a NaN or an infinity) with what the CPU
// backend computes for the node (rknpu-nonfinite.cpp).
ggml_status rknpu_nonfinite_rows_on_cpu(ggml_backend_t cpu, ggml_tensor *dst, const int64_t *rows, int64_t n_rows);
