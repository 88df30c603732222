// The CPU's part of a split weight MUL_MAT (rknpu-split.h).
//
// The batch is split by rows (tokens), not by output columns: the NPU's copy of a weight is prepared once for
// all its N columns, split over the cores by N (rk_gemm.h), and a share that follows the measured speeds would
// need a new NPU copy whenever it moved; split by rows, the NPU runs the weight it has on fewer rows, the share
// can change from one matmul to the next, and each engine's result rows are whole rows of the one dst
// (docs/performance.md, "CPU and NPU together", has the comparison).
#include "rknpu-split.h"

#include "ggml-impl.h"

#include <algorithm>
#include <cmath>
#include <cstring>

// The llama.cpp CPU anchor: Qwen2.5-1.5B Q4_0 pp128 at 107.85 tokens/s on the four A76 cores
// (docs/hardware/measurements.md §5), 1.31e9 weight MACs per token (28 layers of q, k, v, o and the three FFN
// projections): 141 MACs/ns for the whole prefill, so a lower bound for the matmul kernels alone.
static constexpr double CPU_SEED_MACS_PER_NS = 141.0;
// The core kept for the NPU side's host glue while the CPU backend computes its rows.
static constexpr int NPU_GLUE_CORES = 1;
// Tensor headers only: every tensor points at memory that already exists.
static constexpr int SPLIT_TENSORS = 3;

double rknpu_split_balanced_share(const rknpu_split_speeds &s)
{
    if (!(s.npu_macs_per_ns > 0) || !(s.cpu_macs_per_ns > 0)) {
        return 0;
    }
    // Rows take time in proportion to their count on each engine: t = rows · K·N / speed. Equal times give
    // cpu_rows / M = cpu_speed / (npu_speed + cpu_speed).
    return s.cpu_macs_per_ns / (s.npu_macs_per_ns + s.cpu_macs_per_ns);
}

int64_t rknpu_split_cpu_rows(double share, int64_t M, int64_t min_batch)
{
    if (!(share > 0) || M <= 0) {
        return 0;
    }
    const int64_t cpu =
            std::min<int64_t>((int64_t)std::llround(share * (double)M), M - std::max<int64_t>(1, min_batch));
    return cpu >= 1 ? cpu : 0;
}

int rknpu_split_cpu_threads(int n_threads)
{
    const int n = n_threads > 0 ? n_threads : GGML_DEFAULT_N_THREADS;
    return std::max(1, n - NPU_GLUE_CORES);
}

double rknpu_split_cpu_seed(void) { return CPU_SEED_MACS_PER_NS; }

ggml_status rknpu_split_rows_on_cpu(ggml_backend_t cpu, ggml_tensor *dst, int64_t row0, int64_t rows)
{
    const ggml_tensor *src0 = dst->src[0];
    const ggml_tensor *src1 = dst->src[1];
    ggml_init_params ip = {
            .mem_size = SPLIT_TENSORS * ggml_tensor_overhead() + ggml_graph_overhead_custom(SPLIT_TENSORS, false),
            .mem_buffer = nullptr,
            .no_alloc = true,
    };
    ggml_context *ctx = ggml_init(ip);
    if (!ctx) {
        return GGML_STATUS_ALLOC_FAILED;
    }
    // src0 is the whole 2-D weight; src1 and dst are contiguous, so their batches are one [K, M] and one [N, M]
    // matrix whose rows [row0, row0 + rows) are a 2-D block of their own.
    ggml_tensor *w = ggml_new_tensor_2d(ctx, src0->type, src0->ne[0], src0->ne[1]);
    ggml_tensor *x = ggml_new_tensor_2d(ctx, src1->type, src1->ne[0], rows);
    memcpy(w->nb, src0->nb, sizeof w->nb);
    w->data = src0->data, w->buffer = src0->buffer;
    x->data = (char *)src1->data + row0 * src1->nb[1], x->buffer = src1->buffer;
    ggml_tensor *y = ggml_mul_mat(ctx, w, x);
    memcpy(y->op_params, dst->op_params, sizeof y->op_params); // the same precision hints as the node
    y->data = (char *)dst->data + row0 * dst->nb[1], y->buffer = dst->buffer;
    ggml_cgraph *gf = ggml_new_graph_custom(ctx, SPLIT_TENSORS, false);
    ggml_build_forward_expand(gf, y);
    ggml_status st = ggml_backend_graph_compute(cpu, gf);
    ggml_free(ctx);
    return st;
}
