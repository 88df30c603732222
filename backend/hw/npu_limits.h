/* SPDX-License-Identifier: MIT */
/*
 * The RK3588 NPU as a whole (cores, clocks) and the per-task limits of one core: CBUF geometry,
 * alignment, field widths and the envelope outside of which silicon is known (or reported by
 * board-tested peers) to produce garbage or hang.
 * The regcmd builder rejects a matmul at build time and the software NPU rejects a task at run time
 * with the same function, so the two cannot disagree.
 */
#ifndef RK_NPU_LIMITS_H
#define RK_NPU_LIMITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The NPU of the RK3588 as a whole. */
#define NPU_CORES              3   /* identical cores, one job queue each (docs/hardware/rocket-uapi.md §1.1, §1.2) */
#define NPU_CLOCK_MAINLINE_MHZ 200 /* DT assigned-clock-rates, no devfreq (docs/npu-mainline-status.md §6.1) */
#define NPU_CLOCK_VENDOR_MHZ   1000 /* the vendor stack's maximum (docs/hardware/measurements.md §1) */

#define NPU_CBUF_BANKS       12 /* 12 × 32 KiB = 384 KiB per core (docs/hardware/limits.md §1.1) */
#define NPU_CBUF_BANK_BYTES  32768
#define NPU_ATOM_BYTES       16 /* one feature/output atom; DMA granule (docs/hardware/layouts.md §1) */
/* address fields are [31:4] (operands: docs/hardware/layouts.md §5; the regcmd: docs/hardware/regcmd.md §5) */
#define NPU_ADDR_ALIGN       16
/* 32-bit NPU addresses: 4 GiB per address space (docs/hardware/registers.md §1.2) */
#define NPU_IOVA_SPACE       (1ull << 32)
#define NPU_K_ALIGN          32 /* Kpad = align32(K) for int8/fp16 (docs/hardware/layouts.md §1) */
#define NPU_KGROUP_INT8      32 /* kernels per group (docs/hardware/registers.md §1.3, TRM CONV_CON2.KERNEL_GROUP) */
#define NPU_KGROUP_FP16      16
#define NPU_DATA_ENTRY_BYTES 64 /* DATA_ENTRIES divisor that works (docs/hardware/limits.md §2) */

#define NPU_INT8_K_MAX           8192 /* int8 K per task: 11008 = garbage (MF-rocket, docs/hardware/limits.md §5) */
#define NPU_K_HAZARD_LO          3072 /* Kpad in (3072, 4096), M > 4: K=3840 failed (HM, docs/hardware/limits.md §5) */
#define NPU_K_HAZARD_HI          4096
#define NPU_K_HAZARD_M_MAX       4
/* int8 beyond Kpad 4096 works with few rows only: FEATURE_GRAINS = 30 from 16 rows on, at most 32 rows
 * per task up to Kpad 6144 and 16 up to 8192 (HM, docs/hardware/limits.md §4, §5). */
#define NPU_I8_LARGE_KPAD        4096
#define NPU_I8_LARGE_KPAD_GRAINS 30
#define NPU_I8_LARGE_KPAD_ROWS   16 /* rows from which NPU_I8_LARGE_KPAD_GRAINS applies */
/* 13-bit DPU channel fields; N=16384 silently wrong (ORK, docs/hardware/limits.md §3, §5) */
#define NPU_N_MAX                8192
#define NPU_NOTCH_MAX            8191   /* 13-bit DATA_CUBE_NOTCH_ADDR (docs/hardware/layouts.md §4.3) */
#define NPU_HW_MAX               2047   /* 11-bit DATAIN_HEIGHT/WIDTH (docs/hardware/limits.md §3) */
#define NPU_KPAD_MAX             65535  /* 16-bit DATAIN_CHANNEL (docs/hardware/limits.md §3) */
#define NPU_FEATURE_GRAINS_MAX   1023   /* 10-bit CONV_CON2.FEATURE_GRAINS (docs/hardware/registers.md §2.2) */
#define NPU_TASKS_PER_KICK_MAX   4095   /* 12-bit PC_TASK_CON.TASK_NUMBER (docs/hardware/limits.md §3, §9) */
#define NPU_PC_AMOUNT_MAX        0xffff /* 16-bit PC_DATA_AMOUNT (docs/hardware/registers.md §2.1) */

/* What one task asks of the core, as the builder plans it or the sim decodes it from registers. */
struct npu_task_geom {
    int in_prec, out_prec; /* enum npu_precision: CNA input (= proc) and DPU output */
    uint32_t w, h;         /* feature cube; matmul rows M = w·h */
    uint32_t kpad, npad;   /* DATAIN_CHANNEL, WEIGHT_KERNELS */
    uint32_t data_banks, weight_banks;
    uint32_t feature_grains;
    uint32_t notch;     /* DATA_CUBE_NOTCH_ADDR as wanted (may exceed the field) */
    bool group_line_on; /* CONV_CON1.GROUP_LINE_OFF == 0: NC1HWC2 feature fetch */
};

/* Bytes per element for a precision code; 0 if the sim/builder do not model it. */
unsigned npu_prec_bytes(int prec);
/* Kernels per kernel group for a processing precision (32 int8, 16 fp16), 0 if unmodelled. */
unsigned npu_kernel_group(int proc_prec);
/* CBUF banks the feature cube needs: ceil(w·h·kpad·bpe / 32 KiB), at least 1 (docs/hardware/limits.md §1.2). */
uint32_t npu_data_banks_needed(uint32_t w, uint32_t h, uint32_t kpad, unsigned bpe);
/* CBUF banks one kernel group needs: ceil(G·kpad·bpe / 32 KiB) (HM-F16, docs/hardware/limits.md §1.3). */
uint32_t npu_weight_banks_needed(uint32_t kpad, int proc_prec);

/* Input -> output precision pairs the model covers; −ENOTSUP with a reason otherwise. */
int npu_precision_check(int in_prec, int out_prec, char *err, size_t errlen);

/*
 * The shared envelope check.  Returns 0, or −EINVAL with a message naming the reason and the
 * reference section, e.g. "silicon would produce garbage here: int8 K=11008 > 8192 per task
 * (docs/hardware/limits.md §5)".  Also rejects precision pairs the model does not cover (−ENOTSUP).
 */
int npu_limits_check(const struct npu_task_geom *g, char *err, size_t errlen);

/* Write a reason into err (when err/errlen allow) and return rc: the one error formatter of hw/ and
 * the regcmd builder. */
int npu_fail_msg(int rc, char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#endif
