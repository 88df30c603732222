// SPDX-License-Identifier: MIT
/*
 * Planner: how a [N,K] weight is cut (layout, fixed at prepare time) and how one matmul with M rows runs (plan: tasks
 * per core, jobs). Tiling follows docs/hardware/limits.md §7 (HM's recommended model): K-slices with int32 partials
 * summed on the host, M-tiles sized to the CBUF data banks, N-tiles within the DPU limits, disjoint N ranges per core
 * (docs/hardware/limits.md §8), tasks chained into jobs bounded by the 500 ms job timeout. The plan is plain data so it
 * can be printed (--explain) and tested without a device.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "gemm_internal.h"
#include "layout.h"
#include "npu_limits.h"
#include "npu_timing.h"

/* int8 rows per task beyond NPU_I8_LARGE_KPAD, HM's board-verified envelope (docs/hardware/limits.md §5). */
static const struct {
    uint32_t kpad_max, rows;
} i8_large_k_rows[] = {{6144, 32}, {NPU_INT8_K_MAX, 16}};
/* fp16: weight banks for 32 kernels of K, clamped to [2, all but one bank] (HM-F16, docs/hardware/limits.md §5). */
#define FP16_WBANK_KERNELS 32
#define FP16_WBANKS_MIN    2
/* The M a weight's K-slicing is chosen for: prefill, what the NPU is for (docs/hardware/measurements.md §5). */
#define SLICING_COST_M     512

static uint32_t div_up(uint64_t a, uint64_t b) { return (uint32_t)((a + b - 1) / b); }
static uint32_t min_u(uint32_t a, uint32_t b) { return a < b ? a : b; }

static int why_fail(char *why, size_t len, int rc, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int why_fail(char *why, size_t len, int rc, const char *fmt, ...)
{
    va_list ap;
    if (why && len) {
        va_start(ap, fmt);
        vsnprintf(why, len, fmt, ap);
        va_end(ap);
    }
    return rc;
}

static enum rk_dtype in_dtype(enum rk_gemm_mode m) { return rk_mode_int8(m) ? RK_INT8 : RK_FP16; }
static enum rk_dtype out_dtype(enum rk_gemm_mode m) { return rk_mode_int8(m) ? RK_INT32 : RK_FP32; }

/* Rows per task for one K-slice. */
uint32_t rk_plan_m_tile(enum rk_gemm_mode mode, uint32_t kpad)
{
    if (rk_mode_int8(mode)) {
        /* HM's board-verified int8 envelope (docs/hardware/limits.md §5): ≤ 8 data banks up to K=4096, then
         * the rows of i8_large_k_rows (with FEATURE_GRAINS=30, which the builder sets). */
        if (kpad <= NPU_I8_LARGE_KPAD)
            return min_u(RK_GEMM_M_TILE_MAX, RK_GEMM_I8_DATA_BANKS * NPU_CBUF_BANK_BYTES / kpad);
        uint32_t i = 0;
        while (i + 1 < sizeof i8_large_k_rows / sizeof i8_large_k_rows[0] && kpad > i8_large_k_rows[i].kpad_max) i++;
        return i8_large_k_rows[i].rows;
    }
    /* fp16: the weight banks of FP16_WBANK_KERNELS kernels, the rest hold A (HM-F16, docs/hardware/limits.md §5). */
    uint32_t bpe = (uint32_t)rk_dtype_size(RK_FP16);
    uint32_t wb = div_up((uint64_t)kpad * bpe * FP16_WBANK_KERNELS, NPU_CBUF_BANK_BYTES);
    wb = wb < FP16_WBANKS_MIN ? FP16_WBANKS_MIN : wb > NPU_CBUF_BANKS - 1 ? NPU_CBUF_BANKS - 1 : wb;
    uint32_t rows = (NPU_CBUF_BANKS - wb) * NPU_CBUF_BANK_BYTES / (kpad * bpe);
    return rows < 1 ? 1 : min_u(RK_GEMM_M_TILE_MAX, rows);
}

static struct npu_task_shape task_shape(enum rk_gemm_mode mode, uint32_t m, uint32_t kpad, uint32_t npad)
{
    return (struct npu_task_shape){m, kpad, npad, rk_mode_int8(mode) ? NPU_DTYPE_INT8 : NPU_DTYPE_FP16,
                                   rk_mode_int8(mode) ? NPU_DTYPE_INT32 : NPU_DTYPE_FP32};
}

static uint64_t task_ns(enum rk_gemm_mode mode, uint32_t m, uint32_t kpad, uint32_t npad, uint32_t mhz)
{
    struct npu_task_shape s = task_shape(mode, m, kpad, npad);
    struct npu_model_work w = npu_model_work_from_shape(&s);
    return npu_model_task_ns(&w, mhz);
}

static bool k_hazard(enum rk_gemm_mode mode, uint32_t kpad)
{
    /* int8 Kpad in (3072, 4096) with M > 4 failed on silicon (HM, docs/hardware/limits.md §5). The slicing is fixed
     * before M is known, so avoid the range for every M. fp16 is safe with m+1 grains (docs/hardware/limits.md §4). */
    return rk_mode_int8(mode) && kpad > NPU_K_HAZARD_LO && kpad < NPU_K_HAZARD_HI;
}

static void split_k(uint32_t K, uint32_t Kpad, uint32_t s, struct rk_wlayout *L)
{
    uint32_t units = Kpad / NPU_K_ALIGN, k0 = 0;
    L->slices = s;
    for (uint32_t i = 0; i < s; i++) {
        uint32_t u = units / s + (i < units % s);
        L->k0[i] = k0;
        L->kpad[i] = u * NPU_K_ALIGN;
        L->k[i] = i + 1 < s ? L->kpad[i] : K - k0;
        k0 += L->kpad[i];
    }
}

/* MODEL cost of one slicing for a prefill-sized M (the case the NPU is for, docs/hardware/measurements.md §5). */
static uint64_t slicing_cost(const struct rk_wlayout *L, uint32_t n)
{
    const uint32_t M = SLICING_COST_M;
    uint64_t ns = 0;
    uint32_t ntile = min_u(n, RK_GEMM_N_TILE_MAX), ntiles = div_up(n, ntile);
    for (uint32_t s = 0; s < L->slices; s++) {
        uint32_t mt = rk_plan_m_tile(L->mode, L->kpad[s]), tiles = div_up(M, mt);
        /* both clocks: at 200 MHz compute dominates, at 1 GHz the weight re-reads per M-tile
         * (docs/hardware/measurements.md §4) */
        ns += (uint64_t)tiles * ntiles *
              (task_ns(L->mode, div_up(M, tiles), L->kpad[s], ntile, NPU_CLOCK_MAINLINE_MHZ) +
               task_ns(L->mode, div_up(M, tiles), L->kpad[s], ntile, NPU_CLOCK_VENDOR_MHZ));
        ns += (uint64_t)M * n * 4 * 2 / 4; /* host: read one more int32 partial per output (~4 GB/s) */
    }
    return ns;
}

int rk_gemm_supports(int64_t K, int64_t N, enum rk_gemm_mode mode, char *why, size_t whylen)
{
    if (mode != RK_GEMM_INT8 && mode != RK_GEMM_FP16 && mode != RK_GEMM_INT8_HAD)
        return why_fail(why, whylen, -EINVAL, "unknown mode %d", (int)mode);
    if (K < 1 || N < 1) return why_fail(why, whylen, -EINVAL, "empty weight K=%" PRId64 " N=%" PRId64, K, N);
    uint64_t kmax = (uint64_t)RK_GEMM_MAX_SLICES * (rk_mode_int8(mode) ? NPU_INT8_K_MAX : RK_GEMM_FP16_K_SLICE_MAX);
    if ((uint64_t)K > kmax)
        return why_fail(why, whylen, -ENOTSUP,
                        "K=%" PRId64 " > %" PRIu64 " (%d K-slices of at most %u, docs/hardware/limits.md §7)", K, kmax,
                        RK_GEMM_MAX_SLICES, rk_mode_int8(mode) ? NPU_INT8_K_MAX : RK_GEMM_FP16_K_SLICE_MAX);
    uint64_t nmax = (uint64_t)NPU_CORES * RK_GEMM_MAX_NTILES * RK_GEMM_N_TILE_MAX;
    if ((uint64_t)N > nmax)
        return why_fail(why, whylen, -ENOTSUP, "N=%" PRId64 " > %" PRIu64 " (%u cores x %d N-tiles of %d)", N, nmax,
                        NPU_CORES, RK_GEMM_MAX_NTILES, RK_GEMM_N_TILE_MAX);
    /* Each core's share of the packed weight must fit one BO (< 4 GiB, 32-bit IOVA space:
     * docs/hardware/rocket-uapi.md §2.3). */
    uint64_t bytes = (uint64_t)(K + 31) / 32 * 32 * ((N + 31) / 32 * 32) * (mode == RK_GEMM_FP16 ? 2 : 1);
    if (bytes > NPU_CORES * (NPU_IOVA_SPACE / 2))
        return why_fail(why, whylen, -ENOTSUP,
                        "packed weight of %" PRIu64 " bytes: more than 2 GiB per core's 32-bit "
                        "IOVA space",
                        bytes);
    return 0;
}

int rk_layout_make(int64_t K64, int64_t N64, enum rk_gemm_mode mode, uint32_t cores, struct rk_wlayout *L, char *why,
                   size_t whylen)
{
    int rc = rk_gemm_supports(K64, N64, mode, why, whylen);
    if (rc) return rc;
    if (cores < 1 || cores > NPU_CORES)
        return why_fail(why, whylen, -EINVAL, "cores must be 1..%u (got %u)", NPU_CORES, cores);
    uint32_t K = (uint32_t)K64, N = (uint32_t)N64;
    memset(L, 0, sizeof *L);
    L->mode = mode, L->K = K, L->N = N, L->Kpad = rk_kpad(K), L->bpe = rk_mode_int8(mode) ? 1 : 2;
    L->had_block = mode == RK_GEMM_INT8_HAD ? rk_hadamard_block(K) : 1;

    /* N over the cores in 32-column units; a core may get none for tiny N. */
    uint32_t units = div_up(N, RK_GEMM_N_UNIT), n0 = 0;
    L->cores = min_u(cores, units);
    for (uint32_t c = 0; c < L->cores; c++) {
        struct rk_core_share *cs = &L->core[c];
        uint32_t u = units / L->cores + (c < units % L->cores);
        cs->n0 = n0, cs->n = min_u(u * RK_GEMM_N_UNIT, N - n0), cs->npad = rk_npad(in_dtype(mode), cs->n);
        n0 += cs->n;
        uint32_t tmax = RK_GEMM_N_TILE_MAX / RK_GEMM_N_UNIT;
        cs->ntiles = div_up(u, tmax);
        if (cs->ntiles > RK_GEMM_MAX_NTILES)
            return why_fail(why, whylen, -ENOTSUP, "internal: %u N-tiles per core", cs->ntiles);
        for (uint32_t t = 0, t0 = 0; t < cs->ntiles; t++) {
            uint32_t tu = u / cs->ntiles + (t < u % cs->ntiles);
            cs->t_n0[t] = t0;
            cs->t_n[t] = min_u(tu * RK_GEMM_N_UNIT, cs->n - t0);
            cs->t_npad[t] = rk_npad(in_dtype(mode), cs->t_n[t]);
            t0 += tu * RK_GEMM_N_UNIT;
        }
    }

    /* K-slices: the fewest of at most 8192 (int8 per task, MF-rocket: docs/hardware/limits.md §5) / 4096 (fp16) outside
     * the int8 hazard window; among the next few slicings take the cheapest by the timing MODEL at M=512 (larger slices
     * mean fewer rows per task and more weight re-reads, ORK: docs/hardware/limits.md §6.2). */
    uint32_t limit = rk_mode_int8(mode) ? NPU_INT8_K_MAX : RK_GEMM_FP16_K_SLICE_MAX;
    uint32_t smin = div_up(L->Kpad, limit), best = 0;
    uint64_t best_cost = UINT64_MAX;
    for (uint32_t s = smin; s <= RK_GEMM_MAX_SLICES && s < smin + 4; s++) {
        if (L->Kpad / NPU_K_ALIGN < s) break;
        split_k(K, L->Kpad, s, L);
        bool bad = false;
        for (uint32_t i = 0; i < s; i++) bad |= k_hazard(mode, L->kpad[i]);
        if (bad) continue;
        uint64_t cost = slicing_cost(L, L->core[0].n);
        if (cost < best_cost) best_cost = cost, best = s;
    }
    if (!best)
        return why_fail(why, whylen, -ENOTSUP, "no K slicing of K=%u avoids the int8 hazard window (%u, %u)", K,
                        NPU_K_HAZARD_LO, NPU_K_HAZARD_HI);
    split_k(K, L->Kpad, best, L);
    for (uint32_t c = 0; c < L->cores; c++) {
        struct rk_core_share *cs = &L->core[c];
        uint64_t off = 0;
        for (uint32_t s = 0; s < L->slices; s++) {
            cs->b_off[s] = off;
            off += (uint64_t)cs->npad * L->kpad[s] * L->bpe;
        }
        cs->b_bytes = off;
        if (off >= UINT32_MAX)
            return why_fail(why, whylen, -ENOTSUP,
                            "core %u's packed weight share of %" PRIu64 " bytes does not fit "
                            "one BO (< 4 GiB)",
                            c, off);
    }
    return 0;
}

uint64_t rk_plan_c_index(const struct rk_plan *p, uint32_t core, uint32_t s, uint32_t t, uint32_t m)
{
    const struct rk_core_share *cs = &p->L.core[core];
    return (uint64_t)s * p->M * cs->npad + (uint64_t)cs->t_n0[t] * p->M + (uint64_t)m * cs->t_npad[t];
}

struct rk_matmul rk_plan_task_matmul(const struct rk_plan *p, const struct rk_plan_task *t)
{
    const struct rk_wlayout *L = &p->L;
    return (struct rk_matmul){
            .in = in_dtype(L->mode),
            .out = out_dtype(L->mode),
            .m = t->m,
            .k = L->k[t->slice],
            .n = L->core[t->core].t_n[t->ntile],
            .a_layout = RK_LAYOUT_ROW_MAJOR,
            .c_layout = RK_LAYOUT_ROW_MAJOR,
            /* a K-slice reads its columns of the full-width A in place (regcmd.h a_row_stride) */
            .a_row_stride = L->kpad[t->slice] < L->Kpad ? L->Kpad : 0,
    };
}

void rk_plan_task_offsets(const struct rk_plan *p, const struct rk_plan_task *t, uint64_t *a, uint64_t *b, uint64_t *c)
{
    const struct rk_wlayout *L = &p->L;
    const struct rk_core_share *cs = &L->core[t->core];
    *a = ((uint64_t)t->m0 * L->Kpad + L->k0[t->slice]) * L->bpe;
    /* one kernel group is contiguous over the slice's K, so an N-tile at n0 starts at n0·Kpad·bpe
     * (docs/hardware/layouts.md §3.2) */
    *b = cs->b_off[t->slice] + (uint64_t)cs->t_n0[t->ntile] * L->kpad[t->slice] * L->bpe;
    *c = rk_plan_c_index(p, t->core, t->slice, t->ntile, t->m0) * 4;
}

int rk_plan_make(const struct rk_wlayout *L, uint32_t M, uint32_t job_budget_ms, struct rk_plan *p, char *why,
                 size_t whylen)
{
    memset(p, 0, sizeof *p);
    if (M < 1) return why_fail(why, whylen, -EINVAL, "M=%u: nothing to compute", M);
    if (M > RK_GEMM_M_MAX) return why_fail(why, whylen, -ENOTSUP, "M=%u > %d rows per call", M, RK_GEMM_M_MAX);
    p->L = *L, p->M = M;
    /* Budget per job: half the job timeout by default (docs/hardware/rocket-uapi.md §1.3), because the MODEL is an
     * estimate; measured at the slow mainline clock (docs/npu-mainline-status.md §6.1). */
    p->job_budget_ns = job_budget_ms ? (uint64_t)job_budget_ms * 1000000 : npu_model_job_timeout_ns() / 2;
    if (p->job_budget_ns > npu_model_job_timeout_ns()) p->job_budget_ns = npu_model_job_timeout_ns();

    uint32_t mtiles[RK_GEMM_MAX_SLICES];
    uint64_t count = 0;
    for (uint32_t s = 0; s < L->slices; s++) {
        p->m_tile[s] = rk_plan_m_tile(L->mode, L->kpad[s]);
        mtiles[s] = div_up(M, p->m_tile[s]);
        for (uint32_t c = 0; c < L->cores; c++) count += (uint64_t)mtiles[s] * L->core[c].ntiles;
    }
    p->tasks = calloc(count, sizeof *p->tasks);
    if (!p->tasks) return why_fail(why, whylen, -ENOMEM, "out of memory for %" PRIu64 " tasks", count);
    size_t seg = rk_regcmd_segment_entries(RK_REGCMD_BODY_ENTRIES) * 8;
    uint64_t busy200[NPU_CORES] = {0}, busy1000[NPU_CORES] = {0};
    for (uint32_t c = 0; c < L->cores; c++) {
        const struct rk_core_share *cs = &L->core[c];
        struct rk_plan_core *pc = &p->core[c];
        pc->task0 = p->ntasks;
        uint64_t job_ns = 0;
        uint32_t job_tasks = 0;
        for (uint32_t s = 0; s < L->slices; s++)
            for (uint32_t t = 0; t < cs->ntiles; t++)
                for (uint32_t i = 0, m0 = 0; i < mtiles[s]; i++) {
                    /* balanced M-tiles: sizes differ by at most one row */
                    uint32_t m = M / mtiles[s] + (i < M % mtiles[s]);
                    struct rk_plan_task *tk = &p->tasks[p->ntasks++];
                    *tk = (struct rk_plan_task){
                            .core = (uint8_t)c, .slice = (uint8_t)s, .ntile = (uint16_t)t, .m0 = m0, .m = m};
                    m0 += m;
                    tk->model_ns_200 = task_ns(L->mode, m, L->kpad[s], cs->t_npad[t], NPU_CLOCK_MAINLINE_MHZ);
                    uint64_t ns1000 = task_ns(L->mode, m, L->kpad[s], cs->t_npad[t], NPU_CLOCK_VENDOR_MHZ);
                    if (!job_tasks || job_ns + tk->model_ns_200 > p->job_budget_ns ||
                        job_tasks >= NPU_TASKS_PER_KICK_MAX) {
                        if (job_tasks && job_ns > pc->max_job_ns_200) pc->max_job_ns_200 = job_ns;
                        tk->job_start = 1, pc->jobs++, job_tasks = 0;
                        job_ns = npu_model_job_overhead_ns();
                        busy200[c] += npu_model_job_overhead_ns(), busy1000[c] += npu_model_job_overhead_ns();
                    }
                    job_ns += tk->model_ns_200, job_tasks++;
                    busy200[c] += tk->model_ns_200, busy1000[c] += ns1000;
                    uint64_t dma = ((uint64_t)m * L->kpad[s] + (uint64_t)L->kpad[s] * cs->t_npad[t]) * L->bpe +
                                   (uint64_t)m * cs->t_npad[t] * 4;
                    pc->dma_bytes += dma;
                    p->macs += (uint64_t)m * L->k[s] * cs->t_n[t];
                }
        if (job_ns > pc->max_job_ns_200) pc->max_job_ns_200 = job_ns;
        if (pc->max_job_ns_200 > npu_model_job_timeout_ns())
            return why_fail(why, whylen, -ENOTSUP, "one task alone exceeds the job timeout in the MODEL");
        pc->tasks = p->ntasks - pc->task0;
        pc->a_bytes = (uint64_t)M * L->Kpad * L->bpe;
        pc->c_bytes = (uint64_t)L->slices * M * cs->npad * 4;
        pc->regcmd_bytes = (uint64_t)pc->tasks * seg;
        pc->busy_ns_200 = busy200[c], pc->busy_ns_1000 = busy1000[c];
        p->njobs += pc->jobs;
        p->dma_bytes += pc->dma_bytes;
        if (pc->max_job_ns_200 > p->max_job_ns_200) p->max_job_ns_200 = pc->max_job_ns_200;
        if (pc->a_bytes >= UINT32_MAX || pc->c_bytes >= UINT32_MAX || pc->regcmd_bytes >= UINT32_MAX)
            return why_fail(why, whylen, -E2BIG,
                            "M=%u: scratch buffers of core %u exceed 4 GiB (A %" PRIu64 ", C %" PRIu64
                            " bytes); split M",
                            M, c, pc->a_bytes, pc->c_bytes);
    }
    p->model_ns_200 = npu_model_parallel_ns(busy200, (int)L->cores, p->dma_bytes);
    p->model_ns_1000 = npu_model_parallel_ns(busy1000, (int)L->cores, p->dma_bytes);
    return 0;
}

void rk_plan_free(struct rk_plan *p)
{
    free(p->tasks);
    p->tasks = NULL;
}

void rk_plan_print(const struct rk_plan *p, FILE *out)
{
    const struct rk_wlayout *L = &p->L;
    fprintf(out, "plan: Y[%u,%u] = X[%u,%u] * W[%u,%u]^T, mode %s (%s x %s -> %s)\n", p->M, L->N, p->M, L->K, L->N,
            L->K, rk_gemm_mode_name(L->mode), rk_mode_int8(L->mode) ? "int8" : "fp16",
            rk_mode_int8(L->mode) ? "int8" : "fp16", rk_mode_int8(L->mode) ? "int32" : "fp32");
    if (L->had_block > 1) fprintf(out, "  X and W rotated by block Hadamard H_%u (host side)\n", L->had_block);
    fprintf(out, "  K: Kpad %u in %u slice(s):", L->Kpad, L->slices);
    for (uint32_t s = 0; s < L->slices; s++)
        fprintf(out, " [%u,+%u pad %u, m_tile %u]", L->k0[s], L->k[s], L->kpad[s], p->m_tile[s]);
    fprintf(out, "%s\n", L->slices > 1 ? " partials summed exactly on the host" : "");
    for (uint32_t c = 0; c < L->cores; c++) {
        const struct rk_core_share *cs = &L->core[c];
        const struct rk_plan_core *pc = &p->core[c];
        fprintf(out,
                "  core %u: N [%u,%u) npad %u, %u N-tile(s) of <= %u, %u task(s) in %u job(s); DMA %.3f MB; "
                "MODEL busy %.3f ms @%u MHz, %.3f ms @%u MHz, longest job %.3f ms @%u MHz\n",
                c, cs->n0, cs->n0 + cs->n, cs->npad, cs->ntiles, cs->t_npad[0], pc->tasks, pc->jobs,
                pc->dma_bytes / 1e6, pc->busy_ns_200 / 1e6, NPU_CLOCK_MAINLINE_MHZ, pc->busy_ns_1000 / 1e6,
                NPU_CLOCK_VENDOR_MHZ, pc->max_job_ns_200 / 1e6, NPU_CLOCK_MAINLINE_MHZ);
    }
    fprintf(out,
            "  total: %u task(s), %u job(s) (budget %.0f ms/job @%u MHz of the %.0f ms timeout), %.3f GMAC, "
            "DMA %.3f MB\n",
            p->ntasks, p->njobs, p->job_budget_ns / 1e6, NPU_CLOCK_MAINLINE_MHZ, npu_model_job_timeout_ns() / 1e6,
            p->macs / 1e9, p->dma_bytes / 1e6);
    fprintf(out, "  MODEL NPU time: %.3f ms @%u MHz, %.3f ms @%u MHz (cores in parallel)\n", p->model_ns_200 / 1e6,
            NPU_CLOCK_MAINLINE_MHZ, p->model_ns_1000 / 1e6, NPU_CLOCK_VENDOR_MHZ);
    fprintf(out, "  weight reuse: one packed B per core shared by all M-tiles (loop order slice > N-tile > M-tile); "
                 "CBUF WEIGHT_REUSE is not used (not covered by the regcmd builder / software NPU, "
                 "docs/hardware/limits.md §6.3)\n");
}

int rk_gemm_explain_shape(int64_t K, int64_t N, int64_t M, enum rk_gemm_mode mode, uint32_t cores, FILE *out)
{
    struct rk_wlayout L;
    struct rk_plan p;
    char why[256];
    int rc = rk_layout_make(K, N, mode, cores ? cores : NPU_CORES, &L, why, sizeof why);
    if (!rc) rc = rk_plan_make(&L, (uint32_t)(M > 0 && M <= RK_GEMM_M_MAX ? M : 0), 0, &p, why, sizeof why);
    if (rc) {
        fprintf(out, "plan: declined: %s\n", why);
        return rc;
    }
    rk_plan_print(&p, out);
    rk_plan_free(&p);
    return 0;
}
