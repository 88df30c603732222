// SPDX-License-Identifier: MIT
/*
 * Block Hadamard rotation for the int8-had mode: y = x·wᵀ = (x·H)(w·H)ᵀ for an orthogonal H, so rotating activations
 * and weights alike leaves the product unchanged while spreading an outlier channel over a whole block (its magnitude
 * drops by √B), which shrinks the per-token int8 scale (docs/hardware/arithmetic.md §4: outlier channels are what hurt
 * per-token int8). H = diag(H_B, …) with H_B the normalized B×B Walsh-Hadamard matrix, B = the largest power of two ≤
 * 256 dividing K (256 for every Qwen2.5 K). The same function rotates weights at prepare time and activations at run
 * time (and in the tests).
 */
#include <math.h>

#include "gemm_internal.h"

#define HAD_BLOCK_MAX 256

uint32_t rk_hadamard_block(uint32_t K)
{
    uint32_t b = 1;
    while (b < HAD_BLOCK_MAX && K % (2 * b) == 0) b *= 2;
    return b;
}

/* The first three butterfly stages (h = 1, 2, 4) of 8 values in registers: exactly the additions and
 * subtractions of the generic stages below, in the same pairs, so the result is bit-identical. */
static void fwht8(float *p)
{
    float a0 = p[0] + p[1], a1 = p[0] - p[1], a2 = p[2] + p[3], a3 = p[2] - p[3];
    float a4 = p[4] + p[5], a5 = p[4] - p[5], a6 = p[6] + p[7], a7 = p[6] - p[7];
    float b0 = a0 + a2, b2 = a0 - a2, b1 = a1 + a3, b3 = a1 - a3;
    float b4 = a4 + a6, b6 = a4 - a6, b5 = a5 + a7, b7 = a5 - a7;
    p[0] = b0 + b4, p[4] = b0 - b4, p[1] = b1 + b5, p[5] = b1 - b5;
    p[2] = b2 + b6, p[6] = b2 - b6, p[3] = b3 + b7, p[7] = b3 - b7;
}

/* In-place fast Walsh-Hadamard transform of each B-block of each row, scaled by 1/√B. Stages with h ≥ 8
 * are written so the compiler vectorises the inner loop (contiguous a/b halves); IEEE additions do not
 * depend on the vector width, so every build computes the same bits. */
void rk_hadamard_rows(float *x, int64_t rows, int64_t ld, uint32_t K, uint32_t B)
{
    if (B < 2) return;
    const float norm = 1.0f / sqrtf((float)B);
    for (int64_t r = 0; r < rows; r++) {
        float *row = x + r * ld;
        for (uint32_t k0 = 0; k0 < K; k0 += B) {
            float *restrict v = row + k0;
            uint32_t h = 1;
            if (B >= 8) {
                for (uint32_t i = 0; i < B; i += 8) fwht8(v + i);
                h = 8;
            }
            for (; h < B; h *= 2)
                for (uint32_t i = 0; i < B; i += 2 * h) {
                    float *restrict lo = v + i, *restrict hi = v + i + h;
                    for (uint32_t j = 0; j < h; j++) {
                        float a = lo[j], b = hi[j];
                        lo[j] = a + b, hi[j] = a - b;
                    }
                }
            for (uint32_t j = 0; j < B; j++) v[j] *= norm;
        }
    }
}
