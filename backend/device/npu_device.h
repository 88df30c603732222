/* Rosenblatt NPU device layer: one small C API over two implementations.
 *
 *   rocket  the mainline accel driver: ioctls on /dev/accel/accelN whose DRM name is "rocket"
 *   sim     the register-level software NPU (backend/device/sim/core) with the same semantics
 *
 * Model (docs/hardware/rocket-uapi.md §1.2–§1.4, §2.3, §4.6):
 *   - one npu_device = one open fd = one private 32-bit IOVA space + one scheduler entity. A stream of
 *     jobs from one device stays on one core, so use one device per core (and one thread each) for
 *     parallelism; BOs belong to the device that created them.
 *   - a job = ordered tasks (register-command streams) run on one core + the BOs it reads and writes.
 *     Sync is implicit through the BOs: a job waits for earlier jobs that write its in/out BOs.
 *   - a job must finish within 500 ms or it is treated as hung (the kernel resets the core).
 *   - every job is checked by this layer, because the kernel reports neither a dropped job nor a reset
 *     (docs/hardware/rocket-uapi.md §1.3, §2.3): each job gets a small fence BO of its own (from a per-device
 *     pool, first in the job's out-BO list); right after SUBMIT the layer checks that a fence appeared on
 *     it, and npu_fence_wait waits for the jobs one by one on their fence BOs and times each. A job without
 *     a fence (dropped) or one whose wait took >= NPU_JOB_SUSPECT_PERCENT of the job timeout (reset,
 *     or about to be) fails the wait. What this layer cannot see - which outputs a reset job left
 *     unwritten - the caller checks (the GEMM engine with canaries, npu-probe with poisoned outputs).
 *
 * Errors: every function returns 0 (or a count) on success and a negative errno on failure; the reason
 * is then available as text from npu_last_error() (per thread). Nothing fails silently. */
#ifndef ROSENBLATT_NPU_DEVICE_H
#define ROSENBLATT_NPU_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct npu_envelope; /* hw/npu_envelope.h */

enum npu_device_kind {
    NPU_DEVICE_AUTO = 0, /* rocket if a rocket node exists, else a "no device" error (never the sim) */
    NPU_DEVICE_ROCKET,
    NPU_DEVICE_SIM,
};

/* "sim" | "rocket" | "auto"; returns 0 or -EINVAL. */
int npu_device_kind_parse(const char *name, enum npu_device_kind *kind);
const char *npu_device_kind_name(enum npu_device_kind kind);
/* Kind named by env RKNPU_DEVICE (default auto); -EINVAL for an unknown value. Read by callers, not by
 * npu_device_open itself. */
int npu_device_kind_from_env(enum npu_device_kind *kind);

/* Scheduling policy of the simulator (the rocket kernel always behaves like STICKY). */
enum npu_sim_sched {
    NPU_SIM_SCHED_STICKY = 0, /* like drm_sched: a device's jobs stay on one core while it has work */
    NPU_SIM_SCHED_SPREAD,     /* every ready job goes to any idle core (only BO dependencies order jobs) */
};

/* Largest npu_open_options.model_clock_mhz accepted: a plausibility bound, twice the vendor maximum. */
#define NPU_MODEL_CLOCK_MHZ_MAX 2000

/* A job whose wait takes at least this share of the device's job timeout (rocket: 450 ms of
 * ROCKET_UAPI_JOB_TIMEOUT_MS) is treated as reset even when its wait returned success: the kernel resets
 * a hung core at the timeout and signals the fence as if the job had completed
 * (docs/hardware/rocket-uapi.md §1.3), so a job this close to the limit either was reset or may be next time. */
#define NPU_JOB_SUSPECT_PERCENT 90
/* Bytes of the per-job fence BO: one page, so the cache sync of PREP_BO on it is short and cannot be
 * mistaken for a wait on a fence (docs/hardware/rocket-uapi.md §2.3). */
#define NPU_FENCE_BO_BYTES      4096

struct npu_open_options {
    uint32_t model_clock_mhz; /* clock the timing MODEL assumes; 0 = NPU_CLOCK_MAINLINE_MHZ (hw/npu_limits.h) */
    bool sim_lenient;         /* sim: turn off the core's strict checks (reads of registers the task did not write) */
    enum npu_sim_sched sim_sched;        /* sim: scheduling policy */
    uint32_t sim_job_timeout_us;         /* sim: job timeout against MODEL time; 0 = rocket's (tests use less) */
    const struct npu_envelope *envelope; /* sim: tasks outside this execution envelope fail (NULL: hard limits only);
                                          * copied at open */
    bool unchecked_submit;               /* skip the per-job "did the kernel take it" check after SUBMIT (on rocket
                                          * it costs up to one jiffy per job; see npu_fence.c) */
    /* sim, a TEST KNOB: the fd's IOVA space in bytes (page multiple, 1 MiB .. 4 GiB), so tests can exhaust an
     * address space with small weights; 0 = env RKNPU_SIM_IOVA_SPACE (bytes, K/M/G suffix) or else 4 GiB, as
     * on rocket, where the space is always 4 GiB (docs/hardware/rocket-uapi.md §1.4) */
    uint64_t sim_iova_space;
};

/* Smallest simulated IOVA space (npu_open_options.sim_iova_space): room for scratch and a few weights. */
#define NPU_SIM_IOVA_SPACE_MIN (1ull << 20)

struct npu_device_info {
    enum npu_device_kind kind; /* ROCKET or SIM */
    bool is_simulator;
    char driver[32]; /* DRM driver name ("rocket") or "npusim" */
    char desc[64];
    int version_major, version_minor, version_patch;
    char node[128];        /* /dev/accel/accelN or "(simulator)" */
    uint32_t cores;        /* NPU cores behind this device */
    char cores_source[48]; /* how `cores` was learned */
    uint32_t model_clock_mhz;
    uint32_t job_timeout_ms; /* rocket: ROCKET_UAPI_JOB_TIMEOUT_MS; sim: as opened (rounded up) */
    uint64_t iova_space;     /* bytes of NPU address space this fd has: 4 GiB (sim: as opened) */
};

struct npu_device;
struct npu_bo { /* read-only for callers */
    struct npu_device *dev;
    uint32_t handle;
    uint32_t size; /* bytes requested */
    uint32_t iova; /* NPU VA, private to dev; 4 KiB aligned; 0 is a valid address */
    void *map;     /* CPU mapping (npu_bo_create maps it) */
};

/* Work description of a task for the timing MODEL on rocket (the sim measures it itself). Optional:
 * all-zero means "unknown" and the task is modelled with overheads only. */
enum npu_dtype {
    NPU_DTYPE_NONE = 0,
    NPU_DTYPE_INT8,
    NPU_DTYPE_FP16,
    NPU_DTYPE_INT32,
    NPU_DTYPE_FP32
};
struct npu_task_shape {
    uint32_t m, k, n;
    enum npu_dtype in, out;
};

struct npu_task {
    uint32_t regcmd_iova;        /* 16-byte aligned, inside a BO of the same device */
    uint32_t regcmd_count;       /* 64-bit entries INCLUDING the 4-entry tail (docs/hardware/regcmd.md §2) */
    struct npu_task_shape shape; /* optional, for the rocket timing model */
};

struct npu_job {
    const struct npu_task *tasks;
    uint32_t task_count; /* >= 1, run in order on one core */
    struct npu_bo *const *in_bos;
    uint32_t in_count; /* BOs the job reads (incl. regcmd BOs) */
    struct npu_bo *const *out_bos;
    uint32_t out_count; /* BOs it writes; >= 1 (the only way to wait) */
};

/* Per-submit statistics. Everything named model_* is a MODEL estimate (npu_timing.h), not a measurement: its
 * pessimistic bound, the one the job timeout is checked against. */
struct npu_submit_stats {
    uint32_t jobs, tasks;
    uint64_t macs, bytes_in, bytes_out;
    uint32_t model_clock_mhz;
    uint64_t model_busy_ns;    /* MODEL: sum of the modelled job times (incl. per-task/per-job overheads) */
    uint64_t model_ns;         /* MODEL: modelled completion time of the submit (cores in parallel) */
    uint64_t model_max_job_ns; /* MODEL: the longest job, compare with the 500 ms job timeout */
    uint32_t core_mask;        /* sim: cores that ran the jobs; rocket: 0 (unknown) */
    uint64_t wall_ns;          /* measured: npu_submit entry to npu_fence_wait success */
    uint32_t cpu_owned_in_bos; /* in-BOs still CPU-owned at submit (npu_bo_prep without npu_bo_fini):
                                    * on hardware, CPU writes to them may not reach the NPU */
    int32_t failed_job;        /* index of the job npu_fence_wait's error is about; -1 when none or unknown */
    uint32_t unconfirmed_jobs; /* jobs the after-SUBMIT check could neither confirm nor call dropped (they
                                * may have finished before it looked); only the caller's output checks
                                * can tell */
    uint64_t accept_check_ns;  /* measured: the after-SUBMIT fence check (rocket: up to one jiffy per job,
                                * spent while the NPU runs) */
    uint64_t max_job_wait_ns;  /* measured: the longest job, from the later of submit and the previous job's
                                * observed completion to its own (sim: its MODEL time + injected stalls, as the
                                * host's time is not NPU time); compared with NPU_JOB_SUSPECT_PERCENT of the
                                * job timeout */
};

struct npu_fence; /* one submit's completion; owned by the caller */

/* Open one device (= one fd). AUTO never falls back to the simulator. */
int npu_device_open(enum npu_device_kind kind, const struct npu_open_options *opt, struct npu_device **out);
void npu_device_close(struct npu_device *dev); /* closes remaining BOs; waits for the device's jobs */
int npu_device_get_info(const struct npu_device *dev, struct npu_device_info *info);

/* Buffer objects (docs/hardware/rocket-uapi.md §2.3): size in bytes (> 0, < 4 GiB); the BO is mapped on return. */
int npu_bo_create(struct npu_device *dev, uint32_t size, struct npu_bo **out);
/* CPU takes ownership: waits until jobs writing the BO are done, then syncs caches. deadline_ns is an
 * ABSOLUTE CLOCK_MONOTONIC time (see npu_deadline_after_ms); -ETIMEDOUT when it passes, -EBUSY if the
 * deadline is already in the past and the BO is busy. */
int npu_bo_prep(struct npu_bo *bo, int64_t deadline_ns);
/* CPU hands the BO back to the NPU (cache sync). Call after writing through bo->map, before submitting. */
int npu_bo_fini(struct npu_bo *bo);
/* Unmap and free (munmap + GEM_CLOSE). NULL is ignored. */
void npu_bo_close(struct npu_bo *bo);

/* Submit jobs. Everything the kernel would silently drop is validated first (-EINVAL + message). Each
 * job's out-BOs get a fence BO of this device's pool in front; right after SUBMIT each job is checked for
 * a fence (unless opened with unchecked_submit). Returns 0 and a fence; job failures (dropped, reset,
 * fault) are reported by npu_fence_wait. */
int npu_submit(struct npu_device *dev, const struct npu_job *jobs, uint32_t job_count, struct npu_fence **fence);
/* Wait for all jobs of the submit until the absolute CLOCK_MONOTONIC deadline, one after the other on
 * their fence BOs, timing each. 0 = all jobs completed; -ETIMEDOUT = YOUR deadline passed (the jobs may
 * still finish: call again); any other -errno = a job failed (stats->failed_job says which), reason in
 * npu_last_error():
 *   -ETIME      the job's wait took >= NPU_JOB_SUSPECT_PERCENT of the job timeout: treated as a core
 *               reset, its outputs are not to be trusted; (sim) its MODEL time exceeded the job timeout
 *   -EFAULT     IOMMU/DMA fault (an address outside the fd's BOs)
 *   -EIO        the kernel did not take the job (SUBMIT returned 0 but no fence appeared)
 *   -EINVAL / -ENOTSUP   (sim) the stream is outside what silicon computes correctly / what the sim models
 *   -ECANCELED  (sim) a job it depends on failed
 * A job that the kernel reset before this layer could tell (its wait shorter than the threshold) returns
 * 0 here: the caller's output checks catch it. stats (may be NULL) is filled on success and on job failure. */
int npu_fence_wait(struct npu_fence *fence, int64_t deadline_ns, struct npu_submit_stats *stats);
void npu_fence_free(struct npu_fence *fence); /* does not wait; free fences before closing their device */

/* Convenience: submit + wait(deadline) + free. */
int npu_submit_wait(struct npu_device *dev, const struct npu_job *jobs, uint32_t job_count, int64_t deadline_ns,
                    struct npu_submit_stats *stats);

/* Reason for the last failure of an npu_* call on this thread ("" if none). */
const char *npu_last_error(void);

int64_t npu_monotonic_ns(void);
int64_t npu_deadline_after_ms(int64_t ms); /* now + ms, absolute CLOCK_MONOTONIC */

/* ---- simulator-only controls (-ENODEV on a rocket device) ---- */
/* Each fault behaves as the kernel does, reporting nothing the kernel would not report: detecting it is
 * the job of this layer and of the callers (docs/hardware/rocket-uapi.md §1.3, §2.3). */
enum npu_sim_fault {
    NPU_SIM_FAULT_NONE = 0,
    NPU_SIM_FAULT_RESET,   /* "reset": the job hangs in its middle task (task_count / 2): that task and the
                            * ones after it write nothing; after the job timeout the core is reset (registers
                            * lost), the fence signals and the wait returns success */
    NPU_SIM_FAULT_DROPPED, /* "dropped": SUBMIT returns 0 but the kernel drops the job: nothing runs, no fence
                            * appears (its out-BOs are idle at once) */
    NPU_SIM_FAULT_SLOW,    /* "slow": the job computes correctly, but takes 95% of the job timeout */
    NPU_SIM_FAULT_DMA,     /* "dma": IOMMU/DMA fault during the job's first task (-EFAULT from the wait) */
};
#define NPU_SIM_FAULT_LAST NPU_SIM_FAULT_DMA
/* Fault injection for the whole simulator (all sim devices of the process). `nth` = 0: every job from
 * now on; nth >= 1: only the nth job submitted from now on. NONE clears. The env var
 * RKNPU_SIM_FAULT=reset|dropped|slow|dma[@N|%N] sets the same at the first sim open; the old names
 * `timeout` and `reject` are accepted as aliases of `reset` and `dropped`. Delays (reset, slow) scale with
 * the device's job timeout (npu_open_options.sim_job_timeout_us). */
int npu_sim_inject_fault(enum npu_sim_fault fault, uint32_t nth);
int npu_sim_fault_parse(const char *spec, enum npu_sim_fault *fault, uint32_t *nth); /* KIND or KIND@N */
/* The general form: also KIND%N, each job from now on faulting with probability 1/N (N >= 2), drawn from a
 * fixed pseudo-random sequence over the job count, so a run with the same submissions faults the same
 * jobs (load tests and soaks: docs/reliability.md). */
struct npu_sim_fault_plan {
    enum npu_sim_fault fault;
    uint32_t nth;    /* >= 1: only the nth job */
    uint32_t one_in; /* >= 2: each job with probability 1/one_in */
};
int npu_sim_fault_plan_parse(const char *spec, struct npu_sim_fault_plan *plan);
int npu_sim_inject_fault_plan(const struct npu_sim_fault_plan *plan);
/* Simulated silicon flaws (sim/core/npusim.h, struct npusim_flaws), for all sim devices of the process:
 * "m-tile>N", "n-tile>N", "k>N" (garbage above that many rows, output channels or K per task), "inplace"
 * (K-slices read in place come back wrong), "chain" (a chained tail hangs the job), "reuse" (a task that
 * sets WEIGHT_REUSE computes with garbage weights), "int8-int32",
 * "int8-fp32", "fp16-fp32", "fp16-fp16" (that output conversion is garbage), comma-separated; "" or "none"
 * clears. The env var RKNPU_SIM_FLAW sets the same at the first sim open; an invalid value makes every sim
 * open fail with the reason. 0, or -EINVAL with the reason in npu_last_error(). */
int npu_sim_set_flaws(const char *spec);
/* Tests: while held, the simulated cores start no new job (queued jobs stay queued, so busy states and
 * deadlines can be observed deterministically). Process-wide. */
int npu_sim_hold(bool hold);
const char *npu_sim_fault_name(enum npu_sim_fault fault);

#ifdef __cplusplus
}
#endif
#endif
