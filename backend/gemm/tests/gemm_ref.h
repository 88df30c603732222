/* SPDX-License-Identifier: MIT */
/* CPU references for the GEMM tests and benchmark: random data with outlier channels, the engine's
 * quantization recomputed with the scalar reference functions, an exact int32 matmul, an f32 matmul with
 * double accumulation, and the stated error bounds. Threaded (the host has few cores). */
#ifndef RK_GEMM_REF_H
#define RK_GEMM_REF_H

#include <stdint.h>

#include "gemm_internal.h"

uint64_t gr_next(uint64_t *s);
float gr_uniform(uint64_t *s); /* [-1, 1) */
/* x[r·ld + c] for r < rows, c < cols: uniform·scale; then `outliers` columns (channels) multiplied by factor */
void gr_fill(float *x, int64_t rows, int64_t cols, int64_t ld, float scale, int outliers, float factor, uint64_t *s);

/* Engine quantization of rows, recomputed: int8 rows + scales (weights: rk_quant_row_i8; acts:
 * rk_act_quant_i8_ref), or fp16 (rk_quant_row_f16 / rk_act_quant_f16_ref). */
void gr_quant_w(enum rk_gemm_mode mode, const float *w, int64_t N, int64_t K, void *q, float *sw);
void gr_quant_x(enum rk_gemm_mode mode, const float *x, int64_t M, int64_t K, int64_t ldx, void *q, float *sx);

/* acc[m·N + n] = Σ_k qx[m][k]·qw[n][k] (exact, int64 then wrapped to int32 like the NPU). */
void gr_int_matmul(const int8_t *qx, const int8_t *qw, int64_t M, int64_t N, int64_t K, int32_t *acc);
/* y[m·N + n] = Σ_k x·w in double, absdot = Σ_k |x·w| (for the bounds); columns n % nstep == 0 only. */
void gr_f32_matmul(const float *x, int64_t ldx, const float *w, int64_t M, int64_t N, int64_t K, int64_t nstep,
                   double *y, double *absdot);

struct gr_err {
    double max_abs, max_rel_to_bound, nmse, max_ref;
    uint64_t compared, over_bound;
    int64_t worst_m, worst_n;
};
/* Compare Y (ldy) with the exact product. int8 bound per element:
 *   |err| <= ½·s_w·Σ|x| + ½·s_x·Σ|w| + ¼·K·s_x·s_w + 1e-5·Σ|x·w| + 1e-6·|y|
 * fp16 bound: |err| <= (2^-10 + 2^-20)·Σ|x·w| + 2^-24·(s_x·Σ|w| + s_w·Σ|x|) + 1e-6·|y|. */
void gr_check(enum rk_gemm_mode mode, const float *Y, int64_t ldy, const double *yref, const double *absdot,
              const float *x, int64_t ldx, const float *w, int64_t M, int64_t N, int64_t K, int64_t nstep,
              const float *sx, const float *sw, struct gr_err *err);
double gr_bound(enum rk_gemm_mode mode, double sx, double sw, double sum_x, double sum_w, int64_t K, double absdot,
                double yref);

#endif
