/* SPDX-License-Identifier: MIT */
/*
 * Rosenblatt GEMM engine: Y[M,N] (f32, row-major) = X[M,K] (f32, row-major) · Wᵀ, W = [N,K] (N rows of K,
 * ggml's src0 order) prepared once and kept resident in NPU memory, computed on the NPU device layer
 * (rocket or sim).
 *
 *   int8 mode (default): W re-quantized to int8 with one symmetric scale per output channel, X quantized per
 *     row (token) to int8 at run time, exact int32 accumulation on the NPU (and across K-slices on the host),
 *     Y = acc · s_x[m] · s_w[n] on the host (docs/hardware/arithmetic.md §1, §4).
 *   fp16 mode: W and X in fp16 (power-of-two row scales keep them in range), fp32 partials, higher accuracy at
 *     half the MAC rate and twice the weight bytes (docs/hardware/arithmetic.md §5, §7).
 *
 * W is split by N over the cores (one device = one fd = one IOVA space per core,
 * docs/hardware/rocket-uapi.md §1.4, §4.6):
 * nothing is duplicated. Each fd has a 32-bit IOVA space, so the engine opens fds in groups of one per core
 * as the weights need them: a weight lives in one group (first fit, leaving iova_reserve per fd for scratch),
 * and its matmuls run on that group's fds. The engine runs one matmul at a time, so the groups' entities take
 * turns: every group's three fds spread over the three cores as the first group's do
 * (docs/hardware/rocket-uapi.md §4.6). Every failure returns a negative errno and a reason (rk_gemm_last_error); an
 * NPU failure is reported, never replaced by a CPU computation. Every result is checked before it is used:
 * the device layer's per-job checks (dropped job, a wait long enough to be a reset) and the engine's output
 * canaries (gemm_internal.h); a failure names the core, the job, its tasks and the shape.
 *
 * Thread-safety: one engine is used by one thread at a time; rk_gemm_run uses one thread per core inside.
 */
#ifndef RK_GEMM_H
#define RK_GEMM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "npu_device.h"
#include "npu_envelope.h"
#include "npu_timing.h"

#ifdef __cplusplus
extern "C" {
#endif

enum rk_gemm_mode {
    RK_GEMM_INT8 = 0,     /* W8A8, int32 accumulation (default) */
    RK_GEMM_FP16 = 1,     /* W16A16 (fp16), fp32 accumulation: the higher-accuracy mode */
    RK_GEMM_INT8_HAD = 2, /* W8A8 on block-Hadamard-rotated X and W (outliers spread): int8 speed, less error */
};
#define RK_GEMM_MODES 3
const char *rk_gemm_mode_name(enum rk_gemm_mode mode);
int rk_gemm_mode_parse(const char *name, enum rk_gemm_mode *mode); /* "int8" | "fp16" | "int8-had"; 0 or -EINVAL */

/* ggml's to_float signature: decode k values of one row. */
typedef void (*rk_row_to_float)(const void *src, float *dst, int64_t k);

struct rk_gemm_engine;
struct rk_weight;

struct rk_gemm_options {
    enum npu_device_kind kind; /* ROCKET or SIM (AUTO: rocket if present, never the sim) */
    uint32_t cores;            /* 1..NPU_CORES devices (fds), one per NPU core; 0 = all */
    uint32_t model_clock_mhz;  /* clock the device's timing MODEL assumes (0 = the mainline clock) */
    uint32_t job_budget_ms;    /* pessimistic MODEL time per job; 0 = the envelope's job_budget_ms */
    /* What the planner may emit and the software NPU accepts (hw/npu_envelope.h); copied at open.
     * NULL: npu_envelope_safe, the envelope public evidence on mainline rocket supports. */
    const struct npu_envelope *envelope;
    bool unchecked_submit; /* skip the device layer's after-SUBMIT fence check (npu_open_options); the output
                            * canaries still catch a dropped job */
    /* Bytes per fd kept free of weights for the scratch BOs (A, C, register commands) and per-call operands;
     * 0 = RK_GEMM_IOVA_RESERVE_DIV-th of the fd's IOVA space. */
    uint64_t iova_reserve;
    uint64_t sim_iova_space; /* sim test knob (npu_open_options.sim_iova_space); 0 = 4 GiB or the env knob */
    /* Row chunks a large matmul is cut into, so that the host glue of one chunk (activation quantization,
     * regcmds, readout) runs while the NPU works on another (gemm_exec.c). 0 = as many as pay by the measured
     * glue and the modelled per-job cost (at most RK_GEMM_PIPELINE_CHUNKS), 1 = off (glue and NPU strictly in
     * turn), n = n chunks whenever M allows. */
    uint32_t pipeline_chunks;
};
#define RK_GEMM_PIPELINE_CHUNKS 4

/* fd groups an engine may open: 16 x 4 GiB per core is more than any RK3588 board's RAM. */
#define RK_GEMM_MAX_GROUPS       16
#define RK_GEMM_IOVA_RESERVE_DIV 8 /* 512 MiB of 4 GiB: C of a 152k-vocabulary head at M=512 is ~200 MiB/core */

/* Where the engine's NPU memory is: fd groups and the weight bytes they hold. */
struct rk_gemm_memory {
    uint32_t groups, fds;  /* fd groups open (each one fd per core), fds in all */
    uint64_t iova_space;   /* per fd */
    uint64_t iova_reserve; /* per fd, not given to weights */
    uint64_t weight_bytes; /* resident and per-call weight BOs, page-rounded, all fds */
};
int rk_gemm_memory_get(const struct rk_gemm_engine *e, struct rk_gemm_memory *m);

/* Open one npu_device per core. Returns 0, or -errno with the reason in why. */
int rk_gemm_open(const struct rk_gemm_options *opt, struct rk_gemm_engine **out, char *why, size_t whylen);
/* Closes the devices. Free the engine's weights first (rk_weight_free). */
void rk_gemm_close(struct rk_gemm_engine *e);
/* Reason for the last failure on this engine ("" if none). */
const char *rk_gemm_last_error(const struct rk_gemm_engine *e);
/* The NPU the engine runs on (its devices are one NPU: the first answers for all). 0 or -EINVAL. */
int rk_gemm_device_info(const struct rk_gemm_engine *e, struct npu_device_info *info);

/* Can a [N,K] weight run in this mode inside this envelope (NULL: safe)? 0, or -ENOTSUP/-EINVAL with a reason
 * in why. Pure function of the shape (padding covers any K and N >= 1); call it from supports_op. */
int rk_gemm_supports(int64_t K, int64_t N, enum rk_gemm_mode mode, const struct npu_envelope *env, char *why,
                     size_t whylen);
/* NPU bytes a prepared [N,K] weight takes (its BOs on all cores, whole pages), without preparing it: what memory
 * budgets are planned with. cores 0 = all; env NULL: safe. 0, or -ENOTSUP/-EINVAL as rk_gemm_supports. */
int rk_gemm_weight_bytes(int64_t K, int64_t N, enum rk_gemm_mode mode, uint32_t cores, const struct npu_envelope *env,
                         uint64_t *bytes);
/* The envelope the engine plans in (a copy of the one given at open). */
const struct npu_envelope *rk_gemm_envelope(const struct rk_gemm_engine *e);

/* Prepare a resident weight: row n of K values is at data + n·row_bytes, decoded by to_float (ggml's
 * type_traits->to_float, or NULL for plain f32 rows). Quantize/convert, pad, pack, place in each core's BOs.
 * A row holding a NaN or an infinity is refused with -EDOM (here and in rk_weight_load), so callers can tell
 * non-finite data from other errors. */
int rk_weight_prepare(struct rk_gemm_engine *e, const void *data, int64_t K, int64_t N, size_t row_bytes,
                      rk_row_to_float to_float, enum rk_gemm_mode mode, struct rk_weight **out);
void rk_weight_free(struct rk_weight *w);
/* An ephemeral weight: an operand that changes every call (attention's K and V rows read from the KV cache),
 * converted and packed per call like rk_weight_prepare into BOs kept from call to call (grown as needed).
 * *w NULL: created; otherwise re-laid out for this shape and refilled. Free it with rk_weight_free. */
int rk_weight_load(struct rk_gemm_engine *e, struct rk_weight **w, const void *data, int64_t K, int64_t N,
                   size_t row_bytes, rk_row_to_float to_float, enum rk_gemm_mode mode);

/* A prepared weight as bytes (the plugin's on-disk weight cache): rk_weight_write stores its layout digest, scales
 * and packed BOs with a hash of all of it; rk_weight_read recomputes the layout for (K, N, mode) on this engine and
 * fills new BOs straight from the file, no conversion. Bump RK_WEIGHT_FORMAT_VERSION whenever the packing, the
 * quantization or this format changes: files of another version are refused. */
#define RK_WEIGHT_FORMAT_VERSION 1
/* Write w to fd at its current offset. 0 or -errno (reason: rk_gemm_last_error). */
int rk_weight_write(struct rk_gemm_engine *e, const struct rk_weight *w, int fd);
/* Read a weight written by rk_weight_write. 0, or: -ESTALE another format version or layout (envelope, cores);
 * -EBADMSG a short file or a hash mismatch (truncated, corrupt); -EIO/-ENOMEM/-ENOSPC as the cause. */
int rk_weight_read(struct rk_gemm_engine *e, int fd, int64_t K, int64_t N, enum rk_gemm_mode mode,
                   struct rk_weight **out);
/* A 128-bit non-cryptographic hash of n bytes (4 lanes of 64-bit multiply-rotate), for cache keys and integrity:
 * out[0..1]. seed separates uses. Runs at memory speed on one core. */
void rk_hash128(const void *data, size_t n, uint64_t seed, uint64_t out[2]);

struct rk_weight_info {
    int64_t K, N;
    enum rk_gemm_mode mode;
    uint64_t npu_bytes;        /* packed weight bytes on the NPU (all cores, incl. padding) */
    double bytes_per_weight;   /* npu_bytes / (K·N), plus the f32 scales */
    double prep_seconds;       /* decode + quantize + pack (measured) */
    double prep_cpu_seconds;   /* the same as thread CPU time of the busiest host thread (all convert in parallel) */
    double weights_per_second; /* K·N / prep_seconds */
    uint32_t k_slices;         /* fixed at prepare time */
    uint32_t group;            /* the fd group (IOVA spaces) that holds it */
};
void rk_weight_get_info(const struct rk_weight *w, struct rk_weight_info *info);

/* Per-matmul statistics. model_* are timing MODEL estimates (npu_timing.h), not measurements. */
struct rk_gemm_stats {
    uint32_t tasks, jobs, cores_used;
    uint64_t macs;
    uint64_t dma_bytes;          /* A + B + C bytes the tasks move (planned) */
    double glue_ns;              /* measured host work as thread CPU time: X quantize into A (+ copies to the
                                    * other cores) + the slowest core's regcmd writing, cache syncs, readout and
                                    * scaling; excludes one-time scratch BO growth */
    double glue_wall_ns;         /* the same phases in wall-clock time (inflated on the sim: shared host cores) */
    double quant_ns, readout_ns; /* parts of glue_ns (thread CPU time) */
    double check_ns;             /* part of glue_ns: writing and checking the output canaries (slowest core) */
    double fence_check_ns;       /* measured wall time of the device layer's after-SUBMIT fence checks (slowest
                                  * core; on rocket it overlaps the NPU's work) */
    double wall_ns;              /* measured: whole rk_gemm_run */
    double npu_wait_ns;          /* measured: submit to fences done (simulation time on the sim) */
    /* MODEL: NPU time at the mainline (200 MHz) and vendor (1 GHz) clocks, [optimistic, pessimistic]
     * (npu_timing.h: enum npu_model_bound) */
    uint64_t model_ns_200[NPU_MODEL_BOUNDS], model_ns_1000[NPU_MODEL_BOUNDS];
    uint64_t model_max_job_ns; /* MODEL: the longest job, pessimistic at the split clock (vs the job timeout) */
    uint32_t reuse_tasks;      /* tasks that reuse CBUF weights (WEIGHT_REUSE) */
    uint32_t nonfinite_rows;   /* rows of X holding a NaN or an infinity: not run on the NPU, NaN in Y */
    uint32_t chunks;           /* row chunks the run was pipelined in (1: not pipelined) */
    double exposed_glue_ns;    /* measured: wall_ns minus the busiest core's time with jobs in flight (submit to
                                * fences done): the host glue left on the critical path */
};

#define RK_GEMM_M_MAX 65535 /* rows of X per rk_gemm_run */

/* Y[m·ldy + n] = Σ_k X[m·ldx + k] · W[n][k] for m < M (1..RK_GEMM_M_MAX), n < N. Returns 0 or -errno
 * (reason: rk_gemm_last_error). stats may be NULL. A row of X holding a NaN or an infinity is not an NPU
 * input (int8 and fp16 have no such values): it is left out, its Y row is all NaN, and the other rows are
 * computed as usual; stats->nonfinite_rows counts such rows and rk_gemm_nonfinite_rows names them. */
int rk_gemm_run(struct rk_gemm_engine *e, const struct rk_weight *w, const float *X, int64_t M, int64_t ldx, float *Y,
                int64_t ldy, struct rk_gemm_stats *stats);
/* The rows of X the last successful rk_gemm_run on this engine left out as non-finite: their number, and
 * the first `cap` of them in ascending order in rows. Call it before the engine's next run. */
int64_t rk_gemm_nonfinite_rows(const struct rk_gemm_engine *e, int64_t *rows, int64_t cap);

/* Print the plan rk_gemm_run would use for this weight and M (tiles, slices, jobs, bytes, MODEL times). */
int rk_gemm_explain(struct rk_gemm_engine *e, const struct rk_weight *w, int64_t M, FILE *out);
/* The same without a prepared weight or an engine (planning is a pure function of the shape and envelope;
 * env NULL: safe). */
int rk_gemm_explain_shape(int64_t K, int64_t N, int64_t M, enum rk_gemm_mode mode, uint32_t cores,
                          const struct npu_envelope *env, FILE *out);

#ifdef __cplusplus
}
#endif
#endif
