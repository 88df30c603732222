/* SPDX-License-Identifier: MIT */
/*
 * Inside the software NPU core: the persistent register file and the state of one task as it
 * flows PC fetch -> CNA gather -> CORE MAC -> DPU write (one file per block).
 */
#ifndef NPUSIM_INTERNAL_H
#define NPUSIM_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "npu_limits.h"
#include "npu_regs.h"
#include "npusim.h"

#define NPUSIM_NREGS (0x10000 / 4) /* one 32-bit slot per offset inside a core (docs/hardware/registers.md §1.1) */

/* What the weight banks hold between tasks, for WEIGHT_REUSE (docs/hardware/limits.md §6.3). */
struct cbuf_weights {
    bool resident;       /* one task's whole weight set is in the weight banks */
    const char *why_not; /* when not resident: why, for the error of a task that reuses */
    uint32_t addr, bytes, bytes_per_kernel, kernels;
    int prec;
    uint32_t data_banks, weight_banks;
    uint8_t *data; /* the weights as fetched: a reusing task computes with these, not with memory */
    size_t cap;
};

struct npusim_core {
    int index;
    bool strict;
    bool has_envelope;
    bool peer_streams;            /* accept the peer recipe (npusim_core_set_peer_streams) */
    struct npu_envelope envelope; /* tasks outside it fail (npusim_core_set_envelope) */
    struct npusim_flaws flaws;    /* simulated silicon flaws (flaws.c) */
    struct cbuf_weights cbuf;
    uint32_t epoch;                 /* task counter; 0 = never written */
    uint32_t regs[NPUSIM_NREGS];    /* values persist across tasks (docs/hardware/registers.md §3.1, §3.2) */
    uint32_t written[NPUSIM_NREGS]; /* epoch of the last write */
};

/* What the tail of a fetched task said about the next one (docs/hardware/regcmd.md §2). */
struct pc_tail {
    bool has_next;
    uint32_t next_addr, next_amount;
};

struct sim_task {
    struct npusim_core *core;
    const struct npusim_mem *mem;
    char *err;
    size_t errlen;
    int rc; /* first error wins */
    uint32_t regcmd_addr;
    struct npusim_task_stats st;
    bool peer;          /* op-enable 0x1D: the peer recipe (npu_limits.h NPU_RECIPE_PEER_INT8) */
    uint32_t rdma_regs; /* DPU_RDMA writes fetched for this task */

    /* CNA (decoded) */
    int prec; /* input = processing precision */
    unsigned bpe, kgroup;
    uint32_t w, h, kpad, kreal, nk;
    bool group_line_on, weight_reuse;
    uint32_t feat_addr, line_stride, weight_addr, weight_bytes, weight_bytes_per_kernel;
    int32_t surf_stride; /* 28-bit two's complement */
    uint32_t data_banks, weight_banks, grains;

    /* CORE (decoded): output channels; WEIGHT_KERNELS, or that padded to 32 in the peer recipe */
    uint32_t cout;

    /* DPU (decoded) */
    int out_prec;
    unsigned obpe;
    uint32_t dst_addr, dst_stride, cube_w, cube_h, cube_c, notch;
    /* peer recipe: BS adds a per-channel bias and OW_OP·Σa, OUT_CVT requantises to int8 */
    int32_t ow_op, cvt_offset;
    uint32_t cvt_scale, cvt_shift;
    uint32_t bias_addr; /* DPU_RDMA_BS_BASE_ADDR */

    /* data in flight: A [pixels][kpad], B [nk][kpad], acc [pixels][nk], bias [cout] */
    void *a, *b;
    int32_t *acc_i;
    double *acc_f;
    int32_t *bias;
};

/* Register file access for the blocks.  reg_rd() enforces strict mode; after the first error
 * every call is a no-op returning 0, so block code checks t->rc once per stage. */
uint32_t reg_rd(struct sim_task *t, uint16_t reg);
/* Read a register and require a value; rc and why go into the message. */
uint32_t reg_expect(struct sim_task *t, uint16_t reg, uint32_t want, int rc, const char *why);
int sim_fail(struct sim_task *t, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Map [iova, iova+len) or fail with an IOMMU-style fault naming the client. */
void *sim_map(struct sim_task *t, uint32_t iova, uint64_t len, const char *client);

/* The blocks, in pipeline order. */
int pc_fetch(struct sim_task *t, uint32_t addr, uint32_t n_entries, struct pc_tail *tail);
int cna_decode(struct sim_task *t);
int core_decode(struct sim_task *t);
int dpu_decode(struct sim_task *t);
int rdma_decode(struct sim_task *t); /* peer recipe only */
int cna_gather(struct sim_task *t);
int core_mac(struct sim_task *t);
int rdma_fetch(struct sim_task *t); /* peer recipe only */
int dpu_write(struct sim_task *t);

/* The CBUF's weight banks across tasks (cbuf_weights.c). */
int cbuf_reuse_check(struct sim_task *t);                   /* a WEIGHT_REUSE task against what the banks hold */
void cbuf_keep(struct sim_task *t, const uint8_t *weights); /* after a task fetched its weights */
void cbuf_forget(struct npusim_core *core, const char *why);

/* Simulated flaws (flaws.c): a chained tail that hangs (-ETIMEDOUT, or 0), garbage in the accumulators. */
int flaws_chain(struct sim_task *t, const struct pc_tail *tail);
void flaws_apply(struct sim_task *t);

/* A two's-complement field value as a signed number. */
static inline int32_t npu_sext(uint32_t v, unsigned bits)
{
    uint32_t sign = 1u << (bits - 1);
    return (int32_t)((v ^ sign) - sign);
}

#endif
