// SPDX-License-Identifier: MIT
/*
 * DPU_RDMA: the DPU's second reader, in the one configuration the peer recipe uses
 * (docs/hardware/regcmd.md §9): BRDMA reads one int32 per output channel from RDMA_BS_BASE_ADDR as the BS ALU operand (a bias); the
 * element-wise (ERDMA), feature (MRDMA) and BN (NRDMA) readers are off. Every other value is -ENOTSUP.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "npusim_internal.h"

/* The arbiter weights Mesa writes, one per DMA client (docs/hardware/registers.md §2.5). */
#define RDMA_WEIGHT_MESA 1u
/* The bias is one int32 per channel (docs/hardware/layouts.md §6). */
#define BIAS_BYTES       4u

int rdma_decode(struct sim_task *t)
{
    const char *off = "the peer recipe leaves this DPU_RDMA reader off (docs/hardware/regcmd.md §9)";

    /* Like the DPU's, the RDMA ping-pong pointer is re-armed in every task (AB-PC; docs/hardware/registers.md §3.4). */
    reg_expect(t, DPU_RDMA_S_POINTER, DPU_S_POINTER_REARM, -EINVAL,
               "DPU_RDMA_S_POINTER must be re-armed (0xe) in every task (docs/hardware/registers.md §3.4)");
    reg_expect(t, DPU_RDMA_DATA_CUBE_WIDTH, npu_set(DPU_RDMA_DATA_CUBE_WIDTH_WIDTH, t->cube_w - 1), -EINVAL,
               "the DPU_RDMA cube must be the DPU's (docs/hardware/registers.md §2.5)");
    reg_expect(t, DPU_RDMA_DATA_CUBE_HEIGHT, npu_set(DPU_RDMA_DATA_CUBE_HEIGHT_HEIGHT, t->cube_h - 1), -EINVAL,
               "the DPU_RDMA cube must be the DPU's, EW_LINE_NOTCH_ADDR 0 (docs/hardware/registers.md §2.5)");
    reg_expect(t, DPU_RDMA_DATA_CUBE_CHANNEL, npu_set(DPU_RDMA_DATA_CUBE_CHANNEL_CHANNEL, t->cube_c - 1), -EINVAL,
               "the DPU_RDMA cube must be the DPU's (docs/hardware/registers.md §2.5)");
    reg_expect(t, DPU_RDMA_BRDMA_CFG, npu_set(DPU_RDMA_BRDMA_CFG_DATA_USE, DPU_RDMA_DATA_USE_ALU), -ENOTSUP,
               "the peer recipe's per-channel operand feeds the BS ALU only (BRDMA_DATA_USE = 1; "
               "docs/hardware/registers.md §2.5)");
    t->bias_addr = reg_rd(t, DPU_RDMA_BS_BASE_ADDR);
    reg_expect(t, DPU_RDMA_SRC_BASE_ADDR, 0, -ENOTSUP, off);
    reg_expect(t, DPU_RDMA_NRDMA_CFG, 0, -ENOTSUP, off);
    reg_expect(t, DPU_RDMA_BN_BASE_ADDR, 0, -ENOTSUP, off);
    reg_expect(t, DPU_RDMA_ERDMA_CFG, npu_set(DPU_RDMA_ERDMA_CFG_DISABLE, 1), -ENOTSUP, off);
    reg_expect(t, DPU_RDMA_EW_BASE_ADDR, 0, -ENOTSUP, off);
    reg_expect(t, DPU_RDMA_EW_SURF_STRIDE, 0, -ENOTSUP, off);
    uint32_t mode = reg_rd(t, DPU_RDMA_FEATURE_MODE_CFG);
    reg_expect(t, DPU_RDMA_FEATURE_MODE_CFG,
               npu_set(DPU_RDMA_FEATURE_MODE_CFG_BURST_LEN, npu_get(mode, DPU_RDMA_FEATURE_MODE_CFG_BURST_LEN)) |
                       npu_set(DPU_RDMA_FEATURE_MODE_CFG_MRDMA_DISABLE, 1),
               -ENOTSUP,
               "the peer recipe disables MRDMA and sets the burst length only in RDMA_FEATURE_MODE_CFG "
               "(docs/hardware/registers.md §2.5)");
    reg_expect(t, DPU_RDMA_SRC_DMA_CFG, 0, -ENOTSUP, off);
    reg_expect(t, DPU_RDMA_SURF_NOTCH, 0, -ENOTSUP, off);
    reg_expect(t, DPU_RDMA_PAD_CFG, 0, -ENOTSUP, off);
    reg_expect(t, DPU_RDMA_EW_SURF_NOTCH, 0, -ENOTSUP, off);
    reg_expect(t, DPU_RDMA_WEIGHT,
               npu_set(DPU_RDMA_WEIGHT_E, RDMA_WEIGHT_MESA) | npu_set(DPU_RDMA_WEIGHT_N, RDMA_WEIGHT_MESA) |
                       npu_set(DPU_RDMA_WEIGHT_B, RDMA_WEIGHT_MESA) | npu_set(DPU_RDMA_WEIGHT_M, RDMA_WEIGHT_MESA),
               -ENOTSUP, "the peer recipe's arbiter weights are 1 each, 0x01010101 (docs/hardware/registers.md §2.5)");
    if (t->rc) return t->rc;
    if (t->bias_addr % NPU_ADDR_ALIGN)
        return sim_fail(t, -EINVAL,
                        "DPU_RDMA_BS_BASE_ADDR (bias) 0x%08x is not 16-byte aligned "
                        "(docs/hardware/layouts.md §5)",
                        t->bias_addr);
    return 0;
}

/* One int32 per DPU channel, padded ones included: what the reader covers when ORIG_CHANNEL < CHANNEL is
 * unknown, so the buffer must hold them all (an IOMMU fault otherwise, as on silicon). */
int rdma_fetch(struct sim_task *t)
{
    uint64_t bytes = (uint64_t)t->cube_c * BIAS_BYTES;
    const uint8_t *src = sim_map(t, t->bias_addr, bytes, "DPU_RDMA bias read");
    if (!src) return t->rc;
    t->bias = malloc(bytes);
    if (!t->bias) return sim_fail(t, -ENOMEM, "out of memory for the bias");
    memcpy(t->bias, src, bytes); /* little-endian host, as the NPU */
    t->st.bytes_in += bytes;
    return 0;
}
