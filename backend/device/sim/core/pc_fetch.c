// SPDX-License-Identifier: MIT
/*
 * PC: DMA-fetch a task's regcmd entries and forward each register write to its block's register
 * file, until the op-enable entry starts the task (docs/hardware/regcmd.md §1–§4, docs/hardware/registers.md §4).
 */
#include <errno.h>
#include <string.h>

#include "npusim_internal.h"

static bool modelled_block(enum npu_block b) { return b == NPU_BLK_CNA || b == NPU_BLK_CORE || b == NPU_BLK_DPU; }

static void tail_write(struct sim_task *t, uint32_t i, uint16_t reg, uint32_t val, struct pc_tail *tail)
{
    if (reg == PC_BASE_ADDRESS) {
        /* PC_SEL=1 would switch the PC to AHB slave mode; the address field is [31:4]
         * (docs/hardware/registers.md §2.1). */
        if (npu_get(val, PC_BASE_ADDRESS_PC_SEL) || val % NPU_ADDR_ALIGN)
            sim_fail(t, -EINVAL,
                     "regcmd 0x%08x entry %u: next PC_BASE_ADDRESS 0x%08x is not a 16-byte aligned PC-mode address "
                     "(docs/hardware/registers.md §2.1, docs/hardware/regcmd.md §5)",
                     t->regcmd_addr, i, val);
        tail->next_addr = val;
        tail->has_next = val != 0;
    } else if (reg == PC_REGISTER_AMOUNTS) {
        if (!npu_fits(PC_REGISTER_AMOUNTS_DATA_AMOUNT, val))
            sim_fail(t, -EINVAL,
                     "regcmd 0x%08x entry %u: PC_REGISTER_AMOUNTS 0x%x exceeds 16 bits "
                     "(docs/hardware/registers.md §2.1)",
                     t->regcmd_addr, i, val);
        tail->next_amount = val;
    } else {
        sim_fail(t, -ENOTSUP,
                 "regcmd 0x%08x entry %u: PC register 0x%04x in a regcmd is not covered (only the tail's "
                 "PC_BASE_ADDRESS/PC_REGISTER_AMOUNTS, docs/hardware/regcmd.md §2)",
                 t->regcmd_addr, i, reg);
    }
}

int pc_fetch(struct sim_task *t, uint32_t addr, uint32_t n_entries, struct pc_tail *tail)
{
    struct npusim_core *c = t->core;
    bool marker = false, started = false;

    memset(tail, 0, sizeof(*tail));
    t->regcmd_addr = addr;
    if (addr % NPU_ADDR_ALIGN)
        return sim_fail(
                t, -EINVAL,
                "regcmd address 0x%08x is not 16-byte aligned (PC_SOURCE_ADDR [31:4], docs/hardware/regcmd.md §5)",
                addr);
    const uint8_t *p = sim_map(t, addr, (uint64_t)n_entries * 8, "PC regcmd fetch");
    if (!p) return t->rc;
    t->st.regcmd_entries += n_entries;

    /* A new task: register writes are stamped with its epoch, so strict mode can tell what this
	 * task wrote from what an earlier task left behind. */
    if (++c->epoch == 0) {
        memset(c->written, 0, sizeof(c->written));
        c->epoch = 1;
    }

    for (uint32_t i = 0; i < n_entries && !t->rc; i++) {
        uint64_t e;
        memcpy(&e, p + 8 * (size_t)i, 8); /* little-endian host, as the NPU */
        uint16_t tgt = npu_entry_target(e), reg = npu_entry_reg(e);
        uint32_t val = npu_entry_value(e);

        if (e == 0 || tgt == NPU_TGT_NOP1) continue; /* no-op words (docs/hardware/regcmd.md §1) */
        if (started)
            return sim_fail(t, -EINVAL,
                            "regcmd 0x%08x entry %u (%016llx) follows op-enable inside the fetch window: what the PC "
                            "does with it is UNVERIFIED (docs/hardware/regcmd.md §3, §5)",
                            addr, i, (unsigned long long)e);
        if (tgt == NPU_TGT_MARKER) {
            marker = true;
            continue;
        }
        if (tgt == NPU_TGT_OP_EN) {
            if (reg != PC_OPERATION_ENABLE)
                return sim_fail(t, -EINVAL,
                                "regcmd 0x%08x entry %u: op-enable entry names register 0x%04x, not 0x%04x "
                                "(docs/hardware/regcmd.md §2)",
                                addr, i, reg, PC_OPERATION_ENABLE);
            if (!marker)
                return sim_fail(t, -EINVAL,
                                "regcmd 0x%08x entry %u: op-enable without the 0x%04x marker before it; the TRM "
                                "requires it, behaviour without it is UNVERIFIED (docs/hardware/regcmd.md §1)",
                                addr, i, NPU_TGT_MARKER);
            if (val != NPU_EN_MATMUL)
                return sim_fail(
                        t, -ENOTSUP,
                        "regcmd 0x%08x entry %u: op-enable mask 0x%x; the model covers CNA|CORE|DPU = 0x%x only "
                        "(docs/hardware/regcmd.md §2)",
                        addr, i, val, NPU_EN_MATMUL);
            started = true;
            continue;
        }
        if (tgt == NPU_TGT_PC && npu_block_of(reg) == NPU_BLK_PC) {
            tail_write(t, i, reg, val, tail);
            continue;
        }

        enum npu_block blk = npu_block_of(reg);
        uint16_t want = npu_block_target(blk);
        if (tgt != want)
            return sim_fail(t, -EINVAL,
                            "regcmd 0x%08x entry %u: target 0x%04x does not match register 0x%04x in block %s (target "
                            "0x%04x; docs/hardware/regcmd.md §1)",
                            addr, i, tgt, reg, npu_block_name(blk), want);
        if (!modelled_block(blk))
            return sim_fail(t, -ENOTSUP,
                            "regcmd 0x%08x entry %u: %s register 0x%04x: the %s block is not covered by the model "
                            "(docs/hardware/registers.md §4.1)",
                            addr, i, npu_block_name(blk), reg, npu_block_name(blk));
        if (reg % 4 || !npu_reg_name(reg))
            return sim_fail(t, -ENOTSUP,
                            "regcmd 0x%08x entry %u: register 0x%04x is not in the register table, so not covered by "
                            "the model (docs/hardware/registers.md §2)",
                            addr, i, reg);
        c->regs[reg / 4] = val;
        c->written[reg / 4] = c->epoch;
    }
    if (t->rc) return t->rc;
    if (!started)
        return sim_fail(
                t, -ETIMEDOUT,
                "no op-enable in the %u entries fetched from 0x%08x: the NPU would never start and the job would time "
                "out (regcmd_count must include the 4-entry tail; docs/hardware/rocket-uapi.md §4.2, "
                "docs/hardware/regcmd.md §4)",
                n_entries, addr);
    return 0;
}
