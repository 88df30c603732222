// SPDX-License-Identifier: MIT
/*
 * Peer-stream generator (peer_stream.h): plan the registers of a Mesa-style int8 fully-connected task from
 * the recipe of docs/hardware/regcmd.md §9, emit them in Mesa's order, and pack the operands the way that
 * recipe lays them out (docs/hardware/layouts.md §2.2, §3.3, §4.2; docs/hardware/arithmetic.md §2, §3).
 */
#include <errno.h>
#include <string.h>

#include "npu_limits.h"
#include "npu_regs.h"
#include "peer_stream.h"

/* uint8 tensors become int8 by subtracting this; zero points shift with them
 * (docs/hardware/arithmetic.md §3). */
#define PEER_U8_TO_I8              0x80
/* Mesa's CBUF accounting: 128-byte entries, 256 per bank, one spare weight bank ("the calc above might be
 * wrong on this HW"), and 7 data banks when the weights stream (docs/hardware/limits.md §1.1, §6.1). */
#define PEER_CBUF_ENTRY_BYTES      128
#define PEER_CBUF_ENTRIES_PER_BANK 256
#define PEER_SPARE_WEIGHT_BANK     1
#define PEER_STREAMED_DATA_BANKS   7
/* DMA bursts of 16 (DMA_CON0, DPU and DPU_RDMA FEATURE_MODE_CFG), as every stream writes. */
#define PEER_BURST_LEN             15
/* The DPU_RDMA arbiter weight Mesa gives each of its four readers. */
#define PEER_RDMA_WEIGHT           1
/* OUT_CVT: a multiplier with 14 mantissa bits under an implicit one at bit 14, i.e. scale ≈ s·2^(141−e) for
 * s = m·2^(e−127) (docs/hardware/arithmetic.md §2). */
#define FLOAT_EXP_BIAS             127
#define FLOAT_MANTISSA             23
#define CVT_MANTISSA_BITS          14
#define PEER_CONV_SCALE_LT         32768.0f /* 2^15: a larger scale would need a negative shift */

static uint32_t div_up(uint64_t a, uint64_t b) { return (uint32_t)((a + b - 1) / b); }
static uint32_t align_up(uint32_t a, uint32_t b) { return div_up(a, b) * b; }

static int fail(int rc, char *err, size_t errlen, const char *msg) { return npu_fail_msg(rc, err, errlen, "%s", msg); }

int rk_peer_out_cvt(float conv_scale, uint32_t *scale, uint32_t *shift)
{
    uint32_t bits;
    memcpy(&bits, &conv_scale, sizeof bits);
    uint32_t e = bits >> FLOAT_MANTISSA;
    if (!(conv_scale > 0.0f && conv_scale < PEER_CONV_SCALE_LT) || !e) return -EINVAL;
    /* Mesa rounds the top 14 mantissa bits up by one: scale in 0x4001..0x8000. */
    uint32_t m14 = (bits >> (FLOAT_MANTISSA - CVT_MANTISSA_BITS)) & ((1u << CVT_MANTISSA_BITS) - 1);
    *scale = (1u << CVT_MANTISSA_BITS) + m14 + 1;
    *shift = FLOAT_EXP_BIAS + CVT_MANTISSA_BITS - e;
    return 0;
}

int rk_peer_fc_plan(const struct rk_peer_fc *fc, struct rk_peer_plan *p, char *err, size_t errlen)
{
    memset(p, 0, sizeof *p);
    if (!fc->m || fc->m > NPU_HW_MAX || !fc->n)
        return npu_fail_msg(-EINVAL, err, errlen, "peer FC: M=%u must be 1..%u and N=%u at least 1", fc->m, NPU_HW_MAX,
                            fc->n);
    if (!fc->k || fc->k % NPU_ATOM_BYTES)
        return npu_fail_msg(-ENOTSUP, err, errlen,
                            "peer FC: K=%u; MF-rocket runs K a multiple of 16 only (docs/hardware/layouts.md §3.3)",
                            fc->k);
    p->channels = fc->k;
    p->kernels = align_up(fc->n, NPU_PEER_KERNELS_ALIGN);
    p->cout = align_up(fc->n, NPU_KGROUP_INT8);
    if (p->cout > NPU_N_MAX) return npu_fail_msg(-EINVAL, err, errlen, "peer FC: N=%u > %u", fc->n, NPU_N_MAX);
    if (rk_peer_out_cvt(fc->conv_scale, &p->cvt_scale, &p->cvt_shift))
        return fail(-EINVAL, err, errlen, "peer FC: conv_scale must be a normal float in (0, 2^15)");

    /* Mesa's single-tile CBUF rule (docs/hardware/limits.md §6.1). */
    uint32_t weight_need = div_up(div_up((uint64_t)fc->k * fc->n, PEER_CBUF_ENTRY_BYTES), PEER_CBUF_ENTRIES_PER_BANK) +
                           PEER_SPARE_WEIGHT_BANK;
    uint32_t row_entries = div_up(fc->k / NPU_ATOM_BYTES, PEER_CBUF_ENTRY_BYTES / NPU_ATOM_BYTES);
    uint32_t data_need = div_up((uint64_t)row_entries * fc->m, PEER_CBUF_ENTRIES_PER_BANK);
    p->weights_resident = weight_need + PEER_SPARE_WEIGHT_BANK < NPU_CBUF_BANKS;
    uint32_t data_room = p->weights_resident ? NPU_CBUF_BANKS - weight_need : PEER_STREAMED_DATA_BANKS;
    if (data_need > data_room)
        return npu_fail_msg(-ENOTSUP, err, errlen,
                            "peer FC: M=%u rows of K=%u need %u data banks, %u are free: Mesa would split the task "
                            "(docs/hardware/limits.md §6.1)",
                            fc->m, fc->k, data_need, data_room);
    p->data_banks = data_need;
    p->weight_banks = NPU_CBUF_BANKS - data_need;
    if (fc->weight_reuse && !p->weights_resident)
        return npu_fail_msg(-EINVAL, err, errlen,
                            "peer FC: WEIGHT_REUSE, but %u x %u weights stream through the CBUF; Mesa reuses only "
                            "resident weights (docs/hardware/limits.md §6.3)",
                            fc->k, fc->n);
    /* The limits the software NPU checks every task against (npu_limits.h), so the generator never emits a
     * stream the simulator refuses, e.g. an NC1HWC2 height that is neither 1 nor a multiple of 4. */
    struct npu_task_geom g = {.recipe = NPU_RECIPE_PEER_INT8,
                              .in_prec = NPU_PREC_INT8,
                              .out_prec = NPU_PREC_INT8,
                              .w = 1,
                              .h = fc->m,
                              .kpad = p->channels,
                              .npad = p->kernels,
                              .data_banks = p->data_banks,
                              .weight_banks = p->weight_banks,
                              .feature_grains = NPU_PEER_FEATURE_GRAINS,
                              .group_line_on = true,
                              .weight_reuse = fc->weight_reuse};
    char why[256];
    int rc = npu_limits_check(&g, why, sizeof why);
    if (rc) return npu_fail_msg(rc, err, errlen, "peer FC: %s", why);
    const uint32_t addrs[] = {fc->in_iova, fc->w_iova, fc->bias_iova, fc->out_iova};
    for (unsigned i = 0; i < sizeof addrs / sizeof addrs[0]; i++)
        if (addrs[i] % NPU_ADDR_ALIGN)
            return fail(-EINVAL, err, errlen, "peer FC: operand address not 16-byte aligned");
    return 0;
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

static void emit_word(struct emitter *e, uint64_t word)
{
    if (e->n < e->cap) e->out[e->n] = word;
    e->n++;
}

int rk_peer_fc_regcmd(const struct rk_peer_fc *fc, uint64_t *out, size_t cap, size_t *count, char *err, size_t errlen)
{
    struct rk_peer_plan p;
    int rc = rk_peer_fc_plan(fc, &p, err, errlen);
    if (rc) return rc;
    size_t total = RK_PEER_BODY_ENTRIES + NPU_REGCMD_TAIL_ENTRIES;
    if (cap < total) return npu_fail_msg(-ENOSPC, err, errlen, "peer FC: %zu entries, cap %zu", total, cap);

    const uint32_t w = 1, h = fc->m, c = p.channels;
    const uint32_t burst = npu_set(CNA_DMA_CON0_WEIGHT_BURST_LEN, PEER_BURST_LEN) |
                           npu_set(CNA_DMA_CON0_DATA_BURST_LEN, PEER_BURST_LEN);
    const uint32_t out_surface = NPU_ATOM_BYTES * w * h; /* NC1HWC2: one W x H plane of atoms per surface */
    const uint32_t atoms_per_group = NPU_KGROUP_INT8 / NPU_ATOM_BYTES; /* int8 out */
    const uint32_t size_e = atoms_per_group - 1;
    uint32_t cbuf_con0 = npu_set(CNA_CBUF_CON0_WEIGHT_REUSE, fc->weight_reuse) |
                         npu_set(CNA_CBUF_CON0_WEIGHT_BANK, p.weight_banks) |
                         npu_set(CNA_CBUF_CON0_DATA_BANK, p.data_banks);
    struct emitter e = {out, 0, cap};

    /* CNA part, with the two S_POINTER re-arms up front (docs/hardware/regcmd.md §9). */
    emit(&e, CNA_CBUF_CON0, cbuf_con0);
    emit(&e, CNA_DCOMP_REGNUM, 0);
    emit(&e, CNA_DCOMP_CTRL, 0);
    emit(&e, CNA_CONV_CON1, 0); /* int8, direct conv, group-line (NC1HWC2) fetch */
    emit(&e, DPU_S_POINTER, DPU_S_POINTER_REARM);
    emit(&e, DPU_RDMA_S_POINTER, DPU_S_POINTER_REARM);
    emit(&e, CNA_CONV_CON1, 0);
    emit(&e, CNA_CONV_CON2, npu_set(CNA_CONV_CON2_FEATURE_GRAINS, NPU_PEER_FEATURE_GRAINS));
    emit(&e, CNA_CONV_CON3, npu_set(CNA_CONV_CON3_CONV_Y_STRIDE, 1) | npu_set(CNA_CONV_CON3_CONV_X_STRIDE, 1));
    emit(&e, CNA_DATA_SIZE0, npu_set(CNA_DATA_SIZE0_DATAIN_WIDTH, w) | npu_set(CNA_DATA_SIZE0_DATAIN_HEIGHT, h));
    emit(&e, CNA_DATA_SIZE1,
         npu_set(CNA_DATA_SIZE1_DATAIN_CHANNEL_REAL, fc->k - 1) | npu_set(CNA_DATA_SIZE1_DATAIN_CHANNEL, c));
    emit(&e, CNA_DATA_SIZE2, npu_set(CNA_DATA_SIZE2_DATAOUT_WIDTH, w));
    emit(&e, CNA_DATA_SIZE3, npu_set(CNA_DATA_SIZE3_DATAOUT_ATOMICS, w * h));
    emit(&e, CNA_WEIGHT_SIZE0, c * p.kernels);
    emit(&e, CNA_WEIGHT_SIZE1, npu_set(CNA_WEIGHT_SIZE1_BYTES_PER_KERNEL, c));
    emit(&e, CNA_WEIGHT_SIZE2,
         npu_set(CNA_WEIGHT_SIZE2_WEIGHT_WIDTH, 1) | npu_set(CNA_WEIGHT_SIZE2_WEIGHT_HEIGHT, 1) |
                 npu_set(CNA_WEIGHT_SIZE2_WEIGHT_KERNELS, p.kernels));
    emit(&e, CNA_CBUF_CON0, cbuf_con0);
    /* Mesa's ceil(W·2·ceil(C/16)/8) is ceil(W·C/64) for C % 16 == 0 (docs/hardware/limits.md §2). */
    emit(&e, CNA_CBUF_CON1, npu_set(CNA_CBUF_CON1_DATA_ENTRIES, div_up((uint64_t)w * c, NPU_DATA_ENTRY_BYTES)));
    emit(&e, CNA_CVT_CON0,
         npu_set(CNA_CVT_CON0_DATA_SIGN, 1) | npu_set(CNA_CVT_CON0_CVT_TYPE, 1) | npu_set(CNA_CVT_CON0_CVT_BYPASS, 1));
    for (uint16_t r = CNA_CVT_CON1; r <= CNA_CVT_CON4; r += 4) emit(&e, r, npu_set(CNA_CVT_CONn_SCALE, 1));
    emit(&e, CNA_FC_CON0, 0);
    emit(&e, CNA_FC_CON1, 0);
    emit(&e, CNA_PAD_CON0, 0);
    emit(&e, CNA_FEATURE_DATA_ADDR, fc->in_iova);
    emit(&e, CNA_FC_CON2, 0);
    emit(&e, CNA_DMA_CON0, burst);
    emit(&e, CNA_DMA_CON1, npu_set(CNA_DMA_CON1_LINE_STRIDE, w * NPU_ATOM_BYTES / NPU_GROUP_LINE_UNIT_BYTES));
    emit(&e, CNA_DMA_CON2,
         npu_set(CNA_DMA_CON2_SURF_STRIDE, (uint32_t)((int64_t)w * h - NPU_GROUP_LINES * (int64_t)w)));
    emit(&e, CNA_FC_DATA_SIZE0, npu_set(CNA_FC_DATA_SIZE0_DMA_WIDTH, w) | npu_set(CNA_FC_DATA_SIZE0_DMA_HEIGHT, h));
    emit(&e, CNA_FC_DATA_SIZE1, npu_set(CNA_FC_DATA_SIZE1_DMA_CHANNEL, c));
    emit(&e, CNA_DCOMP_CTRL, 0);
    emit(&e, CNA_DCOMP_REGNUM, 0);
    emit(&e, CNA_DCOMP_ADDR0, fc->w_iova);
    for (int i = 0; i < NPU_DCOMP_AMOUNTS; i++) emit(&e, CNA_DCOMP_AMOUNT(i), 0);
    emit(&e, CNA_CVT_CON5, 0);
    emit(&e, CNA_PAD_CON1, (uint32_t)((int32_t)fc->in_zp - PEER_U8_TO_I8));

    /* CORE: output channels padded to 32, no truncation. */
    emit(&e, CORE_MISC_CFG, npu_set(CORE_MISC_CFG_QD_EN, 1));
    emit(&e, CORE_DATAOUT_SIZE_0,
         npu_set(CORE_DATAOUT_SIZE_0_HEIGHT, h - 1) | npu_set(CORE_DATAOUT_SIZE_0_WIDTH, w - 1));
    emit(&e, CORE_DATAOUT_SIZE_1, npu_set(CORE_DATAOUT_SIZE_1_CHANNEL, p.cout - 1));
    emit(&e, CORE_CLIP_TRUNCATE, 0);
    emit(&e, CORE_RESERVED_3030, 0);

    /* DPU: bias add from memory, CPEND with the weight zero point, OUT_CVT to int8, NC1HWC2 output. */
    emit(&e, DPU_FEATURE_MODE_CFG,
         npu_set(DPU_FEATURE_MODE_CFG_BURST_LEN, PEER_BURST_LEN) |
                 npu_set(DPU_FEATURE_MODE_CFG_OUTPUT_MODE, DPU_OUTPUT_MODE_MEMORY));
    emit(&e, DPU_DATA_FORMAT, 0); /* int8 in, proc and out */
    emit(&e, DPU_OFFSET_PEND, 0);
    emit(&e, DPU_DST_BASE_ADDR, fc->out_iova);
    emit(&e, DPU_DST_SURF_STRIDE, out_surface);
    emit(&e, DPU_DATA_CUBE_WIDTH, npu_set(DPU_DATA_CUBE_WIDTH_WIDTH, w - 1));
    emit(&e, DPU_DATA_CUBE_HEIGHT, npu_set(DPU_DATA_CUBE_HEIGHT_HEIGHT, h - 1));
    emit(&e, DPU_DATA_CUBE_NOTCH_ADDR, 0);
    emit(&e, DPU_DATA_CUBE_CHANNEL,
         npu_set(DPU_DATA_CUBE_CHANNEL_ORIG, fc->n - 1) | npu_set(DPU_DATA_CUBE_CHANNEL_CHANNEL, p.cout - 1));
    emit(&e, DPU_BS_CFG,
         npu_set(DPU_BS_CFG_BS_ALU_ALGO, DPU_BS_ALU_ALGO_ADD) | npu_set(DPU_BS_CFG_BS_ALU_SRC, 1) |
                 npu_set(DPU_BS_CFG_BS_RELU_BYPASS, 1) | npu_set(DPU_BS_CFG_BS_MUL_BYPASS, 1));
    emit(&e, DPU_BS_ALU_CFG, 0);
    emit(&e, DPU_BS_MUL_CFG, 0);
    emit(&e, DPU_BS_RELUX_CMP_VALUE, 0);
    emit(&e, DPU_BS_OW_CFG,
         npu_set(DPU_BS_OW_CFG_SIZE_E_2, size_e) | npu_set(DPU_BS_OW_CFG_SIZE_E_1, size_e) |
                 npu_set(DPU_BS_OW_CFG_SIZE_E_0, size_e));
    emit(&e, DPU_BS_OW_OP, npu_set(DPU_BS_OW_OP_OW_OP, (uint32_t)(PEER_U8_TO_I8 - (int32_t)fc->w_zp)));
    emit(&e, DPU_WDMA_SIZE_0, npu_set(DPU_WDMA_SIZE_0_CHANNEL, p.cout - 1));
    emit(&e, DPU_WDMA_SIZE_1, npu_set(DPU_WDMA_SIZE_1_HEIGHT, h - 1) | npu_set(DPU_WDMA_SIZE_1_WIDTH, w - 1));
    emit(&e, DPU_BN_CFG, DPU_BS_CFG_ALL_BYPASS);
    emit(&e, DPU_BN_ALU_CFG, 0);
    emit(&e, DPU_BN_MUL_CFG, 0);
    emit(&e, DPU_BN_RELUX_CMP_VALUE, 0);
    emit(&e, DPU_EW_CFG, DPU_EW_CFG_ALL_BYPASS);
    emit(&e, DPU_EW_CVT_OFFSET_VALUE, 0);
    emit(&e, DPU_EW_CVT_SCALE_VALUE, 1);
    emit(&e, DPU_EW_RELUX_CMP_VALUE, 0);
    emit(&e, DPU_OUT_CVT_OFFSET, (uint32_t)((int32_t)fc->out_zp - PEER_U8_TO_I8));
    emit(&e, DPU_OUT_CVT_SCALE, npu_set(DPU_OUT_CVT_SCALE_SCALE, p.cvt_scale));
    emit(&e, DPU_OUT_CVT_SHIFT, npu_set(DPU_OUT_CVT_SHIFT_SHIFT, p.cvt_shift));
    for (int i = 0; i < NPU_EW_OP_VALUES; i++) emit(&e, DPU_EW_OP_VALUE(i), 0);
    emit(&e, DPU_SURFACE_ADD, atoms_per_group * out_surface);
    emit(&e, DPU_RESERVED_40C4, 0);
    for (uint16_t r = DPU_LUT_ACCESS_CFG; r <= DPU_LUT_LO_SLOPE_SHIFT; r += 4) emit(&e, r, 0);

    /* DPU_RDMA: the bias through BRDMA, every other reader off. */
    emit(&e, DPU_RDMA_DATA_CUBE_WIDTH, npu_set(DPU_RDMA_DATA_CUBE_WIDTH_WIDTH, w - 1));
    emit(&e, DPU_RDMA_DATA_CUBE_HEIGHT, npu_set(DPU_RDMA_DATA_CUBE_HEIGHT_HEIGHT, h - 1));
    emit(&e, DPU_RDMA_DATA_CUBE_CHANNEL, npu_set(DPU_RDMA_DATA_CUBE_CHANNEL_CHANNEL, p.cout - 1));
    emit(&e, DPU_RDMA_SRC_BASE_ADDR, 0);
    emit(&e, DPU_RDMA_BRDMA_CFG, npu_set(DPU_RDMA_BRDMA_CFG_DATA_USE, DPU_RDMA_DATA_USE_ALU));
    emit(&e, DPU_RDMA_BS_BASE_ADDR, fc->bias_iova);
    emit(&e, DPU_RDMA_NRDMA_CFG, 0);
    emit(&e, DPU_RDMA_BN_BASE_ADDR, 0);
    emit(&e, DPU_RDMA_ERDMA_CFG, npu_set(DPU_RDMA_ERDMA_CFG_DISABLE, 1));
    emit(&e, DPU_RDMA_EW_BASE_ADDR, 0);
    emit(&e, DPU_RDMA_EW_SURF_STRIDE, 0);
    emit(&e, DPU_RDMA_FEATURE_MODE_CFG,
         npu_set(DPU_RDMA_FEATURE_MODE_CFG_BURST_LEN, PEER_BURST_LEN) |
                 npu_set(DPU_RDMA_FEATURE_MODE_CFG_MRDMA_DISABLE, 1));
    emit(&e, DPU_RDMA_SRC_DMA_CFG, 0);
    emit(&e, DPU_RDMA_SURF_NOTCH, 0);
    emit(&e, DPU_RDMA_PAD_CFG, 0);
    emit(&e, DPU_RDMA_WEIGHT,
         npu_set(DPU_RDMA_WEIGHT_E, PEER_RDMA_WEIGHT) | npu_set(DPU_RDMA_WEIGHT_N, PEER_RDMA_WEIGHT) |
                 npu_set(DPU_RDMA_WEIGHT_B, PEER_RDMA_WEIGHT) | npu_set(DPU_RDMA_WEIGHT_M, PEER_RDMA_WEIGHT));
    emit(&e, DPU_RDMA_EW_SURF_NOTCH, 0);

    if (e.n != RK_PEER_BODY_ENTRIES)
        return npu_fail_msg(-EINVAL, err, errlen, "internal: peer body has %zu entries, want %u", e.n,
                            RK_PEER_BODY_ENTRIES);
    /* Tail: no next task (rocket kicks every task itself), end of chain, marker, op-enable with DPU_RDMA. */
    emit_word(&e, 0);
    emit(&e, PC_REGISTER_AMOUNTS, 0);
    emit_word(&e, npu_entry(NPU_TGT_MARKER, 0, 0));
    emit_word(&e, npu_entry(NPU_TGT_OP_EN, PC_OPERATION_ENABLE, NPU_EN_PEER));
    *count = e.n;
    return 0;
}

size_t rk_peer_input_bytes(uint32_t m, uint32_t k) { return (size_t)m * k; }

size_t rk_peer_weight_bytes(uint32_t k, uint32_t n) { return (size_t)k * align_up(n, NPU_PEER_KERNELS_ALIGN); }

size_t rk_peer_bias_bytes(uint32_t n) { return (size_t)align_up(n, NPU_KGROUP_INT8) * sizeof(int32_t); }

size_t rk_peer_output_bytes(uint32_t m, uint32_t n) { return (size_t)m * align_up(n, NPU_KGROUP_INT8); }

void rk_peer_pack_input(int8_t *dst, const uint8_t *x, uint32_t m, uint32_t k)
{
    size_t i = 0;
    for (uint32_t c0 = 0; c0 < k; c0 += NPU_ATOM_BYTES)
        for (uint32_t r = 0; r < m; r++)
            for (uint32_t c = c0; c < c0 + NPU_ATOM_BYTES; c++)
                dst[i++] = (int8_t)((int32_t)x[(size_t)r * k + c] - PEER_U8_TO_I8);
}

/* Written in stream order: per group of 32 kernels (the last one holding only the kernels left), per block
 * of 32 channels (the last one only the channels left), kernel by kernel (docs/hardware/layouts.md §3.3). */
void rk_peer_pack_weights(int8_t *dst, const uint8_t *w, uint32_t k, uint32_t n)
{
    uint32_t kernels = align_up(n, NPU_PEER_KERNELS_ALIGN);
    size_t i = 0;
    for (uint32_t g0 = 0; g0 < kernels; g0 += NPU_KGROUP_INT8) {
        uint32_t g1 = g0 + NPU_KGROUP_INT8 < kernels ? g0 + NPU_KGROUP_INT8 : kernels;
        for (uint32_t b0 = 0; b0 < k; b0 += NPU_K_ALIGN) {
            uint32_t b1 = b0 + NPU_K_ALIGN < k ? b0 + NPU_K_ALIGN : k;
            for (uint32_t nn = g0; nn < g1; nn++)
                for (uint32_t kk = b0; kk < b1; kk++)
                    dst[i++] = nn < n ? (int8_t)((int32_t)w[(size_t)nn * k + kk] - PEER_U8_TO_I8) : 0;
        }
    }
}

void rk_peer_biases(int32_t *dst, const int32_t *bias, const uint8_t *w, uint32_t k, uint32_t n, uint8_t in_zp,
                    uint8_t w_zp)
{
    uint32_t cout = align_up(n, NPU_KGROUP_INT8);
    for (uint32_t nn = 0; nn < cout; nn++) {
        int64_t corr = 0;
        if (nn >= n) {
            dst[nn] = 0;
            continue;
        }
        for (uint32_t kk = 0; kk < k; kk++)
            corr += ((int64_t)w[(size_t)nn * k + kk] - w_zp) * ((int64_t)in_zp - PEER_U8_TO_I8);
        dst[nn] = (int32_t)(bias[nn] - corr);
    }
}

void rk_peer_unpack_output(uint8_t *y, const int8_t *src, uint32_t m, uint32_t n)
{
    for (uint32_t r = 0; r < m; r++)
        for (uint32_t c = 0; c < n; c++)
            y[(size_t)r * n + c] = (uint8_t)((int32_t)src[((size_t)(c / NPU_ATOM_BYTES) * m + r) * NPU_ATOM_BYTES +
                                                          c % NPU_ATOM_BYTES] +
                                             PEER_U8_TO_I8);
}
