// SPDX-License-Identifier: MIT
/*
 * The CBUF's weight banks across tasks, for CNA_CBUF_CON0.WEIGHT_REUSE (docs/hardware/limits.md §6.3): a task
 * that fetched its weights leaves them in the banks when they all fit; a later task of the same job on the
 * same core may then compute with them instead of fetching again. Reuse is only valid when the banks hold
 * exactly that task's weights, loaded with the same bank split, the rule Mesa and MF-rocket follow (task 0
 * of a job loads, tasks 1..k reuse, only when the weights fit). Anything else is silicon computing with
 * the wrong weights, so an error naming why.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "npusim_internal.h"

#define GARBAGE "silicon would produce garbage here"

void cbuf_forget(struct npusim_core *core, const char *why)
{
    core->cbuf.resident = false;
    core->cbuf.why_not = why;
}

void cbuf_keep(struct sim_task *t, const uint8_t *weights)
{
    struct cbuf_weights *cb = &t->core->cbuf;
    uint64_t room = (uint64_t)t->weight_banks * NPU_CBUF_BANK_BYTES;
    if (t->weight_bytes > room) {
        cbuf_forget(t->core, "the last task's weights did not fit its weight banks: they streamed through them, "
                             "so the banks hold only their tail");
        return;
    }
    if (cb->cap < t->weight_bytes) {
        uint8_t *p = realloc(cb->data, t->weight_bytes);
        if (!p) {
            cbuf_forget(t->core, "the model ran out of memory keeping the weights");
            return;
        }
        cb->data = p;
        cb->cap = t->weight_bytes;
    }
    memcpy(cb->data, weights, t->weight_bytes);
    cb->resident = true;
    cb->why_not = NULL;
    cb->addr = t->weight_addr;
    cb->bytes = t->weight_bytes;
    cb->bytes_per_kernel = t->weight_bytes_per_kernel;
    cb->kernels = t->nk;
    cb->prec = t->prec;
    cb->data_banks = t->data_banks;
    cb->weight_banks = t->weight_banks;
}

int cbuf_reuse_check(struct sim_task *t)
{
    const struct cbuf_weights *cb = &t->core->cbuf;
    const char *cite = "docs/hardware/limits.md §6.3";
    if (!t->weight_reuse) return 0;
    if (!cb->resident)
        return sim_fail(t, -EINVAL,
                        "%s: task at 0x%08x sets WEIGHT_REUSE but core %d holds no weights to reuse: %s (%s)", GARBAGE,
                        t->regcmd_addr, t->core->index, cb->why_not ? cb->why_not : "no task of this job loaded any",
                        cite);
    if (cb->addr != t->weight_addr)
        return sim_fail(
                t, -EINVAL,
                "%s: task at 0x%08x reuses the weights at 0x%08x but the CBUF holds those loaded from 0x%08x (%s)",
                GARBAGE, t->regcmd_addr, t->weight_addr, cb->addr, cite);
    if (cb->prec != t->prec || cb->bytes != t->weight_bytes || cb->bytes_per_kernel != t->weight_bytes_per_kernel ||
        cb->kernels != t->nk)
        return sim_fail(
                t, -EINVAL,
                "%s: task at 0x%08x reuses %u kernels of %u bytes (%u bytes) but the CBUF holds %u kernels of %u "
                "bytes (%u bytes) of another weight set (%s)",
                GARBAGE, t->regcmd_addr, t->nk, t->weight_bytes_per_kernel, t->weight_bytes, cb->kernels,
                cb->bytes_per_kernel, cb->bytes, cite);
    if (cb->data_banks != t->data_banks || cb->weight_banks != t->weight_banks)
        return sim_fail(t, -EINVAL,
                        "%s: task at 0x%08x reuses weights with DATA_BANK=%u/WEIGHT_BANK=%u but they were loaded with "
                        "DATA_BANK=%u/WEIGHT_BANK=%u: another bank split puts them elsewhere (%s)",
                        GARBAGE, t->regcmd_addr, t->data_banks, t->weight_banks, cb->data_banks, cb->weight_banks,
                        cite);
    return 0;
}
