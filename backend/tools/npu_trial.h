/* SPDX-License-Identifier: MIT */
/*
 * One matmul trial on the NPU with a tiling given explicitly: C = A·B on random data, cut into tasks by
 * M-tile, N-tile and K-slice, the slices read in place from one full-width A or packed in regions of their
 * own, tails chained or not, weights reused from CBUF or fetched by every task, tasks grouped into jobs, on
 * 1-3 devices (fds). Every output is poisoned before
 * the submit, every value compared with a CPU reference (int8 inputs: bit-exact; fp16: within the stated
 * bound), and for the first wrong value, or the first failed job, the trial keeps the register stream of
 * the task responsible. npu-probe and npu-calibrate are built on it.
 */
#ifndef ROSENBLATT_NPU_TRIAL_H
#define ROSENBLATT_NPU_TRIAL_H

#include <stdbool.h>
#include <stdint.h>

#include "layout.h"
#include "npu_device.h"
#include "npu_timing.h"

#define NPU_TRIAL_MAX_SEG 120 /* regcmd entries kept for the failing task (a 108-entry body + tail, padded) */

struct npu_trial {
    enum rk_dtype in, out; /* RK_INT8 -> RK_INT32 | RK_FP32; RK_FP16 -> RK_FP32 */
    uint32_t m, k, n;
    uint32_t m_tile, n_tile; /* rows and columns per task; 0 = all */
    uint32_t k_slice;        /* K per task (a multiple of 32); 0 = all of K in one slice */
    bool inplace;            /* slices read from one full-width A (LINE_STRIDE = the full row), else packed */
    bool chained;            /* a tail names the next task of its job */
    bool reuse;              /* CBUF_CON0.WEIGHT_REUSE on every M-tile after the first of an N-tile in the same
                              * job with the same CBUF bank split: it computes with the weights the task before
                              * left in CBUF (docs/hardware/limits.md §6.3) */
    uint32_t tasks_per_job;  /* 0 = all of a device's tasks in one job */
    bool replicate;          /* every device computes the whole matmul (else N is split over the devices) */
    bool serial;             /* submit and wait one job at a time (per-job timing) */
    bool hold_sim;           /* simulator: queue every device's jobs before any runs (then each fd gets a core) */
    uint32_t seed;
};

struct npu_trial_result {
    int rc; /* 0, -EDOM (wrong values), or the device's -errno */
    char error[640];
    uint32_t devices, tasks, jobs, reuse_tasks;
    uint64_t compared, mismatches, macs, bytes;
    uint64_t unwritten; /* outputs still holding the poison: their job never ran to the end (rc -EIO) */
    double max_abs_err; /* fp16: the largest |npu - ref|; int8: 0 when exact */
    double wall_ms;     /* measured: first submit to last wait */
    uint64_t model_ns[NPU_MODEL_BOUNDS]; /* the MODEL from the tasks' shapes, cores in parallel, both bounds */
    /* serial: per job, the measured time (rocket: submit to wait; simulator: its timing MODEL, the pessimistic
     * bound) and the MODEL's two bounds from the tasks' shapes; their sums, the largest measured/pessimistic
     * ratio, and whether every job fell between the bounds */
    uint64_t job_measured_ns, job_model_ns[NPU_MODEL_BOUNDS];
    double job_ratio_max;
    bool jobs_within_bounds;
    int32_t dev_core[3]; /* simulator: the core that ran each device's jobs; -1 unknown (rocket) */
    /* the task responsible for the first failure: device, index, its rows and columns, the wrong value */
    int32_t bad_dev, bad_task;
    uint32_t bad_m0, bad_rows, bad_n0, bad_cols, bad_slice, bad_row, bad_col;
    double bad_got, bad_want;
    uint32_t reg_count;
    uint64_t regs[NPU_TRIAL_MAX_SEG];
};

/* Run a trial on ndev open devices (1..3). Returns r->rc. */
int npu_trial_run(struct npu_device *const *devs, uint32_t ndev, const struct npu_trial *t, struct npu_trial_result *r);
/* "bit-exact int32" / "bit-exact fp32 (one rounding of the exact sum)" / the fp16 bound */
const char *npu_trial_tolerance(const struct npu_trial *t);

#endif
