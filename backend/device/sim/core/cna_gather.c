// SPDX-License-Identifier: MIT
/*
 * CNA: decode the convolution set-up, then DMA the feature cube (A) and the kernels (B) the way
 * the address models of docs/hardware/layouts.md §2.1 and §3.1 describe.  Only a 1×1, stride-1, unpadded
 * direct convolution with the input converter bypassed is modelled (docs/hardware/registers.md §4.1).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "layout.h"
#include "npusim_internal.h"

static int32_t sext28(uint32_t v) { return (int32_t)(v << 4) >> 4; }

int cna_decode(struct sim_task *t)
{
    const char *nc = "not covered by the model: 1x1 direct conv, stride 1, no pad (docs/hardware/registers.md §4.1)";

    uint32_t con1 = reg_rd(t, CNA_CONV_CON1);
    t->prec = (int)npu_get(con1, CNA_CONV_CON1_IN_PRECISION);
    t->group_line_on = !npu_get(con1, CNA_CONV_CON1_GROUP_LINE_OFF);
    if (!t->rc && npu_get(con1, CNA_CONV_CON1_PROC_PRECISION) != (uint32_t)t->prec)
        return sim_fail(t, -ENOTSUP,
                        "CNA_CONV_CON1: input precision %d != processing precision %u: converting CNA modes are not "
                        "covered (docs/hardware/registers.md §2.2, docs/hardware/arithmetic.md §7)",
                        t->prec, npu_get(con1, CNA_CONV_CON1_PROC_PRECISION));
    if (!t->rc && t->prec != NPU_PREC_INT8 && t->prec != NPU_PREC_FP16)
        return sim_fail(t, -ENOTSUP,
                        "CNA_CONV_CON1: precision %d not covered (int8 and fp16 only; docs/hardware/arithmetic.md §7)",
                        t->prec);
    reg_expect(t, CNA_CONV_CON1,
               npu_set(CNA_CONV_CON1_IN_PRECISION, t->prec) | npu_set(CNA_CONV_CON1_PROC_PRECISION, t->prec) |
                       npu_set(CNA_CONV_CON1_GROUP_LINE_OFF, !t->group_line_on),
               -ENOTSUP, nc);
    t->bpe = npu_prec_bytes(t->prec);
    t->kgroup = npu_kernel_group(t->prec);

    uint32_t con2 = reg_rd(t, CNA_CONV_CON2);
    t->grains = npu_get(con2, CNA_CONV_CON2_FEATURE_GRAINS);
    reg_expect(t, CNA_CONV_CON2, npu_set(CNA_CONV_CON2_FEATURE_GRAINS, t->grains), -ENOTSUP,
               "CSC enables, FIFO reset and KERNEL_GROUP are written 0 by every working stream "
               "(docs/hardware/registers.md §4.3, §6)");
    reg_expect(t, CNA_CONV_CON3, npu_set(CNA_CONV_CON3_CONV_Y_STRIDE, 1) | npu_set(CNA_CONV_CON3_CONV_X_STRIDE, 1),
               -ENOTSUP, nc);

    uint32_t ds0 = reg_rd(t, CNA_DATA_SIZE0), ds1 = reg_rd(t, CNA_DATA_SIZE1);
    t->w = npu_get(ds0, CNA_DATA_SIZE0_DATAIN_WIDTH);
    t->h = npu_get(ds0, CNA_DATA_SIZE0_DATAIN_HEIGHT);
    t->kpad = npu_get(ds1, CNA_DATA_SIZE1_DATAIN_CHANNEL);
    uint32_t kreal = t->kreal = npu_get(ds1, CNA_DATA_SIZE1_DATAIN_CHANNEL_REAL) + 1;
    reg_expect(t, CNA_DATA_SIZE0,
               npu_set(CNA_DATA_SIZE0_DATAIN_WIDTH, t->w) | npu_set(CNA_DATA_SIZE0_DATAIN_HEIGHT, t->h), -ENOTSUP,
               "bits outside the field are set, e.g. a value too wide for it (docs/hardware/registers.md §2.2)");
    reg_expect(t, CNA_DATA_SIZE1,
               npu_set(CNA_DATA_SIZE1_DATAIN_CHANNEL_REAL, kreal - 1) | npu_set(CNA_DATA_SIZE1_DATAIN_CHANNEL, t->kpad),
               -ENOTSUP,
               "bits outside the field are set, e.g. a value too wide for it (docs/hardware/registers.md §2.2)");
    if (!t->rc && (!t->w || !t->h || !t->kpad))
        return sim_fail(t, -EINVAL, "empty feature cube W=%u H=%u C=%u (docs/hardware/registers.md §4.1)", t->w, t->h,
                        t->kpad);
    if (!t->rc && (kreal > t->kpad || kreal + NPU_K_ALIGN <= t->kpad))
        return sim_fail(t, -EINVAL,
                        "CNA_DATA_SIZE1: DATAIN_CHANNEL_REAL+1=%u must be in (C-32, C] for C=%u "
                        "(docs/hardware/registers.md §4.2)",
                        kreal, t->kpad);
    /* 1×1 kernel, stride 1: the output plane equals the input plane. */
    reg_expect(t, CNA_DATA_SIZE2, npu_set(CNA_DATA_SIZE2_DATAOUT_WIDTH, t->w), -EINVAL,
               "DATAOUT_WIDTH must equal DATAIN_WIDTH for a 1x1 stride-1 conv (docs/hardware/registers.md §4.2)");
    reg_expect(t, CNA_DATA_SIZE3, npu_set(CNA_DATA_SIZE3_DATAOUT_ATOMICS, t->w * t->h), -EINVAL,
               "DATAOUT_ATOMICS must be W*H output pixels (docs/hardware/registers.md §4.2)");

    uint32_t ws2 = reg_rd(t, CNA_WEIGHT_SIZE2);
    t->nk = npu_get(ws2, CNA_WEIGHT_SIZE2_WEIGHT_KERNELS);
    reg_expect(t, CNA_WEIGHT_SIZE2,
               npu_set(CNA_WEIGHT_SIZE2_WEIGHT_WIDTH, 1) | npu_set(CNA_WEIGHT_SIZE2_WEIGHT_HEIGHT, 1) |
                       npu_set(CNA_WEIGHT_SIZE2_WEIGHT_KERNELS, t->nk),
               -ENOTSUP, "only 1x1 kernels are covered (docs/hardware/registers.md §4.1)");
    if (!t->rc && !t->nk) return sim_fail(t, -EINVAL, "WEIGHT_KERNELS=0: no kernels (docs/hardware/registers.md §4.2)");
    t->weight_bytes = t->kpad * t->nk * t->bpe;
    reg_expect(t, CNA_WEIGHT_SIZE0, t->weight_bytes, -EINVAL,
               "WEIGHT_BYTES must be C*kernels*bpe (docs/hardware/registers.md §4.2)");
    reg_expect(t, CNA_WEIGHT_SIZE1, t->kpad * t->bpe, -EINVAL,
               "WEIGHT_BYTES_PER_KERNEL must be C*bpe (docs/hardware/registers.md §4.2)");

    uint32_t cbuf0 = reg_rd(t, CNA_CBUF_CON0);
    t->data_banks = npu_get(cbuf0, CNA_CBUF_CON0_DATA_BANK);
    t->weight_banks = npu_get(cbuf0, CNA_CBUF_CON0_WEIGHT_BANK);
    reg_expect(t, CNA_CBUF_CON0,
               npu_set(CNA_CBUF_CON0_WEIGHT_BANK, t->weight_banks) | npu_set(CNA_CBUF_CON0_DATA_BANK, t->data_banks),
               -ENOTSUP, "FC_DATA_BANK and DATA/WEIGHT_REUSE are not covered (docs/hardware/registers.md §2.2, §4.1)");
    uint32_t entries = (t->w * t->kpad * t->bpe + NPU_DATA_ENTRY_BYTES - 1) / NPU_DATA_ENTRY_BYTES;
    reg_expect(t, CNA_CBUF_CON1, entries, -EINVAL,
               "DATA_ENTRIES must be ceil(W*C*bpe/64), the only value working implementations use "
               "(docs/hardware/limits.md §2)");

    /* Input converter bypassed, data signed: elements reach the MACs unchanged (docs/hardware/arithmetic.md §1). */
    reg_expect(t, CNA_CVT_CON0,
               npu_set(CNA_CVT_CON0_DATA_SIGN, 1) | npu_set(CNA_CVT_CON0_CVT_TYPE, 1) |
                       npu_set(CNA_CVT_CON0_CVT_BYPASS, 1),
               -ENOTSUP, "only the bypassed, signed input converter is covered (docs/hardware/arithmetic.md §1)");
    for (uint16_t r = CNA_CVT_CON1; r <= CNA_CVT_CON4; r += 4)
        reg_expect(t, r, npu_set(CNA_CVT_CONn_SCALE, 1), -ENOTSUP,
                   "input converter scale 1, offset 0 (docs/hardware/registers.md §4.3)");
    reg_expect(t, CNA_FC_CON0, 0, -ENOTSUP, "zero-skipping is not covered (docs/hardware/registers.md §4.3)");
    reg_expect(t, CNA_FC_CON1, 0, -ENOTSUP, "FC data offset is not covered (docs/hardware/registers.md §4.3)");
    reg_expect(t, CNA_FC_CON2, 0, -ENOTSUP, "FC weight offset is not covered (docs/hardware/registers.md §4.3)");
    reg_expect(t, CNA_PAD_CON0, 0, -ENOTSUP, nc);
    reg_expect(t, CNA_PAD_CON1, 0, -ENOTSUP,
               "pad value is not covered (docs/hardware/registers.md §4.3, docs/hardware/arithmetic.md §3)");
    reg_expect(t, CNA_CVT_CON5, 0, -ENOTSUP,
               "per-channel input conversion is not covered (docs/hardware/registers.md §4.3)");

    uint32_t dma0 = reg_rd(t, CNA_DMA_CON0);
    reg_expect(t, CNA_DMA_CON0,
               npu_set(CNA_DMA_CON0_WEIGHT_BURST_LEN, npu_get(dma0, CNA_DMA_CON0_WEIGHT_BURST_LEN)) |
                       npu_set(CNA_DMA_CON0_DATA_BURST_LEN, npu_get(dma0, CNA_DMA_CON0_DATA_BURST_LEN)),
               -ENOTSUP, "only burst lengths are covered in DMA_CON0 (docs/hardware/registers.md §4.3)");
    t->feat_addr = reg_rd(t, CNA_FEATURE_DATA_ADDR);
    uint32_t ls = reg_rd(t, CNA_DMA_CON1), ss = reg_rd(t, CNA_DMA_CON2);
    t->line_stride = npu_get(ls, CNA_DMA_CON1_LINE_STRIDE);
    t->surf_stride = sext28(npu_get(ss, CNA_DMA_CON2_SURF_STRIDE));
    reg_expect(t, CNA_DMA_CON1, t->line_stride, -ENOTSUP,
               "bits outside the field are set, e.g. a value too wide for it (docs/hardware/registers.md §2.2)");
    reg_expect(t, CNA_DMA_CON2, npu_get(ss, CNA_DMA_CON2_SURF_STRIDE), -ENOTSUP,
               "bits outside the field are set, e.g. a value too wide for it (docs/hardware/registers.md §2.2)");
    reg_expect(t, CNA_FC_DATA_SIZE0,
               npu_set(CNA_FC_DATA_SIZE0_DMA_WIDTH, t->w) | npu_set(CNA_FC_DATA_SIZE0_DMA_HEIGHT, t->h), -EINVAL,
               "FC_DATA_SIZE0 must equal DATA_SIZE0 (docs/hardware/registers.md §4.2)");
    reg_expect(t, CNA_FC_DATA_SIZE1, npu_set(CNA_FC_DATA_SIZE1_DMA_CHANNEL, t->kpad), -EINVAL,
               "FC_DATA_SIZE1 must equal DATAIN_CHANNEL (docs/hardware/registers.md §4.2)");

    /* Weights come through the decompressor's address even when it is off; a previous task may
	 * have switched decompression on, hence the explicit zeros (docs/hardware/registers.md §2.2, §3.4, §5). */
    reg_expect(t, CNA_DCOMP_CTRL, 0, -ENOTSUP, "weight decompression is not covered (docs/hardware/registers.md §5)");
    reg_expect(t, CNA_DCOMP_REGNUM, 0, -ENOTSUP, "weight decompression is not covered (docs/hardware/registers.md §5)");
    for (int i = 0; i < NPU_DCOMP_AMOUNTS; i++)
        reg_expect(t, CNA_DCOMP_AMOUNT(i), 0, -ENOTSUP,
                   "weight decompression is not covered (docs/hardware/registers.md §5)");
    t->weight_addr = reg_rd(t, CNA_DCOMP_ADDR0);
    if (t->rc) return t->rc;

    if (t->feat_addr % NPU_ADDR_ALIGN)
        return sim_fail(t, -EINVAL, "CNA_FEATURE_DATA_ADDR 0x%08x is not 16-byte aligned (docs/hardware/layouts.md §5)",
                        t->feat_addr);
    if (t->weight_addr % NPU_ADDR_ALIGN)
        return sim_fail(t, -EINVAL,
                        "CNA_DCOMP_ADDR0 (weights) 0x%08x is not 16-byte aligned (docs/hardware/layouts.md §5)",
                        t->weight_addr);
    return 0;
}

/* Channels in [DATAIN_CHANNEL_REAL+1, DATAIN_CHANNEL) must contribute nothing: whether silicon
 * reads them at all is unknown (the blob writes K-1, HM Kpad-1; docs/hardware/layouts.md §1), so the model only
 * accepts streams where the answer does not matter, i.e. A or B is zero on each such channel. */
static int padding_check(struct sim_task *t, size_t px)
{
    for (uint32_t k = t->kreal; k < t->kpad; k++) {
        bool a_nz = false, b_nz = false;
        for (size_t p = 0; p < px && !a_nz; p++)
            a_nz = t->prec == NPU_PREC_INT8 ? ((int16_t *)t->a)[p * t->kpad + k] != 0
                                            : ((float *)t->a)[p * t->kpad + k] != 0;
        for (size_t n = 0; n < t->nk && a_nz && !b_nz; n++)
            b_nz = t->prec == NPU_PREC_INT8 ? ((int16_t *)t->b)[n * t->kpad + k] != 0
                                            : ((float *)t->b)[n * t->kpad + k] != 0;
        if (a_nz && b_nz)
            return sim_fail(t, -EINVAL,
                            "channel %u is beyond DATAIN_CHANNEL_REAL+1=%u but non-zero in both A and B: whether "
                            "silicon includes it is UNVERIFIED (zero-pad K; docs/hardware/layouts.md §1)",
                            k, t->kreal);
    }
    return 0;
}

/* docs/hardware/layouts.md §2.1: element (c, h, w) at base + c1·16·(SS + G·W) + h·line_pitch + w·16 + c2·bpe. */
int cna_gather(struct sim_task *t)
{
    uint32_t epa = NPU_ATOM_BYTES / t->bpe, surfaces = t->kpad / epa, px = t->w * t->h;
    int64_t g = t->group_line_on ? 4 : 1;
    int64_t surf_pitch = NPU_ATOM_BYTES * ((int64_t)t->surf_stride + g * t->w);
    int64_t line_pitch = t->group_line_on ? 4 * (int64_t)t->line_stride : NPU_ATOM_BYTES * (int64_t)t->line_stride;
    int64_t last_surf = (int64_t)(surfaces - 1) * surf_pitch;
    int64_t lo = last_surf < 0 ? last_surf : 0;
    int64_t hi = (last_surf > 0 ? last_surf : 0) + (int64_t)(t->h - 1) * line_pitch +
                 (int64_t)(t->w - 1) * NPU_ATOM_BYTES + NPU_ATOM_BYTES;

    if ((int64_t)t->feat_addr + lo < 0)
        return sim_fail(t, -EFAULT,
                        "IOMMU fault: CNA feature read starts below IOVA 0 (base 0x%08x, surface pitch %lld; "
                        "docs/hardware/layouts.md §2.1)",
                        t->feat_addr, (long long)surf_pitch);
    const uint8_t *fm = sim_map(t, (uint32_t)(t->feat_addr + lo), (uint64_t)(hi - lo), "CNA feature read");
    if (!fm) return t->rc;
    fm -= lo;
    const uint8_t *wm = sim_map(t, t->weight_addr, t->weight_bytes, "CNA weight read");
    if (!wm) return t->rc;

    size_t na = (size_t)px * t->kpad, nb = (size_t)t->nk * t->kpad;
    if (t->prec == NPU_PREC_INT8) {
        /* held as int16 so the host's multiply-add instructions apply (core_mac.c) */
        int16_t *a = t->a = malloc(na * sizeof(int16_t)), *b = t->b = malloc(nb * sizeof(int16_t));
        if (!a || !b) return sim_fail(t, -ENOMEM, "out of memory gathering operands");
        for (uint32_t c = 0; c < t->kpad; c++)
            for (uint32_t h = 0; h < t->h; h++)
                for (uint32_t w = 0; w < t->w; w++)
                    a[((size_t)h * t->w + w) * t->kpad + c] =
                            (int8_t)fm[(c / epa) * surf_pitch + h * line_pitch + w * NPU_ATOM_BYTES + (c % epa)];
        /* docs/hardware/layouts.md §3.1: [N/G][C/32][G][32] blocks, G = 32 kernels for int8 */
        for (uint32_t n = 0; n < t->nk; n++)
            for (uint32_t k = 0; k < t->kpad; k++)
                b[(size_t)n * t->kpad + k] = (int8_t)wm[(size_t)(n / t->kgroup) * t->kgroup * t->kpad +
                                                        (k / 32) * t->kgroup * 32 + (n % t->kgroup) * 32 + k % 32];
    } else {
        float *a = t->a = malloc(na * sizeof(float)), *b = t->b = malloc(nb * sizeof(float));
        uint16_t v;
        if (!a || !b) return sim_fail(t, -ENOMEM, "out of memory gathering operands");
        for (uint32_t c = 0; c < t->kpad; c++)
            for (uint32_t h = 0; h < t->h; h++)
                for (uint32_t w = 0; w < t->w; w++) {
                    memcpy(&v, fm + (c / epa) * surf_pitch + h * line_pitch + w * NPU_ATOM_BYTES + (c % epa) * 2, 2);
                    a[((size_t)h * t->w + w) * t->kpad + c] = rk_fp16_to_float(v);
                }
        for (uint32_t n = 0; n < t->nk; n++)
            for (uint32_t k = 0; k < t->kpad; k++) {
                size_t e = (size_t)(n / t->kgroup) * t->kgroup * t->kpad + (k / 32) * t->kgroup * 32 +
                           (n % t->kgroup) * 32 + k % 32;
                memcpy(&v, wm + 2 * e, 2);
                b[(size_t)n * t->kpad + k] = rk_fp16_to_float(v);
            }
    }
    t->st.bytes_in += (uint64_t)na * t->bpe + t->weight_bytes;
    return padding_check(t, px);
}
