// One weight MUL_MAT on both engines: the NPU computes the first rows of the batch, the CPU backend the
// rest from ggml's own bytes, at the same time (rknpu-split.cpp).
#pragma once

#include "ggml-backend.h"
#include "ggml.h"

#include <cstdint>

// What the split decision needs to know about the engines' speeds (MACs per nanosecond; 0 = not measured yet).
struct rknpu_split_speeds {
    double npu_macs_per_ns = 0; // this weight's NPU side as measured: the whole rk_gemm_run (glue included)
    double cpu_macs_per_ns = 0; // the CPU backend on this weight type as measured (or the seed before that)
};

// The CPU's share of the rows that balances both engines' times: cpu / (npu + cpu). 0 when either is unknown.
double rknpu_split_balanced_share(const rknpu_split_speeds &s);

// How many of the M rows go to the CPU for a share: the rounded share, but the NPU keeps at least min_batch rows;
// 0 (the matmul is not split) when that leaves the CPU no row.
int64_t rknpu_split_cpu_rows(double share, int64_t M, int64_t min_batch);

// The CPU backend's threads beside the NPU side: llama.cpp's thread count (0: ggml's default) less the one
// core kept for the NPU side's host glue (quantization, regcmds, readout), at least one.
int rknpu_split_cpu_threads(int n_threads);

// A ggml CPU kernel speed before any measurement, in MACs per nanosecond: the Q4 prefill of the A76
// cores behind the llama.cpp CPU anchor (docs/performance.md, "CPU and NPU together").
double rknpu_split_cpu_seed(void);

// dst rows [row0, row0 + rows) of a weight MUL_MAT computed by the CPU backend: the node's op with src1 and dst
// narrowed to those rows (both are contiguous, supports_op), reading ggml's bytes of the weight where they are.
ggml_status rknpu_split_rows_on_cpu(ggml_backend_t cpu, ggml_tensor *dst, int64_t row0, int64_t rows);
