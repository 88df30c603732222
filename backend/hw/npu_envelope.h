/* SPDX-License-Identifier: MIT */
/*
 * Execution envelopes: which of the shapes and stream features the hard limits allow (npu_limits.h) a
 * run may use. The hard limits say what silicon is known to get wrong on any driver; an envelope says
 * what has been shown to work, and so what the planner emits and the software NPU accepts:
 *
 *   safe    only what public evidence shows working on mainline rocket: MF-rocket's tile sizes,
 *           K-slices in separate A blocks, tails without a next pointer, short jobs, no CBUF reuse
 *           (docs/hardware/limits.md §6.1). The default while no board profile exists.
 *   vendor  what the planner was designed from: HM's vendor-driver envelope
 *           (docs/hardware/limits.md §6.2, §7), on silicon only as good as the assumption that register
 *           behaviour does not depend on the driver.
 *   board   what `rosenblatt-dl calibrate` proved on one board, read from its board profile.
 *
 * Whatever the envelope, a task must also pass npu_limits_check(): an envelope only narrows.
 */
#ifndef RK_NPU_ENVELOPE_H
#define RK_NPU_ENVELOPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "npu_limits.h"

#ifdef __cplusplus
extern "C" {
#endif

enum npu_envelope_kind {
    NPU_ENVELOPE_SAFE = 0,
    NPU_ENVELOPE_VENDOR,
    NPU_ENVELOPE_BOARD,
};
#define NPU_ENVELOPE_KINDS 3

/* Input -> output precision pairs, as a mask of what an envelope allows (docs/hardware/arithmetic.md §7). */
enum npu_out_pair {
    NPU_PAIR_I8_I32 = 1u << 0,  /* int8 in, exact int32 out: the int8 modes */
    NPU_PAIR_I8_F32 = 1u << 1,  /* int8 in, fp32 out */
    NPU_PAIR_F16_F32 = 1u << 2, /* fp16 in, fp32 out: the fp16 mode */
    NPU_PAIR_F16_F16 = 1u << 3, /* fp16 in, fp16 out */
    NPU_PAIR_I8_I8 = 1u << 4,   /* int8 in, int8 out through OUT_CVT: the peer recipe (docs/hardware/regcmd.md §9) */
};
#define NPU_PAIRS_ALL (NPU_PAIR_I8_I32 | NPU_PAIR_I8_F32 | NPU_PAIR_F16_F32 | NPU_PAIR_F16_F16 | NPU_PAIR_I8_I8)

struct npu_envelope {
    enum npu_envelope_kind kind;
    uint32_t m_tile_max;      /* matmul rows (W·H) per task */
    uint32_t n_tile_max;      /* output channels (Npad) per task, a multiple of 32 */
    uint32_t k_task_max_int8; /* Kpad per int8 task */
    uint32_t k_task_max_fp16; /* Kpad per fp16 task */
    bool inplace_k_slices;    /* A rows read with a LINE_STRIDE wider than the task's K (a slice of a wider A) */
    bool chained_tails;       /* tails that carry the next task's address and amount */
    bool weight_reuse;        /* CBUF_CON0.WEIGHT_REUSE: a task uses the weights the previous one loaded */
    uint32_t out_pairs;       /* enum npu_out_pair mask */
    uint32_t tasks_per_job_max;
    uint32_t job_budget_ms; /* pessimistic MODEL time per job, far below the 500 ms kernel timeout */
};

/* The two envelopes that need no board: their values and evidence are in npu_envelope.c. */
extern const struct npu_envelope npu_envelope_safe;
extern const struct npu_envelope npu_envelope_vendor;

const char *npu_envelope_name(enum npu_envelope_kind kind);             /* "safe" | "vendor" | "board" */
int npu_envelope_parse(const char *name, enum npu_envelope_kind *kind); /* 0 or -EINVAL */

/* What a task asks beyond its geometry, as the planner emits it or the software NPU decodes it. */
struct npu_task_features {
    uint32_t line_stride_atoms; /* CNA_DMA_CON1.LINE_STRIDE in 16-byte atoms */
    bool chained;               /* the tail names a next task */
    bool weight_reuse;          /* CBUF_CON0.WEIGHT_REUSE set */
};

/* A task against an envelope. 0, or -EINVAL with a reason naming the limit and the envelope, e.g.
 * "envelope 'safe': 64 rows per task > 32 (MF-rocket's tiles; docs/hardware/limits.md §6.1)". */
int npu_envelope_task_check(const struct npu_envelope *env, const struct npu_task_geom *g,
                            const struct npu_task_features *f, char *err, size_t errlen);

/* A board envelope must stay inside the hard limits and name sane values; 0 or -EINVAL with a reason. */
int npu_envelope_validate(const struct npu_envelope *env, char *err, size_t errlen);

/* One line naming the envelope and its main values, e.g. for the plugin's load line and --explain. */
int npu_envelope_describe(const struct npu_envelope *env, char *buf, size_t len);

#ifdef __cplusplus
}
#endif
#endif
