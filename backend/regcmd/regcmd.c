// SPDX-License-Identifier: MIT
/*
 * Regcmd builder for one matmul task (1×1 direct convolution): plan the register values from an
 * rk_matmul, check them against the shared envelope, then emit the vendor runtime's 108-entry body
 * in its order (docs/hardware/regcmd.md §7) and the 4-entry tail (§2).
 */
#include <errno.h>
#include <stdio.h>

#include "layout.h"
#include "npu_limits.h"
#include "regcmd.h"

/* Everything the body needs, derived once from the matmul. */
struct mm_plan {
    int in_prec, out_prec;
    unsigned bpe, obpe;
    uint32_t m, k, kpad, npad;
    uint32_t data_banks, weight_banks, data_entries, grains;
    uint32_t conv_con1, line_stride, surf_stride; /* CNA feature fetch (docs/hardware/layouts.md §2) */
    uint32_t dst_stride, notch, atoms_per_group;  /* DPU write (docs/hardware/layouts.md §4) */
};

static uint32_t div_up(uint64_t a, uint64_t b) { return (uint32_t)((a + b - 1) / b); }

/* Rows buffered before the convolution starts: m+1 is the conservative, board-validated count;
 * int8 caps it at two banks of rows (HM "M=128,K=1024 uses 64, not 129") and uses 30 for large K
 * with >= 16 rows (docs/hardware/limits.md §4). */
static uint32_t feature_grains(const struct mm_plan *p)
{
    uint32_t g = p->m + 1;
    if (p->in_prec == NPU_PREC_INT8) {
        uint32_t two_bank_rows = (div_up(2u * NPU_CBUF_BANK_BYTES, (uint64_t)p->kpad * p->bpe) + 1) & ~1u;
        if (g > two_bank_rows) g = two_bank_rows;
        if (p->kpad > NPU_I8_LARGE_KPAD && p->m >= NPU_I8_LARGE_KPAD_ROWS) g = NPU_I8_LARGE_KPAD_GRAINS;
    }
    return g > NPU_FEATURE_GRAINS_MAX ? NPU_FEATURE_GRAINS_MAX : g;
}

static int plan_matmul(const struct rk_matmul *mm, struct mm_plan *p, char *err, size_t errlen)
{
    *p = (struct mm_plan){.in_prec = rk_dtype_precision(mm->in), .out_prec = rk_dtype_precision(mm->out)};
    if (p->in_prec != NPU_PREC_INT8 && p->in_prec != NPU_PREC_FP16)
        return npu_fail_msg(-ENOTSUP, err, errlen,
                            "input type %d: only RK_INT8 and RK_FP16 (docs/hardware/arithmetic.md §7)", (int)mm->in);
    if (p->out_prec < 0) return npu_fail_msg(-ENOTSUP, err, errlen, "unknown output type %d", (int)mm->out);
    if (!mm->m || !mm->k || !mm->n)
        return npu_fail_msg(-EINVAL, err, errlen, "empty matmul M=%u K=%u N=%u (docs/hardware/registers.md §4.1)",
                            mm->m, mm->k, mm->n);
    if (mm->a_layout > RK_LAYOUT_NC1HWC2 || mm->c_layout > RK_LAYOUT_NC1HWC2)
        return npu_fail_msg(-EINVAL, err, errlen, "unknown layout");

    p->bpe = npu_prec_bytes(p->in_prec);
    p->obpe = npu_prec_bytes(p->out_prec);
    p->m = mm->m;
    p->k = mm->k;
    p->kpad = rk_kpad(mm->k);
    p->npad = rk_npad(mm->in, mm->n);

    /* Feature fetch (docs/hardware/layouts.md §2.2): row-major = GROUP_LINE_OFF, W=1, H=m, LS = row bytes/16, SS = 0;
	 * NC1HWC2 (MTX) = group line on, LS = 4, SS = m − 4 (28-bit two's complement). */
    p->conv_con1 = npu_set(CNA_CONV_CON1_IN_PRECISION, p->in_prec) | npu_set(CNA_CONV_CON1_PROC_PRECISION, p->in_prec);
    if (mm->a_layout == RK_LAYOUT_ROW_MAJOR) {
        uint32_t lda = rk_a_stride(mm);
        if (lda < p->kpad || ((uint64_t)lda * p->bpe) % NPU_ATOM_BYTES)
            return npu_fail_msg(
                    -EINVAL, err, errlen,
                    "A row stride %u must be >= Kpad=%u and a multiple of 16 bytes (docs/hardware/layouts.md §2.2)",
                    lda, p->kpad);
        p->conv_con1 |= npu_set(CNA_CONV_CON1_GROUP_LINE_OFF, 1);
        p->line_stride = (uint32_t)((uint64_t)lda * p->bpe / NPU_ATOM_BYTES);
        p->surf_stride = 0;
    } else {
        if (mm->a_row_stride) return npu_fail_msg(-EINVAL, err, errlen, "a_row_stride applies to row-major A only");
        p->line_stride = 4;
        p->surf_stride = npu_set(CNA_DMA_CON2_SURF_STRIDE, p->m - 4);
    }
    if (!npu_fits(CNA_DMA_CON1_LINE_STRIDE, p->line_stride))
        return npu_fail_msg(-EINVAL, err, errlen,
                            "A line stride %u does not fit 28 bits (docs/hardware/registers.md §2.2)", p->line_stride);

    /* Output write (docs/hardware/layouts.md §4.2): atoms per kernel group set SIZE_E and SURFACE_ADD. */
    p->atoms_per_group = npu_kernel_group(p->in_prec) * p->obpe / NPU_ATOM_BYTES;
    if (mm->c_layout == RK_LAYOUT_ROW_MAJOR) {
        uint32_t ldc = rk_c_stride(mm);
        if (ldc < p->npad || ((uint64_t)ldc * p->obpe) % NPU_ATOM_BYTES)
            return npu_fail_msg(
                    -EINVAL, err, errlen,
                    "C row stride %u must be >= Npad=%u and a multiple of 16 bytes (docs/hardware/layouts.md §4.3, §5)",
                    ldc, p->npad);
        if (ldc != p->npad && p->out_prec == NPU_PREC_FP16)
            return npu_fail_msg(-ENOTSUP, err, errlen,
                                "fp16 output N-tile into a wider row (C stride %u != Npad %u): no working register "
                                "combination is known (docs/hardware/layouts.md §4.3)",
                                ldc, p->npad);
        p->dst_stride = NPU_ATOM_BYTES;
        p->notch = (uint32_t)((uint64_t)ldc * p->obpe / NPU_ATOM_BYTES - 1);
    } else {
        if (mm->c_row_stride) return npu_fail_msg(-EINVAL, err, errlen, "c_row_stride applies to row-major C only");
        p->dst_stride = NPU_ATOM_BYTES * p->m;
        p->notch = 0;
    }

    /* Leave at least one weight bank; if the tile needs more, the envelope check says so. */
    p->data_banks = npu_data_banks_needed(1, p->m, p->kpad, p->bpe);
    if (p->data_banks > NPU_CBUF_BANKS - 1) p->data_banks = NPU_CBUF_BANKS - 1;
    p->weight_banks = NPU_CBUF_BANKS - p->data_banks;
    p->data_entries = div_up((uint64_t)p->kpad * p->bpe, NPU_DATA_ENTRY_BYTES);
    p->grains = feature_grains(p);

    struct npu_task_geom g = {
            .in_prec = p->in_prec,
            .out_prec = p->out_prec,
            .w = 1,
            .h = p->m,
            .kpad = p->kpad,
            .npad = p->npad,
            .data_banks = p->data_banks,
            .weight_banks = p->weight_banks,
            .feature_grains = p->grains,
            .notch = p->notch,
            .group_line_on = mm->a_layout == RK_LAYOUT_NC1HWC2,
    };
    int rc = npu_limits_check(&g, err, errlen);
    if (rc) return rc;
    if (mm->k - 1 > npu_fmask(CNA_DATA_SIZE1_DATAIN_CHANNEL_REAL))
        return npu_fail_msg(-EINVAL, err, errlen, "K=%u does not fit DATAIN_CHANNEL_REAL (14 bits)", mm->k);
    if (!npu_fits(DPU_SURFACE_ADD_SURF_ADD, (uint64_t)p->atoms_per_group * p->dst_stride >> 4))
        return npu_fail_msg(-EINVAL, err, errlen, "SURFACE_ADD overflows (docs/hardware/limits.md §3)");

    /* Operands: 16-byte aligned and inside the 32-bit IOVA window (docs/hardware/layouts.md §5). */
    const struct {
        const char *name;
        uint32_t iova;
        size_t bytes;
    } ops[] = {
            {"A", mm->a_iova, rk_a_bytes(mm)},
            {"B", mm->b_iova, rk_b_bytes(mm)},
            {"C", mm->c_iova, rk_c_bytes(mm)},
    };
    for (unsigned i = 0; i < 3; i++) {
        if (ops[i].iova % NPU_ADDR_ALIGN)
            return npu_fail_msg(-EINVAL, err, errlen,
                                "%s address 0x%08x is not 16-byte aligned (docs/hardware/layouts.md §5)", ops[i].name,
                                ops[i].iova);
        if ((uint64_t)ops[i].iova + ops[i].bytes > NPU_IOVA_SPACE)
            return npu_fail_msg(-EINVAL, err, errlen,
                                "%s [0x%08x, +%zu) leaves the 32-bit IOVA window (docs/hardware/registers.md §1.2)",
                                ops[i].name, ops[i].iova, ops[i].bytes);
    }
    return 0;
}

int rk_matmul_check(const struct rk_matmul *mm, char *err, size_t errlen)
{
    struct mm_plan p;
    return plan_matmul(mm, &p, err, errlen);
}

struct emitter {
    uint64_t *out;
    size_t n, cap;
};

static void emit(struct emitter *e, uint16_t reg, uint32_t value)
{
    if (e->n < e->cap) e->out[e->n] = npu_entry(npu_block_target(npu_block_of(reg)), reg, value);
    e->n++;
}

int rk_regcmd_matmul(const struct rk_matmul *mm, uint64_t *body, size_t cap, size_t *count, char *err, size_t errlen)
{
    struct mm_plan p;
    int rc = plan_matmul(mm, &p, err, errlen);
    if (rc) return rc;
    if (cap < RK_REGCMD_BODY_ENTRIES)
        return npu_fail_msg(-ENOSPC, err, errlen, "body needs %u entries, cap %zu", RK_REGCMD_BODY_ENTRIES, cap);

    struct emitter e = {body, 0, cap};
    uint32_t cbuf_con0 =
            npu_set(CNA_CBUF_CON0_WEIGHT_BANK, p.weight_banks) | npu_set(CNA_CBUF_CON0_DATA_BANK, p.data_banks);
    uint32_t m1 = p.m - 1, n1 = p.npad - 1;
    uint32_t size_e = p.atoms_per_group - 1;

    /* Preamble: the blob's first five writes.  Clearing DCOMP stops a previous task's inline
	 * weight decompression from leaking in; DPU S_POINTER must be re-armed in every segment
	 * (docs/hardware/registers.md §3.1, §3.4). */
    emit(&e, CNA_CBUF_CON0, cbuf_con0);
    emit(&e, CNA_DCOMP_REGNUM, 0);
    emit(&e, CNA_DCOMP_CTRL, 0);
    emit(&e, CNA_CONV_CON1, p.conv_con1);
    emit(&e, DPU_S_POINTER, DPU_S_POINTER_REARM);

    /* CNA 0x100c..0x1184 ascending (docs/hardware/regcmd.md §8.3 #5–#52). */
    emit(&e, CNA_CONV_CON1, p.conv_con1);
    emit(&e, CNA_CONV_CON2, npu_set(CNA_CONV_CON2_FEATURE_GRAINS, p.grains));
    emit(&e, CNA_CONV_CON3, npu_set(CNA_CONV_CON3_CONV_Y_STRIDE, 1) | npu_set(CNA_CONV_CON3_CONV_X_STRIDE, 1));
    emit(&e, CNA_DATA_SIZE0, npu_set(CNA_DATA_SIZE0_DATAIN_WIDTH, 1) | npu_set(CNA_DATA_SIZE0_DATAIN_HEIGHT, p.m));
    emit(&e, CNA_DATA_SIZE1,
         npu_set(CNA_DATA_SIZE1_DATAIN_CHANNEL_REAL, p.k - 1) | npu_set(CNA_DATA_SIZE1_DATAIN_CHANNEL, p.kpad));
    emit(&e, CNA_DATA_SIZE2, npu_set(CNA_DATA_SIZE2_DATAOUT_WIDTH, 1));
    emit(&e, CNA_DATA_SIZE3, npu_set(CNA_DATA_SIZE3_DATAOUT_ATOMICS, p.m));
    emit(&e, CNA_WEIGHT_SIZE0, p.kpad * p.npad * p.bpe);
    emit(&e, CNA_WEIGHT_SIZE1, npu_set(CNA_WEIGHT_SIZE1_BYTES_PER_KERNEL, p.kpad * p.bpe));
    emit(&e, CNA_WEIGHT_SIZE2,
         npu_set(CNA_WEIGHT_SIZE2_WEIGHT_WIDTH, 1) | npu_set(CNA_WEIGHT_SIZE2_WEIGHT_HEIGHT, 1) |
                 npu_set(CNA_WEIGHT_SIZE2_WEIGHT_KERNELS, p.npad));
    emit(&e, CNA_CBUF_CON0, cbuf_con0);
    emit(&e, CNA_CBUF_CON1, npu_set(CNA_CBUF_CON1_DATA_ENTRIES, p.data_entries));
    /* Input converter bypassed, data signed: int8/fp16 go straight to the MACs (docs/hardware/arithmetic.md §1). */
    emit(&e, CNA_CVT_CON0,
         npu_set(CNA_CVT_CON0_DATA_SIGN, 1) | npu_set(CNA_CVT_CON0_CVT_TYPE, 1) | npu_set(CNA_CVT_CON0_CVT_BYPASS, 1));
    emit(&e, CNA_CVT_CON1, npu_set(CNA_CVT_CONn_SCALE, 1));
    emit(&e, CNA_CVT_CON2, npu_set(CNA_CVT_CONn_SCALE, 1));
    emit(&e, CNA_CVT_CON3, npu_set(CNA_CVT_CONn_SCALE, 1));
    emit(&e, CNA_CVT_CON4, npu_set(CNA_CVT_CONn_SCALE, 1));
    emit(&e, CNA_FC_CON0, 0);
    emit(&e, CNA_FC_CON1, 0);
    emit(&e, CNA_PAD_CON0, 0);
    emit(&e, CNA_FEATURE_DATA_ADDR, mm->a_iova);
    emit(&e, CNA_FC_CON2, 0);
    emit(&e, CNA_DMA_CON0, npu_set(CNA_DMA_CON0_WEIGHT_BURST_LEN, 15) | npu_set(CNA_DMA_CON0_DATA_BURST_LEN, 15));
    emit(&e, CNA_DMA_CON1, npu_set(CNA_DMA_CON1_LINE_STRIDE, p.line_stride));
    emit(&e, CNA_DMA_CON2, p.surf_stride);
    emit(&e, CNA_FC_DATA_SIZE0, npu_set(CNA_FC_DATA_SIZE0_DMA_WIDTH, 1) | npu_set(CNA_FC_DATA_SIZE0_DMA_HEIGHT, p.m));
    emit(&e, CNA_FC_DATA_SIZE1, npu_set(CNA_FC_DATA_SIZE1_DMA_CHANNEL, p.kpad));
    emit(&e, CNA_DCOMP_CTRL, 0);
    emit(&e, CNA_DCOMP_REGNUM, 0);
    emit(&e, CNA_DCOMP_ADDR0, mm->b_iova);
    for (int i = 0; i < NPU_DCOMP_AMOUNTS; i++) emit(&e, CNA_DCOMP_AMOUNT(i), 0);
    emit(&e, CNA_CVT_CON5, 0);
    emit(&e, CNA_PAD_CON1, 0);

    /* CORE (docs/hardware/regcmd.md §8.3 #53–#57). */
    emit(&e, CORE_MISC_CFG, npu_set(CORE_MISC_CFG_PROC_PRECISION, p.in_prec) | npu_set(CORE_MISC_CFG_QD_EN, 1));
    emit(&e, CORE_DATAOUT_SIZE_0, npu_set(CORE_DATAOUT_SIZE_0_HEIGHT, m1) | npu_set(CORE_DATAOUT_SIZE_0_WIDTH, 0));
    emit(&e, CORE_DATAOUT_SIZE_1, npu_set(CORE_DATAOUT_SIZE_1_CHANNEL, n1));
    emit(&e, CORE_CLIP_TRUNCATE, 0);
    emit(&e, CORE_RESERVED_3030, 0);

    /* DPU 0x400c..0x412c ascending (docs/hardware/regcmd.md §8.3 #58–#107): conv -> memory, all stages bypassed. */
    emit(&e, DPU_FEATURE_MODE_CFG,
         npu_set(DPU_FEATURE_MODE_CFG_BURST_LEN, 15) |
                 npu_set(DPU_FEATURE_MODE_CFG_OUTPUT_MODE, DPU_OUTPUT_MODE_MEMORY));
    emit(&e, DPU_DATA_FORMAT,
         npu_set(DPU_DATA_FORMAT_OUT_PRECISION, p.out_prec) | npu_set(DPU_DATA_FORMAT_IN_PRECISION, p.in_prec) |
                 npu_set(DPU_DATA_FORMAT_PROC_PRECISION, p.in_prec));
    emit(&e, DPU_OFFSET_PEND, 0);
    emit(&e, DPU_DST_BASE_ADDR, mm->c_iova);
    emit(&e, DPU_DST_SURF_STRIDE, p.dst_stride);
    emit(&e, DPU_DATA_CUBE_WIDTH, 0);
    emit(&e, DPU_DATA_CUBE_HEIGHT, npu_set(DPU_DATA_CUBE_HEIGHT_HEIGHT, m1));
    emit(&e, DPU_DATA_CUBE_NOTCH_ADDR,
         npu_set(DPU_DATA_CUBE_NOTCH_ADDR_1, p.notch) | npu_set(DPU_DATA_CUBE_NOTCH_ADDR_0, p.notch));
    emit(&e, DPU_DATA_CUBE_CHANNEL,
         npu_set(DPU_DATA_CUBE_CHANNEL_ORIG, n1) | npu_set(DPU_DATA_CUBE_CHANNEL_CHANNEL, n1));
    emit(&e, DPU_BS_CFG, DPU_BS_CFG_ALL_BYPASS);
    emit(&e, DPU_BS_ALU_CFG, 0);
    emit(&e, DPU_BS_MUL_CFG, 0);
    emit(&e, DPU_BS_RELUX_CMP_VALUE, 0);
    /* OD_BYPASS: blob leaves it clear for int8 (OW_OP = 0 adds nothing), sets it for fp16
     * (docs/hardware/arithmetic.md §3, §7). */
    emit(&e, DPU_BS_OW_CFG,
         npu_set(DPU_BS_OW_CFG_SIZE_E_2, size_e) | npu_set(DPU_BS_OW_CFG_SIZE_E_1, size_e) |
                 npu_set(DPU_BS_OW_CFG_SIZE_E_0, size_e) |
                 npu_set(DPU_BS_OW_CFG_OD_BYPASS, p.in_prec == NPU_PREC_FP16));
    emit(&e, DPU_BS_OW_OP, 0);
    emit(&e, DPU_WDMA_SIZE_0, npu_set(DPU_WDMA_SIZE_0_CHANNEL, n1));
    emit(&e, DPU_WDMA_SIZE_1, npu_set(DPU_WDMA_SIZE_1_HEIGHT, m1) | npu_set(DPU_WDMA_SIZE_1_WIDTH, 0));
    emit(&e, DPU_BN_CFG, DPU_BS_CFG_ALL_BYPASS);
    emit(&e, DPU_BN_ALU_CFG, 0);
    emit(&e, DPU_BN_MUL_CFG, 0);
    emit(&e, DPU_BN_RELUX_CMP_VALUE, 0);
    emit(&e, DPU_EW_CFG, DPU_EW_CFG_ALL_BYPASS);
    emit(&e, DPU_EW_CVT_OFFSET_VALUE, 0);
    emit(&e, DPU_EW_CVT_SCALE_VALUE, 1);
    emit(&e, DPU_EW_RELUX_CMP_VALUE, 0);
    emit(&e, DPU_OUT_CVT_OFFSET, 0);
    /* fp16 output needs FP32TOFP16_EN: without it the stage hangs (ORK, docs/hardware/arithmetic.md §2). */
    emit(&e, DPU_OUT_CVT_SCALE,
         npu_set(DPU_OUT_CVT_SCALE_FP32TOFP16_EN, p.out_prec == NPU_PREC_FP16) | npu_set(DPU_OUT_CVT_SCALE_SCALE, 1));
    emit(&e, DPU_OUT_CVT_SHIFT, 0);
    for (int i = 0; i < NPU_EW_OP_VALUES; i++) emit(&e, DPU_EW_OP_VALUE(i), 0);
    emit(&e, DPU_SURFACE_ADD, p.atoms_per_group * p.dst_stride);
    emit(&e, DPU_RESERVED_40C4, 0);
    /* LUT cleared explicitly: registers persist across tasks (docs/hardware/registers.md §3.1). */
    for (uint16_t r = DPU_LUT_ACCESS_CFG; r <= DPU_LUT_LO_SLOPE_SHIFT; r += 4) emit(&e, r, 0);

    if (e.n != RK_REGCMD_BODY_ENTRIES)
        return npu_fail_msg(-EINVAL, err, errlen, "internal: body has %zu entries, want %u", e.n,
                            RK_REGCMD_BODY_ENTRIES);
    *count = e.n;
    return 0;
}

size_t rk_regcmd_tail(uint64_t out[4], uint32_t next_iova, uint32_t next_body_count)
{
    /* The blob writes a zero word, not PC_BASE_ADDRESS = 0, for "no next task" (docs/hardware/regcmd.md §8.3 #108). */
    out[0] = next_iova ? npu_entry(NPU_TGT_PC, PC_BASE_ADDRESS, npu_set(PC_BASE_ADDRESS_SOURCE_ADDR, next_iova >> 4))
                       : 0;
    out[1] = npu_entry(NPU_TGT_PC, PC_REGISTER_AMOUNTS, next_iova ? rk_next_amount(next_body_count) : 0);
    out[2] = npu_entry(NPU_TGT_MARKER, 0, 0);
    out[3] = npu_entry(NPU_TGT_OP_EN, PC_OPERATION_ENABLE, NPU_EN_MATMUL);
    return NPU_REGCMD_TAIL_ENTRIES;
}

int rk_regcmd_matmul_task(const struct rk_matmul *mm, uint32_t next_iova, uint64_t *seg, size_t cap,
                          uint32_t *regcmd_count, char *err, size_t errlen)
{
    size_t body = 0;
    if (cap < rk_regcmd_segment_entries(RK_REGCMD_BODY_ENTRIES))
        return npu_fail_msg(-ENOSPC, err, errlen, "segment needs %zu entries, cap %zu",
                            rk_regcmd_segment_entries(RK_REGCMD_BODY_ENTRIES), cap);
    if (next_iova % NPU_ADDR_ALIGN)
        return npu_fail_msg(-EINVAL, err, errlen,
                            "next regcmd 0x%08x is not 16-byte aligned (docs/hardware/regcmd.md §5)", next_iova);
    int rc = rk_regcmd_matmul(mm, seg, cap, &body, err, errlen);
    if (rc) return rc;
    size_t n = body + rk_regcmd_tail(seg + body, next_iova, RK_REGCMD_BODY_ENTRIES);
    while (n < rk_regcmd_segment_entries(body)) seg[n++] = 0;
    *regcmd_count = rk_regcmd_count(body);
    return 0;
}

int rk_regcmd_describe(uint64_t e, char *buf, size_t len)
{
    uint16_t tgt = npu_entry_target(e), reg = npu_entry_reg(e);
    uint32_t val = npu_entry_value(e);
    const char *name = npu_reg_name(reg);

    if (e == 0 || tgt == NPU_TGT_NOP1) return snprintf(buf, len, "no-op");
    if (tgt == NPU_TGT_MARKER) return snprintf(buf, len, "marker 0x%04x", NPU_TGT_MARKER);
    if (tgt == NPU_TGT_OP_EN) return snprintf(buf, len, "op-enable 0x%x", val);
    if (tgt != npu_block_target(npu_block_of(reg)))
        return snprintf(buf, len, "target 0x%04x reg 0x%04x = 0x%08x (target/block mismatch)", tgt, reg, val);
    return snprintf(buf, len, "%s (0x%04x) = 0x%08x", name ? name : "unknown", reg, val);
}

uint32_t rk_regcmd_count(size_t body_count) { return (uint32_t)body_count + NPU_REGCMD_TAIL_ENTRIES; }
uint32_t rk_pc_data_amount(uint32_t regcmd_count) { return (regcmd_count + 1) / 2 - 1; }
uint32_t rk_next_amount(uint32_t next_body_count) { return (next_body_count + 1) / 2 + 1; }
uint32_t rk_pc_fetch_entries(uint32_t pc_data_amount) { return 2 * (pc_data_amount + 1); }
size_t rk_regcmd_segment_entries(size_t body_count) { return (body_count + NPU_REGCMD_TAIL_ENTRIES + 7) & ~(size_t)7; }
