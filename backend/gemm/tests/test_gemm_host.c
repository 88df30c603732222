// SPDX-License-Identifier: MIT
/*
 * Host-side parts of the GEMM engine without a device: the planner's invariants (K-slices within the
 * per-task limits and outside the hazard window, m-tiles within the CBUF rule, N-tiles within the DPU
 * limits, every output covered once, jobs within the budget, every task inside the execution envelope
 * the layout was made for) for the Qwen2.5-1.5B shapes and odd shapes in the safe and vendor envelopes
 * and a narrow board envelope, the vectorised activation quantization and readout against the scalar
 * reference (bit-exact), and the output canaries (an unwritten task is found; no int8 result is a canary
 * word).
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gemm_ref.h"
#include "npu_limits.h"
#include "npu_regs.h"
#include "tap.h"

static const int64_t qwen_kn[][2] = {{1536, 1536}, {1536, 256}, {1536, 8960}, {8960, 1536}, {1536, 151936}};
static const int64_t qwen_m[] = {1, 8, 32, 128, 512};

/* Every plan invariant; returns a reason or NULL. */
static const char *plan_problem(const struct rk_plan *p, char *buf, size_t len)
{
    const struct rk_wlayout *L = &p->L;
    uint32_t k = 0;
    for (uint32_t s = 0; s < L->slices; s++) {
        uint32_t kmax = L->mode == RK_GEMM_FP16 ? L->env.k_task_max_fp16 : L->env.k_task_max_int8;
        if (L->k0[s] != k || L->kpad[s] % 32 || L->kpad[s] > kmax)
            return snprintf(buf, len, "slice %u: k0 %u kpad %u", s, L->k0[s], L->kpad[s]), buf;
        if (L->mode == RK_GEMM_INT8 && L->kpad[s] > NPU_K_HAZARD_LO && L->kpad[s] < NPU_K_HAZARD_HI)
            return snprintf(buf, len, "slice %u in the hazard window: %u", s, L->kpad[s]), buf;
        uint32_t db = npu_data_banks_needed(1, p->m_tile[s], L->kpad[s], L->bpe);
        uint32_t wb = npu_weight_banks_needed(L->kpad[s], L->mode == RK_GEMM_FP16 ? 2 : 0);
        if (db + wb > NPU_CBUF_BANKS || (L->mode == RK_GEMM_INT8 && db > 8) || p->m_tile[s] > p->env.m_tile_max)
            return snprintf(buf, len, "slice %u: m_tile %u needs %u+%u banks", s, p->m_tile[s], db, wb), buf;
        k += L->k[s];
    }
    if (k != L->K) return snprintf(buf, len, "slices cover K=%u of %u", k, L->K), buf;
    /* coverage: each (m, n) once per slice */
    uint32_t n = 0;
    for (uint32_t c = 0; c < L->cores; c++) {
        const struct rk_core_share *cs = &L->core[c];
        if (cs->n0 != n || cs->n0 % 32) return snprintf(buf, len, "core %u starts at %u", c, cs->n0), buf;
        n += cs->n;
        for (uint32_t t = 0, next = 0; t < cs->ntiles; t++) {
            uint32_t n0 = rk_tile_n0(cs, t), npad = rk_tile_npad(L, cs, t);
            if (n0 != next || npad > L->env.n_tile_max || n0 % 32 || npad / 4 - 1 > NPU_NOTCH_MAX)
                return snprintf(buf, len, "core %u tile %u: n0 %u npad %u", c, t, n0, npad), buf;
            next = n0 + rk_tile_n(cs, t);
            if (t + 1 == cs->ntiles && next != cs->n)
                return snprintf(buf, len, "core %u: tiles cover %u of %u columns", c, next, cs->n), buf;
        }
    }
    if (n != L->N) return snprintf(buf, len, "cores cover N=%u of %u", n, L->N), buf;
    uint64_t rows = 0;
    for (uint32_t i = 0; i < p->ntasks; i++) {
        const struct rk_plan_task *t = &p->tasks[i];
        if (t->m > p->m_tile[t->slice] || t->m0 + t->m > p->M)
            return snprintf(buf, len, "task %u rows [%u,+%u)", i, t->m0, t->m), buf;
        rows += (uint64_t)t->m * rk_tile_n(&L->core[t->core], t->ntile);
        struct rk_matmul mm = rk_plan_task_matmul(p, t);
        char why[200];
        if (rk_matmul_check(&mm, why, sizeof why))
            return snprintf(buf, len, "task %u rejected by the builder: %s", i, why), buf;
        /* the software NPU checks the same against the envelope it was opened with */
        struct npu_task_geom g = {.in_prec = rk_dtype_precision(mm.in),
                                  .out_prec = rk_dtype_precision(mm.out),
                                  .w = 1,
                                  .h = mm.m,
                                  .kpad = rk_kpad(mm.k),
                                  .npad = rk_npad(mm.in, mm.n)};
        bool chained = p->env.chained_tails && i + 1 < p->ntasks && !p->tasks[i + 1].job_start &&
                       p->tasks[i + 1].core == t->core;
        struct npu_task_features f = {.line_stride_atoms =
                                              (uint32_t)(rk_a_stride(&mm) * rk_dtype_size(mm.in) / NPU_ATOM_BYTES),
                                      .chained = chained,
                                      .weight_reuse = t->weight_reuse};
        if (npu_envelope_task_check(&p->env, &g, &f, why, sizeof why))
            return snprintf(buf, len, "task %u outside the envelope: %s", i, why), buf;
        uint64_t a, b, c;
        rk_plan_task_offsets(p, t, &a, &b, &c);
        if (a + (uint64_t)(mm.m - 1) * rk_a_stride(&mm) * L->bpe + (uint64_t)rk_kpad(mm.k) * L->bpe >
            p->core[t->core].a_bytes)
            return snprintf(buf, len, "task %u reads A beyond the buffer", i), buf;
    }
    for (uint32_t c = 0; c < L->cores; c++) {
        uint32_t tasks = 0, jobs = 0;
        for (uint32_t i = p->core[c].task0; i < p->core[c].task0 + p->core[c].tasks; i++) {
            if (p->tasks[i].job_start) tasks = 0, jobs++;
            if (++tasks > p->env.tasks_per_job_max)
                return snprintf(buf, len, "core %u: a job of more than %u tasks", c, p->env.tasks_per_job_max), buf;
        }
        if (jobs != p->core[c].jobs)
            return snprintf(buf, len, "core %u: %u job starts, %u jobs", c, jobs, p->core[c].jobs), buf;
    }
    for (uint32_t i = 0; i < p->ntasks; i++) {
        /* WEIGHT_REUSE: only after a task of the same core, slice and N-tile, in the same job, same bank split */
        const struct rk_plan_task *t = &p->tasks[i], *q = i ? &p->tasks[i - 1] : NULL;
        if (!t->weight_reuse) continue;
        if (!q || t->job_start || q->core != t->core || q->slice != t->slice || q->ntile != t->ntile ||
            npu_data_banks_needed(1, q->m, L->kpad[t->slice], L->bpe) !=
                    npu_data_banks_needed(1, t->m, L->kpad[t->slice], L->bpe) ||
            !p->env.weight_reuse)
            return snprintf(buf, len, "task %u reuses weights it cannot have in CBUF", i), buf;
    }
    if (rows != (uint64_t)p->M * L->N * L->slices)
        return snprintf(buf, len, "tasks cover %llu outputs, want %llu", (unsigned long long)rows,
                        (unsigned long long)p->M * L->N * L->slices),
               buf;
    if (p->max_job_ns > p->job_budget_ns + npu_model_job_overhead_ns(NPU_MODEL_PESSIMISTIC))
        return snprintf(buf, len, "job of %.3f ms > budget", p->max_job_ns / 1e6), buf;
    for (int k = 0; k < RK_MODEL_CLOCKS; k++)
        if (p->model_ns[k][NPU_MODEL_OPTIMISTIC] > p->model_ns[k][NPU_MODEL_PESSIMISTIC] ||
            !p->model_ns[k][NPU_MODEL_OPTIMISTIC])
            return snprintf(buf, len, "MODEL bounds out of order at %u MHz", rk_model_clock_mhz(k)), buf;
    return NULL;
}

/* A board envelope narrower than safe in K and columns, wider in rows, with in-place slices and chained tails:
 * what calibrate might write for a board with flaws. */
static struct npu_envelope narrow_board(void)
{
    struct npu_envelope b = npu_envelope_vendor;
    b.kind = NPU_ENVELOPE_BOARD;
    b.m_tile_max = 33, b.n_tile_max = 96, b.k_task_max_int8 = 1536, b.k_task_max_fp16 = 1024;
    b.tasks_per_job_max = 7, b.job_budget_ms = 3;
    return b;
}

static void test_plans(void)
{
    char buf[256];
    struct npu_envelope board = narrow_board();
    const struct npu_envelope *envs[] = {&npu_envelope_safe, &npu_envelope_vendor, &board};
    for (size_t ei = 0; ei < 3; ei++)
        for (int mode = 0; mode < 2; mode++) {
            int bad = 0, n = 0;
            for (size_t s = 0; s < sizeof qwen_kn / sizeof *qwen_kn; s++)
                for (size_t mi = 0; mi < sizeof qwen_m / sizeof *qwen_m; mi++) {
                    struct rk_wlayout L;
                    struct rk_plan p;
                    char why[256];
                    int rc = rk_layout_make(qwen_kn[s][0], qwen_kn[s][1], mode, 3, envs[ei], &L, why, sizeof why);
                    if (!rc) rc = rk_plan_make(&L, (uint32_t)qwen_m[mi], NULL, 0, &p, why, sizeof why);
                    const char *prob = rc ? why : plan_problem(&p, buf, sizeof buf);
                    if (prob && !bad++)
                        tap_diag("K=%lld N=%lld M=%lld: %s", (long long)qwen_kn[s][0], (long long)qwen_kn[s][1],
                                 (long long)qwen_m[mi], prob);
                    if (!rc) rk_plan_free(&p);
                    n++;
                }
            tap_ok(!bad, "envelope %s: %s plans for the %d Qwen2.5-1.5B shape x M cases satisfy every invariant",
                   npu_envelope_name(envs[ei]->kind), rk_gemm_mode_name(mode), n);
        }
    {
        /* the envelope decides the tiles: ffn_down at M=512 */
        struct rk_wlayout L;
        struct rk_plan p;
        char why[256];
        uint32_t mt[3], nt[3], jobs[3];
        for (size_t ei = 0; ei < 3; ei++) {
            rk_layout_make(8960, 1536, RK_GEMM_INT8, 3, envs[ei], &L, why, sizeof why);
            rk_plan_make(&L, 512, NULL, 0, &p, why, sizeof why);
            mt[ei] = p.m_tile[0], nt[ei] = rk_tile_npad(&L, &L.core[0], 0), jobs[ei] = p.njobs;
            rk_plan_free(&p);
        }
        tap_ok(mt[0] == 32 && nt[0] == 256, "safe: ffn_down M-tiles of %u rows, N-tiles of %u columns", mt[0], nt[0]);
        tap_ok(mt[1] > 32 && nt[1] == 512, "vendor: M-tiles of %u rows, N-tiles of %u (a core's whole share)", mt[1],
               nt[1]);
        tap_ok(mt[2] <= 33 && nt[2] == 96 && jobs[2] > jobs[1], "board: %u rows, %u columns, %u jobs (vendor %u)",
               mt[2], nt[2], jobs[2], jobs[1]);
        rk_layout_make(8960, 1536, RK_GEMM_INT8, 3, &board, &L, why, sizeof why);
        tap_ok(L.slices >= 6, "board: K=8960 in %u slices of <= 1536", L.slices);
        rk_layout_make(1536, 151936, RK_GEMM_INT8, 3, NULL, &L, why, sizeof why);
        tap_ok(L.core[0].ntiles > 64, "safe: the lm_head needs %u N-tiles per core (no fixed tile table)",
               L.core[0].ntiles);
        tap_ok(rk_gemm_supports(1536, 256, RK_GEMM_INT8, &board, why, sizeof why) == 0 &&
                       rk_gemm_supports(64 * 1536 + 32, 256, RK_GEMM_INT8, &board, why, sizeof why) == -ENOTSUP,
               "board: K up to 64 slices of 1536 (%s)", why);
        struct npu_envelope no_i32 = board;
        no_i32.out_pairs = NPU_PAIR_F16_F32;
        tap_ok(rk_gemm_supports(1536, 256, RK_GEMM_INT8, &no_i32, why, sizeof why) == -ENOTSUP &&
                       strstr(why, "int8->int32") &&
                       rk_gemm_supports(1536, 256, RK_GEMM_FP16, &no_i32, why, sizeof why) == 0,
               "an envelope without int8->int32 declines the int8 modes, keeps fp16");
    }
    /* odd shapes and the hazard window */
    static const int64_t odd[][3] = {{1, 33, 1},      {2, 1000, 1023},  {3, 3584, 100},   {7, 3840, 64},
                                     {100, 4100, 65}, {1, 11008, 2048}, {513, 65535, 40}, {5, 8192, 8192}};
    for (size_t i = 0; i < sizeof odd / sizeof *odd; i++) {
        struct rk_wlayout L;
        struct rk_plan p;
        char why[256];
        int rc = rk_layout_make(odd[i][1], odd[i][2], RK_GEMM_INT8, 3, &npu_envelope_vendor, &L, why, sizeof why);
        if (!rc) rc = rk_plan_make(&L, (uint32_t)odd[i][0], NULL, 0, &p, why, sizeof why);
        const char *prob = rc ? why : plan_problem(&p, buf, sizeof buf);
        tap_ok(!prob, "int8 plan M=%lld K=%lld N=%lld valid (%u slices)", (long long)odd[i][0], (long long)odd[i][1],
               (long long)odd[i][2], rc ? 0 : L.slices);
        if (prob) tap_diag("%s", prob);
        if (!rc) rk_plan_free(&p);
    }
    struct rk_wlayout L;
    char why[256];
    /* WEIGHT_REUSE: attn_k/attn_v at M=512 (96 columns per core) under the vendor envelope, never under safe */
    {
        struct rk_plan p;
        rk_layout_make(1536, 256, RK_GEMM_INT8, 3, &npu_envelope_vendor, &L, why, sizeof why);
        int rc = rk_plan_make(&L, 512, &npu_envelope_vendor, 0, &p, why, sizeof why);
        const char *prob = rc ? why : plan_problem(&p, buf, sizeof buf);
        tap_ok(!prob && p.reuse_tasks == 9, "k/v M=512, vendor: %u of %u tasks reuse CBUF weights%s%s", p.reuse_tasks,
               p.ntasks, prob ? ": " : "", prob ? prob : "");
        struct rk_plan q;
        struct npu_envelope no = npu_envelope_vendor;
        no.weight_reuse = false;
        rc = rk_plan_make(&L, 512, &no, 0, &q, why, sizeof why);
        tap_ok(!rc && !q.reuse_tasks &&
                       q.model_ns[RK_CLOCK_VENDOR][NPU_MODEL_PESSIMISTIC] >
                               p.model_ns[RK_CLOCK_VENDOR][NPU_MODEL_PESSIMISTIC],
               "  without reuse: none, and the MODEL is slower (%.3f vs %.3f ms @1 GHz, pessimistic)",
               q.model_ns[RK_CLOCK_VENDOR][NPU_MODEL_PESSIMISTIC] / 1e6,
               p.model_ns[RK_CLOCK_VENDOR][NPU_MODEL_PESSIMISTIC] / 1e6);
        rk_plan_free(&q);
        rc = rk_plan_make(&L, 512, &npu_envelope_safe, 0, &q, why, sizeof why);
        tap_ok(!rc && !q.reuse_tasks && q.job_budget_ns == npu_envelope_safe.job_budget_ms * 1000000ull,
               "  safe: no reuse, the safe job budget (%.0f ms)", q.job_budget_ns / 1e6);
        rk_plan_free(&q);
        rk_plan_free(&p);
    }
    {
        /* a plan in another envelope than the weight's layout: narrower rows are fine, wider tiles are not */
        struct rk_plan q;
        rk_layout_make(1536, 8960, RK_GEMM_INT8, 3, &npu_envelope_vendor, &L, why, sizeof why);
        int rc = rk_plan_make(&L, 64, &npu_envelope_safe, 0, &q, why, sizeof why);
        tap_ok(rc == -ENOTSUP && strstr(why, "N-tiles of") && strstr(why, "'safe'"),
               "a vendor layout of ffn_up is declined by a safe plan (%s)", why);
        struct npu_envelope narrow = npu_envelope_vendor;
        narrow.m_tile_max = 16;
        rc = rk_plan_make(&L, 64, &narrow, 0, &q, why, sizeof why);
        tap_ok(!rc && q.m_tile[0] == 16 && !plan_problem(&q, buf, sizeof buf),
               "  a plan with fewer rows per task than the layout's envelope is fine (%u rows)", rc ? 0 : q.m_tile[0]);
        if (!rc) rk_plan_free(&q);
        rk_layout_make(8960, 1536, RK_GEMM_INT8, 3, &npu_envelope_vendor, &L, why, sizeof why);
        narrow.k_task_max_int8 = L.kpad[0] - NPU_KGROUP_INT8; /* just below the layout's first slice */
        rc = rk_plan_make(&L, 64, &narrow, 0, &q, why, sizeof why);
        tap_ok(rc == -ENOTSUP && strstr(why, "K-slice"), "  K-slices wider than the plan's envelope: declined (%s)",
               why);
        narrow = npu_envelope_vendor;
        narrow.out_pairs = NPU_PAIR_F16_F32;
        rc = rk_plan_make(&L, 64, &narrow, 0, &q, why, sizeof why);
        tap_ok(rc == -ENOTSUP && strstr(why, "output mode"), "  an envelope without the mode's output: declined (%s)",
               why);
    }
    rk_layout_make(8960, 1536, RK_GEMM_INT8, 3, NULL, &L, why, sizeof why);
    tap_ok(L.slices >= 2, "ffn_down K=8960 is split into %u K-slices (int8 <= 8192 per task)", L.slices);
    rk_layout_make(1536, 151936, RK_GEMM_INT8, 3, &npu_envelope_vendor, &L, why, sizeof why);
    tap_ok(L.cores == 3 && L.core[0].ntiles > 1, "lm_head: N split over 3 cores, %u N-tiles on core 0",
           L.core[0].ntiles);
    rk_layout_make(1536, 20, RK_GEMM_INT8, 3, NULL, &L, why, sizeof why);
    tap_ok(L.cores == 1, "N=20 uses one core");
    int rc = rk_layout_make(600000, 8, RK_GEMM_INT8, 3, NULL, &L, why, sizeof why);
    tap_ok(rc == -ENOTSUP && strlen(why) > 10, "K=600000 declined: %s", why);
    for (int ei = 0; ei < 2; ei++) {
        char text[4096] = "";
        FILE *f = tmpfile();
        rc = rk_gemm_explain_shape(8960, 1536, 512, RK_GEMM_INT8, 3, ei ? &npu_envelope_vendor : NULL, f);
        long sz = f ? ftell(f) : 0;
        if (f) rewind(f), text[fread(text, 1, sizeof text - 1, f)] = 0, fclose(f);
        tap_ok(rc == 0 && sz > 200 && strstr(text, ei ? "envelope vendor" : "envelope safe") &&
                       strstr(text, ei ? "in place" : "packed in its own A region"),
               "explain prints the plan and names the envelope (%s, %ld bytes)", ei ? "vendor" : "safe", sz);
    }
}

static void test_kernels(void)
{
    tap_diag("SIMD: %s", rk_simd_name());
    uint64_t seed = 7;
    static const uint32_t Ks[] = {1, 7, 31, 32, 33, 100, 1536, 1537};
    int bad_i8 = 0, bad_f16 = 0, bad_sx = 0;
    for (size_t i = 0; i < sizeof Ks / sizeof *Ks; i++) {
        uint32_t K = Ks[i], Kpad = (K + 31) / 32 * 32, M = 5;
        float *x = malloc(sizeof(float) * M * (K + 3)), sx1[5], sx2[5];
        uint8_t *a1 = malloc((size_t)M * Kpad * 2), *a2 = malloc((size_t)M * Kpad * 2);
        gr_fill(x, M, K, K + 3, 3.0f, 2, 1000.0f, &seed);
        for (uint32_t k = 0; k < K; k++) x[(K + 3) + k] = 0; /* an all-zero row */
        x[2 * (K + 3)] = 1e-30f;                             /* a tiny row value */
        for (uint32_t k = 0; k < K && k < 8; k++)            /* exact .5 cases: round half to even */
            x[3 * (K + 3) + k] = (float)k + 0.5f;
        memset(a1, 0x55, (size_t)M * Kpad * 2), memset(a2, 0xAA, (size_t)M * Kpad * 2);
        rk_act_quant_i8_ref(x, M, K + 3, K, Kpad, a1, sx1);
        rk_act_quant_i8_simd(x, M, K + 3, K, Kpad, a2, sx2);
        bad_i8 += memcmp(a1, a2, (size_t)M * Kpad) != 0;
        bad_sx += memcmp(sx1, sx2, sizeof sx1) != 0;
        memset(a1, 0x55, (size_t)M * Kpad * 2), memset(a2, 0xAA, (size_t)M * Kpad * 2);
        rk_act_quant_f16_ref(x, M, K + 3, K, Kpad, a1, sx1);
        rk_act_quant_f16_simd(x, M, K + 3, K, Kpad, a2, sx2);
        bad_f16 += memcmp(a1, a2, (size_t)M * Kpad * 2) != 0;
        bad_sx += memcmp(sx1, sx2, sizeof sx1) != 0;
        free(x), free(a1), free(a2);
    }
    tap_ok(!bad_i8, "int8 activation quantization: %s == scalar reference bit for bit (incl. padding)", rk_simd_name());
    tap_ok(!bad_f16, "fp16 activation conversion: %s == scalar reference bit for bit", rk_simd_name());
    tap_ok(!bad_sx, "row scales identical");
    float x[3 * 40];
    int8_t q[64];
    float sx;
    { /* non-finite rows: zeros into A, NaN as their scale, the rows around them quantized as usual */
        uint8_t a_ref[3 * 64 * 2], a_simd[3 * 64 * 2];
        float s_ref[3], s_simd[3];
        for (int i = 0; i < 3 * 40; i++) x[i] = (float)(i % 40 - 20);
        x[40 + 3] = NAN;
        x[40 + 39] = -INFINITY; /* in the scalar tail of a vectorised row */
        for (int f16 = 0; f16 < 2; f16++) {
            memset(a_ref, 0x55, sizeof a_ref), memset(a_simd, 0xAA, sizeof a_simd);
            int n_ref = (f16 ? rk_act_quant_f16_ref : rk_act_quant_i8_ref)(x, 3, 40, 40, 64, a_ref, s_ref);
            int n_simd = (f16 ? rk_act_quant_f16_simd : rk_act_quant_i8_simd)(x, 3, 40, 40, 64, a_simd, s_simd);
            size_t row = 64 * (f16 ? 2 : 1);
            bool zero = true;
            for (size_t i = 0; i < row; i++) zero = zero && a_ref[row + i] == 0;
            tap_ok(n_ref == 1 && n_simd == 1 && isnan(s_ref[1]) && isnan(s_simd[1]) && zero,
                   "%s: one non-finite row of 3 counted, its scale NaN, its A row zeros", f16 ? "fp16" : "int8");
            tap_ok(!memcmp(a_ref, a_simd, 3 * row) && s_ref[0] == s_simd[0] && s_ref[2] == s_simd[2] &&
                           s_ref[0] == s_ref[2] && !memcmp(a_ref, a_ref + 2 * row, row),
                   "%s: the rows around it quantized as usual, %s == scalar", f16 ? "fp16" : "int8", rk_simd_name());
        }
    }
    for (int i = 0; i < 40; i++) x[i] = (float)(i - 20);
    x[3] = -1e6f;
    rk_act_quant_i8_ref(x, 1, 40, 40, 64, q, &sx);
    tap_ok(q[3] == -127 && sx == 1e6f / 127.0f, "symmetric int8: the row max maps to -127, s_x = amax/127");

    /* readout */
    int bad_r = 0;
    for (uint32_t ns = 1; ns <= 3; ns++)
        for (uint32_t n = 1; n < 40; n += 6) {
            int32_t ci[3][40], acc1[40], acc2[40];
            float cf[3][40], sw[40], y1[40], y2[40];
            for (uint32_t s = 0; s < ns; s++)
                for (uint32_t j = 0; j < n; j++) {
                    ci[s][j] = (int32_t)gr_next(&seed); /* full range: the sum wraps */
                    cf[s][j] = gr_uniform(&seed) * 1000;
                }
            for (uint32_t j = 0; j < n; j++) sw[j] = gr_uniform(&seed) * 0.01f;
            const void *pi[3] = {ci[0], ci[1], ci[2]}, *pf[3] = {cf[0], cf[1], cf[2]};
            rk_readout_i32_ref(pi, ns, n, 0.37f, sw, y1, acc1);
            rk_readout_i32_simd(pi, ns, n, 0.37f, sw, y2, acc2);
            bad_r += memcmp(y1, y2, n * 4) || memcmp(acc1, acc2, n * 4);
            rk_readout_f32_ref(pf, ns, n, 0.37f, sw, y1, NULL);
            rk_readout_f32_simd(pf, ns, n, 0.37f, sw, y2, NULL);
            bad_r += memcmp(y1, y2, n * 4) != 0;
        }
    tap_ok(!bad_r, "readout (int32 wrap-around sums and fp32 sums, 1-3 slices): %s == scalar", rk_simd_name());

    int8_t qw[64];
    float w[64], s;
    memset(w, 0, sizeof w);
    tap_ok(rk_quant_row_i8(w, 64, qw, &s) == 0 && s == 1.0f, "all-zero weight row: scale 1");
    tap_ok(rk_pow2_scale_f16(65504.0f * 4) == 16.0f, "fp16 row scale is a power of two keeping |v| < 2^14");
}

/* Canaries on real plans: 2 cores, several K-slices and M-tiles, in each envelope (its rows, columns and
 * slicing decide which rows a task writes); an "NPU" that writes every task's tile except one. */
static void canaries_in(const struct npu_envelope *env)
{
    struct rk_wlayout L;
    struct rk_plan p;
    char why[256];
    const char *name = npu_envelope_name(env->kind);
    int rc = rk_layout_make(8960, 100, RK_GEMM_INT8, 2, env, &L, why, sizeof why);
    if (!rc) rc = rk_plan_make(&L, 300, NULL, 0, &p, why, sizeof why);
    if (!tap_ok(!rc && L.slices > 1 && p.core[1].tasks > 3,
                "%s: plan M=300 K=8960 N=100 on 2 cores: %u slices, %u tasks", name, L.slices, p.ntasks)) {
        tap_diag("%s", why);
        return;
    }
    const uint32_t core = 1;
    const struct rk_plan_core *pc = &p.core[core];
    const struct rk_core_share *cs = &p.L.core[core];
    uint32_t *c = malloc(pc->c_bytes);
    uint64_t seed = 9;
    bool all_found = true, ints = true;
    for (uint32_t skip = 0; skip < pc->tasks; skip++)
        for (unsigned phase = 0; phase < 2; phase++) {
            for (uint64_t i = 0; i < pc->c_bytes / 4; i++) c[i] = rk_canary_word(&L, phase ^ 1); /* last call's */
            rk_canary_write(&p, core, c, phase);
            for (uint32_t i = 0; i < pc->tasks; i++) { /* the NPU writes every task's tile but one */
                const struct rk_plan_task *t = &p.tasks[pc->task0 + i];
                if (i == skip) continue;
                /* exactly the rows and columns of the task's matmul (what the builder programs) */
                struct rk_matmul mm = rk_plan_task_matmul(&p, t);
                for (uint32_t m = t->m0; m < t->m0 + mm.m; m++) {
                    uint32_t *row = c + rk_plan_c_index(&p, core, t->slice, t->ntile, m);
                    for (uint32_t n = 0; n < rk_npad(mm.in, mm.n); n++) {
                        int64_t v = (int64_t)(gr_next(&seed) % (2 * RK_ACC_I8_BOUND + 1)) - RK_ACC_I8_BOUND;
                        row[n] = (uint32_t)(int32_t)v;
                        ints &= v != (int32_t)rk_canary_word(&L, 0) && v != (int32_t)rk_canary_word(&L, 1);
                    }
                }
            }
            all_found &= rk_canary_check(&p, core, c) == (int64_t)skip;
        }
    tap_ok(all_found, "%s: the one unwritten task of %u is found, with either phase's canary word", name, pc->tasks);
    tap_ok(ints, "%s: no int8 result (|acc| <= 127*127*8192) equals a canary word", name);
    for (uint32_t i = 0; i < pc->tasks; i++) { /* all written: the last row only, then nothing */
        const struct rk_plan_task *t = &p.tasks[pc->task0 + i];
        memset(c + rk_plan_c_index(&p, core, t->slice, t->ntile, t->m0 + t->m - 1), 0, 4 * rk_tile_n(cs, t->ntile));
    }
    tap_is_int((int)rk_canary_check(&p, core, c), -1, "%s: every task wrote its last row: no canary left", name);
    const struct rk_plan_task *t0 = &p.tasks[pc->task0];
    c[rk_plan_c_index(&p, core, t0->slice, t0->ntile, t0->m0 + t0->m - 1) + rk_tile_n(cs, t0->ntile) - 1] =
            rk_canary_word(&L, 1);
    tap_is_int((int)rk_canary_check(&p, core, c), 0, "%s: one canary word left in the last column of task 0: found",
               name);
    free(c);
    rk_plan_free(&p);
}

static void test_canaries(void)
{
    canaries_in(&npu_envelope_safe);
    canaries_in(&npu_envelope_vendor);
    struct rk_wlayout L = {.mode = RK_GEMM_INT8};
    struct rk_wlayout F = {.mode = RK_GEMM_FP16};
    float f0, f1;
    uint32_t w0 = rk_canary_word(&F, 0), w1 = rk_canary_word(&F, 1);
    memcpy(&f0, &w0, 4), memcpy(&f1, &w1, 4);
    tap_ok(isnan(f0) && isnan(f1) && w0 != w1, "fp16 tasks' canaries are two different NaNs (0x%08x, 0x%08x)", w0, w1);
    tap_ok(rk_canary_word(&L, 0) != rk_canary_word(&L, 1), "int8 tasks' two canary words differ");
}

int main(void)
{
    test_plans();
    test_kernels();
    test_canaries();
    return tap_done();
}
