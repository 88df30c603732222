/* What every submit needs around the implementation because the kernel does not report it
 * (docs/hardware/rocket-uapi.md §1.3, §2.3, §4.3). One implementation for rocket and the sim: they only
 * answer "is this BO busy now" (ops->bo_busy) and wait on a BO (ops->bo_prep).
 *
 * Fence BOs. Each job gets an NPU_FENCE_BO_BYTES BO of the device's pool as its first out-BO. The kernel
 * attaches a job's fence to its out-BOs only, and this one is written by no other job, so it carries the
 * job's fence alone; being one page, PREP_BO's cache sync on it is short, so a slow PREP_BO means a wait
 * on a fence, not a sync of a large output.
 *
 * Acceptance, right after SUBMIT (which returns 0 for jobs it drops). Each job's fence BO is asked "busy
 * now?": busy, or (rocket, whose answer may wait for the fence) idle only after a visible wait (the fence
 * signalled during the check), means a fence exists: the job was taken. Idle at once means no fence now:
 * dropped, or already finished. It cannot have finished yet when
 *   (a) the answer came back within the device's sched_latency_min_ns of entering SUBMIT: no job
 *       completes sooner (rocket: 20 us, under a quarter of the ~90 us the drm_sched worker alone takes,
 *       docs/hardware/rocket-uapi.md §4.5; the sim: the 90 us it waits before a job reaches a core). Counted from
 *       the entry, not the return: a thread descheduled right after the kernel queued the jobs may return
 *       when they are long done. Or
 *   (b) the fd's jobs complete in order (one drm_sched entity stays on one core,
 *       docs/hardware/rocket-uapi.md §1.2, §4.6) and an earlier taken job is still busy when asked again
 *       after the idle answer.
 * Then the job is dropped; otherwise it stays unconfirmed and only the caller's output checks can tell.
 *
 * Per-job waits. npu_fence_wait waits on the fence BOs in job order and times each job from the later of
 * SUBMIT returning and the previous job's observed completion. The kernel resets a hung core at the job
 * timeout and signals its fence as if the job had completed, so a job that took NPU_JOB_SUSPECT_PERCENT
 * of the timeout or more is treated as reset (-ETIME), even though its wait returned success. The sim
 * answers with the job's MODEL time plus injected stalls (ops->job_time_ns): host time is not NPU time. */
#include "npu_device_impl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* The shortest PREP_BO that counts as a wait on a fence (rocket): a PREP_BO on an idle one-page BO returns
 * in a few microseconds. */
#define NPU_FENCE_WAIT_MIN_NS 20000

static struct npu_bo_node *node_of(struct npu_bo *bo) { return (struct npu_bo_node *)bo; }

/* ---- the device's pool of fence BOs ---- */

static void pool_give(struct npu_device *dev, struct npu_bo **bos, uint32_t n)
{
    uint32_t kept = 0;
    pthread_mutex_lock(&dev->lock);
    if (dev->fence_pool_count + n > dev->fence_pool_cap) {
        uint32_t cap = dev->fence_pool_count + n;
        struct npu_bo **p = realloc(dev->fence_pool, cap * sizeof *p);
        if (p) dev->fence_pool = p, dev->fence_pool_cap = cap;
    }
    for (; kept < n && dev->fence_pool_count < dev->fence_pool_cap; kept++)
        dev->fence_pool[dev->fence_pool_count++] = bos[kept];
    pthread_mutex_unlock(&dev->lock);
    for (uint32_t i = kept; i < n; i++) npu_bo_close(bos[i]); /* no room to keep them: free */
}

static int pool_take(struct npu_device *dev, uint32_t n, struct npu_bo **out)
{
    uint32_t got = 0;
    pthread_mutex_lock(&dev->lock);
    while (got < n && dev->fence_pool_count) out[got++] = dev->fence_pool[--dev->fence_pool_count];
    pthread_mutex_unlock(&dev->lock);
    for (; got < n; got++) {
        int err = npu_bo_create(dev, NPU_FENCE_BO_BYTES, &out[got]);
        if (err) {
            pool_give(dev, out, got);
            return err;
        }
    }
    return 0;
}

void npu_fence_pool_free(struct npu_device *dev)
{
    free(dev->fence_pool); /* the BOs themselves were closed with the device's other BOs */
    dev->fence_pool = NULL;
    dev->fence_pool_count = dev->fence_pool_cap = 0;
}

/* ---- submit ---- */

static void check_acceptance(struct npu_fence *f)
{
    const struct npu_device_ops *ops = f->dev->ops;
    for (uint32_t j = 0; j < f->job_count; j++) {
        int64_t s = npu_monotonic_ns();
        int busy = ops->bo_busy(node_of(f->fence_bos[j]));
        int64_t r = npu_monotonic_ns();
        if (busy < 0) continue; /* the question failed: unconfirmed */
        if (busy || (f->dev->busy_check_waits && r - s >= NPU_FENCE_WAIT_MIN_NS)) {
            f->taken[j] = NPU_JOB_TAKEN;
            continue;
        }
        if (r - f->submit_entry_ns < (int64_t)f->dev->sched_latency_min_ns) { /* (a) none can have finished */
            f->taken[j] = NPU_JOB_DROPPED;
            continue;
        }
        if (!f->dev->jobs_in_order) continue;
        for (uint32_t k = j; k-- > 0;) /* (b) the latest earlier taken job is the last to finish */
            if (f->taken[k] == NPU_JOB_TAKEN) {
                if (ops->bo_busy(node_of(f->fence_bos[k])) == 1) f->taken[j] = NPU_JOB_DROPPED;
                break;
            }
    }
}

int npu_fence_submit(struct npu_device *dev, const struct npu_job *jobs, uint32_t job_count, struct npu_fence *f)
{
    uint32_t total_out = 0;
    for (uint32_t j = 0; j < job_count; j++) total_out += jobs[j].out_count + 1;
    f->fence_bos = calloc(job_count, sizeof *f->fence_bos);
    f->taken = calloc(job_count, sizeof *f->taken);
    f->done_ns = calloc(job_count, sizeof *f->done_ns);
    f->wait_ns = calloc(job_count, sizeof *f->wait_ns);
    struct npu_job *with_fence = calloc(job_count, sizeof *with_fence);
    struct npu_bo **outs = calloc(total_out, sizeof *outs);
    int err = !f->fence_bos || !f->taken || !f->done_ns || !f->wait_ns || !with_fence || !outs
                      ? npu_fail(-ENOMEM, "out of memory")
                      : pool_take(dev, job_count, f->fence_bos);
    if (!err) {
        struct npu_bo **o = outs;
        for (uint32_t j = 0; j < job_count; j++) {
            with_fence[j] = jobs[j];
            with_fence[j].out_bos = o;
            with_fence[j].out_count = jobs[j].out_count + 1;
            *o++ = f->fence_bos[j];
            for (uint32_t b = 0; b < jobs[j].out_count; b++) *o++ = jobs[j].out_bos[b];
        }
        f->submit_entry_ns = npu_monotonic_ns();
        err = dev->ops->submit(dev, with_fence, job_count, f);
        f->submitted_ns = npu_monotonic_ns();
        if (err) pool_give(dev, f->fence_bos, job_count);
    }
    free(with_fence);
    free(outs);
    if (err) {
        free(f->fence_bos), free(f->taken), free(f->done_ns), free(f->wait_ns);
        f->fence_bos = NULL;
        return err;
    }
    if (!dev->opt.unchecked_submit) {
        check_acceptance(f);
        f->stats.accept_check_ns = (uint64_t)(npu_monotonic_ns() - f->submitted_ns);
    }
    return 0;
}

/* ---- wait ---- */

/* The first failure by job index: the implementation's (stats->failed_job), a dropped job, a job that
 * took too long. Returns 0 or the error, with npu_last_error() and stats->failed_job set. */
static int job_verdict(const struct npu_fence *f, int impl_err, struct npu_submit_stats *s)
{
    uint64_t suspect_ns = f->dev->job_timeout_ns * NPU_JOB_SUSPECT_PERCENT / 100;
    uint32_t first = !impl_err ? f->job_count : s->failed_job >= 0 ? (uint32_t)s->failed_job : 0;
    for (uint32_t j = 0; j < f->job_count; j++) {
        if (f->taken[j] == NPU_JOB_UNCONFIRMED && !f->dev->opt.unchecked_submit) s->unconfirmed_jobs++;
        if (f->taken[j] == NPU_JOB_DROPPED) continue;
        if (f->wait_ns[j] > s->max_job_wait_ns) s->max_job_wait_ns = f->wait_ns[j];
    }
    for (uint32_t j = 0; j < first; j++) {
        if (f->taken[j] == NPU_JOB_DROPPED) {
            s->failed_job = (int32_t)j;
            return npu_fail(-EIO,
                            "job %u of %u was not accepted by the kernel: SUBMIT returned 0 but no fence appeared "
                            "on its fence BO (the kernel drops malformed jobs silently, "
                            "docs/hardware/rocket-uapi.md §4.3); nothing ran",
                            j, f->job_count);
        }
        if (f->wait_ns[j] >= suspect_ns) {
            s->failed_job = (int32_t)j;
            return npu_fail(-ETIME,
                            "job %u of %u took %.1f ms, at least %u%% of the %.1f ms job timeout: treated as a core "
                            "reset, as the kernel resets a hung core at the timeout and signals its fence as if it "
                            "had completed (docs/hardware/rocket-uapi.md §1.3)",
                            j, f->job_count, f->wait_ns[j] / 1e6, NPU_JOB_SUSPECT_PERCENT,
                            f->dev->job_timeout_ns / 1e6);
        }
    }
    if (!impl_err) s->failed_job = -1;
    return impl_err;
}

int npu_fence_wait(struct npu_fence *f, int64_t deadline_ns, struct npu_submit_stats *stats)
{
    if (!f) return npu_fail(-EINVAL, "npu_fence_wait: NULL fence");
    const struct npu_device_ops *ops = f->dev->ops;
    for (; f->waited < f->job_count; f->waited++) {
        uint32_t j = f->waited;
        int err = ops->bo_prep(node_of(f->fence_bos[j]), deadline_ns);
        if (err == -ETIMEDOUT || err == -EBUSY)
            return npu_fail(-ETIMEDOUT, "job %u of %u not complete at the deadline", j, f->job_count);
        if (err) return err;
        int64_t now = npu_monotonic_ns(), start = f->submitted_ns;
        if (j && f->done_ns[j - 1] > start) start = f->done_ns[j - 1];
        f->done_ns[j] = now;
        int64_t t = ops->job_time_ns ? ops->job_time_ns(f, j, now - start) : now - start;
        f->wait_ns[j] = t > 0 ? (uint64_t)t : 0;
    }
    struct npu_submit_stats s = f->stats;
    s.failed_job = -1;
    int err = ops->fence_wait(f, deadline_ns, &s);
    if (err == -ETIMEDOUT) return err;
    err = job_verdict(f, err, &s);
    s.wall_ns = (uint64_t)(npu_monotonic_ns() - f->submit_ns);
    if (stats) *stats = s;
    return err;
}

void npu_fence_free(struct npu_fence *f)
{
    if (!f) return;
    f->dev->ops->fence_free(f);
    if (f->fence_bos) {
        /* Fence BOs of jobs not seen finished may still be written: close them instead of reusing them. */
        pool_give(f->dev, f->fence_bos, f->waited);
        for (uint32_t j = f->waited; j < f->job_count; j++) npu_bo_close(f->fence_bos[j]);
    }
    free(f->fence_bos), free(f->taken), free(f->done_ns), free(f->wait_ns);
    free(f);
}

int npu_submit_wait(struct npu_device *dev, const struct npu_job *jobs, uint32_t job_count, int64_t deadline_ns,
                    struct npu_submit_stats *stats)
{
    struct npu_fence *f;
    int err = npu_submit(dev, jobs, job_count, &f);
    if (err) return err;
    err = npu_fence_wait(f, deadline_ns, stats);
    npu_fence_free(f);
    return err;
}
