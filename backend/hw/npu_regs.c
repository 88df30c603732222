// SPDX-License-Identifier: MIT
/* Names for the register table in npu_regs.h (error messages, dumps). */
#include <stddef.h>

#include "npu_regs.h"

struct npu_reg_desc {
    uint16_t off;
    const char *name;
};

#define R(x)                                                                                                           \
    {                                                                                                                  \
        x, #x                                                                                                          \
    }
static const struct npu_reg_desc npu_reg_table[] = {
        R(PC_OPERATION_ENABLE),
        R(PC_BASE_ADDRESS),
        R(PC_REGISTER_AMOUNTS),

        R(CNA_CONV_CON1),
        R(CNA_CONV_CON2),
        R(CNA_CONV_CON3),
        R(CNA_DATA_SIZE0),
        R(CNA_DATA_SIZE1),
        R(CNA_DATA_SIZE2),
        R(CNA_DATA_SIZE3),
        R(CNA_WEIGHT_SIZE0),
        R(CNA_WEIGHT_SIZE1),
        R(CNA_WEIGHT_SIZE2),
        R(CNA_CBUF_CON0),
        R(CNA_CBUF_CON1),
        R(CNA_CVT_CON0),
        R(CNA_CVT_CON1),
        R(CNA_CVT_CON2),
        R(CNA_CVT_CON3),
        R(CNA_CVT_CON4),
        R(CNA_FC_CON0),
        R(CNA_FC_CON1),
        R(CNA_PAD_CON0),
        R(CNA_FEATURE_DATA_ADDR),
        R(CNA_FC_CON2),
        R(CNA_DMA_CON0),
        R(CNA_DMA_CON1),
        R(CNA_DMA_CON2),
        R(CNA_FC_DATA_SIZE0),
        R(CNA_FC_DATA_SIZE1),
        R(CNA_DCOMP_CTRL),
        R(CNA_DCOMP_REGNUM),
        R(CNA_DCOMP_ADDR0),
        {CNA_DCOMP_AMOUNT(0), "CNA_DCOMP_AMOUNT0"},
        {CNA_DCOMP_AMOUNT(1), "CNA_DCOMP_AMOUNT1"},
        {CNA_DCOMP_AMOUNT(2), "CNA_DCOMP_AMOUNT2"},
        {CNA_DCOMP_AMOUNT(3), "CNA_DCOMP_AMOUNT3"},
        {CNA_DCOMP_AMOUNT(4), "CNA_DCOMP_AMOUNT4"},
        {CNA_DCOMP_AMOUNT(5), "CNA_DCOMP_AMOUNT5"},
        {CNA_DCOMP_AMOUNT(6), "CNA_DCOMP_AMOUNT6"},
        {CNA_DCOMP_AMOUNT(7), "CNA_DCOMP_AMOUNT7"},
        {CNA_DCOMP_AMOUNT(8), "CNA_DCOMP_AMOUNT8"},
        {CNA_DCOMP_AMOUNT(9), "CNA_DCOMP_AMOUNT9"},
        {CNA_DCOMP_AMOUNT(10), "CNA_DCOMP_AMOUNT10"},
        {CNA_DCOMP_AMOUNT(11), "CNA_DCOMP_AMOUNT11"},
        {CNA_DCOMP_AMOUNT(12), "CNA_DCOMP_AMOUNT12"},
        {CNA_DCOMP_AMOUNT(13), "CNA_DCOMP_AMOUNT13"},
        {CNA_DCOMP_AMOUNT(14), "CNA_DCOMP_AMOUNT14"},
        {CNA_DCOMP_AMOUNT(15), "CNA_DCOMP_AMOUNT15"},
        R(CNA_CVT_CON5),
        R(CNA_PAD_CON1),

        R(CORE_MISC_CFG),
        R(CORE_DATAOUT_SIZE_0),
        R(CORE_DATAOUT_SIZE_1),
        R(CORE_CLIP_TRUNCATE),
        R(CORE_RESERVED_3030),

        R(DPU_S_POINTER),
        R(DPU_FEATURE_MODE_CFG),
        R(DPU_DATA_FORMAT),
        R(DPU_OFFSET_PEND),
        R(DPU_DST_BASE_ADDR),
        R(DPU_DST_SURF_STRIDE),
        R(DPU_DATA_CUBE_WIDTH),
        R(DPU_DATA_CUBE_HEIGHT),
        R(DPU_DATA_CUBE_NOTCH_ADDR),
        R(DPU_DATA_CUBE_CHANNEL),
        R(DPU_BS_CFG),
        R(DPU_BS_ALU_CFG),
        R(DPU_BS_MUL_CFG),
        R(DPU_BS_RELUX_CMP_VALUE),
        R(DPU_BS_OW_CFG),
        R(DPU_BS_OW_OP),
        R(DPU_WDMA_SIZE_0),
        R(DPU_WDMA_SIZE_1),
        R(DPU_BN_CFG),
        R(DPU_BN_ALU_CFG),
        R(DPU_BN_MUL_CFG),
        R(DPU_BN_RELUX_CMP_VALUE),
        R(DPU_EW_CFG),
        R(DPU_EW_CVT_OFFSET_VALUE),
        R(DPU_EW_CVT_SCALE_VALUE),
        R(DPU_EW_RELUX_CMP_VALUE),
        R(DPU_OUT_CVT_OFFSET),
        R(DPU_OUT_CVT_SCALE),
        R(DPU_OUT_CVT_SHIFT),
        {DPU_EW_OP_VALUE(0), "DPU_EW_OP_VALUE_0"},
        {DPU_EW_OP_VALUE(1), "DPU_EW_OP_VALUE_1"},
        {DPU_EW_OP_VALUE(2), "DPU_EW_OP_VALUE_2"},
        {DPU_EW_OP_VALUE(3), "DPU_EW_OP_VALUE_3"},
        {DPU_EW_OP_VALUE(4), "DPU_EW_OP_VALUE_4"},
        {DPU_EW_OP_VALUE(5), "DPU_EW_OP_VALUE_5"},
        {DPU_EW_OP_VALUE(6), "DPU_EW_OP_VALUE_6"},
        {DPU_EW_OP_VALUE(7), "DPU_EW_OP_VALUE_7"},
        R(DPU_SURFACE_ADD),
        R(DPU_RESERVED_40C4),
        R(DPU_LUT_ACCESS_CFG),
        R(DPU_LUT_ACCESS_DATA),
        R(DPU_LUT_CFG),
        R(DPU_LUT_INFO),
        R(DPU_LUT_LE_START),
        R(DPU_LUT_LE_END),
        R(DPU_LUT_LO_START),
        R(DPU_LUT_LO_END),
        R(DPU_LUT_LE_SLOPE_SCALE),
        R(DPU_LUT_LE_SLOPE_SHIFT),
        R(DPU_LUT_LO_SLOPE_SCALE),
        R(DPU_LUT_LO_SLOPE_SHIFT),

        R(DPU_RDMA_S_POINTER),
        R(DPU_RDMA_DATA_CUBE_WIDTH),
        R(DPU_RDMA_DATA_CUBE_HEIGHT),
        R(DPU_RDMA_DATA_CUBE_CHANNEL),
        R(DPU_RDMA_SRC_BASE_ADDR),
        R(DPU_RDMA_BRDMA_CFG),
        R(DPU_RDMA_BS_BASE_ADDR),
        R(DPU_RDMA_NRDMA_CFG),
        R(DPU_RDMA_BN_BASE_ADDR),
        R(DPU_RDMA_ERDMA_CFG),
        R(DPU_RDMA_EW_BASE_ADDR),
        R(DPU_RDMA_EW_SURF_STRIDE),
        R(DPU_RDMA_FEATURE_MODE_CFG),
        R(DPU_RDMA_SRC_DMA_CFG),
        R(DPU_RDMA_SURF_NOTCH),
        R(DPU_RDMA_PAD_CFG),
        R(DPU_RDMA_WEIGHT),
        R(DPU_RDMA_EW_SURF_NOTCH),
};
#undef R
static const unsigned npu_reg_table_len = sizeof(npu_reg_table) / sizeof(npu_reg_table[0]);

const char *npu_reg_name(uint16_t off)
{
    for (unsigned i = 0; i < npu_reg_table_len; i++)
        if (npu_reg_table[i].off == off) return npu_reg_table[i].name;
    return NULL;
}

uint16_t npu_block_target(enum npu_block blk)
{
    switch (blk) {
    case NPU_BLK_PC:
        return NPU_TGT_PC;
    case NPU_BLK_CNA:
        return NPU_TGT_CNA;
    case NPU_BLK_CORE:
        return NPU_TGT_CORE;
    case NPU_BLK_DPU:
        return NPU_TGT_DPU;
    case NPU_BLK_DPU_RDMA:
        return NPU_TGT_DPU_RDMA;
    case NPU_BLK_PPU:
        return NPU_TGT_PPU;
    case NPU_BLK_PPU_RDMA:
        return NPU_TGT_PPU_RDMA;
    }
    return 0;
}

const char *npu_block_name(enum npu_block blk)
{
    static const char *const names[16] = {
            [NPU_BLK_PC] = "PC",
            [NPU_BLK_CNA] = "CNA",
            [NPU_BLK_CORE] = "CORE",
            [NPU_BLK_DPU] = "DPU",
            [NPU_BLK_DPU_RDMA] = "DPU_RDMA",
            [NPU_BLK_PPU] = "PPU",
            [NPU_BLK_PPU_RDMA] = "PPU_RDMA",
            [0x8] = "DDMA",
            [0x9] = "SDMA",
            [0xf] = "GLOBAL",
    };
    const char *n = (unsigned)blk < 16 ? names[blk] : NULL;
    return n ? n : "unknown block";
}
