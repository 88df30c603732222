// SPDX-License-Identifier: MIT
/*
 * Planner: how a [N,K] weight is cut (layout, fixed at prepare time) and how one matmul with M rows runs (plan: tasks
 * per core, jobs). Tiling follows docs/hardware/limits.md §7 (HM's recommended model): K-slices with int32 partials
 * summed on the host, M-tiles sized to the CBUF data banks, N-tiles within the DPU limits, disjoint N ranges per core
 * (docs/hardware/limits.md §8), tasks chained into jobs bounded by the 500 ms job timeout. Every choice stays inside
 * the execution envelope (docs/hardware/limits.md §6.1, hw/npu_envelope.h): the layout's tile sizes and K per task,
 * the plan's rows, packed or in-place K-slices, chained tails, tasks per job. Jobs are sized by the
 * PESSIMISTIC timing MODEL against the envelope's budget; every MODEL figure of a plan comes as two bounds at the
 * mainline and the vendor clock. Where the envelope allows CBUF WEIGHT_REUSE and the MODEL finds it cheaper, a core's
 * N-tiles are cut so one N-tile's weights stay in CBUF while its M-tiles run back to back
 * (docs/hardware/limits.md §6.3). The plan is plain data so it can be printed (--explain) and tested without a
 * device.
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

static const struct npu_envelope *env_or_safe(const struct npu_envelope *env) { return env ? env : &npu_envelope_safe; }

/* Rows per task for one K-slice: the CBUF rule, capped by the envelope's rows. */
uint32_t rk_plan_m_tile(enum rk_gemm_mode mode, uint32_t kpad, const struct npu_envelope *env)
{
    uint32_t cap = env_or_safe(env)->m_tile_max;
    if (rk_mode_int8(mode)) {
        /* HM's board-verified int8 envelope (docs/hardware/limits.md §5): ≤ 8 data banks up to K=4096, then
         * the rows of i8_large_k_rows (with FEATURE_GRAINS=30, which the builder sets). */
        if (kpad <= NPU_I8_LARGE_KPAD) return min_u(cap, RK_GEMM_I8_DATA_BANKS * NPU_CBUF_BANK_BYTES / kpad);
        uint32_t i = 0;
        while (i + 1 < sizeof i8_large_k_rows / sizeof i8_large_k_rows[0] && kpad > i8_large_k_rows[i].kpad_max) i++;
        return min_u(cap, i8_large_k_rows[i].rows);
    }
    /* fp16: the weight banks of FP16_WBANK_KERNELS kernels, the rest hold A (HM-F16, docs/hardware/limits.md §5). */
    uint32_t bpe = (uint32_t)rk_dtype_size(RK_FP16);
    uint32_t wb = div_up((uint64_t)kpad * bpe * FP16_WBANK_KERNELS, NPU_CBUF_BANK_BYTES);
    wb = wb < FP16_WBANKS_MIN ? FP16_WBANKS_MIN : wb > NPU_CBUF_BANKS - 1 ? NPU_CBUF_BANKS - 1 : wb;
    uint32_t rows = (NPU_CBUF_BANKS - wb) * NPU_CBUF_BANK_BYTES / (kpad * bpe);
    return rows < 1 ? 1 : min_u(cap, rows);
}

uint32_t rk_tile_npad(const struct rk_wlayout *L, const struct rk_core_share *cs, uint32_t t)
{
    return rk_npad(in_dtype(L->mode), rk_tile_n(cs, t));
}

/* K per task in this mode: the envelope's, which stays within the hard limits (npu_envelope_validate). */
static uint32_t k_task_max(enum rk_gemm_mode mode, const struct npu_envelope *env)
{
    return rk_mode_int8(mode) ? env->k_task_max_int8 : env->k_task_max_fp16;
}

uint32_t rk_model_clock_mhz(enum rk_model_clock c)
{
    return c == RK_CLOCK_MAINLINE ? NPU_CLOCK_MAINLINE_MHZ : NPU_CLOCK_VENDOR_MHZ;
}

static struct npu_model_work task_work(enum rk_gemm_mode mode, uint32_t m, uint32_t kpad, uint32_t npad,
                                       bool weight_reuse)
{
    struct npu_model_work w = npu_model_work_matmul(m, kpad, npad, rk_mode_int8(mode) ? NPU_PREC_INT8 : NPU_PREC_FP16,
                                                    (uint32_t)rk_dtype_size(out_dtype(mode)));
    w.weights_reused = weight_reuse;
    return w;
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

/* MODEL cost of one slicing for a prefill-sized M (the case the NPU is for, docs/hardware/measurements.md §5): both
 * bounds at both clocks, since at 200 MHz compute dominates and at 1 GHz the weight re-reads per M-tile
 * (docs/hardware/measurements.md §4). */
static uint64_t slicing_cost(const struct rk_wlayout *L, uint32_t n)
{
    const uint32_t M = SLICING_COST_M;
    uint64_t ns = 0;
    uint32_t ntile = min_u(n, L->env.n_tile_max), ntiles = div_up(n, ntile);
    for (uint32_t s = 0; s < L->slices; s++) {
        uint32_t mt = rk_plan_m_tile(L->mode, L->kpad[s], &L->env), tiles = div_up(M, mt);
        struct npu_model_work w = task_work(L->mode, div_up(M, tiles), L->kpad[s], ntile, false);
        for (int c = 0; c < RK_MODEL_CLOCKS; c++)
            for (int b = 0; b < NPU_MODEL_BOUNDS; b++)
                ns += (uint64_t)tiles * ntiles *
                      npu_model_task_ns(&w, rk_model_clock_mhz((enum rk_model_clock)c), L->cores,
                                        (enum npu_model_bound)b);
        ns += (uint64_t)M * n * 4 * 2 / 4; /* host: read one more int32 partial per output (~4 GB/s) */
    }
    return ns;
}

int rk_gemm_supports(int64_t K, int64_t N, enum rk_gemm_mode mode, const struct npu_envelope *env, char *why,
                     size_t whylen)
{
    env = env_or_safe(env);
    if (mode != RK_GEMM_INT8 && mode != RK_GEMM_FP16 && mode != RK_GEMM_INT8_HAD)
        return why_fail(why, whylen, -EINVAL, "unknown mode %d", (int)mode);
    if (K < 1 || N < 1) return why_fail(why, whylen, -EINVAL, "empty weight K=%" PRId64 " N=%" PRId64, K, N);
    /* The engine's outputs: exact int32 for the int8 modes, fp32 for fp16 (docs/hardware/arithmetic.md §7). */
    uint32_t pair = rk_mode_int8(mode) ? NPU_PAIR_I8_I32 : NPU_PAIR_F16_F32;
    if (!(env->out_pairs & pair))
        return why_fail(why, whylen, -ENOTSUP, "envelope '%s' does not include %s output, which mode %s needs",
                        npu_envelope_name(env->kind), rk_mode_int8(mode) ? "int8->int32" : "fp16->fp32",
                        rk_gemm_mode_name(mode));
    uint64_t kmax = (uint64_t)RK_GEMM_MAX_SLICES * k_task_max(mode, env);
    if ((uint64_t)K > kmax)
        return why_fail(why, whylen, -ENOTSUP,
                        "K=%" PRId64 " > %" PRIu64 " (%d K-slices of at most %u in envelope '%s')", K, kmax,
                        RK_GEMM_MAX_SLICES, k_task_max(mode, env), npu_envelope_name(env->kind));
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

/* A core's columns in balanced N-tiles of at most tile_units 32-column units (rk_tile_* computes them). */
static void cut_n_tiles(struct rk_core_share *cs, uint32_t tile_units)
{
    cs->units = div_up(cs->n, RK_GEMM_N_UNIT);
    cs->ntiles = div_up(cs->units, tile_units ? tile_units : 1);
}

int rk_layout_make(int64_t K64, int64_t N64, enum rk_gemm_mode mode, uint32_t cores, const struct npu_envelope *env,
                   struct rk_wlayout *L, char *why, size_t whylen)
{
    env = env_or_safe(env);
    int rc = rk_gemm_supports(K64, N64, mode, env, why, whylen);
    if (rc) return rc;
    if (cores < 1 || cores > NPU_CORES)
        return why_fail(why, whylen, -EINVAL, "cores must be 1..%u (got %u)", NPU_CORES, cores);
    uint32_t K = (uint32_t)K64, N = (uint32_t)N64;
    memset(L, 0, sizeof *L);
    L->env = *env;
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
        cut_n_tiles(cs, env->n_tile_max / RK_GEMM_N_UNIT);
    }

    /* K-slices: the fewest of at most the envelope's K per task (int8 ≤ 8192, MF-rocket:
     * docs/hardware/limits.md §5; fp16 ≤ 4096 in the vendor envelope) outside the int8 hazard window; among the
     * next few slicings take the cheapest by the timing MODEL at M=512 (larger slices mean fewer rows per task
     * and more weight re-reads, ORK: docs/hardware/limits.md §6.2). */
    uint32_t limit = k_task_max(mode, env);
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
    return (uint64_t)s * p->M * cs->npad + (uint64_t)rk_tile_n0(cs, t) * p->M +
           (uint64_t)m * rk_tile_npad(&p->L, cs, t);
}

struct rk_matmul rk_plan_task_matmul(const struct rk_plan *p, const struct rk_plan_task *t)
{
    const struct rk_wlayout *L = &p->L;
    return (struct rk_matmul){
            .in = in_dtype(L->mode),
            .out = out_dtype(L->mode),
            .m = t->m,
            .k = L->k[t->slice],
            .n = rk_tile_n(&L->core[t->core], t->ntile),
            .a_layout = RK_LAYOUT_ROW_MAJOR,
            .c_layout = RK_LAYOUT_ROW_MAJOR,
            /* in place, a K-slice reads its columns of the full-width A (regcmd.h a_row_stride); packed, its
             * own region holds rows of exactly its K */
            .a_row_stride = rk_plan_slices_in_place(p) ? L->Kpad : 0,
            .weight_reuse = t->weight_reuse,
    };
}

void rk_plan_task_offsets(const struct rk_plan *p, const struct rk_plan_task *t, uint64_t *a, uint64_t *b, uint64_t *c)
{
    const struct rk_wlayout *L = &p->L;
    const struct rk_core_share *cs = &L->core[t->core];
    if (rk_plan_slices_packed(p)) /* slice s's region follows the regions before it, M rows of kpad[s] */
        *a = ((uint64_t)p->M * L->k0[t->slice] + (uint64_t)t->m0 * L->kpad[t->slice]) * L->bpe;
    else
        *a = ((uint64_t)t->m0 * L->Kpad + L->k0[t->slice]) * L->bpe;
    /* one kernel group is contiguous over the slice's K, so an N-tile at n0 starts at n0·Kpad·bpe
     * (docs/hardware/layouts.md §3.2) */
    *b = cs->b_off[t->slice] + (uint64_t)rk_tile_n0(cs, t->ntile) * L->kpad[t->slice] * L->bpe;
    *c = rk_plan_c_index(p, t->core, t->slice, t->ntile, t->m0) * 4;
}

/* WEIGHT_REUSE needs the N-tile's weights resident in the weight banks the M-tile leaves, with one spare bank
 * as Mesa keeps for its resident weights (docs/hardware/limits.md §6.1, §6.3). */
#define REUSE_SPARE_BANKS 1

static uint32_t banks_for(uint64_t bytes) { return div_up(bytes, NPU_CBUF_BANK_BYTES); }

static bool weights_stay_in_cbuf(const struct rk_wlayout *L, uint32_t m, uint32_t kpad, uint32_t npad)
{
    uint32_t data = npu_data_banks_needed(1, m, kpad, L->bpe);
    return data < NPU_CBUF_BANKS &&
           banks_for((uint64_t)kpad * npad * L->bpe) + REUSE_SPARE_BANKS <= NPU_CBUF_BANKS - data;
}

/* The widest N-tile (in 32-column units) whose weights stay in CBUF next to every slice's largest M-tile. */
static uint32_t reuse_tile_units(const struct rk_plan *p, const uint32_t *mtiles)
{
    const struct rk_wlayout *L = &p->L;
    uint32_t units = min_u(L->env.n_tile_max, p->env.n_tile_max) / RK_GEMM_N_UNIT;
    for (uint32_t s = 0; s < L->slices; s++) {
        uint32_t data = npu_data_banks_needed(1, div_up(p->M, mtiles[s]), L->kpad[s], L->bpe);
        uint32_t free_banks = NPU_CBUF_BANKS > data + REUSE_SPARE_BANKS ? NPU_CBUF_BANKS - data - REUSE_SPARE_BANKS : 0;
        units = min_u(units, (uint32_t)((uint64_t)free_banks * NPU_CBUF_BANK_BYTES /
                                        ((uint64_t)L->kpad[s] * L->bpe * RK_GEMM_N_UNIT)));
    }
    return units;
}

/* One core's tasks in order (slice > N-tile > M-tile, so an N-tile's M-tiles run back to back), split into
 * jobs by the pessimistic MODEL at the split clock, with the MODEL added up at both clocks and bounds. With
 * emit, the tasks are written into the plan. */
struct core_walk {
    uint64_t busy[RK_MODEL_CLOCKS][NPU_MODEL_BOUNDS], max_job_ns, dma_bytes, macs;
    uint32_t tasks, jobs, reuse_tasks;
};

static uint64_t walk_cost(const struct core_walk *w)
{
    uint64_t ns = 0;
    for (int c = 0; c < RK_MODEL_CLOCKS; c++)
        for (int b = 0; b < NPU_MODEL_BOUNDS; b++) ns += w->busy[c][b];
    return ns;
}

static void walk_core(struct rk_plan *p, uint32_t c, const uint32_t *mtiles, bool reuse, bool emit, struct core_walk *w)
{
    const struct rk_wlayout *L = &p->L;
    const struct rk_core_share *cs = &L->core[c];
    uint64_t job_ns = 0;
    uint32_t job_tasks = 0, tasks_max = min_u(p->env.tasks_per_job_max, NPU_TASKS_PER_KICK_MAX);
    memset(w, 0, sizeof *w);
    for (uint32_t s = 0; s < L->slices; s++)
        for (uint32_t t = 0; t < cs->ntiles; t++) {
            uint32_t prev_banks = 0;
            for (uint32_t i = 0, m0 = 0; i < mtiles[s]; i++) {
                /* balanced M-tiles: sizes differ by at most one row */
                uint32_t m = p->M / mtiles[s] + (i < p->M % mtiles[s]);
                uint32_t banks = npu_data_banks_needed(1, m, L->kpad[s], L->bpe);
                /* the previous task loaded this N-tile's weights with the same bank split */
                uint32_t npad = rk_tile_npad(L, cs, t);
                bool reused = reuse && i > 0 && banks == prev_banks && weights_stay_in_cbuf(L, m, L->kpad[s], npad);
                struct npu_model_work wk = task_work(L->mode, m, L->kpad[s], npad, reused);
                uint64_t split = npu_model_task_ns(&wk, p->split_clock_mhz, L->cores, NPU_MODEL_PESSIMISTIC);
                bool start = !job_tasks || job_ns + split > p->job_budget_ns || job_tasks >= tasks_max;
                if (start && reused) { /* a new job may find another fd's weights in CBUF */
                    reused = wk.weights_reused = false;
                    split = npu_model_task_ns(&wk, p->split_clock_mhz, L->cores, NPU_MODEL_PESSIMISTIC);
                }
                if (start) {
                    if (job_tasks && job_ns > w->max_job_ns) w->max_job_ns = job_ns;
                    w->jobs++, job_tasks = 0;
                    job_ns = npu_model_job_overhead_ns(NPU_MODEL_PESSIMISTIC);
                    for (int k = 0; k < RK_MODEL_CLOCKS; k++)
                        for (int b = 0; b < NPU_MODEL_BOUNDS; b++)
                            w->busy[k][b] += npu_model_job_overhead_ns((enum npu_model_bound)b);
                }
                job_ns += split, job_tasks++;
                for (int k = 0; k < RK_MODEL_CLOCKS; k++)
                    for (int b = 0; b < NPU_MODEL_BOUNDS; b++)
                        w->busy[k][b] += npu_model_task_ns(&wk, rk_model_clock_mhz((enum rk_model_clock)k), L->cores,
                                                           (enum npu_model_bound)b);
                w->dma_bytes += wk.bytes_in + wk.bytes_out - (reused ? wk.weight_bytes : 0);
                w->macs += (uint64_t)m * L->k[s] * rk_tile_n(cs, t);
                w->reuse_tasks += reused;
                if (emit)
                    p->tasks[p->ntasks++] = (struct rk_plan_task){.core = (uint8_t)c,
                                                                  .slice = (uint8_t)s,
                                                                  .job_start = start,
                                                                  .weight_reuse = reused,
                                                                  .ntile = t,
                                                                  .m0 = m0,
                                                                  .m = m,
                                                                  .model_split_ns = split};
                w->tasks++;
                m0 += m, prev_banks = banks;
            }
        }
    if (job_ns > w->max_job_ns) w->max_job_ns = job_ns;
}

/* Where the envelope allows it, cut the core's N-tiles for WEIGHT_REUSE if the MODEL finds that cheaper. */
static void choose_reuse(struct rk_plan *p, uint32_t c, const uint32_t *mtiles, bool *reuse)
{
    *reuse = false;
    if (!p->env.weight_reuse) return;
    struct core_walk plain, r;
    walk_core(p, c, mtiles, false, false, &plain);
    struct rk_core_share saved = p->L.core[c];
    uint32_t units = reuse_tile_units(p, mtiles);
    if (units) {
        cut_n_tiles(&p->L.core[c], units);
        walk_core(p, c, mtiles, true, false, &r);
        *reuse = r.reuse_tasks && walk_cost(&r) < walk_cost(&plain);
    }
    if (!*reuse) p->L.core[c] = saved;
}

/* The layout was cut for its own envelope when the weight was prepared; a plan in another envelope may only
 * narrow the rows and the job structure, never widen the K-slices or N-tiles beyond what it allows. */
static int layout_fits(const struct rk_wlayout *L, const struct npu_envelope *env, char *why, size_t whylen)
{
    const char *name = npu_envelope_name(env->kind);
    if (!(env->out_pairs & (rk_mode_int8(L->mode) ? NPU_PAIR_I8_I32 : NPU_PAIR_F16_F32)))
        return why_fail(why, whylen, -ENOTSUP, "envelope '%s' does not include the output mode %s needs", name,
                        rk_gemm_mode_name(L->mode));
    for (uint32_t s = 0; s < L->slices; s++)
        if (L->kpad[s] > k_task_max(L->mode, env))
            return why_fail(why, whylen, -ENOTSUP,
                            "the weight's K-slice %u of %u is wider than envelope '%s' allows (%u)", s, L->kpad[s],
                            name, k_task_max(L->mode, env));
    for (uint32_t c = 0; c < L->cores; c++)
        if (rk_tile_n(&L->core[c], 0) > env->n_tile_max) /* the first tiles are the widest */
            return why_fail(why, whylen, -ENOTSUP,
                            "the weight's N-tiles of %u columns are wider than envelope '%s' allows (%u)",
                            rk_tile_n(&L->core[c], 0), name, env->n_tile_max);
    return 0;
}

int rk_plan_make(const struct rk_wlayout *L, uint32_t M, const struct npu_envelope *env, uint32_t job_budget_ms,
                 struct rk_plan *p, char *why, size_t whylen)
{
    memset(p, 0, sizeof *p);
    if (M < 1) return why_fail(why, whylen, -EINVAL, "M=%u: nothing to compute", M);
    if (M > RK_GEMM_M_MAX) return why_fail(why, whylen, -ENOTSUP, "M=%u > %d rows per call", M, RK_GEMM_M_MAX);
    p->L = *L, p->M = M, p->env = env ? *env : L->env;
    int rc = layout_fits(L, &p->env, why, whylen);
    if (rc) return rc;
    /* Budget per job: the envelope's (far below the 500 ms timeout, docs/hardware/rocket-uapi.md §1.3), against the
     * pessimistic MODEL at the clock the model assumes (the mainline clock unless a board profile says). */
    p->split_clock_mhz = npu_model_clock_mhz();
    uint32_t budget_ms = job_budget_ms ? job_budget_ms : p->env.job_budget_ms;
    p->job_budget_ns = budget_ms ? (uint64_t)budget_ms * 1000000 : npu_model_job_timeout_ns() / 2;
    if (p->job_budget_ns > npu_model_job_timeout_ns()) p->job_budget_ns = npu_model_job_timeout_ns();

    uint32_t mtiles[RK_GEMM_MAX_SLICES];
    for (uint32_t s = 0; s < L->slices; s++) {
        p->m_tile[s] = rk_plan_m_tile(L->mode, L->kpad[s], &p->env);
        mtiles[s] = div_up(M, p->m_tile[s]);
    }
    bool reuse[NPU_CORES] = {false};
    uint64_t count = 0;
    for (uint32_t c = 0; c < L->cores; c++) {
        choose_reuse(p, c, mtiles, &reuse[c]);
        for (uint32_t s = 0; s < L->slices; s++) count += (uint64_t)mtiles[s] * p->L.core[c].ntiles;
    }
    p->tasks = calloc(count, sizeof *p->tasks);
    if (!p->tasks) return why_fail(why, whylen, -ENOMEM, "out of memory for %" PRIu64 " tasks", count);
    size_t seg = rk_regcmd_segment_entries(RK_REGCMD_BODY_ENTRIES) * 8;
    uint64_t busy[RK_MODEL_CLOCKS][NPU_MODEL_BOUNDS][NPU_CORES] = {{{0}}};
    for (uint32_t c = 0; c < L->cores; c++) {
        const struct rk_core_share *cs = &p->L.core[c];
        struct rk_plan_core *pc = &p->core[c];
        struct core_walk w;
        pc->task0 = p->ntasks;
        walk_core(p, c, mtiles, reuse[c], true, &w);
        if (w.max_job_ns > npu_model_job_timeout_ns())
            return why_fail(why, whylen, -ENOTSUP, "one task alone exceeds the job timeout in the pessimistic MODEL");
        pc->tasks = w.tasks, pc->jobs = w.jobs, pc->reuse_tasks = w.reuse_tasks;
        pc->max_job_ns = w.max_job_ns, pc->dma_bytes = w.dma_bytes;
        memcpy(pc->busy_ns, w.busy, sizeof pc->busy_ns);
        for (int k = 0; k < RK_MODEL_CLOCKS; k++)
            for (int b = 0; b < NPU_MODEL_BOUNDS; b++) busy[k][b][c] = w.busy[k][b];
        pc->a_bytes = (uint64_t)M * L->Kpad * L->bpe;
        pc->c_bytes = (uint64_t)L->slices * M * cs->npad * 4;
        pc->regcmd_bytes = (uint64_t)pc->tasks * seg;
        p->njobs += pc->jobs, p->reuse_tasks += pc->reuse_tasks;
        p->dma_bytes += pc->dma_bytes, p->macs += w.macs;
        if (pc->max_job_ns > p->max_job_ns) p->max_job_ns = pc->max_job_ns;
        if (pc->a_bytes >= UINT32_MAX || pc->c_bytes >= UINT32_MAX || pc->regcmd_bytes >= UINT32_MAX)
            return why_fail(why, whylen, -E2BIG,
                            "M=%u: scratch buffers of core %u exceed 4 GiB (A %" PRIu64 ", C %" PRIu64
                            " bytes); split M",
                            M, c, pc->a_bytes, pc->c_bytes);
    }
    for (int k = 0; k < RK_MODEL_CLOCKS; k++)
        for (int b = 0; b < NPU_MODEL_BOUNDS; b++)
            p->model_ns[k][b] =
                    npu_model_parallel_bound_ns(busy[k][b], (int)L->cores, p->dma_bytes, (enum npu_model_bound)b);
    return 0;
}

void rk_plan_free(struct rk_plan *p)
{
    free(p->tasks);
    p->tasks = NULL;
}

/* "a.aaa-b.bbb ms @200 MHz, c.ccc-d.ddd ms @1000 MHz" from [clock][bound] nanoseconds. */
static void print_bounds(FILE *out, const uint64_t ns[RK_MODEL_CLOCKS][NPU_MODEL_BOUNDS])
{
    for (int k = 0; k < RK_MODEL_CLOCKS; k++)
        fprintf(out, "%s%.3f-%.3f ms @%u MHz", k ? ", " : "", ns[k][NPU_MODEL_OPTIMISTIC] / 1e6,
                ns[k][NPU_MODEL_PESSIMISTIC] / 1e6, rk_model_clock_mhz((enum rk_model_clock)k));
}

void rk_plan_print(const struct rk_plan *p, FILE *out)
{
    const struct rk_wlayout *L = &p->L;
    char env[256];
    npu_envelope_describe(&p->env, env, sizeof env);
    fprintf(out, "plan: Y[%u,%u] = X[%u,%u] * W[%u,%u]^T, mode %s (%s x %s -> %s)\n", p->M, L->N, p->M, L->K, L->N,
            L->K, rk_gemm_mode_name(L->mode), rk_mode_int8(L->mode) ? "int8" : "fp16",
            rk_mode_int8(L->mode) ? "int8" : "fp16", rk_mode_int8(L->mode) ? "int32" : "fp32");
    fprintf(out, "  %s\n", env);
    if (L->had_block > 1) fprintf(out, "  X and W rotated by block Hadamard H_%u (host side)\n", L->had_block);
    fprintf(out, "  K: Kpad %u in %u slice(s):", L->Kpad, L->slices);
    for (uint32_t s = 0; s < L->slices; s++)
        fprintf(out, " [%u,+%u pad %u, m_tile %u]", L->k0[s], L->k[s], L->kpad[s], p->m_tile[s]);
    fprintf(out, "%s\n",
            L->slices == 1               ? ""
            : rk_plan_slices_in_place(p) ? "; read in place from one full-width A, partials summed exactly on the host"
                                         : "; each packed in its own A region, partials summed exactly on the host");
    for (uint32_t c = 0; c < L->cores; c++) {
        const struct rk_core_share *cs = &L->core[c];
        const struct rk_plan_core *pc = &p->core[c];
        fprintf(out,
                "  core %u: N [%u,%u) npad %u, %u N-tile(s) of <= %u, %u task(s) (%u reuse weights) in %u job(s); "
                "DMA %.3f MB; MODEL busy ",
                c, cs->n0, cs->n0 + cs->n, cs->npad, cs->ntiles, rk_tile_npad(L, cs, 0), pc->tasks, pc->reuse_tasks,
                pc->jobs, pc->dma_bytes / 1e6);
        print_bounds(out, pc->busy_ns);
        fprintf(out, "; longest job %.3f ms (pessimistic @%u MHz)\n", pc->max_job_ns / 1e6, p->split_clock_mhz);
    }
    fprintf(out,
            "  total: %u task(s), %u job(s) (<= %u tasks, budget %.0f ms/job of the %.0f ms timeout, pessimistic MODEL "
            "@%u MHz; tails %s), %.3f GMAC, DMA %.3f MB\n",
            p->ntasks, p->njobs, p->env.tasks_per_job_max, p->job_budget_ns / 1e6, npu_model_job_timeout_ns() / 1e6,
            p->split_clock_mhz, p->env.chained_tails ? "chained" : "unchained (the kernel kicks each task)",
            p->macs / 1e9, p->dma_bytes / 1e6);
    fprintf(out, "  MODEL NPU time (optimistic-pessimistic, cores in parallel; %s): ", npu_model_source());
    print_bounds(out, p->model_ns);
    fprintf(out, "\n");
    if (p->reuse_tasks)
        fprintf(out,
                "  weight reuse: %u task(s) set CBUF_CON0.WEIGHT_REUSE: an N-tile's M-tiles run back to back and only "
                "the first fetches its weights (docs/hardware/limits.md §6.3)\n",
                p->reuse_tasks);
    else
        fprintf(out, "  weight reuse: none (%s); every M-tile fetches its N-tile's weights\n",
                p->env.weight_reuse ? "not cheaper in the MODEL for this shape" : "the envelope does not allow it");
}

int rk_gemm_explain_shape(int64_t K, int64_t N, int64_t M, enum rk_gemm_mode mode, uint32_t cores,
                          const struct npu_envelope *env, FILE *out)
{
    struct rk_wlayout L;
    struct rk_plan p;
    char why[256];
    int rc = rk_layout_make(K, N, mode, cores ? cores : NPU_CORES, env, &L, why, sizeof why);
    if (!rc) rc = rk_plan_make(&L, (uint32_t)(M > 0 && M <= RK_GEMM_M_MAX ? M : 0), NULL, 0, &p, why, sizeof why);
    if (rc) {
        fprintf(out, "plan: declined: %s\n", why);
        return rc;
    }
    rk_plan_print(&p, out);
    rk_plan_free(&p);
    return 0;
}
