/* SPDX-License-Identifier: MIT */
/* Test weights in real ggml formats: random f32 rows (optionally with outlier rows) quantized with
 * ggml_quantize_chunk, and the same rows decoded back with the type's to_float (what the engine sees). */
#ifndef RK_GGML_WEIGHTS_H
#define RK_GGML_WEIGHTS_H

#include <stdlib.h>

#include "gemm_ref.h"
#include "ggml.h"

struct gw_weight {
    enum ggml_type type;
    int64_t N, K;
    void *raw;
    size_t row_bytes;
    rk_row_to_float to_float; /* NULL for f32 rows */
    float *dec;               /* N×K decoded rows (the exact operand of the reference) */
};

static inline int gw_make(struct gw_weight *g, enum ggml_type type, int64_t N, int64_t K, int w_outliers,
                          uint64_t *seed)
{
    g->type = type, g->N = N, g->K = K;
    g->row_bytes = ggml_row_size(type, K);
    g->raw = malloc(g->row_bytes * (size_t)N);
    g->dec = malloc(sizeof(float) * (size_t)(N * K));
    const struct ggml_type_traits *tt = ggml_get_type_traits(type);
    g->to_float = type == GGML_TYPE_F32 ? NULL : (rk_row_to_float)tt->to_float;
    if (!g->raw || !g->dec || (type != GGML_TYPE_F32 && !tt->to_float)) return -1;
    /* generate and quantize in chunks of rows so huge weights need no f32 copy of the source */
    const int64_t chunk = 256;
    float *src = malloc(sizeof(float) * (size_t)(chunk * K));
    if (!src) return -1;
    for (int64_t n0 = 0; n0 < N; n0 += chunk) {
        int64_t rows = N - n0 < chunk ? N - n0 : chunk;
        gr_fill(src, rows, K, K, 0.05f, 0, 1, seed);
        for (int o = 0; o < w_outliers; o++) { /* a few rows (output channels) 20x larger */
            int64_t r = (int64_t)(gr_next(seed) % (uint64_t)rows);
            for (int64_t k = 0; k < K; k++) src[r * K + k] *= 20;
        }
        ggml_quantize_chunk(type, src, (char *)g->raw + n0 * g->row_bytes, 0, rows, K, NULL);
    }
    free(src);
    for (int64_t n = 0; n < N; n++) {
        const void *row = (const char *)g->raw + n * g->row_bytes;
        if (g->to_float)
            g->to_float(row, g->dec + n * K, K);
        else
            memcpy(g->dec + n * K, row, sizeof(float) * (size_t)K);
    }
    return 0;
}

static inline void gw_free(struct gw_weight *g)
{
    free(g->raw), free(g->dec);
    g->raw = g->dec = NULL;
}

#endif
