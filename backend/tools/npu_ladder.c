/* The first-light ladder: see npu_ladder.h. The steps are data (an npu_trial each); the rungs decide what
 * comes next from what passed. */
#include "npu_ladder.h"
#include "blob_i8.h"
#include "gemm_internal.h"
#include "npu_limits.h"
#include "npu_regs.h"
#include "npu_timing.h"
#include "regcmd.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* The widening values (issue 11): rows, columns and K per task, from the smallest up to the vendor
 * envelope's; M = 33 is the first row count past MF-rocket's 32 (docs/hardware/limits.md §5 E9). */
static const uint32_t m_steps[] = {1, 4, 16, 32, 33, 64, 128};
static const uint32_t n_steps[] = {32, 256, 512, 3072};
static const uint32_t k8_steps[] = {64, 1536, 3008, 8192};
static const uint32_t k16_steps[] = {64, 1536, 3008, 4096};
#define COUNT(a) (uint32_t)(sizeof(a) / sizeof(a)[0])

/* The vendor stream (backend/tests/blob_i8.h, docs/hardware/regcmd.md): int8 M=4, K=64, N=32 -> int32 at the
 * example addresses the capture used. */
#define BLOB_M 4
#define BLOB_K 64
#define BLOB_N 32
#define BLOB_A 0x00100000u
#define BLOB_B 0x00200000u
#define BLOB_C 0x00300000u

/* Shapes of the widening and timing steps. */
#define WIDEN_K            1536 /* Qwen2.5-1.5B's hidden size: rows and columns are widened at a real K */
#define WIDEN_ROWS         32   /* rows of the K-slice, tail and output steps (safe's) */
#define WIDEN_COLS         256  /* columns of the same (safe's) */
#define CHAIN_TASKS        4    /* M-tiles of the tail and weight-reuse steps, one job */
#define REUSE_COLS         64   /* columns of the weight-reuse steps: the N-tile's weights fit the CBUF's banks */
#define TIMING_TASKS       32   /* tiny tasks in the per-task overhead job (safe's tasks per job) */
#define TIMING_REPS_ROCKET 3    /* timing jobs on silicon: the fastest of three */
#define COMPUTE_COLS       1024 /* columns of the compute-heavy timing tasks: compute outweighs their DMA */
#define COMPUTE_SHARE_MIN  0.5  /* a timing task tells the MAC rate when its MODEL compute is at least half its DMA */
#define JOB_LENGTH_SHARE   2    /* job-length steps stay under half the job timeout */
static const uint32_t job_steps[] = {256, 1024, NPU_TASKS_PER_KICK_MAX};

struct climb {
    struct npu_ladder *L;
    struct npu_device *devs[NPU_CORES];
    FILE *log;
    uint32_t seed;
    bool stop;
    /* proven so far */
    uint32_t m_max, n_max, k8_max, k16_max, tasks_max, pairs;
    bool inplace, chained, reuse;
};

static void say(struct climb *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct climb *c, const char *fmt, ...)
{
    if (!c->log) return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(c->log, "npu-calibrate: ");
    vfprintf(c->log, fmt, ap);
    fputc('\n', c->log);
    fflush(c->log);
    va_end(ap);
}

static const char *dtype_name(enum rk_dtype t)
{
    return t == RK_INT8 ? "int8" : t == RK_FP16 ? "fp16" : t == RK_INT32 ? "int32" : "fp32";
}

static struct npu_trial mk(enum rk_dtype in, enum rk_dtype out, uint32_t m, uint32_t k, uint32_t n)
{
    return (struct npu_trial){.in = in, .out = out, .m = m, .k = k, .n = n};
}

static struct npu_ladder_step *new_step(struct climb *c, char rung, const char *id, enum npu_step_role role,
                                        const char *dim, uint32_t value, uint32_t fds, struct npu_trial t,
                                        const char *fmt, ...) __attribute__((format(printf, 9, 10)));
static struct npu_ladder_step *new_step(struct climb *c, char rung, const char *id, enum npu_step_role role,
                                        const char *dim, uint32_t value, uint32_t fds, struct npu_trial t,
                                        const char *fmt, ...)
{
    struct npu_ladder *L = c->L;
    if (c->stop || L->nsteps >= NPU_LADDER_MAX_STEPS) return NULL; /* nothing runs after the first failure */
    struct npu_ladder_step *s = &L->steps[L->nsteps++];
    memset(s, 0, sizeof *s);
    snprintf(s->id, sizeof s->id, "%s", id);
    s->rung = rung, s->role = role, s->dim = dim, s->value = value, s->fds = fds, s->trial = t;
    s->trial.seed = c->seed + L->nsteps;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->name, sizeof s->name, fmt, ap);
    va_end(ap);
    return s;
}

static void stop(struct climb *c, const struct npu_ladder_step *s, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static void stop(struct climb *c, const struct npu_ladder_step *s, const char *fmt, ...)
{
    if (c->stop) return;
    c->stop = true;
    snprintf(c->L->stopped_at, sizeof c->L->stopped_at, "%s", s->id);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->L->error, sizeof c->L->error, fmt, ap);
    va_end(ap);
}

/* Run one step (the fastest of its repetitions for timing steps) and report it. */
static bool run(struct climb *c, struct npu_ladder_step *s)
{
    if (!s || c->stop) return false;
    uint32_t reps = s->trial.serial && !c->L->info.is_simulator ? TIMING_REPS_ROCKET : 1;
    struct npu_trial_result best;
    for (uint32_t i = 0; i < reps; i++) {
        int rc = npu_trial_run(c->devs, s->fds, &s->trial, &s->res);
        if (rc) break;
        if (!i || s->res.job_measured_ns < best.job_measured_ns) best = s->res;
        if (i + 1 == reps) s->res = best;
    }
    s->ran = true, s->reps = reps;
    s->ok = !s->res.rc;
    const struct npu_trial_result *r = &s->res;
    if (s->ok)
        say(c, "[%s] %s ... ok (%llu values, %s; %u task(s) in %u job(s))", s->id, s->name,
            (unsigned long long)r->compared, npu_trial_tolerance(&s->trial), r->tasks, r->jobs);
    else
        say(c, "[%s] %s ... %s: %s", s->id, s->name, r->rc == -EDOM ? "WRONG RESULTS" : "FAILED", r->error);
    return s->ok;
}

/* A required step: its failure ends the ladder. */
static bool require(struct climb *c, struct npu_ladder_step *s)
{
    if (!s || c->stop) return false;
    if (run(c, s)) return true;
    stop(c, s, "[%s] %s: %s", s->id, s->name, s->res.error);
    return false;
}

static void skip(struct climb *c, struct npu_ladder_step *s, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static void skip(struct climb *c, struct npu_ladder_step *s, const char *fmt, ...)
{
    if (!s) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->skip_reason, sizeof s->skip_reason, fmt, ap);
    va_end(ap);
    say(c, "[%s] %s ... skipped: %s", s->id, s->name, s->skip_reason);
}

/* The edge of a widening: the widest value that passed, the step that did not. */
static void add_edge(struct climb *c, const char *dim, uint32_t passed, uint32_t failed,
                     const struct npu_ladder_step *s)
{
    if (!s || c->L->nedges >= NPU_LADDER_MAX_EDGES) return;
    struct npu_ladder_edge *e = &c->L->edges[c->L->nedges++];
    *e = (struct npu_ladder_edge){.dim = dim, .passed = passed, .failed = failed};
    memcpy(e->step, s->id, sizeof e->step);
    memcpy(e->error, s->res.error, sizeof e->error);
}

/* After a job that failed on the device (hang, fault, dropped), the vendor stream again: the kernel must have
 * recovered the core before anything else runs. */
static bool recovered(struct climb *c, const struct npu_ladder_step *after)
{
    if (!after) return false;
    if (after->res.rc == -EDOM || after->res.rc == -EINVAL) return true; /* wrong values: the NPU is fine */
    char id[sizeof after->id + 1];
    snprintf(id, sizeof id, "%.10sr", after->id);
    struct npu_ladder_step *s =
            new_step(c, after->rung, id, NPU_STEP_REQUIRED, NULL, 0, 1, mk(RK_INT8, RK_INT32, BLOB_M, BLOB_K, BLOB_N),
                     "recovery after [%s]: the vendor stream again, 1 fd", after->id);
    return require(c, s);
}

/* One widening: values in order, the first must pass, the first later failure is the edge. Returns the
 * widest value that passed (0 if the ladder stopped). */
typedef struct npu_trial (*trial_for)(struct climb *c, uint32_t value, char *name, size_t len);

static uint32_t widen(struct climb *c, const char *rung_id, const char *dim, const uint32_t *values, uint32_t count,
                      trial_for make)
{
    uint32_t best = 0;
    for (uint32_t i = 0; i < count && !c->stop; i++) {
        char id[12], name[160];
        snprintf(id, sizeof id, "%s.%u", rung_id, i + 1);
        struct npu_trial t = make(c, values[i], name, sizeof name);
        struct npu_ladder_step *s =
                new_step(c, rung_id[0], id, i ? NPU_STEP_WIDEN : NPU_STEP_REQUIRED, dim, values[i], 1, t, "%s", name);
        if (!i) {
            if (require(c, s)) best = values[i];
            continue;
        }
        if (run(c, s)) {
            best = values[i];
            continue;
        }
        add_edge(c, dim, best, values[i], s);
        say(c, "edge of %s: %u passed, %u did not", dim, best, values[i]);
        recovered(c, s);
        break;
    }
    return c->stop ? 0 : best;
}

/* ---- rung a: the vendor stream ---- */

static void rung_a(struct climb *c)
{
    struct rk_matmul mm = {.in = RK_INT8,
                           .out = RK_INT32,
                           .m = BLOB_M,
                           .k = BLOB_K,
                           .n = BLOB_N,
                           .a_iova = BLOB_A,
                           .b_iova = BLOB_B,
                           .c_iova = BLOB_C};
    uint64_t seg[NPU_TRIAL_MAX_SEG];
    uint32_t count;
    char why[256] = "";
    struct npu_trial blob = mk(RK_INT8, RK_INT32, BLOB_M, BLOB_K, BLOB_N);
    struct npu_ladder_step *s = new_step(c, 'a', "a1", NPU_STEP_REQUIRED, NULL, 0, 1, blob,
                                         "vendor stream int8 M=4 K=64 N=32 -> int32, 1 fd");
    int rc = rk_regcmd_matmul_task(&mm, 0, seg, NPU_TRIAL_MAX_SEG, &count, why, sizeof why);
    if (rc || count != sizeof blob_i8 / sizeof blob_i8[0] || memcmp(seg, blob_i8, sizeof blob_i8)) {
        s->ran = true;
        snprintf(s->res.error, sizeof s->res.error, "the regcmd builder no longer reproduces the vendor stream%s%s",
                 why[0] ? ": " : "", why);
        s->res.rc = -EINVAL;
        stop(c, s, "[a1] %s", s->res.error);
        say(c, "[a1] %s ... FAILED: %s", s->name, s->res.error);
        return;
    }
    if (!require(c, s)) return;
    blob.replicate = true, blob.hold_sim = true;
    s = new_step(c, 'a', "a2", NPU_STEP_REQUIRED, NULL, 0, NPU_CORES, blob,
                 "vendor stream on %u fds at once, one per core", NPU_CORES);
    if (!require(c, s)) return;
    if (!c->L->info.is_simulator) {
        say(c, "[a2] the kernel picks the core of each fd's jobs (not visible through the uAPI)");
        return;
    }
    uint32_t mask = 0;
    for (uint32_t i = 0; i < NPU_CORES; i++) mask |= s->res.dev_core[i] >= 0 ? 1u << s->res.dev_core[i] : 0;
    say(c, "[a2] simulated cores that ran the three fds: %d, %d, %d", s->res.dev_core[0], s->res.dev_core[1],
        s->res.dev_core[2]);
    if (mask != (1u << NPU_CORES) - 1) {
        s->ok = false;
        snprintf(s->res.error, sizeof s->res.error, "the three fds did not run on three different cores (%d, %d, %d)",
                 s->res.dev_core[0], s->res.dev_core[1], s->res.dev_core[2]);
        stop(c, s, "[a2] %s", s->res.error);
    }
}

/* ---- rung b: npu-probe's cases, cut as the safe envelope allows ---- */

static void rung_b(struct climb *c)
{
    static const struct {
        const char *name;
        uint32_t m, k, n;
    } cases[] = {{"64x64x64", 64, 64, 64}, {"200x150x192", 200, 150, 192}};
    const struct npu_envelope *safe = &npu_envelope_safe;
    uint32_t idx = 0;
    for (int fp16 = 0; fp16 < 2; fp16++)
        for (uint32_t fds = 1; fds <= NPU_CORES; fds += NPU_CORES - 1)
            for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                struct npu_trial t =
                        mk(fp16 ? RK_FP16 : RK_INT8, fp16 ? RK_FP32 : RK_INT32, cases[i].m, cases[i].k, cases[i].n);
                t.m_tile = safe->m_tile_max, t.n_tile = safe->n_tile_max, t.tasks_per_job = safe->tasks_per_job_max;
                char id[12];
                snprintf(id, sizeof id, "b%u", ++idx);
                if (!require(c, new_step(c, 'b', id, NPU_STEP_REQUIRED, NULL, 0, fds, t,
                                         "probe case %s %s -> %s, safe tiles, %u fd(s)", cases[i].name,
                                         fp16 ? "fp16" : "int8", fp16 ? "fp32" : "int32", fds)))
                    return;
            }
}

/* ---- rung c: widening ---- */

static struct npu_envelope proven(const struct climb *c)
{
    struct npu_envelope e = npu_envelope_safe;
    e.kind = NPU_ENVELOPE_BOARD;
    e.m_tile_max = c->m_max ? c->m_max : e.m_tile_max;
    e.n_tile_max = c->n_max ? c->n_max : e.n_tile_max;
    e.k_task_max_int8 = c->k8_max ? c->k8_max : e.k_task_max_int8;
    e.k_task_max_fp16 = c->k16_max ? c->k16_max : e.k_task_max_fp16;
    return e;
}

static struct npu_trial rows_trial(struct climb *c, uint32_t m, char *name, size_t len)
{
    snprintf(name, len, "rows per task: %u (int8 %ux%ux%u, one task)", m, m, WIDEN_K, NPU_KGROUP_INT8);
    (void)c;
    return mk(RK_INT8, RK_INT32, m, WIDEN_K, NPU_KGROUP_INT8);
}

static struct npu_trial cols_trial(struct climb *c, uint32_t n, char *name, size_t len)
{
    snprintf(name, len, "columns per task: %u (int8 %ux%ux%u, one task)", n, c->m_max, WIDEN_K, n);
    return mk(RK_INT8, RK_INT32, c->m_max, WIDEN_K, n);
}

/* K per task with the rows the planner would give that K (gemm/planner.c) and the widest columns. */
static struct npu_trial k_trial(struct climb *c, uint32_t k, bool fp16, char *name, size_t len)
{
    struct npu_envelope e = proven(c);
    uint32_t m = rk_plan_m_tile(fp16 ? RK_GEMM_FP16 : RK_GEMM_INT8, rk_kpad(k), &e);
    snprintf(name, len, "%s K per task: %u (%s %ux%ux%u, one task)", fp16 ? "fp16" : "int8", k, fp16 ? "fp16" : "int8",
             m, k, c->n_max);
    return mk(fp16 ? RK_FP16 : RK_INT8, fp16 ? RK_FP32 : RK_INT32, m, k, c->n_max);
}

static struct npu_trial k8_trial(struct climb *c, uint32_t k, char *name, size_t len)
{
    return k_trial(c, k, false, name, len);
}

static struct npu_trial k16_trial(struct climb *c, uint32_t k, char *name, size_t len)
{
    return k_trial(c, k, true, name, len);
}

static uint32_t min_u(uint32_t a, uint32_t b) { return a < b ? a : b; }

static void rung_c(struct climb *c)
{
    c->m_max = widen(c, "c1", "m-tile", m_steps, COUNT(m_steps), rows_trial);
    c->n_max = widen(c, "c2", "n-tile", n_steps, COUNT(n_steps), cols_trial);
    c->k8_max = widen(c, "c3", "k-int8", k8_steps, COUNT(k8_steps), k8_trial);
    c->k16_max = widen(c, "c4", "k-fp16", k16_steps, COUNT(k16_steps), k16_trial);
    if (c->stop) return;

    uint32_t rows = min_u(WIDEN_ROWS, c->m_max), cols = min_u(WIDEN_COLS, c->n_max), ks = min_u(WIDEN_K, c->k8_max);
    struct npu_envelope e = proven(c);
    rows = min_u(rows, rk_plan_m_tile(RK_GEMM_INT8, ks, &e));
    /* K-slices: two slices of ks, packed in their own A regions, then read in place from full-width rows */
    struct npu_trial t = mk(RK_INT8, RK_INT32, rows, 2 * ks, cols);
    t.k_slice = ks;
    if (!require(c, new_step(c, 'c', "c5.1", NPU_STEP_REQUIRED, "k-slices", 0, 1, t,
                             "K-slices packed: 2 slices of %u, int8 %ux%ux%u", ks, rows, 2 * ks, cols)))
        return;
    t.inplace = true;
    struct npu_ladder_step *s = new_step(c, 'c', "c5.2", NPU_STEP_WIDEN, "k-slices", 1, 1, t,
                                         "K-slices in place: 2 slices of %u read from rows of %u (LINE_STRIDE wider "
                                         "than the slice)",
                                         ks, 2 * ks);
    c->inplace = run(c, s);
    if (!c->inplace) {
        add_edge(c, "k-slices", 0, 1, s);
        if (!recovered(c, s)) return;
    }
    /* tails: CHAIN_TASKS M-tiles in one job, each kicked by the kernel, then chained */
    t = mk(RK_INT8, RK_INT32, CHAIN_TASKS * rows, ks, cols);
    t.m_tile = rows;
    if (!require(c, new_step(c, 'c', "c6.1", NPU_STEP_REQUIRED, "tails", 0, 1, t,
                             "tails unchained: %u M-tiles of int8 %ux%ux%u in one job", CHAIN_TASKS, rows, ks, cols)))
        return;
    t.chained = true;
    s = new_step(c, 'c', "c6.2", NPU_STEP_WIDEN, "tails", 1, 1, t,
                 "tails chained: the same job, each tail naming the next task");
    c->chained = run(c, s);
    if (!c->chained) {
        add_edge(c, "tails", 0, 1, s);
        if (!recovered(c, s)) return;
    }
    /* outputs */
    static const struct {
        enum rk_dtype in, out;
        uint32_t pair;
    } outs[] = {{RK_INT8, RK_INT32, NPU_PAIR_I8_I32},
                {RK_INT8, RK_FP32, NPU_PAIR_I8_F32},
                {RK_FP16, RK_FP32, NPU_PAIR_F16_F32}};
    for (size_t i = 0; i < sizeof outs / sizeof outs[0] && !c->stop; i++) {
        char id[12];
        snprintf(id, sizeof id, "c7.%zu", i + 1);
        t = mk(outs[i].in, outs[i].out, rows, min_u(ks, c->k16_max), cols);
        s = new_step(c, 'c', id, i ? NPU_STEP_WIDEN : NPU_STEP_REQUIRED, "out", (uint32_t)outs[i].pair, 1, t,
                     "output %s -> %s, %ux%ux%u", dtype_name(outs[i].in), dtype_name(outs[i].out), t.m, t.k, t.n);
        if (!i) {
            if (require(c, s)) c->pairs |= outs[i].pair;
            continue;
        }
        if (run(c, s)) {
            c->pairs |= outs[i].pair;
            continue;
        }
        add_edge(c, "out", 0, outs[i].pair, s);
        if (!recovered(c, s)) return;
    }
    /* CBUF weight reuse (docs/hardware/limits.md §6.3): CHAIN_TASKS M-tiles of one N-tile in one job, tails as
     * proven, the later tiles computing with the weights the first left in CBUF; int8, then fp16 when its output
     * passed. The planner reuses in both modes, so both must pass. */
    c->reuse = true;
    for (int fp16 = 0; fp16 < 2 && c->reuse && !c->stop; fp16++) {
        char id[12];
        snprintf(id, sizeof id, "c8.%d", fp16 + 1);
        uint32_t k = min_u(ks, fp16 ? c->k16_max : c->k8_max);
        t = mk(fp16 ? RK_FP16 : RK_INT8, fp16 ? RK_FP32 : RK_INT32, CHAIN_TASKS * rows, k, REUSE_COLS);
        t.m_tile = rows, t.chained = c->chained, t.reuse = true;
        s = new_step(c, 'c', id, NPU_STEP_WIDEN, "weight-reuse", 1, 1, t,
                     "weight reuse: %u M-tiles of %s %ux%ux%u in one job%s, the last %u computing with the first's "
                     "weights in CBUF",
                     CHAIN_TASKS, fp16 ? "fp16" : "int8", rows, k, REUSE_COLS, c->chained ? ", chained" : "",
                     CHAIN_TASKS - 1);
        if (fp16 && !(c->pairs & NPU_PAIR_F16_F32)) {
            skip(c, s, "fp16 -> fp32 output did not pass, so the engine runs no fp16 task to reuse weights in");
            continue;
        }
        if (run(c, s)) continue;
        c->reuse = false;
        add_edge(c, "weight-reuse", 0, 1, s);
        if (!recovered(c, s)) return;
    }
}

/* ---- rung d: timing ----
 *
 * The fits read the timing MODEL's pessimistic form backwards (device/npu_timing.h: a job is its overhead plus,
 * per task, an overhead and a body of compute and DMA one after the other): two jobs of tiny tasks give the
 * per-task and per-job overheads, a DMA-bound task the bandwidth, compute-bound tasks the MAC efficiency. On
 * the simulator the measured times are that same MODEL, so the fits give its parameters back. */

static const enum npu_model_bound FIT_BOUND = NPU_MODEL_PESSIMISTIC;

static struct npu_model_work shape_work(const struct npu_trial *t, uint32_t m)
{
    bool fp16 = t->in == RK_FP16;
    struct npu_task_shape sh = {m, rk_kpad(t->k), rk_npad(t->in, t->n), fp16 ? NPU_DTYPE_FP16 : NPU_DTYPE_INT8,
                                t->out == RK_INT32 ? NPU_DTYPE_INT32 : NPU_DTYPE_FP32};
    return npu_model_work_from_shape(&sh);
}

static struct npu_trial tiny_job(struct climb *c, uint32_t tasks)
{
    struct npu_trial t = mk(RK_INT8, RK_INT32, BLOB_M * tasks, BLOB_K, BLOB_N);
    t.m_tile = BLOB_M, t.chained = c->chained, t.serial = true;
    return t;
}

static double measured(const struct npu_ladder_step *s) { return (double)s->res.job_measured_ns; }

/* A compute-bound step for a precision: the widest proven rows at WIDEN_K, up to COMPUTE_COLS columns. */
static struct npu_ladder_step *compute_step(struct climb *c, bool fp16, const char *id)
{
    struct npu_envelope e = proven(c);
    uint32_t k = min_u(WIDEN_K, fp16 ? c->k16_max : c->k8_max);
    uint32_t m = rk_plan_m_tile(fp16 ? RK_GEMM_FP16 : RK_GEMM_INT8, rk_kpad(k), &e), n = min_u(COMPUTE_COLS, c->n_max);
    struct npu_trial t = mk(fp16 ? RK_FP16 : RK_INT8, fp16 ? RK_FP32 : RK_INT32, m, k, n);
    t.serial = true;
    return new_step(c, 'd', id, NPU_STEP_REQUIRED, NULL, 0, 1, t, "timing: %s compute-heavy %ux%ux%u, one job",
                    fp16 ? "fp16" : "int8", m, k, n);
}

static void note(struct npu_ladder_timing *tm, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(struct npu_ladder_timing *tm, const char *fmt, ...)
{
    size_t l = strlen(tm->notes);
    if (l + 3 >= sizeof tm->notes) return;
    if (l) tm->notes[l++] = ';', tm->notes[l++] = ' ';
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tm->notes + l, sizeof tm->notes - l, fmt, ap);
    va_end(ap);
}

/* The MAC efficiency a compute-heavy step measured: the MODEL's compute time over the time left for it once the
 * overheads and the DMA at the measured bandwidth are taken off; 0 when too little is left to tell. */
static double fit_efficiency(const struct climb *c, const struct npu_ladder_step *s, double oh_ns, double gbps)
{
    struct npu_model_work w = shape_work(&s->trial, s->trial.m);
    double model = (double)npu_model_compute_ns(&w, c->L->clock_mhz, FIT_BOUND);
    double dma = (double)(w.bytes_in + w.bytes_out) / gbps;
    double left = measured(s) - oh_ns - dma;
    if (model < COMPUTE_SHARE_MIN * dma || left <= 0) return 0;
    return npu_model_param(NPU_MODEL_MAC_EFFICIENCY, FIT_BOUND) * model / left;
}

static void rung_d(struct climb *c)
{
    struct npu_ladder_timing *tm = &c->L->timing;
    uint32_t mhz = c->L->clock_mhz;
    struct npu_ladder_step *one = new_step(c, 'd', "d1", NPU_STEP_REQUIRED, NULL, 0, 1, tiny_job(c, 1),
                                           "timing: one job of one tiny task (int8 4x64x32)");
    if (!require(c, one)) return;
    struct npu_ladder_step *many =
            new_step(c, 'd', "d2", NPU_STEP_REQUIRED, "tasks-per-job", TIMING_TASKS, 1, tiny_job(c, TIMING_TASKS),
                     "timing: one job of %u tiny tasks%s", TIMING_TASKS, c->chained ? ", chained" : "");
    if (!require(c, many)) return;
    c->tasks_max = TIMING_TASKS;
    struct npu_model_work tiny = shape_work(&one->trial, BLOB_M);
    double body = (double)npu_model_task_body_ns(&tiny, mhz, NPU_CORES, FIT_BOUND);
    double task_oh = (measured(many) - measured(one)) / (TIMING_TASKS - 1) - body;
    double job_oh = measured(one) - task_oh - body;
    if (task_oh <= 0 || job_oh <= 0) {
        note(tm, "overheads not separable (%.1f us per task, %.1f us per job): kept the MODEL's", task_oh / 1e3,
             job_oh / 1e3);
        task_oh = npu_model_param(NPU_MODEL_TASK_OVERHEAD_US, FIT_BOUND) * 1e3;
        job_oh = (double)npu_model_job_overhead_ns(FIT_BOUND);
    }
    tm->task_overhead_us = task_oh / 1e3, tm->job_overhead_us = job_oh / 1e3;

    /* DMA-bound: one row against the widest weight the envelope proved */
    struct npu_trial t = mk(RK_INT8, RK_INT32, 1, c->k8_max, c->n_max);
    t.serial = true;
    struct npu_ladder_step *dma = new_step(c, 'd', "d3", NPU_STEP_REQUIRED, NULL, 0, 1, t,
                                           "timing: DMA-bound int8 1x%ux%u, one job", c->k8_max, c->n_max);
    if (!require(c, dma)) return;
    struct npu_model_work wd = shape_work(&dma->trial, 1);
    double dma_ns = measured(dma) - job_oh - task_oh - (double)npu_model_compute_ns(&wd, mhz, FIT_BOUND);
    double gbps = dma_ns > 0 ? (double)(wd.bytes_in + wd.bytes_out) / dma_ns : 0;
    tm->dma_gbps = gbps > 0 ? gbps : npu_model_core_gbps(mhz, NPU_CORES, FIT_BOUND);
    if (gbps <= 0) note(tm, "DMA bandwidth not separable: kept the MODEL's");

    struct npu_ladder_step *c8 = compute_step(c, false, "d4");
    if (!require(c, c8)) return;
    struct npu_ladder_step *c16 = compute_step(c, true, "d5");
    if (!require(c, c16)) return;
    double e8 = fit_efficiency(c, c8, job_oh + task_oh, tm->dma_gbps);
    double e16 = fit_efficiency(c, c16, job_oh + task_oh, tm->dma_gbps);
    if (e8 <= 0) note(tm, "int8 MAC rate not separable at %u MHz: kept the MODEL's", mhz);
    if (e16 <= 0) note(tm, "fp16 MAC rate not separable at %u MHz: kept the MODEL's", mhz);
    double nominal = npu_model_param(NPU_MODEL_MAC_EFFICIENCY, FIT_BOUND);
    tm->mac_efficiency = e8 > 0 ? e8 : nominal;
    if (tm->mac_efficiency > 1) {
        note(tm, "int8 MACs ran %.0f%% above the rated array: efficiency kept at 1", (tm->mac_efficiency - 1) * 100);
        tm->mac_efficiency = 1;
    }
    tm->int8_macs_per_cycle = npu_model_param(NPU_MODEL_INT8_MACS_PER_CYCLE, FIT_BOUND) * tm->mac_efficiency;
    tm->fp16_macs_per_cycle = npu_model_param(NPU_MODEL_FP16_MACS_PER_CYCLE, FIT_BOUND) * (e16 > 0 ? e16 : nominal);

    /* tasks per job: longer jobs of tiny tasks while the measured costs keep them far from the timeout */
    double timeout_ns = (double)c->L->info.job_timeout_ms * 1e6;
    for (uint32_t i = 0; i < COUNT(job_steps) && !c->stop; i++) {
        uint32_t n_tasks = job_steps[i];
        char id[12];
        snprintf(id, sizeof id, "d6.%u", i + 1);
        struct npu_ladder_step *s =
                new_step(c, 'd', id, NPU_STEP_WIDEN, "tasks-per-job", n_tasks, 1, tiny_job(c, n_tasks),
                         "tasks per job: %u tiny tasks in one job%s", n_tasks, c->chained ? ", chained" : "");
        double predicted = job_oh + n_tasks * (task_oh + body);
        if (predicted > timeout_ns / JOB_LENGTH_SHARE) {
            skip(c, s, "would take %.1f ms by the measured overheads, over half the %u ms job timeout", predicted / 1e6,
                 c->L->info.job_timeout_ms);
            break;
        }
        if (!run(c, s)) {
            add_edge(c, "tasks-per-job", c->tasks_max, n_tasks, s);
            recovered(c, s);
            break;
        }
        c->tasks_max = n_tasks;
    }
    /* measured job time against the MODEL's two bounds, over every timing job */
    double ratio = 0;
    bool within = true;
    for (uint32_t i = 0; i < c->L->nsteps; i++) {
        const struct npu_ladder_step *s = &c->L->steps[i];
        if (s->rung != 'd' || !s->ok) continue;
        if (s->res.job_ratio_max > ratio) ratio = s->res.job_ratio_max;
        within &= s->res.jobs_within_bounds;
    }
    tm->job_time_ratio_max = ratio > 0 ? ratio : 1;
    tm->jobs_within_bounds = within;
    tm->valid = !c->stop;
}

int npu_ladder_run(const struct npu_ladder_options *o, struct npu_ladder *L, FILE *log)
{
    memset(L, 0, sizeof *L);
    struct climb c = {.L = L, .log = log, .seed = o->seed ? o->seed : 0x1ad0e5u};
    L->clock_mhz = o->clock_mhz ? o->clock_mhz : NPU_CLOCK_MAINLINE_MHZ;
    /* No envelope: the ladder runs past the safe one on purpose; the hard limits still hold. */
    struct npu_open_options oo = {.model_clock_mhz = L->clock_mhz};
    int rc = 0;
    for (uint32_t i = 0; i < NPU_CORES && !rc; i++)
        if ((rc = npu_device_open(o->kind, &oo, &c.devs[i])))
            snprintf(L->error, sizeof L->error, "opening the NPU (%s), fd %u: %s", npu_device_kind_name(o->kind), i + 1,
                     npu_last_error());
    if (!rc) {
        npu_device_get_info(c.devs[0], &L->info);
        L->have_info = true;
        say(&c, "%s: %s %d.%d.%d, %u cores, job timeout %u ms, timing MODEL clock %u MHz",
            L->info.is_simulator ? "SOFTWARE SIMULATOR (not hardware)" : L->info.node, L->info.driver,
            L->info.version_major, L->info.version_minor, L->info.version_patch, L->info.cores, L->info.job_timeout_ms,
            L->clock_mhz);
        rung_a(&c);
        rung_b(&c);
        rung_c(&c);
        rung_d(&c);
        L->ok = !c.stop;
        rc = L->ok ? 0 : -EDOM;
        for (uint32_t i = 0; i < L->nsteps; i++)
            if (!strcmp(L->steps[i].id, L->stopped_at) && L->steps[i].res.rc && L->steps[i].res.rc != -EDOM)
                rc = L->steps[i].res.rc;
    }
    if (L->ok) {
        struct npu_envelope *e = &L->env;
        *e = proven(&c);
        e->inplace_k_slices = c.inplace, e->chained_tails = c.chained, e->weight_reuse = c.reuse;
        e->out_pairs = c.pairs, e->tasks_per_job_max = c.tasks_max;
        /* MODEL time per job: the vendor budget, shrunk by how much the measured jobs outran the MODEL */
        double ratio = L->timing.job_time_ratio_max > 1 ? L->timing.job_time_ratio_max : 1;
        e->job_budget_ms = (uint32_t)(npu_envelope_vendor.job_budget_ms / ratio);
        if (!e->job_budget_ms) e->job_budget_ms = 1;
        char why[200];
        if (npu_envelope_validate(e, why, sizeof why)) {
            L->ok = false, rc = -EINVAL;
            snprintf(L->error, sizeof L->error, "internal: the envelope found is not valid: %s", why);
        }
    }
    for (uint32_t i = 0; i < NPU_CORES; i++) npu_device_close(c.devs[i]);
    return rc;
}

/* ---- output ---- */

static void json_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (; s && *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            fprintf(out, "\\%c", ch);
        else if (ch < 0x20)
            fprintf(out, "\\u%04x", ch);
        else
            fputc(ch, out);
    }
    fputc('"', out);
}

void npu_ladder_print_registers(FILE *out, const struct npu_trial_result *r, const char *indent)
{
    for (uint32_t i = 0; i < r->reg_count; i++) {
        char d[128];
        rk_regcmd_describe(r->regs[i], d, sizeof d);
        fprintf(out, "%s%3u  %016llx  %s\n", indent, i, (unsigned long long)r->regs[i], d);
    }
}

static const char *pair_name(uint32_t p)
{
    return p == NPU_PAIR_I8_I32    ? "int8-int32"
           : p == NPU_PAIR_I8_F32  ? "int8-fp32"
           : p == NPU_PAIR_F16_F32 ? "fp16-fp32"
                                   : "fp16-fp16";
}

static void print_step(FILE *out, const struct npu_ladder_step *s)
{
    const struct npu_trial *t = &s->trial;
    const struct npu_trial_result *r = &s->res;
    fprintf(out, "{\"id\":\"%s\",\"rung\":\"%c\",\"name\":", s->id, s->rung);
    json_string(out, s->name);
    fprintf(out, ",\"role\":\"%s\",\"dim\":", s->role == NPU_STEP_REQUIRED ? "required" : "widen");
    if (s->dim)
        json_string(out, s->dim);
    else
        fputs("null", out);
    fprintf(out,
            ",\"value\":%u,\"ran\":%s,\"ok\":%s,\"skipped\":%s,\"in\":\"%s\",\"out\":\"%s\",\"m\":%u,\"k\":%u,"
            "\"n\":%u,\"m_tile\":%u,\"n_tile\":%u,\"k_slice\":%u,\"inplace\":%s,\"chained\":%s,\"reuse\":%s,"
            "\"tasks_per_job\":%u,\"fds\":%u,\"tasks\":%u,\"reuse_tasks\":%u,\"jobs\":%u,\"compared\":%llu,"
            "\"mismatches\":%llu,\"unwritten\":%llu,\"max_abs_err\":%.9g,\"wall_ms\":%.6f,\"model_ms\":[%.6f,%.6f],"
            "\"job_measured_ms\":%.6f,\"job_model_ms\":[%.6f,%.6f],"
            "\"job_ratio_max\":%.6g,\"jobs_within_bounds\":%s,\"reps\":%u,\"cores\":[%d,%d,%d],\"tolerance\":",
            s->value, s->ran ? "true" : "false", s->ok ? "true" : "false", s->skip_reason[0] ? "true" : "false",
            dtype_name(t->in), dtype_name(t->out), t->m, t->k, t->n, t->m_tile, t->n_tile, t->k_slice,
            t->inplace ? "true" : "false", t->chained ? "true" : "false", t->reuse ? "true" : "false", t->tasks_per_job,
            s->fds, r->tasks, r->reuse_tasks, r->jobs, (unsigned long long)r->compared,
            (unsigned long long)r->mismatches, (unsigned long long)r->unwritten,
            isfinite(r->max_abs_err) ? r->max_abs_err : -1.0, r->wall_ms, r->model_ns[0] / 1e6, r->model_ns[1] / 1e6,
            r->job_measured_ns / 1e6, r->job_model_ns[0] / 1e6, r->job_model_ns[1] / 1e6, r->job_ratio_max,
            r->jobs_within_bounds ? "true" : "false", s->reps, r->dev_core[0], r->dev_core[1], r->dev_core[2]);
    json_string(out, npu_trial_tolerance(t));
    fputs(",\"error\":", out);
    json_string(out, s->skip_reason[0] ? s->skip_reason : r->error);
    if (s->ran && !s->ok && r->bad_task >= 0) {
        fprintf(out, ",\"failing_task\":{\"device\":%d,\"task\":%d,\"rows\":[%u,%u],\"columns\":[%u,%u],\"k_slice\":%u",
                r->bad_dev, r->bad_task, r->bad_m0, r->bad_m0 + r->bad_rows, r->bad_n0, r->bad_n0 + r->bad_cols,
                r->bad_slice);
        if (r->rc == -EDOM)
            fprintf(out, ",\"first_wrong\":{\"row\":%u,\"column\":%u,\"npu\":%.9g,\"cpu\":%.9g}", r->bad_row,
                    r->bad_col, isfinite(r->bad_got) ? r->bad_got : -1.0, r->bad_want);
        fputs(",\"registers\":[", out);
        for (uint32_t i = 0; i < r->reg_count; i++) {
            char d[128];
            rk_regcmd_describe(r->regs[i], d, sizeof d);
            fprintf(out, "%s{\"entry\":\"%016llx\",\"text\":", i ? "," : "", (unsigned long long)r->regs[i]);
            json_string(out, d);
            fputc('}', out);
        }
        fputs("]}", out);
    }
    fputc('}', out);
}

void npu_ladder_print_json(FILE *out, const struct npu_ladder *L)
{
    const struct npu_device_info *i = &L->info;
    fprintf(out, "{\"tool\":\"npu-calibrate\",\"ok\":%s,\"device\":\"%s\",\"simulator\":%s,\"driver\":",
            L->ok ? "true" : "false", L->have_info ? npu_device_kind_name(i->kind) : "",
            i->is_simulator ? "true" : "false");
    json_string(out, L->have_info ? i->driver : "");
    fprintf(out, ",\"driver_version\":\"%d.%d.%d\",\"node\":", i->version_major, i->version_minor, i->version_patch);
    json_string(out, L->have_info ? i->node : "");
    fprintf(out, ",\"device_cores\":%u,\"job_timeout_ms\":%u,\"clock_mhz\":%u,\"stopped_at\":", i->cores,
            i->job_timeout_ms, L->clock_mhz);
    if (L->stopped_at[0])
        json_string(out, L->stopped_at);
    else
        fputs("null", out);
    fputs(",\"error\":", out);
    if (L->error[0])
        json_string(out, L->error);
    else
        fputs("null", out);
    fputs(",\"steps\":[", out);
    for (uint32_t k = 0; k < L->nsteps; k++) {
        if (k) fputc(',', out);
        print_step(out, &L->steps[k]);
    }
    fputs("],\"edges\":[", out);
    for (uint32_t k = 0; k < L->nedges; k++) {
        const struct npu_ladder_edge *e = &L->edges[k];
        fprintf(out, "%s{\"dim\":\"%s\",\"passed\":", k ? "," : "", e->dim);
        if (!strcmp(e->dim, "out"))
            fprintf(out, "null,\"failed\":\"%s\"", pair_name(e->failed));
        else if (!strcmp(e->dim, "k-slices") || !strcmp(e->dim, "tails") || !strcmp(e->dim, "weight-reuse"))
            fprintf(out, "\"%s\",\"failed\":\"%s\"",
                    !strcmp(e->dim, "tails")          ? "unchained"
                    : !strcmp(e->dim, "weight-reuse") ? "weights fetched by every task"
                                                      : "packed",
                    !strcmp(e->dim, "tails")          ? "chained"
                    : !strcmp(e->dim, "weight-reuse") ? "reused from CBUF"
                                                      : "in place");
        else
            fprintf(out, "%u,\"failed\":%u", e->passed, e->failed);
        fprintf(out, ",\"step\":\"%s\",\"error\":", e->step);
        json_string(out, e->error);
        fputc('}', out);
    }
    fputs("],\"envelope\":", out);
    if (L->ok) {
        const struct npu_envelope *e = &L->env;
        fprintf(out,
                "{\"m_tile_max\":%u,\"n_tile_max\":%u,\"k_task_max_int8\":%u,\"k_task_max_fp16\":%u,"
                "\"inplace_k_slices\":%s,\"chained_tails\":%s,\"weight_reuse\":%s,\"out_pairs\":[",
                e->m_tile_max, e->n_tile_max, e->k_task_max_int8, e->k_task_max_fp16,
                e->inplace_k_slices ? "true" : "false", e->chained_tails ? "true" : "false",
                e->weight_reuse ? "true" : "false");
        bool first = true;
        for (uint32_t p = NPU_PAIR_I8_I32; p <= NPU_PAIR_F16_F16; p <<= 1)
            if (e->out_pairs & p) fprintf(out, "%s\"%s\"", first ? "" : ",", pair_name(p)), first = false;
        fprintf(out, "],\"tasks_per_job_max\":%u,\"job_budget_ms\":%u}", e->tasks_per_job_max, e->job_budget_ms);
    } else {
        fputs("null", out);
    }
    fputs(",\"timing\":", out);
    const struct npu_ladder_timing *t = &L->timing;
    if (t->valid) {
        fprintf(out,
                "{\"task_overhead_us\":%.4f,\"job_overhead_us\":%.4f,\"int8_macs_per_cycle\":%.4f,"
                "\"fp16_macs_per_cycle\":%.4f,\"dma_gbps\":%.4f,\"mac_efficiency\":%.4f,\"job_time_ratio_max\":%.4f,"
                "\"jobs_within_bounds\":%s,\"clock_mhz\":%u,\"measured\":\"%s\",\"notes\":",
                t->task_overhead_us, t->job_overhead_us, t->int8_macs_per_cycle, t->fp16_macs_per_cycle, t->dma_gbps,
                t->mac_efficiency, t->job_time_ratio_max, t->jobs_within_bounds ? "true" : "false", L->clock_mhz,
                i->is_simulator ? "the simulator's timing MODEL" : "wall time, submit to fence");
        json_string(out, t->notes);
        fputc('}', out);
    } else {
        fputs("null", out);
    }
    fputs("}\n", out);
}
