// SPDX-License-Identifier: MIT
/* CPU references for the GEMM tests and benchmark (see gemm_ref.h). */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "gemm_ref.h"

#define GR_THREADS 2 /* the CI host has 2 cores */

uint64_t gr_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull); /* splitmix64 */
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

float gr_uniform(uint64_t *s) { return (float)((gr_next(s) >> 40) * (1.0 / (1ull << 23)) - 1.0); }

void gr_fill(float *x, int64_t rows, int64_t cols, int64_t ld, float scale, int outliers, float factor, uint64_t *s)
{
    for (int64_t r = 0; r < rows; r++)
        for (int64_t c = 0; c < cols; c++) x[r * ld + c] = gr_uniform(s) * scale;
    for (int o = 0; o < outliers && cols; o++) {
        int64_t c = (int64_t)(gr_next(s) % (uint64_t)cols);
        for (int64_t r = 0; r < rows; r++) x[r * ld + c] *= factor;
    }
}

/* int8-had: a rotated copy of rows (the engine rotates X and W alike, hadamard.c); NULL otherwise */
static float *rotated(enum rk_gemm_mode mode, const float *x, int64_t rows, int64_t ld, int64_t K)
{
    uint32_t B = rk_hadamard_block((uint32_t)K);
    if (mode != RK_GEMM_INT8_HAD || B < 2) return NULL;
    float *r = malloc(sizeof(float) * (size_t)(rows * K));
    for (int64_t i = 0; i < rows; i++) memcpy(r + i * K, x + i * ld, sizeof(float) * (size_t)K);
    rk_hadamard_rows(r, rows, K, (uint32_t)K, B);
    return r;
}

void gr_quant_w(enum rk_gemm_mode mode, const float *w0, int64_t N, int64_t K, void *q, float *sw)
{
    float *rot = rotated(mode, w0, N, K, K);
    const float *w = rot ? rot : w0;
    for (int64_t n = 0; n < N; n++)
        if (mode == RK_GEMM_FP16)
            rk_quant_row_f16(w + n * K, (uint32_t)K, (uint16_t *)q + n * K, &sw[n]);
        else
            rk_quant_row_i8(w + n * K, (uint32_t)K, (int8_t *)q + n * K, &sw[n]);
    free(rot);
}

void gr_quant_x(enum rk_gemm_mode mode, const float *x0, int64_t M, int64_t K, int64_t ldx0, void *q, float *sx)
{
    float *rot = rotated(mode, x0, M, ldx0, K);
    const float *x = rot ? rot : x0;
    int64_t ldx = rot ? K : ldx0;
    if (mode == RK_GEMM_FP16)
        rk_act_quant_f16_ref(x, M, ldx, (uint32_t)K, (uint32_t)K, q, sx);
    else
        rk_act_quant_i8_ref(x, M, ldx, (uint32_t)K, (uint32_t)K, q, sx);
    free(rot);
}

struct mm_job {
    int part;
    const int8_t *qx, *qw;
    const float *x, *w;
    int64_t ldx, M, N, K, nstep;
    int32_t *acc;
    double *y, *absdot;
};

static void *int_part(void *arg)
{
    struct mm_job *j = arg;
    for (int64_t n = j->part; n < j->N; n += GR_THREADS) {
        const int8_t *b = j->qw + n * j->K;
        for (int64_t m = 0; m < j->M; m++) {
            const int8_t *a = j->qx + m * j->K;
            int32_t s = 0; /* |Σ| ≤ 127²·K < 2^31 for K < 133000 */
            for (int64_t k = 0; k < j->K; k++) s += (int16_t)a[k] * (int16_t)b[k];
            j->acc[m * j->N + n] = s;
        }
    }
    return NULL;
}

/* Columns summed side by side: their sums are independent, so the additions overlap instead of waiting on each
 * other, and each sum still adds its products in k order (the same result as one column at a time). */
#define GR_F32_COLS 4

static void *f32_part(void *arg)
{
    struct mm_job *j = arg;
    const int64_t step = GR_THREADS * j->nstep, K = j->K;
    for (int64_t n0 = j->part * j->nstep; n0 < j->N; n0 += GR_F32_COLS * step) {
        const float *b[GR_F32_COLS];
        int64_t n[GR_F32_COLS];
        int cols = 0;
        for (int c = 0; c < GR_F32_COLS && n0 + c * step < j->N; c++, cols++)
            n[c] = n0 + c * step, b[c] = j->w + n[c] * K;
        for (int64_t m = 0; m < j->M; m++) {
            const float *a = j->x + m * j->ldx;
            double s[GR_F32_COLS] = {0}, t[GR_F32_COLS] = {0};
            if (cols == GR_F32_COLS) {
                for (int64_t k = 0; k < K; k++) {
                    const double ak = a[k];
                    for (int c = 0; c < GR_F32_COLS; c++) {
                        double p = ak * b[c][k];
                        s[c] += p, t[c] += fabs(p);
                    }
                }
            } else {
                for (int c = 0; c < cols; c++)
                    for (int64_t k = 0; k < K; k++) {
                        double p = (double)a[k] * b[c][k];
                        s[c] += p, t[c] += fabs(p);
                    }
            }
            for (int c = 0; c < cols; c++) j->y[m * j->N + n[c]] = s[c], j->absdot[m * j->N + n[c]] = t[c];
        }
    }
    return NULL;
}

static void run_parts(struct mm_job *proto, void *(*fn)(void *))
{
    struct mm_job jobs[GR_THREADS];
    pthread_t th[GR_THREADS];
    for (int i = 0; i < GR_THREADS; i++) {
        jobs[i] = *proto, jobs[i].part = i;
        if (i && pthread_create(&th[i], NULL, fn, &jobs[i])) fn(&jobs[i]), th[i] = 0;
    }
    fn(&jobs[0]);
    for (int i = 1; i < GR_THREADS; i++)
        if (th[i]) pthread_join(th[i], NULL);
}

void gr_int_matmul(const int8_t *qx, const int8_t *qw, int64_t M, int64_t N, int64_t K, int32_t *acc)
{
    struct mm_job j = {.qx = qx, .qw = qw, .M = M, .N = N, .K = K, .acc = acc};
    run_parts(&j, int_part);
}

void gr_f32_matmul(const float *x, int64_t ldx, const float *w, int64_t M, int64_t N, int64_t K, int64_t nstep,
                   double *y, double *absdot)
{
    struct mm_job j = {.x = x,
                       .w = w,
                       .ldx = ldx,
                       .M = M,
                       .N = N,
                       .K = K,
                       .nstep = nstep < 1 ? 1 : nstep,
                       .y = y,
                       .absdot = absdot};
    run_parts(&j, f32_part);
}

double gr_bound(enum rk_gemm_mode mode, double sx, double sw, double sum_x, double sum_w, int64_t K, double absdot,
                double yref)
{
    if (mode == RK_GEMM_FP16)
        return (ldexp(1, -10) + ldexp(1, -20)) * absdot + ldexp(1, -24) * (sx * sum_w + sw * sum_x) +
               1e-6 * fabs(yref) + 1e-30;
    return 0.5 * sw * sum_x + 0.5 * sx * sum_w + 0.25 * (double)K * sx * sw + 1e-5 * absdot + 1e-6 * fabs(yref) + 1e-30;
}

void gr_check(enum rk_gemm_mode mode, const float *Y, int64_t ldy, const double *yref, const double *absdot,
              const float *x0, int64_t ldx0, const float *w0, int64_t M, int64_t N, int64_t K, int64_t nstep,
              const float *sx, const float *sw, struct gr_err *e)
{
    /* int8-had: the quantization errors live in the rotated space; the bound uses the rotated sums */
    float *xr = rotated(mode, x0, M, ldx0, K), *wr = rotated(mode, w0, N, K, K);
    const float *x = xr ? xr : x0, *w = wr ? wr : w0;
    int64_t ldx = xr ? K : ldx0;
    memset(e, 0, sizeof *e);
    double se = 0, sr = 0;
    double *sum_w = calloc((size_t)N, sizeof *sum_w);
    for (int64_t n = 0; n < N; n += nstep)
        for (int64_t k = 0; k < K; k++) sum_w[n] += fabs(w[n * K + k]);
    for (int64_t m = 0; m < M; m++) {
        double sum_x = 0;
        for (int64_t k = 0; k < K; k++) sum_x += fabs(x[m * ldx + k]);
        for (int64_t n = 0; n < N; n += nstep) {
            double r = yref[m * N + n], d = fabs((double)Y[m * ldy + n] - r);
            double b = gr_bound(mode, sx[m], sw[n], sum_x, sum_w[n], K, absdot[m * N + n], r);
            if (!(d <= b)) e->over_bound++;
            if (!(d <= e->max_abs)) e->max_abs = d, e->worst_m = m, e->worst_n = n;
            if (d / b > e->max_rel_to_bound || d != d) e->max_rel_to_bound = d != d ? INFINITY : d / b;
            if (fabs(r) > e->max_ref) e->max_ref = fabs(r);
            se += d * d, sr += r * r;
            e->compared++;
        }
    }
    e->nmse = sr > 0 ? se / sr : se;
    free(sum_w), free(xr), free(wr);
}
