/* Internal: the simulated rocket device. It mirrors the kernel driver's objects:
 *   sim_device.c  the machine (3 cores, one thread each, shared by all sim fds of the process), files
 *                 (one per npu_device = one fd), fault injection
 *   sim_gem.c     BOs in a per-file private 32-bit IOVA space (page-aligned first fit, like drm_mm)
 *   sim_job.c     jobs: implicit BO dependencies, scheduling onto cores (with the kernel's scheduling
 *                 latency), running tasks on the register-level core (core/npusim.h), the 500 ms job
 *                 timeout, injected faults, fences
 * Everything that would make silicon hang or fault is reported as an error with the reason. */
#ifndef ROSENBLATT_SIM_H
#define ROSENBLATT_SIM_H

#include "../npu_device_impl.h"
#include "core/npusim.h"
#include "npu_limits.h"

#include <pthread.h>

#define SIM_PAGE 4096u /* BO IOVA alignment: drm_mm PAGE_SIZE (docs/hardware/rocket-uapi.md §2.3) */

enum sim_job_state {
    SIM_JOB_QUEUED,
    SIM_JOB_RUNNING,
    SIM_JOB_DONE
};

struct sim_job;
struct sim_file;

struct sim_bo {
    struct sim_file *file;
    struct npu_bo_node *node; /* NULL once the handle is closed */
    uint32_t handle, iova;
    uint64_t span; /* page-rounded */
    void *mem;
    int refs;                    /* handle + pending jobs; machine lock */
    struct sim_job *last_writer; /* implicit sync (docs/hardware/rocket-uapi.md §2.3); machine lock */
};

struct sim_job {
    struct sim_file *file;
    uint64_t seq; /* global submission number, from 1 */
    struct npu_task *tasks;
    uint32_t task_count;
    struct sim_bo **bos; /* in BOs then out BOs, each holding a ref */
    uint32_t in_count, out_count;
    struct sim_job **deps; /* jobs writing our BOs that were not done at submit */
    uint32_t dep_count;
    int core; /* assigned core (sticky) or -1 (any) */
    enum npu_sim_fault fault;
    enum sim_job_state state;
    int refs;             /* machine lock */
    struct sim_job *next; /* machine queue, submission order */
    /* results, valid when DONE */
    int result;
    char msg[384];
    int ran_core;
    uint32_t tasks_run;
    uint64_t macs, bytes_in, bytes_out, model_ns;
    uint64_t stall_ns;               /* injected stall (faults reset, slow): NPU time the MODEL does not know about */
    uint64_t start_order, end_order; /* global run order (tests check implicit sync with it) */
};

struct sim_core {
    struct sim_machine *m;
    int index;
    struct npusim_core *hw; /* persistent register file; recreated on reset */
    pthread_t thread;
    struct sim_job *running;
    uint32_t resets;
};

struct sim_machine {
    pthread_mutex_t lock;
    pthread_cond_t cond; /* CLOCK_MONOTONIC; any state change broadcasts */
    int refs;            /* open files */
    bool quit;
    struct sim_core cores[NPU_CORES];
    struct sim_job *queue_head, *queue_tail;
    uint64_t next_seq, run_counter;
};

struct sim_file {
    struct sim_machine *m;
    struct npu_device *dev;
    pthread_rwlock_t mem_lock; /* BO table; read-held while a task of this file runs */
    struct sim_bo **bos;       /* sorted by iova */
    size_t bo_count, bo_cap;
    uint32_t next_handle;
    int core;         /* entity's current core */
    uint32_t pending; /* jobs not done; machine lock */
    bool strict;
    bool has_envelope;
    struct npu_envelope envelope; /* npu_open_options.envelope, copied */
    enum npu_sim_sched sched;
    uint32_t clock_mhz;
    uint64_t job_timeout_ns;
    uint64_t iova_space; /* bytes of this file's IOVA space (npu_open_options.sim_iova_space) */
};

/* sim_device.c */
struct sim_machine *sim_machine_get(void);
void sim_machine_put(struct sim_machine *m);
enum npu_sim_fault sim_fault_for_next_job(void);
void sim_flaws_current(struct npusim_flaws *out);
bool sim_held(void);
void sim_sleep_ns(uint64_t ns);
int sim_cond_wait_until(struct sim_machine *m, int64_t deadline_ns); /* 0 or ETIMEDOUT; lock held */

/* sim_gem.c */
int sim_bo_create(struct npu_device *dev, struct npu_bo_node *node);
int sim_bo_prep(struct npu_bo_node *node, int64_t deadline_ns);
int sim_bo_busy(struct npu_bo_node *node);
int sim_bo_fini(struct npu_bo_node *node);
void sim_bo_close(struct npu_bo_node *node);
void sim_bo_put(struct sim_bo *bo);                        /* machine lock NOT held */
void *sim_file_map(void *file, uint32_t iova, size_t len); /* npusim_mem.map; mem_lock read-held */

/* sim_job.c */
int sim_job_submit(struct npu_device *dev, const struct npu_job *jobs, uint32_t job_count, struct npu_fence *fence);
int sim_fence_wait(struct npu_fence *fence, int64_t deadline_ns, struct npu_submit_stats *stats);
void sim_fence_free(struct npu_fence *fence);
int64_t sim_job_time_ns(const struct npu_fence *fence, uint32_t job, int64_t observed_ns);
void *sim_core_thread(void *core);
void sim_job_put_locked(struct sim_job *job); /* machine lock held */

#endif
