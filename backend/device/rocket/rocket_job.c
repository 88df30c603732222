/* rocket jobs: SUBMIT. Waiting is PREP_BO on each job's fence BO, done by the common layer (npu_fence.c),
 * which also checks after SUBMIT that each job got a fence: SUBMIT returns 0 even when it drops a job
 * (docs/hardware/rocket-uapi.md §2.3, §4.3), and a job the kernel reset after the job timeout signals its
 * fence like a good one (docs/hardware/rocket-uapi.md §1.3). */
#include "rocket.h"
#include "../npu_timing.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

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
    uint32_t *in_h = calloc(total_in + 1, sizeof *in_h), *out_h = calloc(total_out, sizeof *out_h);
    int err = 0;
    if (!uj || !ut || !in_h || !out_h) {
        err = npu_fail(-ENOMEM, "out of memory");
        goto out;
    }
    uint32_t ti = 0, ii = 0, oi = 0;
    for (uint32_t j = 0; j < job_count; j++) {
        const struct npu_job *job = &jobs[j];
        uj[j] = (struct rocket_uapi_job){
                .tasks = (uintptr_t)&ut[ti],
                .in_bo_handles = (uintptr_t)&in_h[ii],
                .out_bo_handles = (uintptr_t)&out_h[oi],
                .task_count = job->task_count,
                .task_struct_size = sizeof *ut,
                .in_bo_handle_count = job->in_count,
                .out_bo_handle_count = job->out_count,
        };
        for (uint32_t t = 0; t < job->task_count; t++)
            ut[ti++] = (struct rocket_uapi_task){job->tasks[t].regcmd_iova, job->tasks[t].regcmd_count};
        for (uint32_t b = 0; b < job->in_count; b++) in_h[ii++] = job->in_bos[b]->handle;
        for (uint32_t b = 0; b < job->out_count; b++) out_h[oi++] = job->out_bos[b]->handle;
        model_job(job, dev->opt.model_clock_mhz, &fence->stats);
    }
    /* One fd's jobs stay on one core (docs/hardware/rocket-uapi.md §4.6): the submit takes the sum of its jobs. */
    fence->stats.model_ns = fence->stats.model_busy_ns;

    struct rocket_uapi_submit s = {.jobs = (uintptr_t)uj, .job_count = job_count, .job_struct_size = sizeof *uj};
    int ret = rocket_ioctl(dev->fd, ROCKET_UAPI_IOCTL_SUBMIT, &s);
    if (ret < 0) err = npu_fail(ret, "SUBMIT of %u jobs failed: %s", job_count, strerror(-ret));
out:
    free(uj);
    free(ut);
    free(in_h);
    free(out_h);
    return err;
}

int rocket_fence_wait(struct npu_fence *fence, int64_t deadline_ns, struct npu_submit_stats *stats)
{
    /* Every job's fence BO has been seen idle (npu_fence.c): all fences have signalled. This uAPI has no
     * error channel: what went wrong is for the common layer and the callers to find out. */
    (void)fence, (void)deadline_ns, (void)stats;
    return 0;
}

void rocket_fence_free(struct npu_fence *fence) { (void)fence; }
