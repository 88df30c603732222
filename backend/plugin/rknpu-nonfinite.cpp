// Rows of a MUL_MAT whose activations hold a NaN or an infinity: what ggml's CPU path computes for them.
//
// The NPU has no such values (int8, fp16 after scaling), so the engine leaves those rows out and reads them
// out as NaN (rk_gemm.h). A NaN is not an NPU fault, and the CPU does not simply propagate it: quantized
// weights see the activations requantized to Q8_0/Q8_K first, whose vectorised scale search and rounding
// can turn a NaN into a finite code, and float weights mix ±Inf into ±Inf or NaN column by column
// (docs/reliability.md, "Non-finite activations", has the table). So the CPU backend computes the node as it
// would have without this plugin, and only the non-finite rows are copied from it; the others stay as the NPU
// computed them.
//
// The whole node is recomputed, not just those rows: which CPU kernel runs depends on the batch (llamafile's
// sgemm from 2 or 4 columns, the IQ panel gemm from its minimum batch), so a row's bits depend on how many
// rows it was computed with. The cost (one CPU matmul of this shape) is paid only when a row is non-finite.
#include "rknpu-common.h"

#include "ggml-impl.h"

#include <cstring>
#include <vector>

static thread_local bool nonfinite_noted;

void rknpu_nonfinite_note(void) { nonfinite_noted = true; }

bool rknpu_nonfinite_take(void)
{
    bool noted = nonfinite_noted;
    nonfinite_noted = false;
    return noted;
}

// Tensor headers only: every tensor points at memory that already exists.
static constexpr int NONFINITE_TENSORS = 3;

ggml_status rknpu_nonfinite_rows_on_cpu(ggml_backend_t cpu, ggml_tensor *dst, const int64_t *rows, int64_t n_rows)
{
    const ggml_tensor *src0 = dst->src[0];
    const ggml_tensor *src1 = dst->src[1];
    const size_t graph_bytes = ggml_graph_overhead_custom(NONFINITE_TENSORS, false);
    ggml_init_params ip = {
            .mem_size = NONFINITE_TENSORS * ggml_tensor_overhead() + graph_bytes,
            .mem_buffer = nullptr,
            .no_alloc = true,
    };
    ggml_context *ctx = ggml_init(ip);
    if (!ctx) {
        return GGML_STATUS_ALLOC_FAILED;
    }
    // The same shapes, strides and op parameters as the node, so the CPU takes the same path it would take
    // for it; src0 and src1 are read where they are, the result goes to a scratch row block.
    ggml_tensor *w = ggml_new_tensor(ctx, src0->type, GGML_MAX_DIMS, src0->ne);
    ggml_tensor *x = ggml_new_tensor(ctx, src1->type, GGML_MAX_DIMS, src1->ne);
    memcpy(w->nb, src0->nb, sizeof w->nb);
    memcpy(x->nb, src1->nb, sizeof x->nb);
    w->data = src0->data, w->buffer = src0->buffer;
    x->data = src1->data, x->buffer = src1->buffer;
    ggml_tensor *y = ggml_mul_mat(ctx, w, x);
    memcpy(y->op_params, dst->op_params, sizeof y->op_params);
    const int64_t N = dst->ne[0], M = ggml_nrows(dst);
    std::vector<float> out((size_t)(N * M));
    y->data = out.data();
    ggml_cgraph *gf = ggml_new_graph_custom(ctx, NONFINITE_TENSORS, false);
    ggml_build_forward_expand(gf, y);
    ggml_status st = ggml_backend_graph_compute(cpu, gf);
    if (st == GGML_STATUS_SUCCESS) {
        for (int64_t i = 0; i < n_rows; i++) {
            // dst is contiguous (supports_op), so its rows follow one another like src1's
            memcpy((char *)dst->data + rows[i] * dst->nb[1], out.data() + rows[i] * N, (size_t)N * sizeof(float));
        }
    }
    ggml_free(ctx);
    return st;
}
