/* rocket jobs: SUBMIT and waiting through PREP_BO on the out-BOs (the only completion signal: the job
 * fence is attached to out-BOs only, docs/hardware/rocket-uapi.md §2.3).
 *
 * Kernel quirk handled here: SUBMIT returns 0 even when it drops a job (docs/hardware/rocket-uapi.md §2.3, §4.3). The
 * common layer already rejects everything the kernel is known to drop. In addition (unless the device
 * was opened with rocket_unchecked_submit) each job is confirmed right after SUBMIT with a PREP_BO on its
 * first out-BO whose deadline has already passed: the kernel turns that into a zero-jiffy wait, which
 * still waits up to one jiffy per pending fence and then returns -EBUSY. So
 *   -EBUSY                        a fence is pending: the job was taken
 *   >= 0 after a noticeable wait  the job's fence signalled during the check: taken
 *   >= 0 at syscall speed         no fence at all: the kernel dropped the job -> npu_fence_wait says -EIO
 * An accepted job cannot signal within ROCKET_NO_FENCE_NS of SUBMIT returning: the drm_sched worker alone
 * takes ~90 us (docs/hardware/rocket-uapi.md §4.5). Cost: up to one jiffy per job in npu_submit. */
#include "rocket.h"
#include "../npu_timing.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define ROCKET_NO_FENCE_NS 20000

struct rocket_fence {
    uint32_t job_count;
    uint32_t *out_handles; /* all jobs' out-BO handles, concatenated */
    uint32_t *out_first;   /* [job_count + 1] index into out_handles */
    int8_t *accepted;      /* 1 confirmed, 0 no fence appeared, -1 not checked */
};

static void model_job(const struct npu_job *job, uint32_t clock_mhz, struct npu_submit_stats *s)
{
    uint64_t job_ns = npu_model_job_overhead_ns(NPU_MODEL_PESSIMISTIC);
    for (uint32_t t = 0; t < job->task_count; t++) {
        struct npu_model_work w = npu_model_work_from_shape(&job->tasks[t].shape);
        s->macs += w.macs;
        s->bytes_in += w.bytes_in;
        s->bytes_out += w.bytes_out;
        job_ns += npu_model_task_ns(&w, clock_mhz, NPU_CORES, NPU_MODEL_PESSIMISTIC);
    }
    s->jobs++;
    s->tasks += job->task_count;
    s->model_busy_ns += job_ns;
    if (job_ns > s->model_max_job_ns) s->model_max_job_ns = job_ns;
}

int rocket_job_submit(struct npu_device *dev, const struct npu_job *jobs, uint32_t job_count, struct npu_fence *fence)
{
    uint32_t total_tasks = 0, total_in = 0, total_out = 0;
    for (uint32_t j = 0; j < job_count; j++) {
        total_tasks += jobs[j].task_count;
        total_in += jobs[j].in_count;
        total_out += jobs[j].out_count;
    }
    struct rocket_uapi_job *uj = calloc(job_count, sizeof *uj);
    struct rocket_uapi_task *ut = calloc(total_tasks, sizeof *ut);
    uint32_t *in_h = calloc(total_in + 1, sizeof *in_h);
    struct rocket_fence *rf = calloc(1, sizeof *rf);
    if (rf) {
        rf->out_handles = calloc(total_out, sizeof *rf->out_handles);
        rf->out_first = calloc(job_count + 1, sizeof *rf->out_first);
        rf->accepted = calloc(job_count, sizeof *rf->accepted);
    }
    int err = 0;
    if (!uj || !ut || !in_h || !rf || !rf->out_handles || !rf->out_first || !rf->accepted) {
        err = npu_fail(-ENOMEM, "out of memory");
        goto out;
    }
    rf->job_count = job_count;
    uint32_t ti = 0, ii = 0, oi = 0;
    for (uint32_t j = 0; j < job_count; j++) {
        const struct npu_job *job = &jobs[j];
        uj[j] = (struct rocket_uapi_job){
                .tasks = (uintptr_t)&ut[ti],
                .in_bo_handles = (uintptr_t)&in_h[ii],
                .out_bo_handles = (uintptr_t)&rf->out_handles[oi],
                .task_count = job->task_count,
                .task_struct_size = sizeof *ut,
                .in_bo_handle_count = job->in_count,
                .out_bo_handle_count = job->out_count,
        };
        for (uint32_t t = 0; t < job->task_count; t++)
            ut[ti++] = (struct rocket_uapi_task){job->tasks[t].regcmd_iova, job->tasks[t].regcmd_count};
        for (uint32_t b = 0; b < job->in_count; b++) in_h[ii++] = job->in_bos[b]->handle;
        rf->out_first[j] = oi;
        for (uint32_t b = 0; b < job->out_count; b++) rf->out_handles[oi++] = job->out_bos[b]->handle;
        model_job(job, dev->opt.model_clock_mhz, &fence->stats);
    }
    rf->out_first[job_count] = oi;
    /* One fd's jobs stay on one core (docs/hardware/rocket-uapi.md §4.6): the submit takes the sum of its jobs. */
    fence->stats.model_ns = fence->stats.model_busy_ns;

    struct rocket_uapi_submit s = {.jobs = (uintptr_t)uj, .job_count = job_count, .job_struct_size = sizeof *uj};
    int ret = rocket_ioctl(dev->fd, ROCKET_UAPI_IOCTL_SUBMIT, &s);
    if (ret < 0) {
        err = npu_fail(ret, "SUBMIT of %u jobs failed: %s", job_count, strerror(-ret));
        goto out;
    }
    for (uint32_t j = 0; j < job_count; j++) {
        rf->accepted[j] = -1;
        if (dev->opt.rocket_unchecked_submit) continue;
        int64_t t0 = npu_monotonic_ns();
        int busy = rocket_bo_busy(dev->fd, rf->out_handles[rf->out_first[j]]);
        rf->accepted[j] = busy == 1 || (busy == 0 && npu_monotonic_ns() - t0 >= ROCKET_NO_FENCE_NS);
    }
    fence->impl = rf;
    rf = NULL;
out:
    free(uj);
    free(ut);
    free(in_h);
    if (rf) rocket_fence_free(&(struct npu_fence){.impl = rf});
    return err;
}

int rocket_fence_wait(struct npu_fence *fence, int64_t deadline_ns, struct npu_submit_stats *stats)
{
    struct rocket_fence *rf = fence->impl;
    int fd = fence->dev->fd;
    for (uint32_t j = 0; j < rf->job_count; j++)
        for (uint32_t b = rf->out_first[j]; b < rf->out_first[j + 1]; b++) {
            struct rocket_uapi_prep_bo p = {.handle = rf->out_handles[b], .timeout_ns = deadline_ns};
            int ret = rocket_ioctl(fd, ROCKET_UAPI_IOCTL_PREP_BO, &p);
            if (ret == -ETIMEDOUT || ret == -EBUSY)
                return npu_fail(-ETIMEDOUT, "job %u not complete at the deadline (out BO %u still busy)", j,
                                rf->out_handles[b]);
            if (ret < 0)
                return npu_fail(ret, "waiting for job %u: PREP_BO(%u): %s", j, rf->out_handles[b], strerror(-ret));
        }
    (void)stats;
    for (uint32_t j = 0; j < rf->job_count; j++)
        if (rf->accepted[j] == 0)
            return npu_fail(-EIO,
                            "job %u was not accepted by the kernel: SUBMIT returned 0 but no fence appeared on "
                            "its out BO (the kernel drops malformed jobs silently, docs/hardware/rocket-uapi.md §4.3)",
                            j);
    /* A job that hung was reset after 500 ms and its fence signalled like a good one: this uAPI cannot
     * tell; callers detect it from stale output (npu-probe poisons its outputs). */
    return 0;
}

void rocket_fence_free(struct npu_fence *fence)
{
    struct rocket_fence *rf = fence->impl;
    if (!rf) return;
    free(rf->out_handles);
    free(rf->out_first);
    free(rf->accepted);
    free(rf);
    fence->impl = NULL;
}
