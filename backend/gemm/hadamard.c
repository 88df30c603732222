// SPDX-License-Identifier: MIT
/*
 * Block Hadamard rotation for the int8-had mode: y = x·wᵀ = (x·H)(w·H)ᵀ for an orthogonal H, so rotating
 * activations and weights alike leaves the product unchanged while spreading an outlier channel over a
 * whole block (its magnitude drops by √B), which shrinks the per-token int8 scale (guide §5.4: outlier
 * channels are what hurt per-token int8). H = diag(H_B, …) with H_B the normalized B×B Walsh-Hadamard
 * matrix, B = the largest power of two ≤ 256 dividing K (256 for every Qwen2.5 K).
 * The same function rotates weights at prepare time and activations at run time (and in the tests).
 */
#include <math.h>

#include "gemm_internal.h"

#define HAD_BLOCK_MAX 256

uint32_t rk_hadamard_block(uint32_t K)
{
    uint32_t b = 1;
    while (b < HAD_BLOCK_MAX && K % (2 * b) == 0)
        b *= 2;
    return b;
}

/* In-place fast Walsh-Hadamard transform of each B-block of each row, scaled by 1/√B. The loops are
 * written so the compiler vectorises the inner one (contiguous a/b halves). */
void rk_hadamard_rows(float *x, int64_t rows, int64_t ld, uint32_t K, uint32_t B)
{
    if (B < 2)
        return;
    const float norm = 1.0f / sqrtf((float)B);
    for (int64_t r = 0; r < rows; r++) {
        float *row = x + r * ld;
        for (uint32_t k0 = 0; k0 < K; k0 += B) {
            float *v = row + k0;
            for (uint32_t h = 1; h < B; h *= 2)
                for (uint32_t i = 0; i < B; i += 2 * h)
                    for (uint32_t j = i; j < i + h; j++) {
                        float a = v[j], b = v[j + h];
                        v[j] = a + b, v[j + h] = a - b;
                    }
            for (uint32_t j = 0; j < B; j++)
                v[j] *= norm;
        }
    }
}
