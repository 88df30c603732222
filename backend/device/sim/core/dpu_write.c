// SPDX-License-Identifier: MIT
/*
 * DPU: with the BS/BN/EW stages bypassed, convert the accumulator to the output precision and
 * write the output cube with the address model of docs/hardware/layouts.md §4.1:
 *   channel n of pixel (h, w) at DST + (n/oepa)·S + h·(Wd + notch)·16 + w·16 + (n%oepa)·obpe.
 */
#include <errno.h>
#include <string.h>

#include "layout.h"
#include "npusim_internal.h"

int dpu_decode(struct sim_task *t)
{
    const char *byp = "only the bypassed BS/BN/EW path is covered (docs/hardware/registers.md §4.1)";

    /* Ping-pong pointer must be re-armed in every segment, else later outputs repeat task 0's
	 * result (AB, docs/hardware/registers.md §3.4). */
    reg_expect(t, DPU_S_POINTER, DPU_S_POINTER_REARM, -EINVAL,
               "DPU_S_POINTER must be re-armed (PP_MODE | EXECUTER_PP_EN | PP_EN) in every task "
               "(docs/hardware/registers.md §2.4, §3.4)");
    uint32_t mode = reg_rd(t, DPU_FEATURE_MODE_CFG);
    reg_expect(t, DPU_FEATURE_MODE_CFG,
               npu_set(DPU_FEATURE_MODE_CFG_BURST_LEN, npu_get(mode, DPU_FEATURE_MODE_CFG_BURST_LEN)) |
                       npu_set(DPU_FEATURE_MODE_CFG_OUTPUT_MODE, DPU_OUTPUT_MODE_MEMORY),
               -ENOTSUP, "only conv input -> memory output is covered (docs/hardware/registers.md §2.4)");

    uint32_t fmt = reg_rd(t, DPU_DATA_FORMAT);
    t->out_prec = (int)npu_get(fmt, DPU_DATA_FORMAT_OUT_PRECISION);
    reg_expect(t, DPU_DATA_FORMAT,
               npu_set(DPU_DATA_FORMAT_OUT_PRECISION, t->out_prec) | npu_set(DPU_DATA_FORMAT_IN_PRECISION, t->prec) |
                       npu_set(DPU_DATA_FORMAT_PROC_PRECISION, t->prec),
               -EINVAL,
               "DPU in/proc precision must equal the CNA's and shift fields must be 0 "
               "(docs/hardware/registers.md §4.2, §4.3)");
    if (!t->rc && npu_precision_check(t->prec, t->out_prec, t->err, t->errlen)) return t->rc = -ENOTSUP;
    t->obpe = npu_prec_bytes(t->out_prec);
    reg_expect(t, DPU_OFFSET_PEND, 0, -ENOTSUP, byp);

    t->dst_addr = reg_rd(t, DPU_DST_BASE_ADDR);
    t->dst_stride = reg_rd(t, DPU_DST_SURF_STRIDE);
    reg_expect(t, DPU_DST_SURF_STRIDE, npu_set(DPU_DST_SURF_STRIDE_STRIDE, t->dst_stride >> 4), -EINVAL,
               "DST_SURF_STRIDE is a byte stride in bits [31:4] (docs/hardware/registers.md §2.4)");
    t->cube_w = npu_get(reg_rd(t, DPU_DATA_CUBE_WIDTH), DPU_DATA_CUBE_WIDTH_WIDTH) + 1;
    t->cube_h = npu_get(reg_rd(t, DPU_DATA_CUBE_HEIGHT), DPU_DATA_CUBE_HEIGHT_HEIGHT) + 1;
    reg_expect(t, DPU_DATA_CUBE_WIDTH, t->cube_w - 1, -ENOTSUP,
               "bits outside the 13-bit field are set (docs/hardware/registers.md §2.4)");
    reg_expect(t, DPU_DATA_CUBE_HEIGHT, t->cube_h - 1, -ENOTSUP,
               "MINMAX_CTL is not covered (docs/hardware/registers.md §2.4)");
    uint32_t notch = reg_rd(t, DPU_DATA_CUBE_NOTCH_ADDR);
    t->notch = npu_get(notch, DPU_DATA_CUBE_NOTCH_ADDR_0);
    reg_expect(t, DPU_DATA_CUBE_NOTCH_ADDR,
               npu_set(DPU_DATA_CUBE_NOTCH_ADDR_1, t->notch) | npu_set(DPU_DATA_CUBE_NOTCH_ADDR_0, t->notch), -ENOTSUP,
               "NOTCH_ADDR_1 != NOTCH_ADDR_0 is UNVERIFIED: both halves are equal in every capture "
               "(docs/hardware/registers.md §2.4)");
    t->cube_c = npu_get(reg_rd(t, DPU_DATA_CUBE_CHANNEL), DPU_DATA_CUBE_CHANNEL_CHANNEL) + 1;
    /* Whether ORIG_CHANNEL < CHANNEL suppresses padded channels is an open question (docs/hardware/layouts.md §7). */
    reg_expect(t, DPU_DATA_CUBE_CHANNEL,
               npu_set(DPU_DATA_CUBE_CHANNEL_ORIG, t->cube_c - 1) |
                       npu_set(DPU_DATA_CUBE_CHANNEL_CHANNEL, t->cube_c - 1),
               -ENOTSUP, "ORIG_CHANNEL != CHANNEL is UNVERIFIED (docs/hardware/layouts.md §7)");
    /* More kernels than the 13-bit channel field holds is the envelope's N > 8192 case. */
    if (!t->rc && (t->cube_w != t->w || t->cube_h != t->h || t->cube_c != t->nk) && t->nk <= NPU_N_MAX)
        return sim_fail(t, -EINVAL, "DPU cube %ux%ux%u != CORE output %ux%ux%u (docs/hardware/registers.md §4.2)",
                        t->cube_w, t->cube_h, t->cube_c, t->w, t->h, t->nk);

    reg_expect(t, DPU_BS_CFG, DPU_BS_CFG_ALL_BYPASS, -ENOTSUP, byp);
    reg_expect(t, DPU_BS_ALU_CFG, 0, -ENOTSUP, byp);
    reg_expect(t, DPU_BS_MUL_CFG, 0, -ENOTSUP, byp);
    reg_expect(t, DPU_BS_RELUX_CMP_VALUE, 0, -ENOTSUP, byp);
    reg_expect(t, DPU_BN_CFG, DPU_BS_CFG_ALL_BYPASS, -ENOTSUP, byp);
    reg_expect(t, DPU_BN_ALU_CFG, 0, -ENOTSUP, byp);
    reg_expect(t, DPU_BN_MUL_CFG, 0, -ENOTSUP, byp);
    reg_expect(t, DPU_BN_RELUX_CMP_VALUE, 0, -ENOTSUP, byp);
    reg_expect(t, DPU_EW_CFG, DPU_EW_CFG_ALL_BYPASS, -ENOTSUP, byp);
    reg_expect(t, DPU_EW_CVT_OFFSET_VALUE, 0, -ENOTSUP, byp);
    reg_expect(t, DPU_EW_CVT_SCALE_VALUE, 1, -ENOTSUP, byp);
    reg_expect(t, DPU_EW_RELUX_CMP_VALUE, 0, -ENOTSUP, byp);
    for (int i = 0; i < NPU_EW_OP_VALUES; i++) reg_expect(t, DPU_EW_OP_VALUE(i), 0, -ENOTSUP, byp);
    for (uint16_t r = DPU_LUT_ACCESS_CFG; r <= DPU_LUT_LO_SLOPE_SHIFT; r += 4)
        reg_expect(t, r, 0, -ENOTSUP, "the activation LUT is not covered (docs/hardware/registers.md §2.4)");
    reg_expect(t, DPU_RESERVED_40C4, 0, -ENOTSUP,
               "undocumented, every working stream writes 0 (docs/hardware/registers.md §2.4)");
    reg_expect(t, DPU_OUT_CVT_OFFSET, 0, -ENOTSUP,
               "output requantisation is not covered (docs/hardware/arithmetic.md §2)");
    reg_expect(t, DPU_OUT_CVT_SHIFT, 0, -ENOTSUP,
               "output requantisation is not covered (docs/hardware/arithmetic.md §2)");
    if (t->rc) return t->rc;

    /* fp16 output without FP32TOFP16_EN hangs the stage (ORK, docs/hardware/arithmetic.md §2). */
    uint32_t cvt = reg_rd(t, DPU_OUT_CVT_SCALE);
    if (!t->rc && t->out_prec == NPU_PREC_FP16 && cvt != (npu_set(DPU_OUT_CVT_SCALE_FP32TOFP16_EN, 1) | 1))
        return sim_fail(t, -EINVAL,
                        "silicon would hang here: fp16 output needs OUT_CVT_SCALE=0x10001 (FP32TOFP16_EN), got 0x%x "
                        "(docs/hardware/arithmetic.md §2)",
                        cvt);
    if (t->out_prec != NPU_PREC_FP16)
        reg_expect(t, DPU_OUT_CVT_SCALE, 1, -ENOTSUP,
                   "int32/fp32 output takes the identity converter (docs/hardware/arithmetic.md §1, §2)");

    /* SIZE_E and SURFACE_ADD count 16-byte atoms per kernel group (docs/hardware/layouts.md §4.2). */
    uint32_t atoms = t->obpe ? t->kgroup * t->obpe / NPU_ATOM_BYTES : 0;
    uint32_t ow = reg_rd(t, DPU_BS_OW_CFG), od_bypass = npu_get(ow, DPU_BS_OW_CFG_OD_BYPASS);
    if (atoms)
        reg_expect(t, DPU_BS_OW_CFG,
                   npu_set(DPU_BS_OW_CFG_SIZE_E_2, atoms - 1) | npu_set(DPU_BS_OW_CFG_SIZE_E_1, atoms - 1) |
                           npu_set(DPU_BS_OW_CFG_SIZE_E_0, atoms - 1) | npu_set(DPU_BS_OW_CFG_OD_BYPASS, od_bypass),
                   -EINVAL,
                   "SIZE_E_0/1/2 must be (16-byte atoms per kernel group) - 1 (docs/hardware/layouts.md §4.2)");
    /* With OD (CPEND) live, OW_OP would add OW_OP·Σa: UNVERIFIED unless it is 0 (docs/hardware/arithmetic.md §3). */
    reg_expect(t, DPU_BS_OW_OP, 0, -ENOTSUP, "a non-zero CPEND operand is UNVERIFIED (docs/hardware/arithmetic.md §3)");
    reg_expect(t, DPU_SURFACE_ADD, atoms * t->dst_stride, -EINVAL,
               "SURFACE_ADD must be atoms per kernel group * DST_SURF_STRIDE (docs/hardware/layouts.md §4.2)");
    reg_expect(t, DPU_WDMA_SIZE_0, npu_set(DPU_WDMA_SIZE_0_CHANNEL, t->cube_c - 1), -EINVAL,
               "WDMA channel size must equal the cube (docs/hardware/registers.md §4.2)");
    reg_expect(t, DPU_WDMA_SIZE_1,
               npu_set(DPU_WDMA_SIZE_1_HEIGHT, t->cube_h - 1) | npu_set(DPU_WDMA_SIZE_1_WIDTH, t->cube_w - 1), -EINVAL,
               "WDMA width/height must equal the cube (docs/hardware/registers.md §4.2)");
    if (t->rc) return t->rc;
    if (t->dst_addr % NPU_ADDR_ALIGN)
        return sim_fail(t, -EINVAL, "DPU_DST_BASE_ADDR 0x%08x is not 16-byte aligned (docs/hardware/layouts.md §5)",
                        t->dst_addr);
    return 0;
}

/* Only output geometries whose writes cannot collide are modelled (docs/hardware/layouts.md §4.1, §7). */
static int output_shape_check(struct sim_task *t, uint32_t oepa)
{
    uint32_t surfaces = t->cube_c / oepa;
    uint64_t line = (uint64_t)(t->cube_w + t->notch) * NPU_ATOM_BYTES;
    uint64_t plane = (uint64_t)(t->cube_h - 1) * line + (uint64_t)t->cube_w * NPU_ATOM_BYTES;

    if (surfaces <= 1 || t->dst_stride >= plane) return 0; /* planar: NC1HWC2 */
    if (t->dst_stride == NPU_ATOM_BYTES && t->cube_w == 1) {
        /* interleaved: a line holds the pixel's surfaces side by side ("normal" C) */
        if (surfaces > t->notch + 1)
            return sim_fail(t, -EINVAL,
                            "silicon would produce garbage here: output lines overlap, %u channel atoms per line but "
                            "notch %u leaves room for %u (13-bit NOTCH_ADDR; docs/hardware/layouts.md §4.3)",
                            surfaces, t->notch, t->notch + 1);
        /* HM found no fp16 register set that scatters an N-tile into a wider row (docs/hardware/layouts.md §4.3). */
        if (t->out_prec == NPU_PREC_FP16 && surfaces != t->notch + 1)
            return sim_fail(t, -ENOTSUP,
                            "fp16 output into a wider row (notch %u for %u atoms) has no known working register "
                            "combination (docs/hardware/layouts.md §4.3)",
                            t->notch, surfaces);
        return 0;
    }
    return sim_fail(t, -ENOTSUP,
                    "output geometry S=%u W=%u H=%u notch=%u for %u surfaces is not covered (writes would interleave; "
                    "docs/hardware/layouts.md §4.1)",
                    t->dst_stride, t->cube_w, t->cube_h, t->notch, surfaces);
}

int dpu_write(struct sim_task *t)
{
    uint32_t oepa = NPU_ATOM_BYTES / t->obpe;
    if (output_shape_check(t, oepa)) return t->rc;

    uint64_t line = (uint64_t)(t->cube_w + t->notch) * NPU_ATOM_BYTES;
    uint64_t extent = (uint64_t)(t->cube_c / oepa - 1) * t->dst_stride + (uint64_t)(t->cube_h - 1) * line +
                      (uint64_t)t->cube_w * NPU_ATOM_BYTES;
    uint8_t *out = sim_map(t, t->dst_addr, extent, "DPU output write");
    if (!out) return t->rc;

    for (uint32_t h = 0; h < t->cube_h; h++)
        for (uint32_t w = 0; w < t->cube_w; w++) {
            size_t p = (size_t)h * t->cube_w + w;
            for (uint32_t n = 0; n < t->cube_c; n++) {
                uint8_t *dst = out + (uint64_t)(n / oepa) * t->dst_stride + h * line + w * NPU_ATOM_BYTES +
                               (n % oepa) * t->obpe;
                size_t i = p * t->nk + n;
                if (t->out_prec == NPU_PREC_INT32) {
                    memcpy(dst, &t->acc_i[i], 4);
                } else if (t->out_prec == NPU_PREC_FP32) {
                    /* int8: one IEEE RNE rounding of the exact sum (HM bit-exact, docs/hardware/arithmetic.md §1) */
                    float f = t->acc_i ? (float)t->acc_i[i] : (float)t->acc_f[i];
                    memcpy(dst, &f, 4);
                } else {
                    uint16_t v = rk_fp16_from_float((float)t->acc_f[i]); /* FP32TOFP16 */
                    memcpy(dst, &v, 2);
                }
            }
        }
    t->st.bytes_out += (uint64_t)t->cube_w * t->cube_h * t->cube_c * t->obpe;
    return 0;
}
