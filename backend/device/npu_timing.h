/* NPU timing MODEL: a design estimate of how long tasks, jobs and submits take on the RK3588 NPU.
 * It is NOT a measurement and NOT cycle-accurate; everything it produces is labelled "model", and it always
 * comes as two bounds: OPTIMISTIC and PESSIMISTIC, each a full parameter set fitted to the published
 * measurements of docs/hardware/measurements.md (the calibration table: docs/performance.md).
 *
 *   compute_ns = cycles / (mac_efficiency · clock)      cycles = M·⌈K/32⌉·⌈N/32⌉ int8, M·⌈K/32⌉·⌈N/16⌉ fp16
 *                                                        (docs/hardware/registers.md §1.3)
 *   dma_ns     = bytes fetched and written / per-core bandwidth, where the per-core bandwidth is
 *                min(per core, aggregate / cores streaming, bus bytes per cycle · clock); weights a task
 *                reuses from CBUF (WEIGHT_REUSE) are not fetched again
 *   body_ns    = compute_ns + dma_ns − overlap · min(compute_ns, dma_ns)      (overlap 0 = strictly serial)
 *   task_ns    = body_ns + per-task overhead          (rocket: one kick + interrupt per task)
 *   job_ns     = per-job overhead (scheduler + IOMMU attach/detach) + Σ task_ns
 *   submit     = max over cores of their jobs, but not less than total bytes / aggregate bandwidth
 *
 * The vendor driver runs a whole submit of PC-chained tasks with one fixed cost and no per-task interrupt:
 * npu_model_tiling_ns() models a given tiling on either driver, which is how published vendor figures are
 * compared with the model (they were measured with the vendor's tiling, not ours).
 *
 * All parameters live in ONE table (npu_model_params in npu_timing.c) with both bounds and their sources.
 * A board profile replaces the fitted values it measured (npu_model_install_measured); npu_model_source()
 * names what the active values come from, and every report prints it. */
#ifndef ROSENBLATT_NPU_TIMING_H
#define ROSENBLATT_NPU_TIMING_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "npu_device.h"

#ifdef __cplusplus
extern "C" {
#endif

enum npu_model_bound {
    NPU_MODEL_OPTIMISTIC = 0,
    NPU_MODEL_PESSIMISTIC = 1,
};
#define NPU_MODEL_BOUNDS 2

enum npu_model_param_id {
    NPU_MODEL_INT8_MACS_PER_CYCLE,
    NPU_MODEL_FP16_MACS_PER_CYCLE,
    NPU_MODEL_TF32_MACS_PER_CYCLE,
    NPU_MODEL_MAC_EFFICIENCY,
    NPU_MODEL_CLOCK_MHZ,
    NPU_MODEL_DMA_OVERLAP,
    NPU_MODEL_DMA_CORE_GBPS,
    NPU_MODEL_DMA_AGGREGATE_GBPS,
    NPU_MODEL_DMA_BYTES_PER_CYCLE,
    NPU_MODEL_TASK_OVERHEAD_US,
    NPU_MODEL_JOB_OVERHEAD_US,
    NPU_MODEL_JOB_IOMMU_US,
    NPU_MODEL_VENDOR_SUBMIT_US,
    NPU_MODEL_JOB_TIMEOUT_MS,
    NPU_MODEL_CORES,
    NPU_MODEL_PARAM_COUNT
};

struct npu_model_param {
    const char *name;
    double value[NPU_MODEL_BOUNDS]; /* [optimistic, pessimistic] */
    const char *unit;
    const char *source; /* where the value comes from: a docs/hardware/ section, and how it follows */
};
/* The fitted table. */
extern const struct npu_model_param npu_model_params[NPU_MODEL_PARAM_COUNT];
/* The active value: the fitted one, or what a board profile installed. */
double npu_model_param(enum npu_model_param_id id, enum npu_model_bound b);

/* Parameters a board profile measured (issue 11's calibrate ladder writes them; its loader calls the hook).
 * A field <= 0 keeps the fitted value. A measured value replaces both bounds; job_overhead_us is the whole
 * per-job cost (scheduler and IOMMU). */
struct npu_model_measured {
    double task_overhead_us, job_overhead_us, mac_efficiency, dma_core_gbps, dma_aggregate_gbps;
    uint32_t clock_mhz;
};
/* Install measured parameters; source becomes "board profile <date>". Call before planning or submitting
 * (not thread-safe against concurrent model use). 0, or -EINVAL (nothing installed) for an implausible value. */
int npu_model_install_measured(const struct npu_model_measured *m, const char *date);
void npu_model_reset(void); /* back to the fitted table */
/* "fitted to published measurements" or "board profile <date>". */
const char *npu_model_source(void);
/* The clock the model assumes when none is given: the mainline clock, or the board profile's. */
uint32_t npu_model_clock_mhz(void);

/* Work of one task. precision = the NPU's 3-bit input precision code (enum npu_precision in hw/npu_regs.h,
 * docs/hardware/registers.md §1.4). bytes_in includes weight_bytes; weights_reused = WEIGHT_REUSE: the task
 * uses the weights the previous task on its core left in CBUF, so they are not fetched. */
struct npu_model_work {
    uint64_t macs, bytes_in, bytes_out;
    int precision;
    uint64_t cycles;       /* MAC-array cycles of the padded shape; 0 = macs / MACs per cycle */
    uint64_t weight_bytes; /* the part of bytes_in that is weights (0 = unknown) */
    bool weights_reused;
};

struct npu_model_work npu_model_work_from_shape(const struct npu_task_shape *shape);
/* The same from a matmul shape: m rows, kpad, npad, int8 or fp16 in, out bytes per element. */
struct npu_model_work npu_model_work_matmul(uint32_t m, uint32_t kpad, uint32_t npad, int precision,
                                            uint32_t out_bytes);

/* Per-core DMA bandwidth (GB/s) while `cores` cores stream at the same time. */
double npu_model_core_gbps(uint32_t clock_mhz, uint32_t cores, enum npu_model_bound b);
uint64_t npu_model_compute_ns(const struct npu_model_work *w, uint32_t clock_mhz, enum npu_model_bound b);
uint64_t npu_model_dma_ns(uint64_t bytes, double gbytes_per_s);
/* A task without the per-task overhead (what a PC-chained task costs inside a vendor submit). */
uint64_t npu_model_task_body_ns(const struct npu_model_work *w, uint32_t clock_mhz, uint32_t cores,
                                enum npu_model_bound b);
/* A task on rocket: body + the per-task overhead. clock 0 = npu_model_clock_mhz(). */
uint64_t npu_model_task_ns(const struct npu_model_work *w, uint32_t clock_mhz, uint32_t cores, enum npu_model_bound b);
uint64_t npu_model_job_overhead_ns(enum npu_model_bound b); /* scheduler + IOMMU attach/detach per job */
uint64_t npu_model_job_timeout_ns(void);
/* Completion time of work spread over cores that run in parallel (pessimistic aggregate bandwidth). */
uint64_t npu_model_parallel_ns(const uint64_t *core_busy_ns, int cores, uint64_t total_bytes);
uint64_t npu_model_parallel_bound_ns(const uint64_t *core_busy_ns, int cores, uint64_t total_bytes,
                                     enum npu_model_bound b);

/* A tiling to model: how an M×K×N matmul is cut into tasks. Each of `cores` cores takes ⌈N/cores⌉ columns
 * (or, with `independent`, runs the whole matmul itself, like concurrent single-core contexts). A core's
 * share is cut into N-tiles of n_tile columns (0 = the whole share) and M-tiles of m_tile rows with full K;
 * tasks run N-tile by N-tile, its M-tiles back to back. Without reuse every M-tile fetches its N-tile's
 * weights again; with reuse only the first does. */
enum npu_model_driver {
    NPU_MODEL_DRIVER_ROCKET, /* one job per core, every task kicked and interrupted on its own */
    NPU_MODEL_DRIVER_VENDOR, /* one submit per core, PC-chained tasks, one fixed submit cost */
};
struct npu_model_tiling {
    uint32_t m, k, n;
    int precision;      /* enum npu_precision: int8 or fp16 */
    uint32_t out_bytes; /* bytes per output element */
    uint32_t cores;
    bool independent;
    uint32_t m_tile, n_tile;
    bool reuse_weights;
    enum npu_model_driver driver;
};
uint64_t npu_model_tiling_ns(const struct npu_model_tiling *t, uint32_t clock_mhz, enum npu_model_bound b);
/* The vendor runtime's rows per task for a full-K int8/fp16 M-tile (docs/hardware/limits.md §1.4). */
uint32_t npu_model_vendor_rows(int precision, uint32_t kpad);

const char *npu_model_bound_name(enum npu_model_bound b); /* "optimistic" | "pessimistic" */
/* "model 12.345–19.876 ms (optimistic–pessimistic, 200 MHz)" into buf; returns buf. */
char *npu_model_format_ms(char *buf, size_t len, double opt_ms, double pess_ms, uint32_t clock_mhz);
/* Print the parameter table ("# MODEL parameters" lines, both bounds, sources and the active source). */
void npu_model_print_params(FILE *out);

#ifdef __cplusplus
}
#endif
#endif
