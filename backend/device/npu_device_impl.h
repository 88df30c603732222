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

struct npu_fence {
    struct npu_device *dev;
    int64_t submit_ns; /* CLOCK_MONOTONIC at npu_submit entry */
    uint32_t job_count;
    struct npu_submit_stats stats; /* what is known at submit (rocket: model from shapes) */
    void *impl;
};

struct npu_device_ops {
    int (*bo_create)(struct npu_device *dev, struct npu_bo_node *node); /* fill handle, iova, map */
    int (*bo_prep)(struct npu_bo_node *node, int64_t deadline_ns);
    int (*bo_fini)(struct npu_bo_node *node);
    void (*bo_close)(struct npu_bo_node *node);
    int (*submit)(struct npu_device *dev, const struct npu_job *jobs, uint32_t job_count, struct npu_fence *fence);
    int (*fence_wait)(struct npu_fence *fence, int64_t deadline_ns, struct npu_submit_stats *stats);
    void (*fence_free)(struct npu_fence *fence);
    void (*close)(struct npu_device *dev); /* after all BOs are closed */
};

struct npu_device {
    const struct npu_device_ops *ops;
    struct npu_device_info info;
    struct npu_open_options opt;
    pthread_mutex_t lock; /* protects the BO list */
    struct npu_bo_node *bos;
    int fd;     /* rocket */
    void *impl; /* sim: struct sim_file */
};

/* Record a failure reason for npu_last_error() and return err (a negative errno). */
int npu_fail(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Implementation entry points. */
int rocket_device_open(const struct npu_open_options *opt, struct npu_device *dev);
int sim_device_open(const struct npu_open_options *opt, struct npu_device *dev);

#endif
