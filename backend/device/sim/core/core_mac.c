// SPDX-License-Identifier: MIT
/*
 * CORE: the MAC array and accumulator.  int8 products accumulate exactly (the envelope keeps
 * |acc| < 2^31: K <= 8192); fp16 accumulates in double, since the hardware's accumulation order and
 * width are unknown (docs/hardware/arithmetic.md §1, §5).
 */
#include <errno.h>
#include <stdlib.h>

#include "npusim_internal.h"

int core_decode(struct sim_task *t)
{
    uint32_t misc = reg_rd(t, CORE_MISC_CFG);
    uint32_t proc = npu_get(misc, CORE_MISC_CFG_PROC_PRECISION);
    /* QD_EN: 1 in BLOB/HM/AB, 0 in MTX; both work (docs/hardware/registers.md §6). */
    reg_expect(t, CORE_MISC_CFG,
               npu_set(CORE_MISC_CFG_PROC_PRECISION, proc) |
                       npu_set(CORE_MISC_CFG_QD_EN, npu_get(misc, CORE_MISC_CFG_QD_EN)),
               -ENOTSUP, "depthwise and soft gating are not covered (docs/hardware/registers.md §2.3)");
    if (!t->rc && proc != (uint32_t)t->prec)
        return sim_fail(t, -EINVAL, "CORE_MISC_CFG precision %u != CNA precision %d (docs/hardware/registers.md §4.2)",
                        proc, t->prec);
    reg_expect(t, CORE_DATAOUT_SIZE_0,
               npu_set(CORE_DATAOUT_SIZE_0_HEIGHT, t->h - 1) | npu_set(CORE_DATAOUT_SIZE_0_WIDTH, t->w - 1), -EINVAL,
               "CORE output size must match the CNA feature plane (docs/hardware/registers.md §4.2)");
    reg_expect(t, CORE_DATAOUT_SIZE_1, npu_set(CORE_DATAOUT_SIZE_1_CHANNEL, t->nk - 1), -EINVAL,
               "CORE output channels must equal WEIGHT_KERNELS (docs/hardware/registers.md §4.2)");
    reg_expect(t, CORE_CLIP_TRUNCATE, 0, -ENOTSUP,
               "accumulator truncation rounding is UNVERIFIED (docs/hardware/arithmetic.md §1, §9)");
    reg_expect(t, CORE_RESERVED_3030, 0, -ENOTSUP,
               "undocumented, every working stream writes 0 (docs/hardware/registers.md §2.3)");
    return t->rc;
}

/* Host-side speed only: walk the kernels in blocks that stay in cache while every pixel passes. */
#define MAC_BLOCK_BYTES (128 * 1024)

int core_mac(struct sim_task *t)
{
    size_t px = (size_t)t->w * t->h, kp = t->kpad, nk = t->nk;

    if (t->prec == NPU_PREC_INT8) {
        const int16_t *a = t->a, *b = t->b; /* int8 values, widened by cna_gather */
        int32_t *acc = t->acc_i = malloc(px * nk * sizeof(*acc));
        size_t nb = MAC_BLOCK_BYTES / (kp * 2) ? MAC_BLOCK_BYTES / (kp * 2) : 1;
        if (!acc) return sim_fail(t, -ENOMEM, "out of memory for the accumulator");
        for (size_t n0 = 0; n0 < nk; n0 += nb)
            for (size_t p = 0; p < px; p++)
                for (size_t n = n0; n < nk && n < n0 + nb; n++) {
                    const int16_t *ar = a + p * kp, *br = b + n * kp;
                    int32_t s = 0;
                    for (size_t k = 0; k < kp; k++) s += (int32_t)ar[k] * br[k];
                    acc[p * nk + n] = s;
                }
    } else {
        const float *a = t->a, *b = t->b;
        double *acc = t->acc_f = malloc(px * nk * sizeof(*acc));
        if (!acc) return sim_fail(t, -ENOMEM, "out of memory for the accumulator");
        size_t nb = MAC_BLOCK_BYTES / (kp * sizeof(float)) ? MAC_BLOCK_BYTES / (kp * sizeof(float)) : 1;
        for (size_t n0 = 0; n0 < nk; n0 += nb)
            for (size_t p = 0; p < px; p++)
                for (size_t n = n0; n < nk && n < n0 + nb; n++) {
                    /* fp16·fp16 is exact in fp32; four double lanes (kp % 32 == 0) */
                    const float *ar = a + p * kp, *br = b + n * kp;
                    double s[4] = {0, 0, 0, 0};
                    for (size_t k = 0; k < kp; k += 4)
                        for (int l = 0; l < 4; l++) s[l] += (double)(ar[k + l] * br[k + l]);
                    acc[p * nk + n] = (s[0] + s[1]) + (s[2] + s[3]);
                }
    }
    t->st.macs += (uint64_t)px * kp * nk;
    return 0;
}
