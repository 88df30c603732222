/* SPDX-License-Identifier: MIT */
/* The weight matmuls of the models bench-gemm measures: ggml src0 [K, N] per projection, how often each occurs
 * per layer, the layers, and the type the projection has in a Q4_K_M file (Q4_K, Q6_K for the lm_head; Q5_0 /
 * Q8_0 where K is not a multiple of 256: docs/hardware/ggml-backend.md §5.3). Shapes from each model's published
 * configuration (docs/models.md lists the sources). */
#ifndef RK_BENCH_MODEL_SHAPES_H
#define RK_BENCH_MODEL_SHAPES_H

#include <stdint.h>

#include "ggml.h"

struct bench_shape {
    const char *name;
    int64_t K, N;
    enum ggml_type type;
    int per_layer; /* occurrences per layer (0: once per model, the lm_head) */
    int experts;   /* an expert stack (MUL_MAT_ID): this many [K, N] weights per occurrence; 0 for a plain weight */
};

struct bench_model {
    const char *name;  /* --model NAME */
    const char *title; /* the published model */
    int layers;
    const struct bench_shape *shapes;
    int nshapes;
    int experts_used; /* mixture of experts: experts per token (0: dense) */
};

extern const struct bench_model bench_models[];
extern const int bench_nmodels;

/* The model called `name`, or NULL. */
const struct bench_model *bench_model_find(const char *name);

#endif
