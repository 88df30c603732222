/* NPU timing MODEL: a design estimate of how long tasks, jobs and submits take on the RK3588 NPU.
 * It is NOT a measurement and NOT cycle-accurate; everything it produces is labelled "model".
 *
 *   task_ns = max(compute_ns, dma_ns) + task_overhead
 *     compute_ns = MACs / (MACs_per_cycle(precision) * clock)
 *     dma_ns     = (bytes_in + bytes_out) / per-core DMA bandwidth
 *   job_ns  = sum(task_ns) + job_overhead            (tasks of a job run back to back on one core)
 *   submit  = max over cores of their job time, but not less than total bytes / aggregate bandwidth
 *
 * All parameters live in ONE table (npu_model_params in npu_timing.c) with their sources. */
#ifndef ROSENBLATT_NPU_TIMING_H
#define ROSENBLATT_NPU_TIMING_H

#include <stdint.h>
#include <stdio.h>

#include "npu_device.h"

enum npu_model_param_id {
    NPU_MODEL_INT8_MACS_PER_CYCLE,
    NPU_MODEL_FP16_MACS_PER_CYCLE,
    NPU_MODEL_TF32_MACS_PER_CYCLE,
    NPU_MODEL_CLOCK_MAINLINE_MHZ,
    NPU_MODEL_CLOCK_VENDOR_MHZ,
    NPU_MODEL_DMA_CORE_GBPS,
    NPU_MODEL_DMA_AGGREGATE_GBPS,
    NPU_MODEL_TASK_OVERHEAD_US,
    NPU_MODEL_JOB_OVERHEAD_US,
    NPU_MODEL_JOB_TIMEOUT_MS,
    NPU_MODEL_CORES,
    NPU_MODEL_PARAM_COUNT
};

struct npu_model_param {
    const char *name;
    double value;
    const char *unit;
    const char *source; /* where the value comes from: a docs/hardware/ section */
};
extern const struct npu_model_param npu_model_params[NPU_MODEL_PARAM_COUNT];
double npu_model_param(enum npu_model_param_id id);

/* Work of one task. precision = the NPU's 3-bit input precision code (enum npu_precision in
 * hw/npu_regs.h, docs/hardware/registers.md §1.4). */
struct npu_model_work {
    uint64_t macs, bytes_in, bytes_out;
    int precision;
};

struct npu_model_work npu_model_work_from_shape(const struct npu_task_shape *shape);
uint64_t npu_model_compute_ns(const struct npu_model_work *w, uint32_t clock_mhz);
uint64_t npu_model_dma_ns(uint64_t bytes, double gbytes_per_s);
uint64_t npu_model_task_ns(const struct npu_model_work *w, uint32_t clock_mhz); /* incl. task overhead */
uint64_t npu_model_job_overhead_ns(void);
uint64_t npu_model_job_timeout_ns(void);
/* Completion time of work spread over cores that run in parallel. */
uint64_t npu_model_parallel_ns(const uint64_t *core_busy_ns, int cores, uint64_t total_bytes);

/* Print the parameter table ("# MODEL parameters" lines). */
void npu_model_print_params(FILE *out);

#endif
