// SPDX-License-Identifier: MIT
/*
 * Weight preparation: decode each row with the caller's to_float (ggml's type traits: Q4_K, Q6_K, Q8_0, ...),
 * re-quantize it (int8, one symmetric scale per output channel, docs/hardware/arithmetic.md §4) or convert it to fp16,
 * and scatter it into the NPU weight blocks of every K-slice (docs/hardware/layouts.md §3:
 * int8 [N/32][Kpad/32][32 n][32 k], fp16 [N/16][Kpad/32][16 n][32 k]) in the BO of the core that owns the row's N range
 * (docs/hardware/limits.md §8: disjoint N per core, nothing duplicated). Padding stays zero
 * (docs/hardware/layouts.md §1). All host threads convert, taking units of rows in turn (the load time).
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gemm_internal.h"
#include "npu_limits.h"

#define PREP_WAIT_MS 10000

/* Rows per unit of work: small enough that all host threads stay busy to the end of a small weight, large enough
 * that taking a unit costs nothing next to converting it. */
#define PREP_ROWS_PER_UNIT 64
#define PREP_THREADS_MAX   64

/* A conversion shared by the host threads: units of PREP_ROWS_PER_UNIT rows of one core's share, taken in order. */
struct prep_work {
    struct rk_weight *w;
    const uint8_t *data;
    size_t row_bytes;
    rk_row_to_float to_float;
    uint32_t unit_start[NPU_CORES + 1]; /* first unit of each core's share */
    _Atomic uint32_t next;
    _Atomic int failed;
};

struct prep_job {
    struct prep_work *work;
    int rc;
    int64_t cpu_ns; /* thread CPU time of this thread */
    char err[200];
};

static int64_t thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Copy one quantized row (elements of bpe bytes) into the blocks of its slices. */
static void scatter_row(const struct rk_wlayout *L, const struct rk_core_share *cs, uint8_t *bo, uint32_t nl,
                        const uint8_t *q)
{
    uint32_t g = rk_mode_int8(L->mode) ? NPU_KGROUP_INT8 : NPU_KGROUP_FP16, bpe = L->bpe;
    for (uint32_t s = 0; s < L->slices; s++) {
        uint8_t *grp = bo + cs->b_off[s] + ((uint64_t)(nl / g) * L->kpad[s] * g + (nl % g) * NPU_K_ALIGN) * bpe;
        for (uint32_t kk = 0; kk < L->k[s]; kk += NPU_K_ALIGN) {
            uint32_t len = L->k[s] - kk < NPU_K_ALIGN ? L->k[s] - kk : NPU_K_ALIGN;
            /* 32-channel block kk/32 of this kernel group: g kernels × 32 channels */
            memcpy(grp + (uint64_t)(kk / NPU_K_ALIGN) * g * NPU_K_ALIGN * bpe, q + (uint64_t)(L->k0[s] + kk) * bpe,
                   (size_t)len * bpe);
        }
    }
}

/* Convert rows [nl0, nl1) of a core's share. 0, or -EDOM with the row in err. */
static int prep_rows(struct prep_work *wk, uint32_t core, uint32_t nl0, uint32_t nl1, float *row, uint8_t *q, char *err,
                     size_t errlen)
{
    struct rk_weight *w = wk->w;
    const struct rk_wlayout *L = &w->L;
    const struct rk_core_share *cs = &L->core[core];
    uint8_t *map = w->b[core]->map;
    for (uint32_t nl = nl0; nl < nl1; nl++) {
        uint32_t n = cs->n0 + nl;
        const void *src = wk->data + (size_t)n * wk->row_bytes;
        if (wk->to_float)
            wk->to_float(src, row, L->K);
        else
            memcpy(row, src, (size_t)L->K * sizeof *row);
        rk_hadamard_rows(row, 1, L->K, L->K, L->had_block); /* int8-had only (B = 1: no-op) */
        /* The vectorised activation quantizers compute exactly rk_quant_row_i8/_f16 on one row (tests compare); only an
         * all-zero int8 row differs: scale 0 there, 1 for weights (docs/hardware/arithmetic.md §4). */
        if ((rk_mode_int8(L->mode) ? rk_act_quant_i8_simd : rk_act_quant_f16_simd)(row, 1, L->K, L->K, L->K, q,
                                                                                   &w->scale[n])) {
            snprintf(err, errlen, "weight row %u holds a NaN or an infinity", n);
            return -EDOM; /* a NaN or an infinity: not a shape or device error (rk_gemm.h) */
        }
        if (w->scale[n] == 0) w->scale[n] = 1.0f;
        scatter_row(L, cs, map, nl, q);
    }
    return 0;
}

static void *prep_thread(void *arg)
{
    struct prep_job *j = arg;
    struct prep_work *wk = j->work;
    const struct rk_wlayout *L = &wk->w->L;
    int64_t c0 = thread_cpu_ns();
    float *row = malloc((size_t)L->K * sizeof *row);
    uint8_t *q = malloc((size_t)L->K * L->bpe);
    int rc = 0;
    if (!row || !q) {
        rc = -ENOMEM, snprintf(j->err, sizeof j->err, "out of memory");
        wk->failed = 1;
    }
    for (uint32_t u; !rc && !wk->failed && (u = wk->next++) < wk->unit_start[L->cores];) {
        uint32_t c = 0;
        while (u >= wk->unit_start[c + 1]) c++;
        uint32_t nl0 = (u - wk->unit_start[c]) * PREP_ROWS_PER_UNIT, nl1 = nl0 + PREP_ROWS_PER_UNIT;
        if (nl1 > L->core[c].n) nl1 = L->core[c].n;
        if ((rc = prep_rows(wk, c, nl0, nl1, row, q, j->err, sizeof j->err))) wk->failed = 1;
    }
    free(row), free(q);
    j->rc = rc;
    j->cpu_ns = thread_cpu_ns() - c0;
    return NULL;
}

/* Host threads for a conversion: every online CPU (the board: 4 A76 + 4 A55), at most one per unit of work. */
static uint32_t prep_threads(uint32_t units)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    uint32_t t = n < 1 ? 1 : n > PREP_THREADS_MAX ? PREP_THREADS_MAX : (uint32_t)n;
    return t < units ? t : units ? units : 1;
}

/* Fill w (layout made, scales allocated, BOs of at least the layout's sizes) from data with all host threads. A
 * reused BO (fresh = false) is cleared first: padding must read as zero (docs/hardware/layouts.md §1); a new BO
 * already is. */
static int weight_fill(struct rk_gemm_engine *e, struct rk_weight *w, const void *data, size_t row_bytes,
                       rk_row_to_float to_float, bool fresh)
{
    int rc = 0;
    struct prep_work wk = {.w = w, .data = data, .row_bytes = row_bytes, .to_float = to_float};
    uint32_t c = 0;
    for (; c < w->L.cores && !rc; c++) {
        wk.unit_start[c + 1] = wk.unit_start[c] + (w->L.core[c].n + PREP_ROWS_PER_UNIT - 1) / PREP_ROWS_PER_UNIT;
        if ((rc = npu_bo_prep(w->b[c], npu_deadline_after_ms(PREP_WAIT_MS))))
            rk_gemm_fail(e, rc, "weight BO prep, core %u: %s", c, npu_last_error());
        else if (!fresh)
            memset(w->b[c]->map, 0, w->L.core[c].b_bytes); /* an ephemeral weight's BO may be larger */
    }
    uint32_t prepped = rc ? c - 1 : c;
    if (!rc) {
        uint32_t nth = prep_threads(wk.unit_start[w->L.cores]);
        struct prep_job jobs[PREP_THREADS_MAX];
        pthread_t th[PREP_THREADS_MAX];
        bool started[PREP_THREADS_MAX] = {0};
        for (uint32_t i = 0; i < nth; i++) {
            jobs[i] = (struct prep_job){.work = &wk};
            started[i] = i > 0 && !pthread_create(&th[i], NULL, prep_thread, &jobs[i]);
        }
        prep_thread(&jobs[0]); /* threads that could not start leave their units to the others */
        int64_t cpu_max = 0;
        for (uint32_t i = 0; i < nth; i++) {
            if (started[i]) pthread_join(th[i], NULL);
            if (!started[i] && i > 0) continue;
            if (jobs[i].rc && !rc) rc = rk_gemm_fail(e, jobs[i].rc, "weight preparation: %s", jobs[i].err);
            cpu_max = jobs[i].cpu_ns > cpu_max ? jobs[i].cpu_ns : cpu_max;
        }
        w->fill_cpu_ns = cpu_max;
    }
    for (uint32_t k = 0; k < prepped; k++) {
        int rc2 = npu_bo_fini(w->b[k]);
        if (!rc && rc2) rc = rk_gemm_fail(e, rc2, "weight BO fini, core %u: %s", k, npu_last_error());
    }
    return rc;
}

static void weight_info(struct rk_weight *w, int64_t t0)
{
    struct rk_weight_info *i = &w->info;
    int64_t K = w->L.K, N = w->L.N;
    *i = (struct rk_weight_info){.K = K, .N = N, .mode = w->L.mode, .k_slices = w->L.slices, .group = w->group};
    for (uint32_t c = 0; c < w->L.cores; c++) i->npu_bytes += w->L.core[c].b_bytes;
    i->bytes_per_weight = (double)(i->npu_bytes + (uint64_t)N * sizeof(float)) / ((double)K * N);
    i->prep_seconds = (npu_monotonic_ns() - t0) / 1e9;
    i->prep_cpu_seconds = w->fill_cpu_ns / 1e9;
    i->weights_per_second = (double)K * N / (i->prep_seconds > 0 ? i->prep_seconds : 1e-9);
}

int rk_weight_prepare(struct rk_gemm_engine *e, const void *data, int64_t K, int64_t N, size_t row_bytes,
                      rk_row_to_float to_float, enum rk_gemm_mode mode, struct rk_weight **out)
{
    char why[256];
    *out = NULL;
    if (!data) return rk_gemm_fail(e, -EINVAL, "weight data is NULL");
    int64_t t0 = npu_monotonic_ns();
    struct rk_weight *w = calloc(1, sizeof *w);
    if (!w) return rk_gemm_fail(e, -ENOMEM, "out of memory");
    w->e = e;
    int rc = rk_layout_make(K, N, mode, e->cores, &e->env, &w->L, why, sizeof why);
    if (rc) {
        free(w);
        return rk_gemm_fail(e, rc, "weight [N=%lld, K=%lld] declined: %s", (long long)N, (long long)K, why);
    }
    if (!to_float && row_bytes < (size_t)K * sizeof(float)) {
        free(w);
        return rk_gemm_fail(e, -EINVAL, "f32 rows need row_bytes >= K*4 (got %zu)", row_bytes);
    }
    w->scale = malloc((size_t)N * sizeof *w->scale);
    if (!w->scale) {
        rk_weight_free(w);
        return rk_gemm_fail(e, -ENOMEM, "out of memory for %lld scales", (long long)N);
    }
    w->scale_cap = (size_t)N;
    uint64_t bytes[NPU_CORES];
    for (uint32_t c = 0; c < w->L.cores; c++) bytes[c] = w->L.core[c].b_bytes;
    if ((rc = rk_weight_bos_place(e, w, bytes, w->L.cores))) {
        rk_weight_free(w);
        return rc;
    }
    if ((rc = weight_fill(e, w, data, row_bytes, to_float, true))) {
        rk_weight_free(w);
        return rc;
    }
    weight_info(w, t0);
    *out = w;
    return 0;
}

/* Headroom when an ephemeral weight's BOs grow, so a KV length that creeps up does not reallocate every call. */
#define EPHEMERAL_GROWTH_DIV 4

int rk_weight_load(struct rk_gemm_engine *e, struct rk_weight **wp, const void *data, int64_t K, int64_t N,
                   size_t row_bytes, rk_row_to_float to_float, enum rk_gemm_mode mode)
{
    char why[256];
    if (!data || !wp) return rk_gemm_fail(e, -EINVAL, "weight data is NULL");
    if (!to_float && row_bytes < (size_t)K * sizeof(float))
        return rk_gemm_fail(e, -EINVAL, "f32 rows need row_bytes >= K*4 (got %zu)", row_bytes);
    int64_t t0 = npu_monotonic_ns();
    struct rk_weight *w = *wp;
    if (w && w->e != e) return rk_gemm_fail(e, -EINVAL, "weight does not belong to this engine");
    if (!w) {
        if (!(w = calloc(1, sizeof *w))) return rk_gemm_fail(e, -ENOMEM, "out of memory");
        w->e = e;
        *wp = w;
    }
    int rc = rk_layout_make(K, N, mode, e->cores, &e->env, &w->L, why, sizeof why);
    if (rc) return rk_gemm_fail(e, rc, "operand [N=%lld, K=%lld] declined: %s", (long long)N, (long long)K, why);
    if (w->scale_cap < (size_t)N) {
        float *s = realloc(w->scale, (size_t)N * sizeof *s);
        if (!s) return rk_gemm_fail(e, -ENOMEM, "out of memory for %lld scales", (long long)N);
        w->scale = s, w->scale_cap = (size_t)N;
    }
    /* All of a weight's BOs are in one fd group: when one share outgrows its BO, all are placed anew. */
    bool grow = false;
    uint64_t want[NPU_CORES];
    for (uint32_t c = 0; c < w->L.cores; c++) {
        uint64_t need = w->L.core[c].b_bytes;
        want[c] = need + need / EPHEMERAL_GROWTH_DIV;
        if (want[c] >= UINT32_MAX) want[c] = need;
        grow |= !w->b[c] || w->b[c]->size < need;
    }
    if (grow) {
        rk_weight_bos_release(w);
        if ((rc = rk_weight_bos_place(e, w, want, w->L.cores))) return rc;
    }
    if ((rc = weight_fill(e, w, data, row_bytes, to_float, grow))) return rc;
    weight_info(w, t0);
    return 0;
}

void rk_weight_free(struct rk_weight *w)
{
    if (!w) return;
    rk_weight_bos_release(w);
    free(w->scale);
    free(w);
}

void rk_weight_get_info(const struct rk_weight *w, struct rk_weight_info *info) { *info = w->info; }

int rk_gemm_explain(struct rk_gemm_engine *e, const struct rk_weight *w, int64_t M, FILE *out)
{
    struct rk_plan p;
    char why[256];
    int rc = rk_plan_make(&w->L, (uint32_t)(M > 0 && M <= RK_GEMM_M_MAX ? M : 0), e->opt.envelope, e->opt.job_budget_ms,
                          &p, why, sizeof why);
    if (rc) {
        fprintf(out, "plan: declined: %s\n", why);
        return rk_gemm_fail(e, rc, "%s", why);
    }
    rk_plan_print(&p, out);
    rk_plan_free(&p);
    return 0;
}
