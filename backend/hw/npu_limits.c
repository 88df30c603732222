// SPDX-License-Identifier: MIT
/* The per-task envelope shared by the regcmd builder and the software NPU (npu_limits.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "npu_limits.h"
#include "npu_regs.h"

int npu_fail_msg(int rc, char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    if (err && errlen) {
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return rc;
}

unsigned npu_prec_bytes(int prec)
{
    switch (prec) {
    case NPU_PREC_INT8:
        return 1;
    case NPU_PREC_FP16:
        return 2;
    case NPU_PREC_INT32:
    case NPU_PREC_FP32:
        return 4;
    }
    return 0;
}

unsigned npu_kernel_group(int proc_prec)
{
    return proc_prec == NPU_PREC_INT8 ? NPU_KGROUP_INT8 : proc_prec == NPU_PREC_FP16 ? NPU_KGROUP_FP16 : 0;
}

static uint32_t banks_for(uint64_t bytes)
{
    return (uint32_t)((bytes + NPU_CBUF_BANK_BYTES - 1) / NPU_CBUF_BANK_BYTES);
}

uint32_t npu_data_banks_needed(uint32_t w, uint32_t h, uint32_t kpad, unsigned bpe)
{
    /* An exact 32 KiB multiple must not take an extra bank (AB-NOTES, docs/hardware/limits.md §1.2). */
    uint32_t b = banks_for((uint64_t)w * h * kpad * bpe);
    return b ? b : 1;
}

uint32_t npu_weight_banks_needed(uint32_t kpad, int proc_prec)
{
    return banks_for((uint64_t)npu_kernel_group(proc_prec) * kpad * npu_prec_bytes(proc_prec));
}

static const char *prec_name(int p)
{
    static const char *const n[8] = {"int8", "int16", "fp16", "bf16", "int32", "fp32", "int4", "tf32"};
    return p >= 0 && p < 8 ? n[p] : "?";
}

int npu_precision_check(int in_prec, int out_prec, char *err, size_t errlen)
{
    /* The four conversions peers verified on boards (docs/hardware/arithmetic.md §7); int8 requant output,
	 * bf16/tf32/int16 are outside this model. */
    bool pair_ok = (in_prec == NPU_PREC_INT8 && (out_prec == NPU_PREC_INT32 || out_prec == NPU_PREC_FP32)) ||
                   (in_prec == NPU_PREC_FP16 && (out_prec == NPU_PREC_FP32 || out_prec == NPU_PREC_FP16));
    if (!pair_ok)
        return npu_fail_msg(-ENOTSUP, err, errlen,
                            "precision %s -> %s is not covered by the model (int8->int32/fp32, fp16->fp32/fp16; "
                            "docs/hardware/arithmetic.md §7)",
                            prec_name(in_prec), prec_name(out_prec));
    return 0;
}

int npu_limits_check(const struct npu_task_geom *g, char *err, size_t errlen)
{
    const char *garbage = "silicon would produce garbage here";
    unsigned bpe = npu_prec_bytes(g->in_prec);
    uint32_t m = g->w * g->h;
    int rc = npu_precision_check(g->in_prec, g->out_prec, err, errlen);
    if (rc) return rc;

    if (g->w < 1 || g->h < 1 || g->w > NPU_HW_MAX || g->h > NPU_HW_MAX)
        return npu_fail_msg(-EINVAL, err, errlen,
                            "feature cube %ux%u does not fit the 11-bit DATAIN_WIDTH/HEIGHT fields (1..%u; "
                            "docs/hardware/limits.md §3)",
                            g->w, g->h, NPU_HW_MAX);
    if (g->kpad < NPU_K_ALIGN || g->kpad % NPU_K_ALIGN || g->kpad > NPU_KPAD_MAX)
        return npu_fail_msg(-EINVAL, err, errlen,
                            "DATAIN_CHANNEL=%u must be a multiple of 32 in 32..%u (docs/hardware/layouts.md §1, "
                            "docs/hardware/limits.md §3)",
                            g->kpad, NPU_KPAD_MAX);
    if ((uint64_t)g->kpad * bpe >= (1u << 19))
        return npu_fail_msg(
                -EINVAL, err, errlen,
                "%u bytes per kernel do not fit the 19-bit WEIGHT_BYTES_PER_KERNEL (docs/hardware/limits.md §3)",
                g->kpad * bpe);
    unsigned kg = npu_kernel_group(g->in_prec);
    if (g->npad < kg || g->npad % kg)
        return npu_fail_msg(-EINVAL, err, errlen,
                            "N=%u is not a whole number of %u-kernel groups (docs/hardware/layouts.md §3.1)", g->npad,
                            kg);

    if (g->in_prec == NPU_PREC_INT8 && g->kpad > NPU_INT8_K_MAX)
        return npu_fail_msg(-EINVAL, err, errlen, "%s: int8 K=%u > %u per task (docs/hardware/limits.md §5)", garbage,
                            g->kpad, NPU_INT8_K_MAX);
    if (g->in_prec == NPU_PREC_INT8 && g->kpad > NPU_K_HAZARD_LO && g->kpad < NPU_K_HAZARD_HI && m > NPU_K_HAZARD_M_MAX)
        return npu_fail_msg(-EINVAL, err, errlen,
                            "%s: int8 K=%u in (%u,%u) with M=%u > %u (the K=3840 failure, docs/hardware/limits.md §5)",
                            garbage, g->kpad, NPU_K_HAZARD_LO, NPU_K_HAZARD_HI, m, NPU_K_HAZARD_M_MAX);
    /* fp16: the same K range is only safe with the m+1 grain count (HM-F16, docs/hardware/limits.md §4, §5). */
    if (g->in_prec == NPU_PREC_FP16 && g->kpad > NPU_K_HAZARD_LO && g->kpad < NPU_K_HAZARD_HI &&
        g->feature_grains < g->h + 1)
        return npu_fail_msg(
                -EINVAL, err, errlen,
                "%s: fp16 K=%u in (%u,%u) with FEATURE_GRAINS=%u < rows+1=%u (docs/hardware/limits.md §4, §5)", garbage,
                g->kpad, NPU_K_HAZARD_LO, NPU_K_HAZARD_HI, g->feature_grains, g->h + 1);
    if (g->npad > NPU_N_MAX)
        return npu_fail_msg(-EINVAL, err, errlen,
                            "%s: N=%u > %u per task (13-bit DPU channel fields; docs/hardware/limits.md §3, §5)",
                            garbage, g->npad, NPU_N_MAX);
    if (g->notch > NPU_NOTCH_MAX)
        return npu_fail_msg(
                -EINVAL, err, errlen,
                "%s: output notch %u > %u does not fit the 13-bit DATA_CUBE_NOTCH_ADDR (docs/hardware/layouts.md §4.3)",
                garbage, g->notch, NPU_NOTCH_MAX);
    if (g->feature_grains < 1 || g->feature_grains > NPU_FEATURE_GRAINS_MAX)
        return npu_fail_msg(
                -EINVAL, err, errlen,
                "FEATURE_GRAINS=%u outside 1..%u (docs/hardware/registers.md §2.2, docs/hardware/limits.md §4)",
                g->feature_grains, NPU_FEATURE_GRAINS_MAX);
    /* The NC1HWC2 fetch (group line on) is only known to work for H % 4 == 0 or H == 1 (MTX,
	 * Mesa); other heights are a hardware question (docs/hardware/layouts.md §2.1, §5, §7). */
    if (g->group_line_on && g->h != 1 && g->h % 4)
        return npu_fail_msg(-ENOTSUP, err, errlen,
                            "NC1HWC2 feature fetch with H=%u (not 1 or a multiple of 4) is UNVERIFIED "
                            "(docs/hardware/layouts.md §2.1, §7)",
                            g->h);

    /* CBUF: all banks shared, the feature cube must be resident, one kernel group must fit
     * (docs/hardware/limits.md §1). */
    if (g->data_banks + g->weight_banks != NPU_CBUF_BANKS || g->data_banks < 1 || g->weight_banks < 1)
        return npu_fail_msg(
                -EINVAL, err, errlen,
                "%s: CBUF DATA_BANK=%u + WEIGHT_BANK=%u must be %u with both >= 1 (docs/hardware/limits.md §1.1)",
                garbage, g->data_banks, g->weight_banks, NPU_CBUF_BANKS);
    uint32_t need = npu_data_banks_needed(g->w, g->h, g->kpad, bpe);
    if (need > g->data_banks)
        return npu_fail_msg(
                -EINVAL, err, errlen,
                "%s: feature tile %ux%u K=%u needs %u CBUF banks, DATA_BANK=%u (docs/hardware/limits.md §1.2)", garbage,
                g->w, g->h, g->kpad, need, g->data_banks);
    need = npu_weight_banks_needed(g->kpad, g->in_prec);
    if (need > g->weight_banks)
        return npu_fail_msg(
                -EINVAL, err, errlen,
                "%s: one %u-kernel group of K=%u needs %u CBUF banks, WEIGHT_BANK=%u (docs/hardware/limits.md §1.3)",
                garbage, kg, g->kpad, need, g->weight_banks);
    return 0;
}
