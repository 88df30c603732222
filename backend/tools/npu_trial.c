/* npu_trial: one matmul trial with an explicit tiling (npu_trial.h). Per device: one A buffer (full-width
 * rows, or one region per K-slice), one packed B per K-slice, one C region per K-slice ([M][Npad] rows that
 * the N-tiles write into), one regcmd segment per task; tasks in the planner's order (slice, N-tile, M-tile),
 * grouped into jobs, each job submitted with its own fence so a failure names its job. */
#include "npu_trial.h"
#include "npu_limits.h"
#include "npu_regs.h"
#include "npu_timing.h"
#include "regcmd.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TRIAL_MAX_SLICES   8
#define TRIAL_WAIT_SIM_MS  300000      /* the software NPU runs the MACs on a shared host */
#define TRIAL_WAIT_MS      5000        /* rocket: a floor, plus two job timeouts per job */
#define TRIAL_POISON_I32   0xA5A5A5A5u /* no int8 matmul within the limits sums to it (|sum| <= 2^27) */
#define TRIAL_POISON_F32   0x7FC5A5A5u /* a NaN: fails every comparison */
#define TRIAL_FP16_TOL_EXP (-10)       /* |npu - ref| <= 2^-10·Σ|a·b| + 1e-6 (fp16 products, fp32 sums) */
#define TRIAL_FP16_TOL_ABS 1e-6

struct part { /* one device's share */
    struct npu_device *dev;
    uint32_t n0, n, npad;
    struct npu_bo *a, *b, *c, *regcmd;
    uint32_t ntasks, njobs;
    struct npu_task *tasks;
    uint32_t *task_slice, *task_m0, *task_tile, *job_first;
    bool *task_reuse;
    struct npu_fence **fences;
    uint64_t bytes;
    uint32_t core_mask;
};

struct geometry {
    uint32_t slices, k0[TRIAL_MAX_SLICES], kreal[TRIAL_MAX_SLICES], kpad[TRIAL_MAX_SLICES];
    uint32_t Kpad, mt, mtiles;
    size_t bpe, obpe;
};

static uint32_t rng_next(uint32_t *s)
{
    *s ^= *s << 13, *s ^= *s >> 17, *s ^= *s << 5;
    return *s;
}

static int trial_fail(struct npu_trial_result *r, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int trial_fail(struct npu_trial_result *r, int rc, const char *fmt, ...)
{
    if (r->rc) return r->rc;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->error, sizeof r->error, fmt, ap);
    va_end(ap);
    return r->rc = rc;
}

const char *npu_trial_tolerance(const struct npu_trial *t)
{
    if (t->in == RK_INT8)
        return t->out == RK_INT32 ? "bit-exact int32" : "bit-exact fp32 (one rounding of the exact int32 sum)";
    return "|npu - ref| <= 2^-10 * sum_k |a*b| + 1e-6 (fp16 products, fp32 accumulation)";
}

static uint32_t poison_word(const struct npu_trial *t)
{
    return t->out == RK_INT32 ? TRIAL_POISON_I32 : TRIAL_POISON_F32;
}

static uint32_t tile_cols(const struct npu_trial *t, const struct part *p)
{
    return t->n_tile && t->n_tile < p->n ? t->n_tile : p->n;
}

static struct rk_matmul task_matmul(const struct npu_trial *t, const struct geometry *g, const struct part *p,
                                    uint32_t s, uint32_t tile, uint32_t m0)
{
    uint32_t nt = tile_cols(t, p), c0 = tile * nt;
    struct rk_matmul mm = {.in = t->in,
                           .out = t->out,
                           .m = t->m - m0 < g->mt ? t->m - m0 : g->mt,
                           .k = g->kreal[s],
                           .n = p->n - c0 < nt ? p->n - c0 : nt,
                           .c_row_stride = p->npad};
    bool whole_rows = t->inplace || g->slices == 1;
    uint64_t a = whole_rows ? ((uint64_t)m0 * g->Kpad + g->k0[s]) * g->bpe
                            : ((uint64_t)t->m * g->k0[s] + (uint64_t)m0 * g->kpad[s]) * g->bpe;
    if (whole_rows && g->slices > 1) mm.a_row_stride = g->Kpad;
    uint64_t b = 0;
    for (uint32_t j = 0; j < s; j++) b += (uint64_t)p->npad * g->kpad[j] * g->bpe;
    b += (uint64_t)c0 * g->kpad[s] * g->bpe; /* a kernel group is contiguous over K (layouts.md) */
    uint64_t c = ((uint64_t)s * t->m * p->npad + (uint64_t)m0 * p->npad + c0) * g->obpe;
    mm.a_iova = p->a->iova + (uint32_t)a;
    mm.b_iova = p->b->iova + (uint32_t)b;
    mm.c_iova = p->c->iova + (uint32_t)c;
    return mm;
}

static void close_part(struct part *p)
{
    for (uint32_t j = 0; p->fences && j < p->njobs; j++) npu_fence_free(p->fences[j]);
    npu_bo_close(p->a), npu_bo_close(p->b), npu_bo_close(p->c), npu_bo_close(p->regcmd);
    free(p->tasks), free(p->task_slice), free(p->task_m0), free(p->task_tile), free(p->job_first), free(p->fences);
    free(p->task_reuse);
    memset(p, 0, sizeof *p);
}

static void keep_task(struct npu_trial_result *r, const struct npu_trial *t, const struct geometry *g,
                      const struct part *p, uint32_t dev, uint32_t task)
{
    size_t seg = rk_regcmd_segment_entries(RK_REGCMD_BODY_ENTRIES);
    uint32_t nt = tile_cols(t, p);
    r->bad_dev = (int32_t)dev, r->bad_task = (int32_t)task;
    r->bad_slice = p->task_slice[task], r->bad_m0 = p->task_m0[task];
    r->bad_rows = t->m - r->bad_m0 < g->mt ? t->m - r->bad_m0 : g->mt;
    r->bad_n0 = p->n0 + p->task_tile[task] * nt;
    r->bad_cols = p->n0 + p->n - r->bad_n0 < nt ? p->n0 + p->n - r->bad_n0 : nt;
    r->reg_count = p->tasks[task].regcmd_count + (p->tasks[task].regcmd_count & 1);
    if (r->reg_count > NPU_TRIAL_MAX_SEG) r->reg_count = NPU_TRIAL_MAX_SEG;
    memcpy(r->regs, (const uint64_t *)p->regcmd->map + task * seg, r->reg_count * 8);
}

/* The task index a device's failing job names ("task N/M" in the simulator's message), else its first task. */
static uint32_t failed_task(const struct part *p, uint32_t job, const char *msg)
{
    uint32_t first = p->job_first[job], last = job + 1 < p->njobs ? p->job_first[job + 1] : p->ntasks;
    const char *at = msg ? strstr(msg, " task ") : NULL;
    unsigned idx, of;
    if (at && sscanf(at, " task %u/%u", &idx, &of) == 2 && first + idx < last) return first + idx;
    return first;
}

static int build_part(struct part *p, const struct npu_trial *t, const struct geometry *g, const void *A, const void *B,
                      struct npu_trial_result *r)
{
    size_t seg = rk_regcmd_segment_entries(RK_REGCMD_BODY_ENTRIES);
    uint32_t nt = tile_cols(t, p), ntiles = (p->n + nt - 1) / nt;
    p->npad = rk_npad(t->in, p->n);
    p->ntasks = g->slices * ntiles * g->mtiles;
    uint32_t per_job = t->tasks_per_job ? t->tasks_per_job : p->ntasks;
    p->njobs = (p->ntasks + per_job - 1) / per_job;
    p->tasks = calloc(p->ntasks, sizeof *p->tasks);
    p->task_slice = calloc(p->ntasks, sizeof *p->task_slice);
    p->task_m0 = calloc(p->ntasks, sizeof *p->task_m0);
    p->task_tile = calloc(p->ntasks, sizeof *p->task_tile);
    p->job_first = calloc(p->njobs, sizeof *p->job_first);
    p->fences = calloc(p->njobs, sizeof *p->fences);
    p->task_reuse = calloc(p->ntasks, sizeof *p->task_reuse);
    if (!p->tasks || !p->task_slice || !p->task_m0 || !p->task_tile || !p->job_first || !p->fences || !p->task_reuse)
        return trial_fail(r, -ENOMEM, "out of memory");
    uint64_t a_bytes = (uint64_t)t->m * g->Kpad * g->bpe, b_bytes = (uint64_t)p->npad * g->Kpad * g->bpe;
    uint64_t c_bytes = (uint64_t)g->slices * t->m * p->npad * g->obpe;
    int err;
    if ((err = npu_bo_create(p->dev, (uint32_t)a_bytes, &p->a)) ||
        (err = npu_bo_create(p->dev, (uint32_t)b_bytes, &p->b)) ||
        (err = npu_bo_create(p->dev, (uint32_t)c_bytes, &p->c)) ||
        (err = npu_bo_create(p->dev, (uint32_t)(p->ntasks * seg * 8), &p->regcmd)))
        return trial_fail(r, err, "BO create: %s", npu_last_error());
    int64_t deadline = npu_deadline_after_ms(TRIAL_WAIT_MS);
    struct npu_bo *all[] = {p->a, p->b, p->c, p->regcmd};
    for (int i = 0; i < 4; i++)
        if ((err = npu_bo_prep(all[i], deadline))) return trial_fail(r, err, "BO prep: %s", npu_last_error());

    /* A: one full-width row per token, or each slice's columns in a region of their own */
    for (uint32_t s = 0; s < g->slices; s++) {
        bool whole = t->inplace || g->slices == 1;
        struct rk_matmul am = {.in = t->in, .m = t->m, .k = g->kreal[s], .a_row_stride = whole ? g->Kpad : 0};
        size_t off = whole ? (size_t)g->k0[s] * g->bpe : (size_t)t->m * g->k0[s] * g->bpe;
        rk_pack_a(&am, (uint8_t *)p->a->map + off, (const uint8_t *)A + (size_t)g->k0[s] * g->bpe, t->k);
    }
    /* B: one packed block per slice (layouts.md: [Npad/G][Kpad/32][G][32]) */
    size_t boff = 0;
    for (uint32_t s = 0; s < g->slices; s++) {
        const uint8_t *src = (const uint8_t *)B + ((size_t)g->k0[s] * t->n + p->n0) * g->bpe;
        if (t->in == RK_INT8)
            rk_pack_b_int8((int8_t *)((uint8_t *)p->b->map + boff), (const int8_t *)src, g->kreal[s], p->n, t->n, 1);
        else
            rk_pack_b_fp16((uint16_t *)((uint8_t *)p->b->map + boff), (const uint16_t *)src, g->kreal[s], p->n, t->n,
                           1);
        boff += (size_t)p->npad * g->kpad[s] * g->bpe;
    }
    /* C poisoned: an output no task wrote cannot pass */
    uint32_t poison = poison_word(t);
    for (size_t i = 0; i < c_bytes / 4; i++) ((uint32_t *)p->c->map)[i] = poison;

    uint32_t task = 0;
    for (uint32_t s = 0; s < g->slices; s++)
        for (uint32_t tile = 0; tile < ntiles; tile++)
            for (uint32_t i = 0, prev_banks = 0; i < g->mtiles; i++, task++) {
                uint32_t m0 = i * g->mt;
                struct rk_matmul mm = task_matmul(t, g, p, s, tile, m0);
                /* the task before is this N-tile's previous M-tile, in the same job, with the same bank split */
                uint32_t banks = npu_data_banks_needed(1, mm.m, g->kpad[s], (unsigned)g->bpe);
                mm.weight_reuse = t->reuse && i > 0 && task % per_job && banks == prev_banks;
                p->task_reuse[task] = mm.weight_reuse;
                r->reuse_tasks += mm.weight_reuse;
                prev_banks = banks;
                uint32_t seg_iova = p->regcmd->iova + (uint32_t)(task * seg * 8), count;
                bool next_in_job = t->chained && task + 1 < p->ntasks && (task + 1) % per_job;
                char why[256];
                if ((err = rk_regcmd_matmul_task(&mm, next_in_job ? seg_iova + (uint32_t)(seg * 8) : 0,
                                                 (uint64_t *)p->regcmd->map + task * seg, seg, &count, why,
                                                 sizeof why)))
                    return trial_fail(r, err, "regcmd builder, task %u: %s", task, why);
                p->tasks[task] = (struct npu_task){.regcmd_iova = seg_iova,
                                                   .regcmd_count = count,
                                                   .shape = {mm.m, g->kpad[s], rk_npad(mm.in, mm.n),
                                                             t->in == RK_INT8 ? NPU_DTYPE_INT8 : NPU_DTYPE_FP16,
                                                             t->out == RK_INT32 ? NPU_DTYPE_INT32 : NPU_DTYPE_FP32}};
                p->task_slice[task] = s, p->task_m0[task] = m0, p->task_tile[task] = tile;
            }
    for (uint32_t j = 0; j < p->njobs; j++) p->job_first[j] = j * per_job;
    for (int i = 0; i < 4; i++)
        if ((err = npu_bo_fini(all[i]))) return trial_fail(r, err, "BO fini: %s", npu_last_error());
    return 0;
}

/* The MODEL's prediction of one job from its tasks' shapes, for a bound. The cores argument is NPU_CORES, as
 * in the devices' own MODEL (sim/sim_job.c, rocket/rocket_job.c). */
static uint64_t job_model_ns(const struct part *p, uint32_t first, uint32_t last, uint32_t clock_mhz,
                             enum npu_model_bound b)
{
    uint64_t ns = npu_model_job_overhead_ns(b);
    for (uint32_t i = first; i < last; i++) {
        struct npu_model_work w = npu_model_work_from_shape(&p->tasks[i].shape);
        w.weights_reused = p->task_reuse[i];
        ns += npu_model_task_ns(&w, clock_mhz, NPU_CORES, b);
    }
    return ns;
}

static void record_failure(struct npu_trial_result *r, const struct part *p, uint32_t dev, uint32_t job, int err)
{
    const char *msg = npu_last_error();
    trial_fail(r, err, "device %u job %u: %s", dev, job, msg);
    r->bad_dev = (int32_t)dev, r->bad_task = (int32_t)failed_task(p, job, msg);
}

static void add_stats(struct npu_trial_result *r, struct part *p, const struct npu_submit_stats *st)
{
    p->bytes += st->bytes_in + st->bytes_out, r->macs += st->macs;
    p->core_mask |= st->core_mask;
}

static int submit_and_wait(struct part *parts, uint32_t used, const struct npu_trial *t,
                           const struct npu_device_info *info, struct npu_trial_result *r)
{
    int64_t wait_ms = info->is_simulator ? TRIAL_WAIT_SIM_MS : TRIAL_WAIT_MS;
    for (uint32_t i = 0; i < used; i++) wait_ms += (int64_t)parts[i].njobs * 2 * info->job_timeout_ms;
    int64_t deadline = npu_deadline_after_ms(wait_ms), t0 = npu_monotonic_ns();
    r->jobs_within_bounds = t->serial;
    bool hold = t->hold_sim && info->is_simulator && !t->serial;
    if (hold) npu_sim_hold(true);
    bool stop = false;
    for (uint32_t i = 0; i < used && !stop; i++) {
        struct part *p = &parts[i];
        struct npu_bo *ins[] = {p->regcmd, p->a, p->b}, *outs[] = {p->c};
        for (uint32_t j = 0; j < p->njobs && !stop; j++) {
            uint32_t first = p->job_first[j], last = j + 1 < p->njobs ? p->job_first[j + 1] : p->ntasks;
            struct npu_job job = {&p->tasks[first], last - first, ins, 3, outs, 1};
            int64_t j0 = npu_monotonic_ns();
            int err = npu_submit(p->dev, &job, 1, &p->fences[j]);
            if (err) {
                trial_fail(r, err, "device %u job %u: submit: %s", i, j, npu_last_error());
                stop = true;
                break;
            }
            r->jobs++;
            if (!t->serial) continue;
            /* one job at a time: its own time, measured on rocket; the simulator reports its timing MODEL */
            struct npu_submit_stats st = {0};
            if ((err = npu_fence_wait(p->fences[j], deadline, &st))) {
                record_failure(r, p, i, j, err);
                stop = true;
                break;
            }
            uint64_t measured = info->is_simulator ? st.model_ns : (uint64_t)(npu_monotonic_ns() - j0);
            uint64_t model[NPU_MODEL_BOUNDS];
            for (int b = 0; b < NPU_MODEL_BOUNDS; b++) {
                model[b] = job_model_ns(p, first, last, info->model_clock_mhz, (enum npu_model_bound)b);
                r->job_model_ns[b] += model[b];
            }
            r->job_measured_ns += measured;
            double ratio = (double)measured / (double)model[NPU_MODEL_PESSIMISTIC];
            if (ratio > r->job_ratio_max) r->job_ratio_max = ratio;
            if (measured < model[NPU_MODEL_OPTIMISTIC] || measured > model[NPU_MODEL_PESSIMISTIC])
                r->jobs_within_bounds = false;
            add_stats(r, p, &st);
        }
    }
    if (hold) npu_sim_hold(false);
    /* every fence of the submits in flight, also after a failure (their jobs finish or are cancelled) */
    for (uint32_t i = 0; i < used && !t->serial; i++) {
        struct part *p = &parts[i];
        for (uint32_t j = 0; j < p->njobs && p->fences[j]; j++) {
            struct npu_submit_stats st = {0};
            int e = npu_fence_wait(p->fences[j], deadline, &st);
            add_stats(r, p, &st);
            if (e && !r->rc) record_failure(r, p, i, j, e);
        }
    }
    r->wall_ms = (double)(npu_monotonic_ns() - t0) / 1e6;
    return r->rc;
}

/* Compare every output of every slice with its reference; the first wrong one names its task. An output that
 * still holds the poison was never written: the kernel signals a job it reset after the timeout, or dropped,
 * like a good one (docs/hardware/rocket-uapi.md §1.3), so that is a device failure, not a wrong value. */
static void compare(struct part *parts, uint32_t used, const struct npu_trial *t, const struct geometry *g,
                    const int32_t *iref, const double *fref, const double *mag, struct npu_trial_result *r)
{
    const uint32_t poison = poison_word(t);
    uint32_t first_dev = 0, first_task = 0, first_row = 0, first_col = 0, first_slice = 0;
    for (uint32_t i = 0; i < used; i++) {
        struct part *p = &parts[i];
        if (npu_bo_prep(p->c, npu_deadline_after_ms(TRIAL_WAIT_MS))) {
            trial_fail(r, -EIO, "device %u: output BO prep: %s", i, npu_last_error());
            return;
        }
        for (uint32_t s = 0; s < g->slices; s++)
            for (uint32_t m = 0; m < t->m; m++)
                for (uint32_t c = 0; c < p->n; c++) {
                    size_t ri = ((size_t)s * t->m + m) * t->n + p->n0 + c;
                    size_t ci = ((size_t)s * t->m + m) * p->npad + c;
                    uint32_t nt = tile_cols(t, p), ntiles = (p->n + nt - 1) / nt;
                    uint32_t task = (s * ntiles + c / nt) * g->mtiles + m / g->mt;
                    if (((const uint32_t *)p->c->map)[ci] == poison) {
                        if (!r->unwritten++)
                            first_dev = i, first_task = task, first_row = m, first_col = p->n0 + c, first_slice = s;
                        continue;
                    }
                    double got, want, d;
                    bool bad;
                    if (t->out == RK_INT32) {
                        got = ((const int32_t *)p->c->map)[ci], want = iref[ri];
                        bad = got != want;
                    } else {
                        float f = ((const float *)p->c->map)[ci];
                        got = f;
                        want = t->in == RK_INT8 ? (double)(float)iref[ri] : fref[ri];
                        bad = t->in == RK_INT8
                                      ? !(f == (float)iref[ri])
                                      : !(fabs(got - want) <= ldexp(mag[ri], TRIAL_FP16_TOL_EXP) + TRIAL_FP16_TOL_ABS);
                    }
                    d = fabs(got - want);
                    if (d > r->max_abs_err || isnan(d)) r->max_abs_err = isnan(d) ? INFINITY : d;
                    r->compared++;
                    if (!bad || r->mismatches++) continue;
                    keep_task(r, t, g, p, i, task);
                    r->bad_row = m, r->bad_col = p->n0 + c, r->bad_got = got, r->bad_want = want;
                }
    }
    if (r->unwritten) {
        const struct part *fp = &parts[first_dev];
        uint32_t job = 0;
        while (job + 1 < fp->njobs && fp->job_first[job + 1] <= first_task) job++;
        keep_task(r, t, g, fp, first_dev, first_task);
        r->bad_row = first_row, r->bad_col = first_col;
        trial_fail(
                r, -EIO,
                "%llu of %llu outputs still hold the poison written before the submit, first at row %u, column %u "
                "(K-slice %u) of device %u job %u, task %u: the NPU never wrote them (the job was dropped, or the core "
                "was reset before it finished)",
                (unsigned long long)r->unwritten, (unsigned long long)(r->compared + r->unwritten), first_row,
                first_col, first_slice, first_dev, job, first_task);
        return;
    }
    if (r->mismatches)
        trial_fail(
                r, -EDOM,
                "%llu of %llu values wrong; first at row %u, column %u (K-slice %u) of device %u: npu %.9g, cpu %.9g "
                "(tolerance: %s)",
                (unsigned long long)r->mismatches, (unsigned long long)r->compared, r->bad_row, r->bad_col,
                r->bad_slice, r->bad_dev, r->bad_got, r->bad_want, npu_trial_tolerance(t));
}

static int geometry_of(const struct npu_trial *t, struct geometry *g, struct npu_trial_result *r)
{
    memset(g, 0, sizeof *g);
    if (!t->m || !t->k || !t->n) return trial_fail(r, -EINVAL, "empty matmul");
    if (!((t->in == RK_INT8 && (t->out == RK_INT32 || t->out == RK_FP32)) || (t->in == RK_FP16 && t->out == RK_FP32)))
        return trial_fail(r, -EINVAL, "a trial computes int8 -> int32/fp32 or fp16 -> fp32");
    if ((t->k_slice && t->k_slice % NPU_K_ALIGN) || (t->n_tile && t->n_tile % NPU_KGROUP_INT8))
        return trial_fail(r, -EINVAL, "K-slices and N-tiles are multiples of 32");
    g->bpe = rk_dtype_size(t->in), g->obpe = rk_dtype_size(t->out), g->Kpad = rk_kpad(t->k);
    uint32_t ks = t->k_slice && t->k_slice < g->Kpad ? t->k_slice : g->Kpad;
    g->slices = (g->Kpad + ks - 1) / ks;
    if (g->slices > TRIAL_MAX_SLICES) return trial_fail(r, -EINVAL, "more than %d K-slices", TRIAL_MAX_SLICES);
    for (uint32_t s = 0; s < g->slices; s++) {
        g->k0[s] = s * ks;
        g->kreal[s] = t->k - g->k0[s] < ks ? t->k - g->k0[s] : ks;
        g->kpad[s] = rk_kpad(g->kreal[s]);
    }
    g->mt = t->m_tile && t->m_tile < t->m ? t->m_tile : t->m;
    g->mtiles = (t->m + g->mt - 1) / g->mt;
    return 0;
}

int npu_trial_run(struct npu_device *const *devs, uint32_t ndev, const struct npu_trial *t, struct npu_trial_result *r)
{
    memset(r, 0, sizeof *r);
    r->bad_dev = r->bad_task = -1;
    for (int i = 0; i < 3; i++) r->dev_core[i] = -1;
    struct geometry g;
    if (ndev < 1 || ndev > NPU_CORES) return trial_fail(r, -EINVAL, "1..%u devices", NPU_CORES);
    if (geometry_of(t, &g, r)) return r->rc;
    uint32_t M = t->m, K = t->k, N = t->n, seed = t->seed ? t->seed : 0x5eed1234u;
    bool i8 = t->in == RK_INT8;
    void *A = malloc((size_t)M * K * g.bpe), *B = malloc((size_t)K * N * g.bpe);
    size_t nref = (size_t)g.slices * M * N;
    int32_t *iref = i8 ? calloc(nref, sizeof *iref) : NULL;
    double *fref = i8 ? NULL : calloc(nref, sizeof *fref), *mag = i8 ? NULL : calloc(nref, sizeof *mag);
    struct part parts[NPU_CORES] = {0};
    uint32_t used = 0;
    if (!A || !B || (i8 ? !iref : !fref || !mag)) {
        trial_fail(r, -ENOMEM, "out of memory");
        goto out;
    }
    /* int8 over the full range; fp16 multiples of 1/64 in [-2, 2) (exact in fp16) */
    for (size_t i = 0; i < (size_t)M * K; i++)
        i8 ? (void)(((int8_t *)A)[i] = (int8_t)rng_next(&seed))
           : (void)(((uint16_t *)A)[i] = rk_fp16_from_float((float)((int)(rng_next(&seed) % 256) - 128) / 64.0f));
    for (size_t i = 0; i < (size_t)K * N; i++)
        i8 ? (void)(((int8_t *)B)[i] = (int8_t)rng_next(&seed))
           : (void)(((uint16_t *)B)[i] = rk_fp16_from_float((float)((int)(rng_next(&seed) % 256) - 128) / 64.0f));
    /* per-slice references: a wrong partial names its slice */
    for (uint32_t s = 0; s < g.slices; s++)
        for (uint32_t m = 0; m < M; m++)
            for (uint32_t k = g.k0[s]; k < g.k0[s] + g.kreal[s]; k++) {
                size_t row = ((size_t)s * M + m) * N;
                if (i8) {
                    int32_t a = ((const int8_t *)A)[(size_t)m * K + k];
                    const int8_t *b = (const int8_t *)B + (size_t)k * N;
                    for (uint32_t n = 0; n < N; n++) iref[row + n] += a * b[n];
                } else {
                    double a = rk_fp16_to_float(((const uint16_t *)A)[(size_t)m * K + k]);
                    const uint16_t *b = (const uint16_t *)B + (size_t)k * N;
                    for (uint32_t n = 0; n < N; n++) {
                        double ab = a * rk_fp16_to_float(b[n]);
                        fref[row + n] += ab, mag[row + n] += fabs(ab);
                    }
                }
            }

    /* N over the devices in 32-column units (a device may get none), or all of it on each */
    uint32_t units = (N + NPU_KGROUP_INT8 - 1) / NPU_KGROUP_INT8, n0 = 0;
    for (uint32_t i = 0; i < ndev; i++) {
        uint32_t u = units / ndev + (i < units % ndev);
        uint32_t n = t->replicate ? N : u * NPU_KGROUP_INT8 < N - n0 ? u * NPU_KGROUP_INT8 : N - n0;
        if (!n) continue;
        parts[used] = (struct part){.dev = devs[i], .n0 = t->replicate ? 0 : n0, .n = n};
        if (build_part(&parts[used++], t, &g, A, B, r)) goto out;
        if (!t->replicate) n0 += n;
    }
    for (uint32_t i = 0; i < used; i++) r->tasks += parts[i].ntasks;
    r->devices = used;
    struct npu_device_info info;
    npu_device_get_info(devs[0], &info);
    if (!submit_and_wait(parts, used, t, &info, r)) compare(parts, used, t, &g, iref, fref, mag, r);
    if (r->bad_task >= 0 && r->rc != -EDOM && !r->reg_count)
        keep_task(r, t, &g, &parts[r->bad_dev], (uint32_t)r->bad_dev, (uint32_t)r->bad_task);
    uint64_t bytes = 0;
    for (uint32_t i = 0; i < used; i++) {
        bytes += parts[i].bytes;
        if (info.is_simulator && parts[i].core_mask && !(parts[i].core_mask & (parts[i].core_mask - 1)))
            r->dev_core[i] = __builtin_ctz(parts[i].core_mask);
    }
    r->bytes = bytes;
    /* both bounds from the task shapes: each device's jobs back to back, the devices in parallel */
    for (int b = 0; b < NPU_MODEL_BOUNDS; b++) {
        uint64_t busy[NPU_CORES] = {0};
        for (uint32_t i = 0; i < used; i++)
            for (uint32_t j = 0; j < parts[i].njobs; j++)
                busy[i] += job_model_ns(&parts[i], parts[i].job_first[j],
                                        j + 1 < parts[i].njobs ? parts[i].job_first[j + 1] : parts[i].ntasks,
                                        info.model_clock_mhz, (enum npu_model_bound)b);
        r->model_ns[b] = npu_model_parallel_bound_ns(busy, (int)used, bytes, (enum npu_model_bound)b);
    }
out:
    for (uint32_t i = 0; i < used; i++) close_part(&parts[i]);
    free(A), free(B), free(iref), free(fref), free(mag);
    return r->rc;
}
