/* Internal: the rocket (mainline accel driver) implementation, split like the kernel driver:
 * rocket_device.c (discovery, open, info), rocket_gem.c (buffers), rocket_job.c (submit, wait). */
#ifndef ROSENBLATT_ROCKET_H
#define ROSENBLATT_ROCKET_H

#include "../npu_device_impl.h"
#include "../rocket_uapi.h"
#include "npu_limits.h"

int rocket_bo_create(struct npu_device *dev, struct npu_bo_node *node);
int rocket_bo_prep(struct npu_bo_node *node, int64_t deadline_ns);
int rocket_bo_fini(struct npu_bo_node *node);
void rocket_bo_close(struct npu_bo_node *node);
/* PREP_BO with an already-passed deadline (a zero-jiffy wait: the kernel still waits up to one jiffy per
 * pending fence): 1 = a job still writes the BO, 0 = idle (now), <0 = error. */
int rocket_bo_busy(struct npu_bo_node *node);

int rocket_job_submit(struct npu_device *dev, const struct npu_job *jobs, uint32_t job_count, struct npu_fence *fence);
int rocket_fence_wait(struct npu_fence *fence, int64_t deadline_ns, struct npu_submit_stats *stats);
void rocket_fence_free(struct npu_fence *fence);

/* ioctl that retries on EINTR/EAGAIN; returns the ioctl's value (may be positive) or -errno. */
int rocket_ioctl(int fd, unsigned long request, void *arg);

#endif
