/* SPDX-License-Identifier: MIT */
/*
 * Software model of one RK3588 NPU core at register level: it fetches the regcmd stream a task
 * points at, keeps a persistent register file and executes CNA -> CORE -> DPU for a 1×1 direct
 * convolution (= matmul).  Anything the model does not cover, and anything the reference lists as
 * producing garbage or a hang on silicon, is an error with a reason, never a guess.
 *
 * Thread-safety: no global mutable state.  Different cores may run in different threads at the
 * same time; one core must only be used by one thread at a time.
 */
#ifndef NPUSIM_H
#define NPUSIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "npu_envelope.h"

/* The IOVA space a task runs in (one fd's), supplied by the sim device layer. */
struct npusim_mem {
    void *ctx;
    /* Host pointer for [iova, iova+len) when the whole range lies inside one mapped BO, else NULL
	   (the engine then reports an IOMMU-style fault naming the address). */
    void *(*map)(void *ctx, uint32_t iova, size_t len);
};

struct npusim_task_stats {
    uint32_t regcmd_entries;         /* 64-bit entries fetched */
    uint64_t macs;                   /* multiply-accumulates executed by the MAC array (padded dims) */
    uint64_t bytes_in;               /* bytes read by DMA: feature + weights fetched + DPU_RDMA operands */
    uint64_t weight_bytes;           /* weight bytes fetched by DMA; 0 for a WEIGHT_REUSE task */
    uint64_t bytes_out;              /* bytes written by the DPU */
    uint32_t m, k, n;                /* task geometry as decoded from registers: rows (W·H), Kpad, Npad */
    int in_precision, out_precision; /* 3-bit precision codes (docs/hardware/registers.md §1.4) */
    uint32_t tasks;                  /* tasks executed (1 for npusim_core_run_task) */
    uint32_t weight_reuse_tasks;     /* of those, tasks that computed with the weights already in the CBUF */
    uint32_t peer_tasks;             /* of those, tasks of the peer recipe (op-enable 0x1D) */
    uint32_t stale_reads;            /* non-strict mode: registers read that this task did not write */
};

struct npusim_core; /* one NPU core with its persistent register file */
struct npusim_core *npusim_core_create(int index);
void npusim_core_destroy(struct npusim_core *core);
/* Strict (default): a task that reads a register it did not write itself fails (-EINVAL), since
 * values persist and ping-pong register groups make a stale value unsafe (docs/hardware/registers.md §3.1, §3.2).
 * Non-strict: such a read returns the last value written on this core (one register group; the
 * hardware's two ping-pong groups are not modelled) and counts in stats.stale_reads; a register
 * never written since create is still an error (its reset value is unknown). */
void npusim_core_set_strict(struct npusim_core *core, bool strict); /* default: strict */
/* The execution envelope tasks must stay inside (hw/npu_envelope.h): a task outside it fails with -EINVAL
 * naming the limit, as the planner must never emit one. NULL (the default): the hard limits only. The
 * envelope is copied. */
void npusim_core_set_envelope(struct npusim_core *core, const struct npu_envelope *env);
/* Peer-stream mode: also accept tasks of the int8 recipe Mesa and MF-rocket ran on rocket (op-enable 0x1D:
 * int8 output through OUT_CVT, a per-channel int32 bias read by DPU_RDMA, NC1HWC2 feature and output;
 * docs/hardware/regcmd.md §9). Such a task is checked against that recipe register by register, as strictly
 * as our own streams are against theirs. Off (the default): op-enable 0x1D and any DPU_RDMA write are
 * -ENOTSUP, as nothing we emit uses them. */
void npusim_core_set_peer_streams(struct npusim_core *core, bool on);
/* A new job starts on this core. Weights an earlier job left in the CBUF are not reusable: between jobs
 * the kernel may run other fds' jobs and switch IOMMU domains, and every stream proven with WEIGHT_REUSE
 * loads its weights in the job's first task (docs/hardware/limits.md §6.3). npusim_core_run_chain starts
 * one itself. */
void npusim_core_begin_job(struct npusim_core *core);

/* Flaws: the core misbehaving the way unknown silicon might, for testing the calibration ladder
 * (RKNPU_SIM_FLAW). A flawed task writes garbage, silently, or hangs its job; all zero = none. */
struct npusim_flaws {
    uint32_t m_tile_above; /* "m-tile>N": rows N+1.. of a task with more than N rows are garbage */
    uint32_t n_tile_above; /* "n-tile>N": channels N+1.. of a task with more than N output channels are garbage */
    uint32_t k_above;      /* "k>N": a task with Kpad > N accumulates garbage */
    bool inplace;          /* "inplace": A read with a LINE_STRIDE wider than the task's rows comes back wrong */
    bool chain;            /* "chain": a task whose tail names a next task hangs its job (-ETIMEDOUT) */
    bool reuse;            /* "reuse": a task that sets WEIGHT_REUSE computes with garbage for weights */
    uint32_t broken_pairs; /* "int8-int32", "int8-fp32", "fp16-fp32", "fp16-fp16": that output is garbage
                            * (enum npu_out_pair mask) */
};
/* "m-tile>32,k>3008,inplace,..." (comma-separated; "" or "none": no flaw). 0, or -EINVAL with a reason. */
int npusim_flaws_parse(const char *spec, struct npusim_flaws *flaws, char *err, size_t errlen);
bool npusim_flaws_any(const struct npusim_flaws *flaws);
/* NULL clears. Copied. */
void npusim_core_set_flaws(struct npusim_core *core, const struct npusim_flaws *flaws);

/*
 * Execute one rocket task the way the kernel starts it (PC base = regcmd_iova, fetch amount
 * (regcmd_count+1)/2 − 1 units of 128 bits, TASK_NUMBER = 1: docs/hardware/rocket-uapi.md §4.2), until op-enable.
 * A next-task pointer in the tail is checked but not followed, as on mainline (docs/hardware/regcmd.md §6.2).
 * Returns 0, or a negative errno with a human message in err, e.g. "silicon would produce garbage
 * here: int8 K=11008 > 8192 per task (docs/hardware/limits.md §5)":
 *   -EFAULT     IOMMU-style fault (regcmd, feature, weight or output range not mapped)
 *   -EINVAL     bad stream or registers, strict-mode read of an unwritten register, or a task
 *               outside the known-good envelope (garbage / hang on silicon)
 *   -ENOTSUP    a register, block or mode the model does not cover
 *   -ETIMEDOUT  the fetched entries never reach op-enable: silicon would sit idle until the
 *               500 ms job timeout
 * stats (may be NULL) is filled on success.
 *
 * WEIGHT_REUSE (CNA_CBUF_CON0): the core keeps the weights a task fetched while they fit its weight banks;
 * a later task with the bit set computes with that copy (not with memory) and fetches no weights. It is
 * -EINVAL when the CBUF does not hold exactly its weights: none loaded in this job, loaded by a task with
 * another address, weight set, precision or bank split, or streamed because they did not fit.
 */
int npusim_core_run_task(struct npusim_core *core, const struct npusim_mem *mem, uint32_t regcmd_iova,
                         uint32_t regcmd_count, struct npusim_task_stats *stats, char *err, size_t errlen);

/*
 * Vendor-driver style kick: PC_REGISTER_AMOUNTS = pc_data_amount, TASK_NUMBER = task_number
 * (1..4095); the PC follows each tail's PC_BASE_ADDRESS / PC_REGISTER_AMOUNTS to the next task
 * (docs/hardware/regcmd.md §3, §4, §6.1).  stats accumulate over the chain (geometry of the last task).
 */
int npusim_core_run_chain(struct npusim_core *core, const struct npusim_mem *mem, uint32_t regcmd_iova,
                          uint32_t pc_data_amount, uint32_t task_number, struct npusim_task_stats *stats, char *err,
                          size_t errlen);

/* Register file inspection (tests, tools): the last value written to a register offset, false if
 * it was never written since the core was created. */
bool npusim_core_peek(const struct npusim_core *core, uint16_t reg, uint32_t *value);

#endif
