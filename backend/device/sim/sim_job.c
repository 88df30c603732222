/* Simulated jobs: implicit sync through BOs, scheduling onto the 3 core threads, running each task on
 * the register-level core, the per-job timeout, fault injection, fences.
 *
 * Scheduling (docs/hardware/rocket-uapi.md §4.6): STICKY is drm_sched's behaviour - a file's entity keeps its
 * core while it has jobs queued or running, and when idle it re-picks the least loaded core (ties to the lowest
 * index); jobs of one file run in submission order. SPREAD lets any idle core take any job whose BO
 * dependencies are done. Either way a job waits for the earlier jobs writing its in- or out-BOs. A
 * picked job reaches its core after the drm_sched worker's latency (the MODEL's per-job overhead,
 * docs/hardware/rocket-uapi.md §4.5), during which its out-BOs are busy, as on rocket.
 *
 * Injected faults report what the kernel reports, i.e. nothing (npu_device.h): a dropped job gets no
 * fence, a reset job signals success after the job timeout with its later tasks unwritten, a slow job
 * is correct but late. The common layer (npu_fence.c) and the callers' output checks must find them.
 *
 * Policy where the kernel gives no error: a job whose dependency failed is cancelled (-ECANCELED)
 * instead of computing on stale data. */
#include "sim.h"
#include "../npu_timing.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A "slow" job takes this share of the job timeout: past NPU_JOB_SUSPECT_PERCENT, short of a reset. */
#define SIM_SLOW_PERCENT 95
_Static_assert(SIM_SLOW_PERCENT > NPU_JOB_SUSPECT_PERCENT && SIM_SLOW_PERCENT < 100, "slow: between suspect and reset");

struct sim_fence {
    uint32_t job_count;
    struct sim_job *jobs[];
};

void sim_job_put_locked(struct sim_job *job)
{
    if (--job->refs) return;
    free(job->tasks);
    free(job->bos);
    free(job->deps);
    free(job);
}

static struct sim_job *job_alloc(struct sim_file *f, const struct npu_job *src)
{
    struct sim_job *job = calloc(1, sizeof *job);
    uint32_t nbo = src->in_count + src->out_count;
    if (!job) return NULL;
    job->tasks = malloc(src->task_count * sizeof *job->tasks);
    job->bos = malloc(nbo * sizeof *job->bos);
    job->deps = malloc(nbo * sizeof *job->deps);
    if (!job->tasks || !job->bos || !job->deps) {
        free(job->tasks), free(job->bos), free(job->deps), free(job);
        return NULL;
    }
    memcpy(job->tasks, src->tasks, src->task_count * sizeof *job->tasks);
    job->task_count = src->task_count;
    for (uint32_t i = 0; i < src->in_count; i++) job->bos[i] = ((struct npu_bo_node *)src->in_bos[i])->impl;
    for (uint32_t i = 0; i < src->out_count; i++)
        job->bos[src->in_count + i] = ((struct npu_bo_node *)src->out_bos[i])->impl;
    job->in_count = src->in_count;
    job->out_count = src->out_count;
    job->file = f;
    job->core = job->ran_core = -1;
    return job;
}

static int least_loaded_core(struct sim_machine *m)
{
    uint32_t load[NPU_CORES] = {0};
    for (int c = 0; c < NPU_CORES; c++) load[c] = m->cores[c].running != NULL;
    for (struct sim_job *j = m->queue_head; j; j = j->next)
        if (j->core >= 0) load[j->core]++;
    int best = 0;
    for (int c = 1; c < NPU_CORES; c++)
        if (load[c] < load[best]) best = c;
    return best;
}

static void add_dep(struct sim_job *job, struct sim_job *w)
{
    if (!w || w->state == SIM_JOB_DONE || w == job) return;
    for (uint32_t i = 0; i < job->dep_count; i++)
        if (job->deps[i] == w) return;
    w->refs++;
    job->deps[job->dep_count++] = w;
}

int sim_job_submit(struct npu_device *dev, const struct npu_job *jobs, uint32_t job_count, struct npu_fence *fence)
{
    struct sim_file *f = dev->impl;
    struct sim_machine *m = f->m;
    struct sim_fence *sf = calloc(1, sizeof *sf + job_count * sizeof sf->jobs[0]);
    if (!sf) return npu_fail(-ENOMEM, "out of memory");
    for (uint32_t j = 0; j < job_count; j++) {
        if (!(sf->jobs[j] = job_alloc(f, &jobs[j]))) {
            while (j--) sim_job_put_locked(sf->jobs[j]); /* not shared yet */
            free(sf);
            return npu_fail(-ENOMEM, "out of memory");
        }
        sf->jobs[j]->fault = sim_fault_for_next_job();
    }
    pthread_mutex_lock(&m->lock);
    for (uint32_t j = 0; j < job_count; j++) {
        struct sim_job *job = sf->jobs[j];
        job->seq = m->next_seq++;
        job->refs = 1;                             /* the fence's */
        if (job->fault == NPU_SIM_FAULT_DROPPED) { /* dropped by the kernel: no fence, nothing runs, no error */
            job->state = SIM_JOB_DONE;
            job->in_count = job->out_count = 0;
            continue;
        }
        job->refs++; /* the queue's, dropped when it completes */
        for (uint32_t b = 0; b < job->in_count + job->out_count; b++) {
            job->bos[b]->refs++;
            add_dep(job, job->bos[b]->last_writer);
        }
        for (uint32_t b = job->in_count; b < job->in_count + job->out_count; b++) {
            struct sim_bo *bo = job->bos[b];
            if (bo->last_writer) sim_job_put_locked(bo->last_writer);
            bo->last_writer = job;
            job->refs++;
        }
        if (f->sched == NPU_SIM_SCHED_STICKY) {
            if (!f->pending) f->core = least_loaded_core(m);
            job->core = f->core;
        }
        f->pending++;
        if (m->queue_tail)
            m->queue_tail->next = job;
        else
            m->queue_head = job;
        m->queue_tail = job;
    }
    pthread_cond_broadcast(&m->cond);
    pthread_mutex_unlock(&m->lock);
    sf->job_count = job_count;
    fence->impl = sf;
    return 0;
}

/* Next job core c may run, or NULL. Machine lock held. */
static struct sim_job *pick_job(struct sim_machine *m, int c, struct sim_job **prev_out)
{
    struct sim_job *prev = NULL;
    if (sim_held()) return NULL;
    for (struct sim_job *j = m->queue_head; j; prev = j, j = j->next) {
        if (j->core >= 0 && j->core != c) continue;
        bool blocked = false;
        if (j->file->sched == NPU_SIM_SCHED_STICKY) /* entity FIFO: an earlier job of the file is waiting */
            for (struct sim_job *e = m->queue_head; e != j && !blocked; e = e->next) blocked = e->file == j->file;
        for (uint32_t d = 0; d < j->dep_count && !blocked; d++) blocked = j->deps[d]->state != SIM_JOB_DONE;
        if (blocked) continue;
        *prev_out = prev;
        return j;
    }
    return NULL;
}

static void core_reset(struct sim_core *core)
{
    /* The kernel asserts srst_a/srst_h after a timeout (docs/hardware/rocket-uapi.md §1.3): registers are lost. */
    npusim_core_destroy(core->hw);
    core->hw = npusim_core_create(core->index);
    core->resets++;
}

/* Tasks [0, end) of the job, in order; stops at the first failure (job->result, job->msg). */
static void run_tasks(struct sim_core *core, struct sim_job *job, uint32_t end, uint64_t *model)
{
    struct sim_file *f = job->file;
    unsigned long long seq = (unsigned long long)job->seq;
    uint64_t timeout = f->job_timeout_ns;
    npusim_core_set_strict(core->hw, f->strict);
    npusim_core_set_envelope(core->hw, f->has_envelope ? &f->envelope : NULL);
    npusim_core_begin_job(core->hw); /* WEIGHT_REUSE only within a job (docs/hardware/limits.md §6.3) */
    struct npusim_flaws flaws;
    sim_flaws_current(&flaws);
    npusim_core_set_flaws(core->hw, &flaws);
    struct npusim_mem mem = {.ctx = f, .map = sim_file_map};
    char err[288] = "";
    pthread_rwlock_rdlock(&f->mem_lock);
    for (uint32_t t = 0; t < end; t++) {
        struct npusim_task_stats st = {0};
        int r = npusim_core_run_task(core->hw, &mem, job->tasks[t].regcmd_iova, job->tasks[t].regcmd_count, &st, err,
                                     sizeof err);
        if (r) {
            job->result = r == -ETIMEDOUT ? -ETIME : r; /* -ETIMEDOUT is reserved for the caller's deadline */
            snprintf(job->msg, sizeof job->msg, "job %llu task %u/%u on core %d: %s", seq, t, job->task_count,
                     core->index, err[0] ? err : strerror(-r));
            if (r == -EFAULT || r == -ETIMEDOUT) core_reset(core); /* silicon would hang until the reset */
            break;
        }
        job->tasks_run++;
        job->macs += st.macs;
        job->bytes_in += st.bytes_in;
        job->bytes_out += st.bytes_out;
        struct npu_model_work w = {
                .macs = st.macs, .bytes_in = st.bytes_in, .bytes_out = st.bytes_out, .precision = st.in_precision};
        *model += npu_model_task_ns(&w, f->clock_mhz, NPU_CORES, NPU_MODEL_PESSIMISTIC);
        if (*model > timeout) {
            job->result = -ETIME;
            snprintf(job->msg, sizeof job->msg,
                     "job %llu exceeded the %.1f ms job timeout: MODEL time %.3f ms after "
                     "task %u of %u at %u MHz; the kernel would reset core %d (docs/hardware/rocket-uapi.md §1.3) - "
                     "put fewer tasks "
                     "in one job",
                     seq, timeout / 1e6, *model / 1e6, t + 1, job->task_count, f->clock_mhz, core->index);
            core_reset(core);
            break;
        }
    }
    pthread_rwlock_unlock(&f->mem_lock);
}

/* An injected stall: the core thread sleeps until the job's device time (MODEL so far + stall) reaches
 * `percent` of the job timeout. */
static void stall_until(struct sim_job *job, uint64_t model, uint32_t percent)
{
    uint64_t until = job->file->job_timeout_ns * percent / 100;
    job->stall_ns = until > model ? until - model : 0;
    sim_sleep_ns(job->stall_ns);
}

static void run_job(struct sim_core *core, struct sim_job *job, const struct sim_job *failed_dep)
{
    unsigned long long seq = (unsigned long long)job->seq;
    uint64_t model = npu_model_job_overhead_ns(NPU_MODEL_PESSIMISTIC);
    job->ran_core = core->index;
    if (failed_dep) {
        job->result = -ECANCELED;
        snprintf(job->msg, sizeof job->msg, "job %llu cancelled: it depends on job %llu, which failed", seq,
                 (unsigned long long)failed_dep->seq);
        return;
    }
    if (job->fault == NPU_SIM_FAULT_DMA) {
        job->result = -EFAULT;
        snprintf(job->msg, sizeof job->msg,
                 "job %llu task 0 on core %d: IOMMU/DMA fault reading regcmd at IOVA "
                 "0x%08x (injected fault 'dma'); on silicon the job hangs until the %.0f ms job timeout and the "
                 "core is reset",
                 seq, core->index, job->tasks[0].regcmd_iova, npu_model_job_timeout_ns() / 1e6);
        core_reset(core);
        return;
    }
    if (!core->hw) {
        job->result = -ENOMEM;
        snprintf(job->msg, sizeof job->msg, "job %llu: simulated core %d could not be created", seq, core->index);
        return;
    }
    /* reset: the middle task hangs; it and the tasks after it write nothing (docs/hardware/rocket-uapi.md §1.3) */
    bool reset = job->fault == NPU_SIM_FAULT_RESET;
    run_tasks(core, job, reset ? job->task_count / 2 : job->task_count, &model);
    job->model_ns = model;
    if (job->result) return;
    if (reset) {
        stall_until(job, model, 100); /* no completion interrupt: the kernel's timeout fires */
        core_reset(core);
    } else if (job->fault == NPU_SIM_FAULT_SLOW) {
        stall_until(job, model, SIM_SLOW_PERCENT);
    }
}

void *sim_core_thread(void *arg)
{
    struct sim_core *core = arg;
    struct sim_machine *m = core->m;
    pthread_mutex_lock(&m->lock);
    while (!m->quit) {
        struct sim_job *prev = NULL, *job = pick_job(m, core->index, &prev);
        if (!job) {
            pthread_cond_wait(&m->cond, &m->lock);
            continue;
        }
        if (prev)
            prev->next = job->next;
        else
            m->queue_head = job->next;
        if (m->queue_tail == job) m->queue_tail = prev;
        job->next = NULL;
        job->state = SIM_JOB_RUNNING;
        job->start_order = ++m->run_counter;
        core->running = job;
        const struct sim_job *failed_dep = NULL;
        for (uint32_t d = 0; d < job->dep_count && !failed_dep; d++)
            if (job->deps[d]->result) failed_dep = job->deps[d];
        pthread_mutex_unlock(&m->lock);

        sim_sleep_ns(npu_model_job_overhead_ns(
                NPU_MODEL_OPTIMISTIC)); /* the drm_sched worker, before the job reaches the core */
        run_job(core, job, failed_dep);
        for (uint32_t b = 0; b < job->in_count + job->out_count; b++) sim_bo_put(job->bos[b]);

        pthread_mutex_lock(&m->lock);
        job->in_count = job->out_count = 0;
        for (uint32_t d = 0; d < job->dep_count; d++) sim_job_put_locked(job->deps[d]);
        job->dep_count = 0;
        job->end_order = ++m->run_counter;
        job->state = SIM_JOB_DONE;
        core->running = NULL;
        job->file->pending--;
        sim_job_put_locked(job); /* the queue's reference */
        pthread_cond_broadcast(&m->cond);
    }
    pthread_mutex_unlock(&m->lock);
    return NULL;
}

int sim_fence_wait(struct npu_fence *fence, int64_t deadline_ns, struct npu_submit_stats *s)
{
    struct sim_fence *sf = fence->impl;
    struct sim_machine *m = ((struct sim_file *)fence->dev->impl)->m;
    pthread_mutex_lock(&m->lock);
    uint32_t done;
    for (;;) {
        done = 0;
        for (uint32_t j = 0; j < sf->job_count; j++) done += sf->jobs[j]->state == SIM_JOB_DONE;
        if (done == sf->job_count || sim_cond_wait_until(m, deadline_ns) == ETIMEDOUT) break;
    }
    if (done < sf->job_count) {
        pthread_mutex_unlock(&m->lock);
        return npu_fail(-ETIMEDOUT, "submit not complete at the deadline (%u of %u jobs done)", done, sf->job_count);
    }
    uint64_t core_busy[NPU_CORES] = {0};
    const struct sim_job *failed = NULL;
    for (uint32_t j = 0; j < sf->job_count; j++) {
        const struct sim_job *job = sf->jobs[j];
        s->jobs++;
        s->tasks += job->tasks_run;
        s->macs += job->macs;
        s->bytes_in += job->bytes_in;
        s->bytes_out += job->bytes_out;
        s->model_busy_ns += job->model_ns;
        if (job->model_ns > s->model_max_job_ns) s->model_max_job_ns = job->model_ns;
        if (job->ran_core >= 0) {
            core_busy[job->ran_core] += job->model_ns;
            s->core_mask |= 1u << job->ran_core;
        }
        if (job->result && !failed) failed = job, s->failed_job = (int32_t)j;
    }
    s->model_ns = npu_model_parallel_ns(core_busy, NPU_CORES, s->bytes_in + s->bytes_out);
    int err = 0;
    if (failed) { /* the first failure, then the others (e.g. dependants cancelled) */
        char text[1024];
        size_t l = (size_t)snprintf(text, sizeof text, "%s", failed->msg);
        for (uint32_t j = 0; j < sf->job_count && l < sizeof text; j++)
            if (sf->jobs[j]->result && sf->jobs[j] != failed)
                l += (size_t)snprintf(text + l, sizeof text - l, "; also %s", sf->jobs[j]->msg);
        err = npu_fail(failed->result, "%s", text);
    }
    pthread_mutex_unlock(&m->lock);
    return err;
}

void sim_fence_free(struct npu_fence *fence)
{
    struct sim_fence *sf = fence->impl;
    if (!sf) return;
    struct sim_machine *m = ((struct sim_file *)fence->dev->impl)->m;
    pthread_mutex_lock(&m->lock);
    for (uint32_t j = 0; j < sf->job_count; j++) sim_job_put_locked(sf->jobs[j]);
    pthread_mutex_unlock(&m->lock);
    free(sf);
    fence->impl = NULL;
}

int64_t sim_job_time_ns(const struct npu_fence *fence, uint32_t job, int64_t observed_ns)
{
    /* The job is done (its fence BO was seen idle): its fields no longer change. What the host spends on
     * a simulated job - computing its tasks, waking threads on a shared machine - is not NPU time, and
     * measured against a scaled-down job timeout it would be mistaken for a slow job. The job's NPU time
     * is the MODEL's estimate of its tasks plus any injected stall, which the wait did take. */
    const struct sim_job *j = ((const struct sim_fence *)fence->impl)->jobs[job];
    (void)observed_ns;
    return (int64_t)(j->model_ns + j->stall_ns);
}
