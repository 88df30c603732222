/* SPDX-License-Identifier: MIT */
/*
 * RK3588 NPU register table: every register the regcmd builder writes and the software NPU
 * reads, by block, offset and field.  One source of truth; neither the builder nor the sim
 * spells a register or field as bare hex.  Offsets and bit ranges: docs/hardware/registers.md §2
 * (Mesa registers.xml + TRM ch. 36), target codes: docs/hardware/regcmd.md §1.
 */
#ifndef RK_NPU_REGS_H
#define RK_NPU_REGS_H

#include <stdbool.h>
#include <stdint.h>

/* Regcmd targets (bits 63:48 of an entry).  Block id | 0x1 = "register write"; the meaning of
 * bit 48 is undocumented but every working stream sets it (docs/hardware/regcmd.md §1). */
#define NPU_TGT_NOP      0x0000u /* all-zero word: no-op ("no next task" in the tail) */
#define NPU_TGT_NOP1     0x0001u /* HM/AB no-op spelling (docs/hardware/regcmd.md §1) */
#define NPU_TGT_MARKER   0x0041u /* mandatory before op-enable (TRM, docs/hardware/regcmd.md §1) */
/* value = GLOBAL op-enable block mask (docs/hardware/regcmd.md §2, docs/hardware/registers.md §2.6) */
#define NPU_TGT_OP_EN    0x0081u
#define NPU_TGT_PC       0x0101u
#define NPU_TGT_CNA      0x0201u
#define NPU_TGT_CORE     0x0801u
#define NPU_TGT_DPU      0x1001u
#define NPU_TGT_DPU_RDMA 0x2001u
#define NPU_TGT_PPU      0x4001u
#define NPU_TGT_PPU_RDMA 0x8001u

/* Blocks by offset[15:12] (docs/hardware/registers.md §1.1). */
enum npu_block {
    NPU_BLK_PC = 0x0,
    NPU_BLK_CNA = 0x1,
    NPU_BLK_CORE = 0x3,
    NPU_BLK_DPU = 0x4,
    NPU_BLK_DPU_RDMA = 0x5,
    NPU_BLK_PPU = 0x6,
    NPU_BLK_PPU_RDMA = 0x7,
};

/* GLOBAL_OPERATION_ENABLE layout, also the op-enable entry's value (docs/hardware/registers.md §2.6,
 * docs/hardware/regcmd.md §2). */
#define NPU_EN_CNA      (1u << 0)
#define NPU_EN_CORE     (1u << 2)
#define NPU_EN_DPU      (1u << 3)
#define NPU_EN_DPU_RDMA (1u << 4)
#define NPU_EN_PPU      (1u << 5)
#define NPU_EN_PPU_RDMA (1u << 6)
#define NPU_EN_MATMUL   (NPU_EN_CNA | NPU_EN_CORE | NPU_EN_DPU) /* 0xD, BLOB/MTX/HM/AB */

/* A field is (shift, width) packed in one integer. */
#define NPU_FIELD(shift, width) ((uint32_t)(shift) | ((uint32_t)(width) << 8))

static inline uint32_t npu_fmask(uint32_t f)
{
    uint32_t w = f >> 8;
    return w >= 32 ? 0xffffffffu : (1u << w) - 1;
}
static inline uint32_t npu_get(uint32_t v, uint32_t f) { return (v >> (f & 0xff)) & npu_fmask(f); }
static inline uint32_t npu_set(uint32_t f, uint32_t x) { return (x & npu_fmask(f)) << (f & 0xff); }
static inline bool npu_fits(uint32_t f, uint64_t x) { return x <= npu_fmask(f); }

/* Register offsets inside a core (docs/hardware/registers.md §2.1–§2.5). */
enum npu_reg {
    /* PC (docs/hardware/registers.md §2.1): written by the kernel, and by the regcmd tail */
    PC_OPERATION_ENABLE = 0x0008,
    PC_BASE_ADDRESS = 0x0010,
    PC_REGISTER_AMOUNTS = 0x0014,

    /* CNA (docs/hardware/registers.md §2.2) */
    CNA_CONV_CON1 = 0x100c,
    CNA_CONV_CON2 = 0x1010,
    CNA_CONV_CON3 = 0x1014,
    CNA_DATA_SIZE0 = 0x1020,
    CNA_DATA_SIZE1 = 0x1024,
    CNA_DATA_SIZE2 = 0x1028,
    CNA_DATA_SIZE3 = 0x102c,
    CNA_WEIGHT_SIZE0 = 0x1030,
    CNA_WEIGHT_SIZE1 = 0x1034,
    CNA_WEIGHT_SIZE2 = 0x1038,
    CNA_CBUF_CON0 = 0x1040,
    CNA_CBUF_CON1 = 0x1044,
    CNA_CVT_CON0 = 0x104c,
    CNA_CVT_CON1 = 0x1050,
    CNA_CVT_CON2 = 0x1054,
    CNA_CVT_CON3 = 0x1058,
    CNA_CVT_CON4 = 0x105c,
    CNA_FC_CON0 = 0x1060,
    CNA_FC_CON1 = 0x1064,
    CNA_PAD_CON0 = 0x1068,
    CNA_FEATURE_DATA_ADDR = 0x1070,
    CNA_FC_CON2 = 0x1074,
    CNA_DMA_CON0 = 0x1078,
    CNA_DMA_CON1 = 0x107c,
    CNA_DMA_CON2 = 0x1080,
    CNA_FC_DATA_SIZE0 = 0x1084,
    CNA_FC_DATA_SIZE1 = 0x1088,
    CNA_DCOMP_CTRL = 0x1100,
    CNA_DCOMP_REGNUM = 0x1104,
    CNA_DCOMP_ADDR0 = 0x1110,   /* weight (B) base, used even uncompressed (docs/hardware/registers.md §2.2) */
    CNA_DCOMP_AMOUNT0 = 0x1140, /* ..AMOUNT15 at +4·i */
    CNA_CVT_CON5 = 0x1180,
    CNA_PAD_CON1 = 0x1184,

    /* CORE (docs/hardware/registers.md §2.3) */
    CORE_MISC_CFG = 0x3010,
    CORE_DATAOUT_SIZE_0 = 0x3014,
    CORE_DATAOUT_SIZE_1 = 0x3018,
    CORE_CLIP_TRUNCATE = 0x301c,
    CORE_RESERVED_3030 = 0x3030, /* undocumented, everyone writes 0 (docs/hardware/registers.md §2.3, §3.3) */

    /* DPU (docs/hardware/registers.md §2.4) */
    DPU_S_POINTER = 0x4004,
    DPU_FEATURE_MODE_CFG = 0x400c,
    DPU_DATA_FORMAT = 0x4010,
    DPU_OFFSET_PEND = 0x4014,
    DPU_DST_BASE_ADDR = 0x4020,
    DPU_DST_SURF_STRIDE = 0x4024,
    DPU_DATA_CUBE_WIDTH = 0x4030,
    DPU_DATA_CUBE_HEIGHT = 0x4034,
    DPU_DATA_CUBE_NOTCH_ADDR = 0x4038,
    DPU_DATA_CUBE_CHANNEL = 0x403c,
    DPU_BS_CFG = 0x4040,
    DPU_BS_ALU_CFG = 0x4044,
    DPU_BS_MUL_CFG = 0x4048,
    DPU_BS_RELUX_CMP_VALUE = 0x404c,
    DPU_BS_OW_CFG = 0x4050,
    DPU_BS_OW_OP = 0x4054,
    DPU_WDMA_SIZE_0 = 0x4058,
    DPU_WDMA_SIZE_1 = 0x405c,
    DPU_BN_CFG = 0x4060,
    DPU_BN_ALU_CFG = 0x4064,
    DPU_BN_MUL_CFG = 0x4068,
    DPU_BN_RELUX_CMP_VALUE = 0x406c,
    DPU_EW_CFG = 0x4070,
    DPU_EW_CVT_OFFSET_VALUE = 0x4074,
    DPU_EW_CVT_SCALE_VALUE = 0x4078,
    DPU_EW_RELUX_CMP_VALUE = 0x407c,
    DPU_OUT_CVT_OFFSET = 0x4080,
    DPU_OUT_CVT_SCALE = 0x4084,
    DPU_OUT_CVT_SHIFT = 0x4088,
    DPU_EW_OP_VALUE_0 = 0x4090, /* ..VALUE_7 at +4·i */
    DPU_SURFACE_ADD = 0x40c0,
    DPU_RESERVED_40C4 = 0x40c4, /* undocumented, everyone writes 0 (docs/hardware/registers.md §2.4, §3.3) */
    DPU_LUT_ACCESS_CFG = 0x4100,
    DPU_LUT_ACCESS_DATA = 0x4104,
    DPU_LUT_CFG = 0x4108,
    DPU_LUT_INFO = 0x410c,
    DPU_LUT_LE_START = 0x4110,
    DPU_LUT_LE_END = 0x4114,
    DPU_LUT_LO_START = 0x4118,
    DPU_LUT_LO_END = 0x411c,
    DPU_LUT_LE_SLOPE_SCALE = 0x4120,
    DPU_LUT_LE_SLOPE_SHIFT = 0x4124,
    DPU_LUT_LO_SLOPE_SCALE = 0x4128,
    DPU_LUT_LO_SLOPE_SHIFT = 0x412c,
};
#define CNA_DCOMP_AMOUNT(i) (CNA_DCOMP_AMOUNT0 + 4 * (i))
#define DPU_EW_OP_VALUE(i)  (DPU_EW_OP_VALUE_0 + 4 * (i))
#define NPU_DCOMP_AMOUNTS   16
#define NPU_EW_OP_VALUES    8

/* ---- fields (docs/hardware/registers.md §2) ---- */
#define PC_BASE_ADDRESS_PC_SEL          NPU_FIELD(0, 1) /* 1 = slave (AHB) mode */
#define PC_BASE_ADDRESS_SOURCE_ADDR     NPU_FIELD(4, 28)
#define PC_REGISTER_AMOUNTS_DATA_AMOUNT NPU_FIELD(0, 16) /* 128-bit units − 1 (docs/hardware/regcmd.md §4) */

#define CNA_CONV_CON1_CONV_MODE      NPU_FIELD(0, 4) /* 0 direct */
#define CNA_CONV_CON1_IN_PRECISION   NPU_FIELD(4, 3)
#define CNA_CONV_CON1_PROC_PRECISION NPU_FIELD(7, 3)
#define CNA_CONV_CON1_ARGB_IN        NPU_FIELD(12, 4)
#define CNA_CONV_CON1_DECONV         NPU_FIELD(16, 1)
#define CNA_CONV_CON1_GROUP_LINE_OFF NPU_FIELD(29, 1)
#define CNA_CONV_CON1_NONALIGN_DMA   NPU_FIELD(30, 1)

#define CNA_CONV_CON2_CMD_FIFO_SRST  NPU_FIELD(0, 1)
#define CNA_CONV_CON2_CSC_DO_EN      NPU_FIELD(1, 1)
#define CNA_CONV_CON2_CSC_WO_EN      NPU_FIELD(2, 1)
#define CNA_CONV_CON2_FEATURE_GRAINS NPU_FIELD(4, 10)
#define CNA_CONV_CON2_KERNEL_GROUP   NPU_FIELD(16, 8)

#define CNA_CONV_CON3_CONV_X_STRIDE NPU_FIELD(0, 3)
#define CNA_CONV_CON3_CONV_Y_STRIDE NPU_FIELD(3, 3)

#define CNA_DATA_SIZE0_DATAIN_HEIGHT       NPU_FIELD(0, 11)
#define CNA_DATA_SIZE0_DATAIN_WIDTH        NPU_FIELD(16, 11)
#define CNA_DATA_SIZE1_DATAIN_CHANNEL      NPU_FIELD(0, 16)
#define CNA_DATA_SIZE1_DATAIN_CHANNEL_REAL NPU_FIELD(16, 14) /* −1 */
#define CNA_DATA_SIZE2_DATAOUT_WIDTH       NPU_FIELD(0, 11)
#define CNA_DATA_SIZE3_DATAOUT_ATOMICS     NPU_FIELD(0, 22)
#define CNA_DATA_SIZE3_SURF_MODE           NPU_FIELD(22, 2)

#define CNA_WEIGHT_SIZE0_WEIGHT_BYTES     NPU_FIELD(0, 32)
#define CNA_WEIGHT_SIZE1_BYTES_PER_KERNEL NPU_FIELD(0, 19)
#define CNA_WEIGHT_SIZE2_WEIGHT_KERNELS   NPU_FIELD(0, 14)
#define CNA_WEIGHT_SIZE2_WEIGHT_HEIGHT    NPU_FIELD(16, 5)
#define CNA_WEIGHT_SIZE2_WEIGHT_WIDTH     NPU_FIELD(24, 5)

#define CNA_CBUF_CON0_DATA_BANK    NPU_FIELD(0, 4)
#define CNA_CBUF_CON0_WEIGHT_BANK  NPU_FIELD(4, 4)
#define CNA_CBUF_CON0_FC_DATA_BANK NPU_FIELD(8, 3)
#define CNA_CBUF_CON0_DATA_REUSE   NPU_FIELD(12, 1)
#define CNA_CBUF_CON0_WEIGHT_REUSE NPU_FIELD(13, 1)
#define CNA_CBUF_CON1_DATA_ENTRIES NPU_FIELD(0, 14)

#define CNA_CVT_CON0_CVT_BYPASS NPU_FIELD(0, 1)
#define CNA_CVT_CON0_CVT_TYPE   NPU_FIELD(1, 1)
#define CNA_CVT_CON0_DATA_SIGN  NPU_FIELD(3, 1)
#define CNA_CVT_CONn_SCALE      NPU_FIELD(16, 16) /* CVT_CON1..4 */

#define CNA_DMA_CON0_DATA_BURST_LEN   NPU_FIELD(0, 4)
#define CNA_DMA_CON0_WEIGHT_BURST_LEN NPU_FIELD(16, 4)
#define CNA_DMA_CON1_LINE_STRIDE      NPU_FIELD(0, 28)
#define CNA_DMA_CON2_SURF_STRIDE      NPU_FIELD(0, 28) /* 28-bit two's complement (docs/hardware/layouts.md §2.1) */
#define CNA_FC_DATA_SIZE0_DMA_HEIGHT  NPU_FIELD(0, 11)
#define CNA_FC_DATA_SIZE0_DMA_WIDTH   NPU_FIELD(16, 14)
#define CNA_FC_DATA_SIZE1_DMA_CHANNEL NPU_FIELD(0, 16)

#define CORE_MISC_CFG_QD_EN          NPU_FIELD(0, 1)
#define CORE_MISC_CFG_DW_EN          NPU_FIELD(1, 1)
#define CORE_MISC_CFG_PROC_PRECISION NPU_FIELD(8, 3)
#define CORE_DATAOUT_SIZE_0_WIDTH    NPU_FIELD(0, 16)  /* −1 */
#define CORE_DATAOUT_SIZE_0_HEIGHT   NPU_FIELD(16, 16) /* −1 */
#define CORE_DATAOUT_SIZE_1_CHANNEL  NPU_FIELD(0, 16)  /* −1 */

#define DPU_S_POINTER_PP_EN          NPU_FIELD(1, 1)
#define DPU_S_POINTER_EXECUTER_PP_EN NPU_FIELD(2, 1)
#define DPU_S_POINTER_PP_MODE        NPU_FIELD(3, 1)
/* the three bits above, re-armed by every task (docs/hardware/registers.md §3.4) */
#define DPU_S_POINTER_REARM          0xeu

#define DPU_FEATURE_MODE_CFG_FLYING_MODE NPU_FIELD(0, 1)
#define DPU_FEATURE_MODE_CFG_OUTPUT_MODE NPU_FIELD(1, 2)
#define DPU_FEATURE_MODE_CFG_CONV_MODE   NPU_FIELD(3, 2)
#define DPU_FEATURE_MODE_CFG_BURST_LEN   NPU_FIELD(5, 4)
#define DPU_OUTPUT_MODE_MEMORY           2 /* OUTPUT_MODE value: to memory (docs/hardware/registers.md §2.4) */

#define DPU_DATA_FORMAT_PROC_PRECISION NPU_FIELD(0, 3)
#define DPU_DATA_FORMAT_IN_PRECISION   NPU_FIELD(26, 3)
#define DPU_DATA_FORMAT_OUT_PRECISION  NPU_FIELD(29, 3)

#define DPU_DST_SURF_STRIDE_STRIDE    NPU_FIELD(4, 28) /* value is bytes (docs/hardware/registers.md §2.4) */
#define DPU_DATA_CUBE_WIDTH_WIDTH     NPU_FIELD(0, 13) /* −1 */
#define DPU_DATA_CUBE_HEIGHT_HEIGHT   NPU_FIELD(0, 13) /* −1 */
#define DPU_DATA_CUBE_NOTCH_ADDR_0    NPU_FIELD(0, 13)
#define DPU_DATA_CUBE_NOTCH_ADDR_1    NPU_FIELD(16, 13)
#define DPU_DATA_CUBE_CHANNEL_CHANNEL NPU_FIELD(0, 13)  /* −1 */
#define DPU_DATA_CUBE_CHANNEL_ORIG    NPU_FIELD(16, 13) /* −1 */

#define DPU_BS_CFG_BS_BYPASS      NPU_FIELD(0, 1)
#define DPU_BS_CFG_BS_ALU_BYPASS  NPU_FIELD(1, 1)
#define DPU_BS_CFG_BS_MUL_BYPASS  NPU_FIELD(4, 1)
#define DPU_BS_CFG_BS_RELU_BYPASS NPU_FIELD(6, 1)
#define DPU_BS_CFG_ALL_BYPASS     0x53u /* the four bypass bits above (docs/hardware/regcmd.md §8.3 #67) */

#define DPU_BS_OW_CFG_OW_SRC    NPU_FIELD(0, 1)
#define DPU_BS_OW_CFG_OD_BYPASS NPU_FIELD(1, 1)
#define DPU_BS_OW_CFG_SIZE_E_0  NPU_FIELD(2, 3)
#define DPU_BS_OW_CFG_SIZE_E_1  NPU_FIELD(5, 3)
#define DPU_BS_OW_CFG_SIZE_E_2  NPU_FIELD(8, 3)

#define DPU_WDMA_SIZE_0_CHANNEL NPU_FIELD(0, 13)  /* −1 */
#define DPU_WDMA_SIZE_1_WIDTH   NPU_FIELD(0, 13)  /* −1 */
#define DPU_WDMA_SIZE_1_HEIGHT  NPU_FIELD(16, 13) /* −1 */

#define DPU_EW_CFG_EW_BYPASS        NPU_FIELD(0, 1)
#define DPU_EW_CFG_EW_OP_BYPASS     NPU_FIELD(1, 1)
#define DPU_EW_CFG_EW_LUT_BYPASS    NPU_FIELD(7, 1)
#define DPU_EW_CFG_EW_OP_CVT_BYPASS NPU_FIELD(8, 1)
#define DPU_EW_CFG_EW_RELU_BYPASS   NPU_FIELD(9, 1)
#define DPU_EW_CFG_ALL_BYPASS       0x383u /* the five bypass bits above (docs/hardware/regcmd.md §8.3 #79) */

#define DPU_OUT_CVT_SCALE_SCALE         NPU_FIELD(0, 16)
#define DPU_OUT_CVT_SCALE_FP32TOFP16_EN NPU_FIELD(16, 1)
#define DPU_SURFACE_ADD_SURF_ADD        NPU_FIELD(4, 28) /* value is bytes (docs/hardware/registers.md §2.4) */

/* 3-bit precision codes shared by CNA/CORE/DPU (docs/hardware/registers.md §1.4). */
enum npu_precision {
    NPU_PREC_INT8 = 0,
    NPU_PREC_INT16 = 1,
    NPU_PREC_FP16 = 2,
    NPU_PREC_BF16 = 3,
    NPU_PREC_INT32 = 4,
    NPU_PREC_FP32 = 5,
    NPU_PREC_INT4 = 6,
    NPU_PREC_TF32 = 7,
};

/* Every task's stream ends with a 4-entry tail (docs/hardware/regcmd.md §2): next PC_BASE_ADDRESS (or a zero
 * word), next PC_REGISTER_AMOUNTS, the NPU_TGT_MARKER entry, the NPU_TGT_OP_EN entry. rocket's regcmd_count
 * includes it (docs/hardware/rocket-uapi.md §4.2). */
#define NPU_REGCMD_TAIL_ENTRIES 4

/* Entry encoding (docs/hardware/regcmd.md §1): target<<48 | value<<16 | offset. */
static inline uint64_t npu_entry(uint16_t target, uint16_t off, uint32_t value)
{
    return (uint64_t)target << 48 | (uint64_t)value << 16 | off;
}
static inline uint16_t npu_entry_target(uint64_t e) { return (uint16_t)(e >> 48); }
static inline uint32_t npu_entry_value(uint64_t e) { return (uint32_t)(e >> 16); }
static inline uint16_t npu_entry_reg(uint64_t e) { return (uint16_t)e; }

static inline enum npu_block npu_block_of(uint16_t off) { return (enum npu_block)(off >> 12); }

/* Register-write target for a block, 0 if the block has none (docs/hardware/registers.md §1.1). */
uint16_t npu_block_target(enum npu_block blk);
const char *npu_block_name(enum npu_block blk);

/* The name of a register in the table above, NULL for registers not in it. */
const char *npu_reg_name(uint16_t off);

#endif
