/* SPDX-License-Identifier: MIT */
/* One end-to-end GEMM case on an engine: random f32 data (or caller-provided weights), the engine's result vs
 * the CPU references (gemm_ref.h). Shared by the tests and the benchmark. */
#ifndef RK_GEMM_CASE_H
#define RK_GEMM_CASE_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gemm_ref.h"

struct gc_result {
    int rc;
    char err[512];
    uint64_t int_mismatches, int_compared; /* int8 mode: engine int32 vs CPU int32 of the same quantization */
    struct gr_err f32;                     /* Y vs the exact f32 product */
    struct rk_gemm_stats st;
    struct rk_weight_info wi;
};

struct gc_params {
    enum rk_gemm_mode mode;
    int64_t M, K, N, ldx_pad, ldy_pad, nstep;
    int x_outliers, w_outliers;
    float x_factor, w_factor;
    uint64_t seed;
    /* optional: the weight as the engine sees it (raw rows + decoder) and its decoded f32 rows */
    const void *wraw;
    size_t row_bytes;
    rk_row_to_float to_float;
    const float *wdec;
    bool skip_f32; /* skip the f32 reference (int check only) */
};

static inline int gc_run(struct rk_gemm_engine *e, const struct gc_params *p, struct gc_result *r)
{
    memset(r, 0, sizeof *r);
    int64_t M = p->M, K = p->K, N = p->N, ldx = K + p->ldx_pad, ldy = N + p->ldy_pad;
    uint64_t seed = p->seed ? p->seed : 42;
    float *X = malloc(sizeof(float) * (size_t)(M * ldx)), *Wf = NULL, *Y = malloc(sizeof(float) * (size_t)(M * ldy));
    int32_t *acc = malloc(sizeof(int32_t) * (size_t)(M * N));
    float *sx = malloc(sizeof(float) * (size_t)M), *sw = malloc(sizeof(float) * (size_t)N);
    const float *W = p->wdec;
    if (!W) {
        Wf = malloc(sizeof(float) * (size_t)(N * K));
        if (Wf) gr_fill(Wf, N, K, K, 0.05f, 0, 1, &seed);
        /* outlier output channels: whole rows larger */
        for (int o = 0; Wf && o < p->w_outliers; o++) {
            int64_t n = (int64_t)(gr_next(&seed) % (uint64_t)N);
            for (int64_t k = 0; k < K; k++) Wf[n * K + k] *= p->w_factor;
        }
        W = Wf;
    }
    if (!X || !Y || !acc || !sx || !sw || !W) {
        r->rc = -12, snprintf(r->err, sizeof r->err, "out of memory");
        goto out;
    }
    gr_fill(X, M, K, ldx, 1.0f, p->x_outliers, p->x_factor, &seed);
    for (int64_t i = 0; i < M * ldy; i++) Y[i] = NAN;
    memset(acc, 0, sizeof(int32_t) * (size_t)(M * N));
    struct rk_weight *w = NULL;
    r->rc = p->wraw ? rk_weight_prepare(e, p->wraw, K, N, p->row_bytes, p->to_float, p->mode, &w)
                    : rk_weight_prepare(e, W, K, N, (size_t)K * 4, NULL, p->mode, &w);
    if (r->rc) {
        snprintf(r->err, sizeof r->err, "prepare: %s", rk_gemm_last_error(e));
        goto out;
    }
    rk_weight_get_info(w, &r->wi);
    r->rc = rk_gemm_run_acc(e, w, X, M, ldx, Y, ldy, &r->st, rk_mode_int8(p->mode) ? acc : NULL);
    rk_weight_free(w);
    if (r->rc) {
        snprintf(r->err, sizeof r->err, "run: %s", rk_gemm_last_error(e));
        goto out;
    }
    void *qx = malloc((size_t)(M * K) * 2), *qw = malloc((size_t)(N * K) * 2);
    if (!qx || !qw) {
        free(qx), free(qw);
        r->rc = -12, snprintf(r->err, sizeof r->err, "out of memory");
        goto out;
    }
    gr_quant_x(p->mode, X, M, K, ldx, qx, sx);
    gr_quant_w(p->mode, W, N, K, qw, sw);
    if (rk_mode_int8(p->mode)) {
        int32_t *ref = malloc(sizeof(int32_t) * (size_t)(M * N));
        gr_int_matmul(qx, qw, M, N, K, ref);
        for (int64_t i = 0; i < M * N; i++) {
            if (acc[i] != ref[i] && !r->int_mismatches++)
                snprintf(r->err, sizeof r->err, "first int32 mismatch at [%lld][%lld]: npu %d, cpu %d",
                         (long long)(i / N), (long long)(i % N), acc[i], ref[i]);
            r->int_compared++;
        }
        free(ref);
    }
    free(qx), free(qw);
    if (!p->skip_f32) {
        int64_t nstep = p->nstep ? p->nstep : 1;
        double *yref = malloc(sizeof(double) * (size_t)(M * N)), *absd = malloc(sizeof(double) * (size_t)(M * N));
        gr_f32_matmul(X, ldx, W, M, N, K, nstep, yref, absd);
        gr_check(p->mode, Y, ldy, yref, absd, X, ldx, W, M, N, K, nstep, sx, sw, &r->f32);
        free(yref), free(absd);
    }
out:
    free(X), free(Wf), free(Y), free(acc), free(sx), free(sw);
    return r->rc;
}

#endif
