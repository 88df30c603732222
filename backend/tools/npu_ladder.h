/* SPDX-License-Identifier: MIT */
/*
 * The first-light ladder (npu-calibrate): from the vendor-identical stream up to the widest execution
 * envelope the board computes correctly, each step an npu_trial checked against the CPU.
 *
 *   a  the vendor-identical int8 M=4,K=64,N=32 stream (the regcmd builder reproduces it byte for byte) on one
 *      fd, then on three fds at once
 *   b  npu-probe's cases, int8 and fp16, cut as the safe envelope allows, on one fd, then three
 *   c  widening, one dimension after the other, each from a value that must pass: rows per task, columns
 *      per task, int8 K per task, fp16 K per task (each step the tile the planner would emit), K-slices
 *      packed then read in place, tails unchained then chained, outputs int8->int32, int8->fp32, fp16->fp32,
 *      CBUF weight reuse between the M-tiles of a job (int8, then fp16)
 *   d  timing on one fd, one job at a time: per-task and per-job overhead, the DMA bandwidth and the int8 and
 *      fp16 MAC rates at the current clock (read from the MODEL's pessimistic form), tasks per job, measured
 *      job time against the MODEL's two bounds
 *
 * Rungs a and b, the first value of every widening, and the timing jobs must pass: the first failure ends
 * the ladder (ok = false). A later value of a widening that fails marks the edge of that dimension (the
 * envelope keeps the last value that passed) and the ladder goes on with the next dimension; after a failed
 * job (hang, fault, dropped) the vendor stream runs again first, and if that fails too the ladder ends.
 * On the simulator the timing MODEL stands in for measured times, so rung d recovers the model's own
 * parameters.
 */
#ifndef ROSENBLATT_NPU_LADDER_H
#define ROSENBLATT_NPU_LADDER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "npu_device.h"
#include "npu_envelope.h"
#include "npu_trial.h"

#define NPU_LADDER_MAX_STEPS 64
#define NPU_LADDER_MAX_EDGES 12

enum npu_step_role {
    NPU_STEP_REQUIRED, /* must pass: a failure ends the ladder */
    NPU_STEP_WIDEN,    /* a failure marks the edge of its dimension */
};

struct npu_ladder_step {
    char id[12]; /* "c1.5" */
    char rung;   /* 'a'..'d' */
    char name[160];
    enum npu_step_role role;
    const char *dim; /* widening dimension ("m-tile", ...) or NULL */
    uint32_t value;
    uint32_t fds;
    struct npu_trial trial;
    bool ran, ok;
    char skip_reason[160]; /* not run, and why */
    uint32_t reps;         /* timing: runs, the fastest kept */
    struct npu_trial_result res;
};

struct npu_ladder_edge {
    const char *dim;
    uint32_t passed, failed; /* the widest value that passed, the first that did not */
    char step[12];
    char error[640];
};

/* Measured timing parameters (named like the MODEL's table, device/npu_timing.c; a board profile hands them to
 * npu_model_install_measured). dma_gbps is per core, the MODEL's NPU_CORES-streaming figure. */
struct npu_ladder_timing {
    bool valid;
    double task_overhead_us, job_overhead_us;
    double int8_macs_per_cycle, fp16_macs_per_cycle, dma_gbps, mac_efficiency;
    double job_time_ratio_max; /* largest measured / pessimistic-MODEL job time */
    bool jobs_within_bounds;   /* every timing job fell between the MODEL's two bounds */
    char notes[320];           /* fits that could not be separated at this clock, noisy fits */
};

struct npu_ladder {
    struct npu_device_info info;
    bool have_info;
    uint32_t clock_mhz;
    bool ok;                 /* every required step passed */
    char stopped_at[12];     /* the required step that failed, or "" */
    char error[640];         /* why the ladder stopped, or "" */
    struct npu_envelope env; /* the widest envelope that passed (kind board) */
    struct npu_ladder_timing timing;
    uint32_t nsteps, nedges;
    struct npu_ladder_step steps[NPU_LADDER_MAX_STEPS];
    struct npu_ladder_edge edges[NPU_LADDER_MAX_EDGES];
};

struct npu_ladder_options {
    enum npu_device_kind kind;
    uint32_t clock_mhz; /* timing MODEL clock (0: the mainline clock) */
    uint32_t seed;
};

/* Climb the ladder; progress lines go to log (may be NULL). 0 when every required step passed, -EDOM when
 * one computed wrong values, another -errno when the device failed or could not be opened. */
int npu_ladder_run(const struct npu_ladder_options *o, struct npu_ladder *L, FILE *log);
/* The whole result as one line of JSON. */
void npu_ladder_print_json(FILE *out, const struct npu_ladder *L);
/* A failing step's task registers, one decoded entry per line ("CNA_CONV_CON1 (0x100c) = 0x..."). */
void npu_ladder_print_registers(FILE *out, const struct npu_trial_result *r, const char *indent);

#endif
