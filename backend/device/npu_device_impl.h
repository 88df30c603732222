/* Internal: the table of callbacks each implementation (rocket, sim) provides, and the objects the
 * common layer (npu_device.c) shares with them. Not a public header. */
#ifndef ROSENBLATT_NPU_DEVICE_IMPL_H
#define ROSENBLATT_NPU_DEVICE_IMPL_H

#include "npu_device.h"

#include <pthread.h>

struct npu_bo_node {          /* what an npu_bo * really points at */
    struct npu_bo bo;         /* must stay first */
    struct npu_bo_node *next; /* the device's BO list */
    size_t map_len;           /* page-rounded mapping length */
    uint64_t mmap_offset;     /* rocket: fake offset */
    void *impl;               /* sim: struct sim_bo */
    bool cpu_owned;           /* npu_bo_prep without a later npu_bo_fini */
};

/* Acceptance of a job, as the after-SUBMIT check saw it (npu_fence.c). */
enum npu_job_taken {
    NPU_JOB_UNCONFIRMED = 0, /* not checked, or idle when it may already have finished */
    NPU_JOB_TAKEN,           /* a fence was seen on its fence BO */
    NPU_JOB_DROPPED,         /* no fence, at a time when the job cannot have finished yet */
};

struct npu_fence {
    struct npu_device *dev;
    int64_t submit_ns;       /* CLOCK_MONOTONIC at npu_submit entry */
    int64_t submit_entry_ns; /* just before the implementation's submit */
    int64_t submitted_ns;    /* when it returned */
    uint32_t job_count;
    struct npu_submit_stats stats; /* what is known at submit (rocket: model from shapes) */
    void *impl;
    /* per job (npu_fence.c): the fence BO (first out-BO), the acceptance verdict, the observed completion */
    struct npu_bo **fence_bos;
    uint8_t *taken;    /* enum npu_job_taken */
    int64_t *done_ns;  /* 0 until its fence BO was seen idle by npu_fence_wait */
    uint64_t *wait_ns; /* the job's measured time (npu_submit_stats.max_job_wait_ns) */
    uint32_t waited;   /* jobs whose fence BO npu_fence_wait has seen idle, in order */
};

struct npu_device_ops {
    int (*bo_create)(struct npu_device *dev, struct npu_bo_node *node); /* fill handle, iova, map */
    int (*bo_prep)(struct npu_bo_node *node, int64_t deadline_ns);
    /* Is a job writing the BO right now? 1 busy, 0 idle, < 0 error. rocket: PREP_BO with a past
     * deadline, which may wait up to one jiffy for a pending fence before it says busy. */
    int (*bo_busy)(struct npu_bo_node *node);
    int (*bo_fini)(struct npu_bo_node *node);
    void (*bo_close)(struct npu_bo_node *node);
    int (*submit)(struct npu_device *dev, const struct npu_job *jobs, uint32_t job_count, struct npu_fence *fence);
    int (*fence_wait)(struct npu_fence *fence, int64_t deadline_ns, struct npu_submit_stats *stats);
    void (*fence_free)(struct npu_fence *fence);
    void (*close)(struct npu_device *dev); /* after all BOs are closed */
    /* Optional: the job's time on the device given the time its wait took (observed_ns). NULL = as
     * observed (rocket). The sim's host time is not NPU time: it answers with the MODEL time + stalls. */
    int64_t (*job_time_ns)(const struct npu_fence *fence, uint32_t job, int64_t observed_ns);
};

struct npu_device {
    const struct npu_device_ops *ops;
    struct npu_device_info info;
    struct npu_open_options opt;
    uint64_t job_timeout_ns;       /* set by the implementation at open */
    bool jobs_in_order;            /* the fd's jobs complete in submission order (docs/hardware/rocket-uapi.md §1.2) */
    bool busy_check_waits;         /* ops->bo_busy may wait for a fence before it answers (rocket: up to a jiffy) */
    uint64_t sched_latency_min_ns; /* no job completes sooner after SUBMIT is entered (npu_fence.c rule (a)) */
    pthread_mutex_t lock;          /* protects the BO list and the fence BO pool */
    struct npu_bo_node *bos;
    struct npu_bo **fence_pool; /* idle fence BOs, reused across submits */
    uint32_t fence_pool_count, fence_pool_cap;
    int fd;     /* rocket */
    void *impl; /* sim: struct sim_file */
};

/* Record a failure reason for npu_last_error() and return err (a negative errno). */
int npu_fail(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* npu_fence.c: what npu_submit / npu_fence_wait do around the implementation. */
int npu_fence_submit(struct npu_device *dev, const struct npu_job *jobs, uint32_t job_count, struct npu_fence *f);
void npu_fence_pool_free(struct npu_device *dev); /* after the device's BOs are closed */

/* Implementation entry points. */
int rocket_device_open(const struct npu_open_options *opt, struct npu_device *dev);
int sim_device_open(const struct npu_open_options *opt, struct npu_device *dev);

#endif
