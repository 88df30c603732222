// SPDX-License-Identifier: MIT
/*
 * Execution of one matmul: quantize X straight into core 0's A buffer (copied to the other cores: BOs and
 * IOVAs are per fd, docs/hardware/rocket-uapi.md §1.4), then one thread per core poisons its tasks' canary rows (canary.c),
 * writes the core's regcmd segments (tasks chained per job, docs/hardware/regcmd.md §2), submits its jobs, waits,
 * checks the canaries and reads its N range of Y out of the int32/fp32 tiles. Any device failure and any
 * untouched canary is returned with the core, the job, its tasks and the shape; the result is discarded
 * and nothing is computed on the CPU instead.
 *
 * Pipelining. A large matmul is cut into row chunks (whole M-tiles) that alternate between two scratch sets
 * per core: while the NPU runs chunk i, this thread quantizes chunk i+1 into the other set's A and its core
 * threads write their regcmds; chunk i's readout then runs while the NPU already works on chunk i+1. A core
 * thread submits only once the previous chunk's jobs on its core have completed, so a job never waits in the
 * kernel's queue behind another chunk and its measured time stays its own (the reset rule of npu_fence.c
 * times a job from SUBMIT). Every chunk keeps every check of an unpipelined run; a failure in any chunk fails
 * the matmul, and the chunks after it are not submitted.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gemm_internal.h"
#include "layout.h"

#define SIM_WAIT_MS               600000 /* the software NPU runs the MACs on the host: minutes for huge shapes */
#define NPU_WAIT_TIMEOUTS_PER_JOB 2      /* rocket: twice the device's job timeout per job, plus a floor */
#define NPU_WAIT_MS_FLOOR         5000
#define BO_WAIT_MS                10000
#define SCRATCH_BO_MIN_BYTES      4096         /* one page */
#define ACT_PARALLEL_MIN          (256 * 1024) /* X elements from which the activation rows are split over threads */
/* The smallest row chunk worth its own jobs: below it the per-job cost (an IOMMU attach and a drm_sched round
 * trip, tens of microseconds, docs/hardware/rocket-uapi.md §4.5) approaches the glue a chunk hides. */
#define PIPE_MIN_CHUNK_ROWS       64

/* Order of the chunks on each core: a core thread of chunk i submits after chunk i-1's jobs on that core. */
struct pipe_sync {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int64_t npu_done[NPU_CORES]; /* the last chunk whose jobs on the core completed or failed */
    bool failed;                 /* a chunk failed: later chunks submit nothing */
};

/* Host glue is measured as thread CPU time: on the simulator the software NPU's threads share the host cores
 * with ours, so wall-clock phases would mostly measure the simulator. Wall times are kept as well. */
static int64_t thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

struct core_run {
    struct rk_gemm_engine *e;
    const struct rk_weight *w;
    const struct rk_plan *p;
    uint32_t core;
    struct rk_core_scratch *sc; /* the chunk's scratch set, this core's */
    const float *sx;            /* the chunk's activation scales */
    struct pipe_sync *sync;
    int64_t chunk;
    int64_t M, m0; /* the whole matmul's rows, and the chunk's first */
    float *Y;      /* the chunk's first row */
    int64_t ldy;
    int32_t *acc; /* test hook: M×N int32 sums, or NULL */
    bool simulator;
    uint32_t job_timeout_ms; /* the device's */
    int rc;
    char err[480];
    int64_t glue_ns, glue_wall_ns, readout_ns, check_ns, wait_ns; /* glue/readout/check: thread CPU time */
    struct npu_submit_stats st;
};

static const char *device_word(const struct core_run *r) { return r->simulator ? "simulated NPU" : "NPU"; }

/* "M=512 K=1536 N=8960 int8" */
static void shape_text(const struct core_run *r, char *buf, size_t len)
{
    const struct rk_plan *p = r->p;
    int l = snprintf(buf, len, "M=%lld K=%u N=%u %s", (long long)r->M, p->L.K, p->L.N, rk_gemm_mode_name(p->L.mode));
    if (p->M != r->M && l > 0 && (size_t)l < len)
        snprintf(buf + l, len - (size_t)l, ", row chunk %lld-%lld", (long long)r->m0, (long long)(r->m0 + p->M - 1));
}

static int core_fail(struct core_run *r, int rc, const char *what)
{
    char shape[64];
    shape_text(r, shape, sizeof shape);
    snprintf(r->err, sizeof r->err, "%s core %u (%s): %s: %s", device_word(r), r->core, shape, what, npu_last_error());
    return r->rc = rc;
}

/* A failure of job `job` of the core (jobs start at the core's tasks job_first[job]): "NPU core 1, job 3/12
 * (tasks 96-127[; shape]): " and the reason. */
static int job_fail(struct core_run *r, int rc, const uint32_t *job_first, uint32_t job, bool with_shape,
                    const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static int job_fail(struct core_run *r, int rc, const uint32_t *job_first, uint32_t job, bool with_shape,
                    const char *fmt, ...)
{
    const struct rk_plan_core *pc = &r->p->core[r->core];
    char shape[104] = "";
    if (with_shape) {
        shape[0] = ';', shape[1] = ' ';
        shape_text(r, shape + 2, sizeof shape - 2);
    }
    int l = snprintf(r->err, sizeof r->err, "%s core %u, job %u/%u (tasks %u-%u%s): ", device_word(r), r->core, job,
                     pc->jobs, job_first[job], job_first[job + 1] - 1, shape);
    va_list ap;
    va_start(ap, fmt);
    if (l > 0 && (size_t)l < sizeof r->err) vsnprintf(r->err + l, sizeof r->err - (size_t)l, fmt, ap);
    va_end(ap);
    return r->rc = rc;
}

/* The untouched canary of task i (among the core's tasks) in job_fail's words. */
static int canary_fail(struct core_run *r, const uint32_t *job_first, uint32_t i)
{
    const struct rk_plan *p = r->p;
    const struct rk_plan_task *t = &p->tasks[p->core[r->core].task0 + i];
    const struct rk_core_share *cs = &p->L.core[r->core];
    uint32_t job = 0, c0 = cs->n0 + rk_tile_n0(cs, t->ntile);
    while (job + 1 < p->core[r->core].jobs && job_first[job + 1] <= i) job++;
    char shape[96], slice[64] = "";
    shape_text(r, shape, sizeof shape);
    if (p->L.slices > 1)
        snprintf(slice, sizeof slice, ", K-slice %u of %u (k %u-%u)", t->slice, p->L.slices, p->L.k0[t->slice],
                 p->L.k0[t->slice] + p->L.k[t->slice] - 1);
    return job_fail(r, -EIO, job_first, job, false,
                    "output canary of task %u (rows %lld-%lld, cols %u-%u%s; %s) untouched after the job signalled "
                    "completion: the core was reset or the job dropped; result discarded",
                    i, (long long)(r->m0 + t->m0), (long long)(r->m0 + t->m0 + t->m - 1), c0,
                    c0 + rk_tile_n(cs, t->ntile) - 1, slice, shape);
}

/* Grow a scratch BO to at least `bytes` (with headroom so a growing M does not reallocate every call). */
static int ensure_bo(struct npu_device *dev, struct npu_bo **bo, uint64_t bytes)
{
    if (*bo && (*bo)->size >= bytes) return 0;
    npu_bo_close(*bo);
    *bo = NULL;
    uint64_t want = bytes + bytes / 4;
    if (want > UINT32_MAX - SCRATCH_BO_MIN_BYTES) want = bytes;
    int rc = npu_bo_create(dev, (uint32_t)(want < SCRATCH_BO_MIN_BYTES ? SCRATCH_BO_MIN_BYTES : want), bo);
    /* Touch every page now (one-time cost) so page faults do not land in the measured glue of the first run. */
    if (!rc && !(rc = npu_bo_prep(*bo, npu_deadline_after_ms(BO_WAIT_MS)))) {
        memset((*bo)->map, 0, (*bo)->size);
        rc = npu_bo_fini(*bo);
    }
    return rc;
}

/* Chunk r->chunk's jobs on this core are done (or will never run): let the next chunk's thread submit. */
static void pipe_signal(struct core_run *r)
{
    struct pipe_sync *ps = r->sync;
    pthread_mutex_lock(&ps->mu);
    if (ps->npu_done[r->core] < r->chunk) ps->npu_done[r->core] = r->chunk;
    if (r->rc) ps->failed = true;
    pthread_cond_broadcast(&ps->cv);
    pthread_mutex_unlock(&ps->mu);
}

/* Wait until the previous chunk's jobs on this core are done; false when a chunk has failed. */
static bool pipe_wait_turn(struct core_run *r)
{
    struct pipe_sync *ps = r->sync;
    pthread_mutex_lock(&ps->mu);
    while (!ps->failed && ps->npu_done[r->core] < r->chunk - 1) pthread_cond_wait(&ps->cv, &ps->mu);
    bool go = !ps->failed;
    pthread_mutex_unlock(&ps->mu);
    return go;
}

static void *run_core(void *arg)
{
    struct core_run *r = arg;
    const struct rk_plan *p = r->p;
    const struct rk_wlayout *L = &p->L;
    const struct rk_plan_core *pc = &p->core[r->core];
    struct rk_core_scratch *sc = r->sc;
    struct npu_device *dev = r->e->dev[r->core];
    struct npu_task *tasks = calloc(pc->tasks, sizeof *tasks);
    struct npu_job *jobs = calloc(pc->jobs, sizeof *jobs);
    uint32_t *job_first = calloc(pc->jobs + 1, sizeof *job_first);
    struct npu_fence *fence = NULL;
    size_t seg = rk_regcmd_segment_entries(RK_REGCMD_BODY_ENTRIES);
    int rc;
    int64_t t0 = npu_monotonic_ns(), c0 = thread_cpu_ns();
    if (!tasks || !jobs || !job_first) {
        r->rc = -ENOMEM, snprintf(r->err, sizeof r->err, "out of memory");
        goto out;
    }
    /* Canaries: C must be the CPU's to write them and handed back (FINI_BO cleans the caches) before the
     * submit, or a dirty line evicted later could overwrite what the NPU wrote. */
    sc->canary_phase ^= 1;
    if (!sc->c_cpu_owned && (rc = npu_bo_prep(sc->c, npu_deadline_after_ms(BO_WAIT_MS)))) {
        core_fail(r, rc, "output BO prep");
        goto out;
    }
    sc->c_cpu_owned = true;
    rk_canary_write(p, r->core, sc->c->map, sc->canary_phase);
    if ((rc = npu_bo_fini(sc->c))) {
        core_fail(r, rc, "output BO fini");
        goto out;
    }
    sc->c_cpu_owned = false;
    r->check_ns += thread_cpu_ns() - c0;
    if ((rc = npu_bo_prep(sc->regcmd, npu_deadline_after_ms(BO_WAIT_MS)))) {
        core_fail(r, rc, "regcmd BO prep");
        goto out;
    }
    for (uint32_t i = 0; i < pc->tasks; i++) {
        const struct rk_plan_task *t = &p->tasks[pc->task0 + i];
        struct rk_matmul mm = rk_plan_task_matmul(p, t);
        uint64_t a, b, c;
        rk_plan_task_offsets(p, t, &a, &b, &c);
        mm.a_iova = sc->a->iova + (uint32_t)a;
        mm.b_iova = r->w->b[r->core]->iova + (uint32_t)b;
        mm.c_iova = sc->c->iova + (uint32_t)c;
        uint32_t seg_iova = sc->regcmd->iova + (uint32_t)(i * seg * 8), count;
        /* Outside an envelope with chained tails every tail has a zero next pointer: the kernel kicks each
         * task itself (docs/hardware/rocket-uapi.md §4.2). */
        bool chained = p->env.chained_tails && i + 1 < pc->tasks && !p->tasks[pc->task0 + i + 1].job_start;
        char why[256];
        if ((rc = rk_regcmd_matmul_task(&mm, chained ? seg_iova + (uint32_t)(seg * 8) : 0,
                                        (uint64_t *)sc->regcmd->map + i * seg, seg, &count, why, sizeof why))) {
            r->rc = rc, snprintf(r->err, sizeof r->err, "regcmd builder, task %u: %s", i, why);
            npu_bo_fini(sc->regcmd);
            goto out;
        }
        tasks[i] = (struct npu_task){.regcmd_iova = seg_iova,
                                     .regcmd_count = count,
                                     .shape = {mm.m, L->kpad[t->slice], rk_npad(mm.in, mm.n),
                                               rk_mode_int8(L->mode) ? NPU_DTYPE_INT8 : NPU_DTYPE_FP16,
                                               rk_mode_int8(L->mode) ? NPU_DTYPE_INT32 : NPU_DTYPE_FP32}};
    }
    if ((rc = npu_bo_fini(sc->regcmd))) {
        core_fail(r, rc, "regcmd BO fini");
        goto out;
    }
    struct npu_bo *ins[] = {sc->regcmd, sc->a, r->w->b[r->core]}, *outs[] = {sc->c};
    for (uint32_t i = 0, j = 0; i < pc->tasks; i++) {
        if (p->tasks[pc->task0 + i].job_start) {
            job_first[j] = i;
            jobs[j++] =
                    (struct npu_job){.tasks = &tasks[i], .in_bos = ins, .in_count = 3, .out_bos = outs, .out_count = 1};
        }
        jobs[j - 1].task_count++;
    }
    job_first[pc->jobs] = pc->tasks;
    r->glue_wall_ns += npu_monotonic_ns() - t0, r->glue_ns += thread_cpu_ns() - c0;
    if (!pipe_wait_turn(r)) {
        r->rc = -ECANCELED, snprintf(r->err, sizeof r->err, "not submitted: an earlier row chunk failed");
        goto out;
    }
    int64_t t1 = npu_monotonic_ns();
    if ((rc = npu_submit(dev, jobs, pc->jobs, &fence))) {
        core_fail(r, rc, "NPU submit");
        goto out;
    }
    int64_t wait_ms = r->simulator
                              ? SIM_WAIT_MS
                              : NPU_WAIT_MS_FLOOR + (int64_t)pc->jobs * NPU_WAIT_TIMEOUTS_PER_JOB * r->job_timeout_ms;
    r->st.failed_job = -1;
    rc = npu_fence_wait(fence, npu_deadline_after_ms(wait_ms), &r->st);
    r->wait_ns = npu_monotonic_ns() - t1;
    if (!rc) pipe_signal(r); /* the NPU is free for the next chunk while this one is checked and read out */
    if (rc && r->st.failed_job >= 0 && (uint32_t)r->st.failed_job < pc->jobs) {
        job_fail(r, rc, job_first, (uint32_t)r->st.failed_job, true, "%s; result discarded", npu_last_error());
        goto out;
    }
    if (rc) {
        core_fail(r, rc, "NPU job");
        goto out;
    }
    if (r->st.cpu_owned_in_bos) {
        r->rc = -EINVAL,
        snprintf(r->err, sizeof r->err, "internal: %u in-BO(s) submitted while CPU-owned", r->st.cpu_owned_in_bos);
        goto out;
    }
    int64_t t2 = npu_monotonic_ns(), c2 = thread_cpu_ns();
    if ((rc = npu_bo_prep(sc->c, npu_deadline_after_ms(BO_WAIT_MS)))) {
        core_fail(r, rc, "output BO prep");
        goto out;
    }
    sc->c_cpu_owned = true;
    int64_t untouched = rk_canary_check(p, r->core, sc->c->map);
    int64_t c2b = thread_cpu_ns();
    r->check_ns += c2b - c2;
    if (untouched >= 0) {
        canary_fail(r, job_first, (uint32_t)untouched);
        goto out;
    }
    /* Readout of this core's columns: per N-tile and row, the slices' partial rows are summed and scaled. */
    const struct rk_core_share *cs = &L->core[r->core];
    rk_readout_fn fn = rk_mode_int8(L->mode) ? rk_readout_i32_simd : rk_readout_f32_simd;
    const float *sx = r->sx, *sw = r->w->scale + cs->n0;
    const uint8_t *cmap = sc->c->map;
    for (uint32_t t = 0; t < cs->ntiles; t++)
        for (uint32_t m = 0; m < p->M; m++) {
            const void *parts[RK_GEMM_MAX_SLICES];
            for (uint32_t s = 0; s < L->slices; s++) parts[s] = cmap + rk_plan_c_index(p, r->core, s, t, m) * 4;
            uint32_t tn0 = rk_tile_n0(cs, t);
            uint64_t col = (uint64_t)cs->n0 + tn0;
            fn(parts, L->slices, rk_tile_n(cs, t), sx[m], sw + tn0, r->Y + (int64_t)m * r->ldy + (int64_t)col,
               r->acc ? r->acc + (uint64_t)m * L->N + col : NULL);
        }
    int64_t t3 = npu_monotonic_ns(), c3 = thread_cpu_ns();
    r->readout_ns = c3 - c2b;
    r->glue_ns += c3 - c2, r->glue_wall_ns += t3 - t2;
out:
    pipe_signal(r);
    npu_fence_free(fence);
    free(tasks), free(jobs), free(job_first);
    return NULL;
}

/* One share of the rows of X: (int8-had: copy + rotate), quantize into core 0's A, copy to the others' A.
 * With packed K-slices the rows are quantized into host scratch first (the scale covers the whole row) and
 * each slice's columns are scattered into that slice's region of every core's A. */
struct act_part {
    struct rk_gemm_engine *e;
    const struct rk_wlayout *L;
    struct rk_core_scratch *set; /* the chunk's scratch set (one per core) */
    float *sx;                   /* the chunk's scales */
    const float *X;
    int64_t ldx, M, m0, m1;
    bool packed;   /* the plan's K-slices are packed (rk_plan_slices_packed) */
    int nonfinite; /* rows holding a NaN or an infinity */
    int64_t cpu_ns;
};

static void *act_part_run(void *arg)
{
    struct act_part *a = arg;
    const struct rk_wlayout *L = a->L;
    int64_t c0 = thread_cpu_ns(), rows = a->m1 - a->m0;
    const float *X = a->X + a->m0 * a->ldx;
    int64_t ldx = a->ldx;
    size_t row_bytes = (size_t)L->Kpad * L->bpe;
    if (L->had_block > 1) { /* int8-had: rotate a copy of X like the weights were (hadamard.c) */
        float *xr = a->e->xrot + a->m0 * L->K;
        for (int64_t m = 0; m < rows; m++) memcpy(xr + m * L->K, X + m * ldx, sizeof(float) * L->K);
        rk_hadamard_rows(xr, rows, L->K, L->K, L->had_block);
        X = xr, ldx = L->K;
    }
    bool packed = a->packed;
    uint8_t *dst = (packed ? a->e->xq : (uint8_t *)a->set[0].a->map) + a->m0 * row_bytes;
    a->nonfinite = (rk_mode_int8(L->mode) ? rk_act_quant_i8_simd : rk_act_quant_f16_simd)(X, rows, ldx, L->K, L->Kpad,
                                                                                          dst, a->sx + a->m0);
    if (packed) {
        /* slice s: a region at M·k0[s] elements, rows of kpad[s] (rk_plan_task_offsets); the row padding
         * lands in the last slice */
        for (uint32_t c = 0; c < L->cores; c++)
            for (uint32_t s = 0; s < L->slices; s++) {
                size_t len = (size_t)L->kpad[s] * L->bpe;
                uint8_t *region = (uint8_t *)a->set[c].a->map + (size_t)a->M * L->k0[s] * L->bpe;
                for (int64_t m = a->m0; m < a->m1; m++)
                    memcpy(region + (size_t)m * len, a->e->xq + (size_t)m * row_bytes + (size_t)L->k0[s] * L->bpe, len);
            }
    } else {
        for (uint32_t c = 1; c < L->cores; c++)
            memcpy((uint8_t *)a->set[c].a->map + a->m0 * row_bytes, dst, (size_t)rows * row_bytes);
    }
    a->cpu_ns = thread_cpu_ns() - c0;
    return NULL;
}

/* Grow the host buffers a run of M rows in chunks of up to chunk_rows needs (scales for all rows: the readout
 * of one chunk and the quantization of the next use different rows). */
static int host_buffers(struct rk_gemm_engine *e, const struct rk_wlayout *L, int64_t M, int64_t chunk_rows,
                        bool packed)
{
    if (e->sx_cap < (size_t)M) {
        float *n = realloc(e->sx, (size_t)M * sizeof *n);
        if (!n) return rk_gemm_fail(e, -ENOMEM, "out of memory");
        e->sx = n, e->sx_cap = (size_t)M;
    }
    if (L->had_block > 1 && e->xrot_cap < (size_t)chunk_rows * L->K) {
        float *n = realloc(e->xrot, (size_t)chunk_rows * L->K * sizeof *n);
        if (!n) return rk_gemm_fail(e, -ENOMEM, "out of memory");
        e->xrot = n, e->xrot_cap = (size_t)chunk_rows * L->K;
    }
    size_t xq_bytes = (size_t)chunk_rows * L->Kpad * L->bpe;
    if (packed && e->xq_cap < xq_bytes) {
        uint8_t *n = realloc(e->xq, xq_bytes);
        if (!n) return rk_gemm_fail(e, -ENOMEM, "out of memory");
        e->xq = n, e->xq_cap = xq_bytes;
    }
    return 0;
}

/* How many chunks pay. Chunks hide all but 1/c of the host glue G (the first chunk's quantization and the
 * last one's readout stay exposed) and cost c-1 more jobs of overhead J each on every core, so
 * G/c + (c-1)J is least at c = sqrt(G/J). G is estimated from the glue rate measured on this engine's earlier
 * runs, J is the timing model's pessimistic per-job cost (the board profile's measured one when installed),
 * so without a measurement nothing is cut. opt.pipeline_chunks: 0 = this choice up to
 * RK_GEMM_PIPELINE_CHUNKS, 1 = never, n = always n (tests and benchmarks). */
static uint32_t chunks_for(const struct rk_gemm_engine *e, const struct rk_wlayout *L, int64_t M)
{
    uint32_t forced = e->opt.pipeline_chunks;
    if (forced) return forced;
    double glue_ns = e->glue_ns_per_value * (double)M * (double)(L->K + L->N);
    double job_ns = (double)npu_model_job_overhead_ns(NPU_MODEL_PESSIMISTIC);
    if (glue_ns <= 0 || job_ns <= 0) return 1;
    double c = floor(sqrt(glue_ns / job_ns));
    return c >= RK_GEMM_PIPELINE_CHUNKS ? RK_GEMM_PIPELINE_CHUNKS : c < 1 ? 1 : (uint32_t)c;
}

/* Rows per chunk: M itself when the run is not pipelined, otherwise whole M-tiles, at least
 * PIPE_MIN_CHUNK_ROWS. */
static int64_t chunk_rows_for(const struct rk_gemm_engine *e, const struct rk_wlayout *L, int64_t M)
{
    uint32_t chunks = chunks_for(e, L, M);
    if (chunks < 2 || M < 2 * PIPE_MIN_CHUNK_ROWS) return M;
    int64_t tile = rk_plan_m_tile(L->mode, L->kpad[0], e->opt.envelope);
    if (tile < 1) tile = 1;
    int64_t rows = (M + chunks - 1) / chunks;
    if (rows < PIPE_MIN_CHUNK_ROWS) rows = PIPE_MIN_CHUNK_ROWS;
    rows = (rows + tile - 1) / tile * tile;
    return rows >= M ? M : rows;
}

/* Does the plan of all M rows reuse CBUF weights across M-tiles (WEIGHT_REUSE, where the envelope allows it)?
 * Chunks would lose that, so such a matmul is not pipelined. */
static bool whole_plan_reuses(struct rk_gemm_engine *e, const struct rk_wlayout *L, int64_t M)
{
    if (!e->opt.envelope->weight_reuse) return false; /* no second plan on the hot path when reuse is off */
    struct rk_plan p;
    char why[8];
    if (rk_plan_make(L, (uint32_t)M, e->opt.envelope, e->opt.job_budget_ms, &p, why, sizeof why)) return false;
    bool reuses = p.reuse_tasks > 0;
    rk_plan_free(&p);
    return reuses;
}

/* The scratch BOs of one set for a plan (grown with headroom, reused from call to call). */
static int scratch_ready(struct rk_gemm_engine *e, const struct rk_plan *p, struct rk_core_scratch *set)
{
    for (uint32_t c = 0; c < p->L.cores; c++) {
        struct rk_core_scratch *sc = &set[c];
        struct npu_bo *c_before = sc->c;
        int rc;
        if ((rc = ensure_bo(e->dev[c], &sc->a, p->core[c].a_bytes)) ||
            (rc = ensure_bo(e->dev[c], &sc->c, p->core[c].c_bytes)) ||
            (rc = ensure_bo(e->dev[c], &sc->regcmd, p->core[c].regcmd_bytes)))
            return rk_gemm_fail(e, rc, "scratch BOs on core %u: %s", c, npu_last_error());
        if (sc->c != c_before) sc->c_cpu_owned = false; /* a new C comes back from ensure_bo NPU-owned */
    }
    return 0;
}

/* Quantize M rows of X into every core's A of `set` (scales into sx). Adds the rows holding a NaN or an
 * infinity to *nonfinite and the critical-path thread CPU time to *quant_ns. */
static int quantize_into(struct rk_gemm_engine *e, const struct rk_plan *p, struct rk_core_scratch *set, const float *X,
                         int64_t M, int64_t ldx, float *sx, int64_t *nonfinite, int64_t *quant_ns)
{
    const struct rk_wlayout *L = &p->L;
    int64_t c0 = thread_cpu_ns(), dl = npu_deadline_after_ms(BO_WAIT_MS);
    int rc = 0;
    for (uint32_t c = 0; c < L->cores && !rc; c++)
        if ((rc = npu_bo_prep(set[c].a, dl))) rk_gemm_fail(e, rc, "A BO prep, core %u: %s", c, npu_last_error());
    int64_t part_cpu = 0, part0_cpu = 0; /* the slowest share; share 0 runs on this thread */
    if (!rc) {
        /* Rows in parallel (one thread per core's share) once there is enough work to pay for threads. */
        uint32_t nparts = (uint64_t)M * L->K >= ACT_PARALLEL_MIN ? (uint32_t)(M < L->cores ? M : L->cores) : 1;
        struct act_part parts[NPU_CORES];
        pthread_t th[NPU_CORES];
        bool started[NPU_CORES] = {0};
        for (uint32_t i = 0; i < nparts; i++) {
            parts[i] = (struct act_part){.e = e,
                                         .L = L,
                                         .set = set,
                                         .sx = sx,
                                         .X = X,
                                         .ldx = ldx,
                                         .M = M,
                                         .m0 = M * i / nparts,
                                         .m1 = M * (i + 1) / nparts,
                                         .packed = rk_plan_slices_packed(p)};
            if (i > 0 && !(started[i] = !pthread_create(&th[i], NULL, act_part_run, &parts[i])))
                act_part_run(&parts[i]);
        }
        act_part_run(&parts[0]);
        for (uint32_t i = 0; i < nparts; i++) {
            if (started[i]) pthread_join(th[i], NULL);
            *nonfinite += parts[i].nonfinite;
            part_cpu = parts[i].cpu_ns > part_cpu ? parts[i].cpu_ns : part_cpu;
        }
        part0_cpu = parts[0].cpu_ns;
    }
    /* Core 0's A last: the others were copied from it. */
    for (uint32_t c = L->cores; c-- > 0;) {
        int rc2 = npu_bo_fini(set[c].a);
        if (!rc && rc2) rc = rk_gemm_fail(e, rc2, "A BO fini, core %u: %s", c, npu_last_error());
    }
    *quant_ns += thread_cpu_ns() - c0 - part0_cpu + part_cpu;
    return rc;
}

/* One chunk in flight: its plan and its core threads. */
struct chunk_run {
    struct rk_plan p;
    struct core_run runs[NPU_CORES];
    pthread_t th[NPU_CORES];
    bool started[NPU_CORES], planned;
};

/* What the chunks add up to. */
struct run_totals {
    struct rk_gemm_stats st;
    int64_t inflight_ns[NPU_CORES]; /* per core: time with this run's jobs in flight */
    int64_t readout_ns;             /* the chunks' slowest-core readouts, summed */
};

/* Join a chunk's core threads, add its figures, free its plan. Returns the first failure, in chunk order. */
static int chunk_finish(struct rk_gemm_engine *e, struct chunk_run *ch, struct run_totals *tot, int rc)
{
    if (!ch->planned) return rc;
    const struct rk_plan *p = &ch->p;
    struct rk_gemm_stats *st = &tot->st;
    int64_t glue_max = 0, glue_wall_max = 0, readout_max = 0, check_max = 0, wait_max = 0;
    for (uint32_t c = 0; c < p->L.cores; c++) {
        struct core_run *r = &ch->runs[c];
        if (ch->started[c]) pthread_join(ch->th[c], NULL);
        /* a chunk that was not submitted because an earlier one failed reports the earlier failure */
        if (r->rc && !rc && r->rc != -ECANCELED) rc = rk_gemm_fail(e, r->rc, "%s", r->err);
        glue_max = r->glue_ns > glue_max ? r->glue_ns : glue_max;
        glue_wall_max = r->glue_wall_ns > glue_wall_max ? r->glue_wall_ns : glue_wall_max;
        readout_max = r->readout_ns > readout_max ? r->readout_ns : readout_max;
        check_max = r->check_ns > check_max ? r->check_ns : check_max;
        wait_max = r->wait_ns > wait_max ? r->wait_ns : wait_max;
        tot->inflight_ns[c] += r->wait_ns;
        if (r->st.accept_check_ns > st->fence_check_ns) st->fence_check_ns = (double)r->st.accept_check_ns;
    }
    st->tasks += p->ntasks, st->jobs += p->njobs, st->reuse_tasks += p->reuse_tasks;
    st->macs += p->macs, st->dma_bytes += p->dma_bytes;
    st->glue_ns += (double)glue_max, st->glue_wall_ns += (double)glue_wall_max;
    st->readout_ns += (double)readout_max, st->check_ns += (double)check_max;
    tot->readout_ns += readout_max;
    st->npu_wait_ns += (double)wait_max;
    for (int b = 0; b < NPU_MODEL_BOUNDS; b++) {
        st->model_ns_200[b] += p->model_ns[RK_CLOCK_MAINLINE][b];
        st->model_ns_1000[b] += p->model_ns[RK_CLOCK_VENDOR][b];
    }
    if (p->max_job_ns > st->model_max_job_ns) st->model_max_job_ns = p->max_job_ns;
    st->chunks++;
    rk_plan_free(&ch->p);
    ch->planned = false;
    /* the slot is used again two chunks later: nothing of this chunk may be joined or counted twice */
    memset(ch->runs, 0, sizeof ch->runs);
    memset(ch->started, 0, sizeof ch->started);
    return rc;
}

int rk_gemm_run_acc(struct rk_gemm_engine *e, const struct rk_weight *w, const float *X, int64_t M, int64_t ldx,
                    float *Y, int64_t ldy, struct rk_gemm_stats *stats, int32_t *acc)
{
    int64_t t_entry = npu_monotonic_ns();
    e->sx_rows = 0;
    if (!w || w->e != e) return rk_gemm_fail(e, -EINVAL, "weight does not belong to this engine");
    const struct rk_wlayout *L = &w->L;
    rk_engine_use_group(e, w->group); /* the fds (IOVA spaces) that map the weight */
    if (M < 1 || M > RK_GEMM_M_MAX)
        return rk_gemm_fail(e, -EINVAL, "M=%lld outside 1..%d", (long long)M, RK_GEMM_M_MAX);
    if (!X || !Y || ldx < L->K || ldy < L->N || (X == Y))
        return rk_gemm_fail(e, -EINVAL, "bad operands: X %p ldx %lld (K=%u), Y %p ldy %lld (N=%u)", (const void *)X,
                            (long long)ldx, L->K, (void *)Y, (long long)ldy, L->N);
    struct npu_device_info info;
    npu_device_get_info(e->dev[0], &info);
    int64_t chunk_rows = chunk_rows_for(e, L, M), nchunks = (M + chunk_rows - 1) / chunk_rows;
    if (nchunks > 1 && whole_plan_reuses(e, L, M)) chunk_rows = M, nchunks = 1;

    struct pipe_sync sync = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
    for (uint32_t c = 0; c < NPU_CORES; c++) sync.npu_done[c] = -1;
    struct chunk_run slot[RK_GEMM_BUF_SETS];
    memset(slot, 0, sizeof slot);
    struct run_totals tot;
    memset(&tot, 0, sizeof tot);
    int64_t nonfinite = 0, quant_ns = 0, quant_wall_ns = 0;
    int rc = 0;
    for (int64_t i = 0; i < nchunks && !rc; i++) {
        struct chunk_run *ch = &slot[i % RK_GEMM_BUF_SETS];
        struct rk_core_scratch *set = e->scratch[i % RK_GEMM_BUF_SETS];
        rc = chunk_finish(e, ch, &tot, rc); /* the chunk that used this set two chunks ago */
        if (rc) break;
        int64_t m0 = i * chunk_rows, mi = M - m0 < chunk_rows ? M - m0 : chunk_rows;
        char why[256];
        if ((rc = rk_plan_make(L, (uint32_t)mi, e->opt.envelope, e->opt.job_budget_ms, &ch->p, why, sizeof why))) {
            rk_gemm_fail(e, rc, "plan for M=%lld: %s", (long long)mi, why);
            break;
        }
        ch->planned = true;
        /* scratch growth is a one-time cost, outside the measured glue */
        if ((i == 0 && (rc = host_buffers(e, L, M, chunk_rows, rk_plan_slices_packed(&ch->p)))) ||
            (rc = scratch_ready(e, &ch->p, set)))
            break;
        int64_t tq0 = npu_monotonic_ns();
        rc = quantize_into(e, &ch->p, set, X + m0 * ldx, mi, ldx, e->sx + m0, &nonfinite, &quant_ns);
        quant_wall_ns += npu_monotonic_ns() - tq0;
        if (rc) break;
        for (uint32_t c = 0; c < L->cores; c++) {
            ch->runs[c] = (struct core_run){.e = e,
                                            .w = w,
                                            .p = &ch->p,
                                            .core = c,
                                            .sc = &set[c],
                                            .sx = e->sx + m0,
                                            .sync = &sync,
                                            .chunk = i,
                                            .M = M,
                                            .m0 = m0,
                                            .Y = Y + m0 * ldy,
                                            .ldy = ldy,
                                            .acc = acc ? acc + m0 * L->N : NULL,
                                            .simulator = info.is_simulator,
                                            .job_timeout_ms = info.job_timeout_ms};
            /* one chunk: core 0 runs on this thread, as there is nothing else for it to do */
            bool inline_core = nchunks == 1 && c == 0;
            if (!inline_core && !(ch->started[c] = !pthread_create(&ch->th[c], NULL, run_core, &ch->runs[c])))
                run_core(&ch->runs[c]);
        }
        if (nchunks == 1) run_core(&ch->runs[0]);
    }
    if (rc) { /* later chunks must not wait for a turn that never comes */
        pthread_mutex_lock(&sync.mu);
        sync.failed = true;
        pthread_cond_broadcast(&sync.cv);
        pthread_mutex_unlock(&sync.mu);
    }
    /* the remaining chunks in order: the older first */
    for (int64_t k = 0; k < RK_GEMM_BUF_SETS; k++) {
        int64_t i = nchunks + k; /* slots of chunks nchunks-2, nchunks-1 (or fewer) in the order they ran */
        rc = chunk_finish(e, &slot[i % RK_GEMM_BUF_SETS], &tot, rc);
    }
    pthread_mutex_destroy(&sync.mu);
    pthread_cond_destroy(&sync.cv);
    if (stats) {
        int64_t wall = npu_monotonic_ns() - t_entry, inflight = 0;
        for (uint32_t c = 0; c < L->cores; c++)
            inflight = tot.inflight_ns[c] > inflight ? tot.inflight_ns[c] : inflight;
        *stats = tot.st;
        stats->cores_used = L->cores;
        stats->quant_ns = (double)quant_ns;
        stats->glue_ns += (double)quant_ns;
        stats->glue_wall_ns += (double)quant_wall_ns;
        stats->wall_ns = (double)wall;
        stats->exposed_glue_ns = (double)(wall - inflight);
        stats->nonfinite_rows = (uint32_t)nonfinite;
    }
    /* Rows with a NaN or an infinity went to the NPU as zeros and read out as NaN (act_quant.c); the caller
     * decides what they should hold (the plugin: what ggml's CPU path computes), rk_gemm_nonfinite_rows names
     * them until the next run. */
    if (!rc) {
        e->sx_rows = M;
        /* the glue rate chunks_for estimates from: quantization and readout per value of X and Y */
        double rate = (double)(quant_ns + tot.readout_ns) / ((double)M * (double)(L->K + L->N));
        e->glue_ns_per_value = e->glue_ns_per_value > 0 ? (e->glue_ns_per_value * 3 + rate) / 4 : rate;
    }
    return rc;
}

int rk_gemm_run(struct rk_gemm_engine *e, const struct rk_weight *w, const float *X, int64_t M, int64_t ldx, float *Y,
                int64_t ldy, struct rk_gemm_stats *stats)
{
    return rk_gemm_run_acc(e, w, X, M, ldx, Y, ldy, stats, NULL);
}

int64_t rk_gemm_nonfinite_rows(const struct rk_gemm_engine *e, int64_t *rows, int64_t cap)
{
    int64_t n = 0;
    for (int64_t m = 0; m < e->sx_rows; m++)
        if (isnan(e->sx[m])) {
            if (n < cap) rows[n] = m;
            n++;
        }
    return n;
}
