// SPDX-License-Identifier: MIT
/*
 * One software NPU core: its persistent register file, the kick (rocket: one task per kick;
 * vendor: a PC-chained list), and the pipeline PC -> CNA -> CORE -> DPU for each task.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "npusim_internal.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the NPU and this model read regcmd words and data little-endian"
#endif

int sim_fail(struct sim_task *t, int rc, const char *fmt, ...)
{
    va_list ap;
    if (t->rc) return t->rc;
    t->rc = rc;
    if (t->err && t->errlen) {
        va_start(ap, fmt);
        vsnprintf(t->err, t->errlen, fmt, ap);
        va_end(ap);
    }
    return rc;
}

uint32_t reg_rd(struct sim_task *t, uint16_t reg)
{
    struct npusim_core *c = t->core;
    unsigned i = reg / 4;
    if (t->rc) return 0;
    if (c->written[i] != c->epoch) {
        const char *name = npu_reg_name(reg);
        if (c->strict)
            return sim_fail(t, -EINVAL,
                            "strict: task at 0x%08x reads %s (0x%04x) which it did not write; registers persist and "
                            "ping-pong groups make a stale value unsafe (docs/hardware/registers.md §3.1, §3.2)",
                            t->regcmd_addr, name ? name : "?", reg),
                   0;
        if (!c->written[i])
            return sim_fail(t, -EINVAL,
                            "task at 0x%08x reads %s (0x%04x), never written on core %d: its reset value is unknown "
                            "(docs/hardware/registers.md §3.1)",
                            t->regcmd_addr, name ? name : "?", reg, c->index),
                   0;
        t->st.stale_reads++;
    }
    return c->regs[i];
}

uint32_t reg_expect(struct sim_task *t, uint16_t reg, uint32_t want, int rc, const char *why)
{
    uint32_t v = reg_rd(t, reg);
    if (!t->rc && v != want) {
        const char *name = npu_reg_name(reg);
        sim_fail(t, rc, "%s (0x%04x) = 0x%08x, model expects 0x%08x: %s", name ? name : "?", reg, v, want, why);
    }
    return v;
}

void *sim_map(struct sim_task *t, uint32_t iova, uint64_t len, const char *client)
{
    void *p = NULL;
    if (t->rc) return NULL;
    if (len && iova + len - 1 <= UINT32_MAX) p = t->mem->map(t->mem->ctx, iova, (size_t)len);
    if (!p)
        sim_fail(t, -EFAULT, "IOMMU fault: %s at 0x%08x (+%llu bytes) is not inside one mapped BO", client, iova,
                 (unsigned long long)len);
    return p;
}

struct npusim_core *npusim_core_create(int index)
{
    struct npusim_core *c = calloc(1, sizeof(*c));
    if (c) {
        c->index = index;
        c->strict = true;
    }
    return c;
}

void npusim_core_destroy(struct npusim_core *core)
{
    if (core) free(core->cbuf.data);
    free(core);
}
void npusim_core_set_strict(struct npusim_core *core, bool strict) { core->strict = strict; }
void npusim_core_set_peer_streams(struct npusim_core *core, bool on) { core->peer_streams = on; }

void npusim_core_begin_job(struct npusim_core *core)
{
    cbuf_forget(core, "weights left by an earlier job are not reused: the proven streams load them in the job's "
                      "first task");
}

void npusim_core_set_envelope(struct npusim_core *core, const struct npu_envelope *env)
{
    core->has_envelope = env != NULL;
    if (env) core->envelope = *env;
}

void npusim_core_set_flaws(struct npusim_core *core, const struct npusim_flaws *flaws)
{
    if (flaws)
        core->flaws = *flaws;
    else
        memset(&core->flaws, 0, sizeof core->flaws);
}

bool npusim_core_peek(const struct npusim_core *core, uint16_t reg, uint32_t *value)
{
    if (!core->written[reg / 4]) return false;
    *value = core->regs[reg / 4];
    return true;
}

/* One task: fetch, decode every block, check the envelope, then run the data path. */
static int run_one_task(struct sim_task *t, uint32_t addr, uint32_t n_entries, struct pc_tail *tail)
{
    if (pc_fetch(t, addr, n_entries, tail) || cna_decode(t) || core_decode(t) || dpu_decode(t)) return t->rc;
    if (t->peer && rdma_decode(t)) return t->rc;

    struct npu_task_geom g = {
            .recipe = t->peer ? NPU_RECIPE_PEER_INT8 : NPU_RECIPE_MATMUL,
            .in_prec = t->prec,
            .out_prec = t->out_prec,
            .w = t->w,
            .h = t->h,
            .kpad = t->kpad,
            .npad = t->nk,
            .data_banks = t->data_banks,
            .weight_banks = t->weight_banks,
            .feature_grains = t->grains,
            .notch = t->notch,
            .group_line_on = t->group_line_on,
            .weight_reuse = t->weight_reuse,
    };
    int rc = npu_limits_check(&g, t->err, t->errlen);
    if (rc) return t->rc = rc;
    if (t->core->has_envelope) {
        struct npu_task_features f = {
                .line_stride_atoms = t->line_stride, .chained = tail->has_next, .weight_reuse = t->weight_reuse};
        char why[200];
        if ((rc = npu_envelope_task_check(&t->core->envelope, &g, &f, why, sizeof why)))
            return sim_fail(t, rc, "task at 0x%08x is outside the active execution %s: the planner must not emit it",
                            t->regcmd_addr, why);
    }

    t->st.m = t->w * t->h;
    t->st.k = t->kpad;
    t->st.n = t->nk;
    t->st.in_precision = t->prec;
    t->st.out_precision = t->out_prec;
    if (cbuf_reuse_check(t) || flaws_chain(t, tail)) return t->rc;
    if (!cna_gather(t) && !core_mac(t)) {
        flaws_apply(t);
        if (!(t->peer && rdma_fetch(t))) dpu_write(t);
    }
    free(t->a);
    free(t->b);
    free(t->acc_i);
    free(t->acc_f);
    free(t->bias);
    t->a = t->b = NULL;
    t->acc_i = NULL;
    t->acc_f = NULL;
    t->bias = NULL;
    if (!t->rc) {
        t->st.tasks++;
        t->st.peer_tasks += t->peer;
    }
    return t->rc;
}

/* A task that fails leaves the CBUF in an unknown state: nothing after it may reuse weights. */
static int run_one(struct sim_task *t, uint32_t addr, uint32_t n_entries, struct pc_tail *tail)
{
    int rc = run_one_task(t, addr, n_entries, tail);
    if (rc) cbuf_forget(t->core, "the task before failed");
    return rc;
}

static void task_init(struct sim_task *t, struct npusim_core *core, const struct npusim_mem *mem, char *err,
                      size_t errlen)
{
    memset(t, 0, sizeof(*t));
    t->core = core;
    t->mem = mem;
    t->err = err;
    t->errlen = errlen;
    if (err && errlen) err[0] = 0;
}

/* Keep the accumulated counters across the per-task reset of the decode state. */
static void task_next(struct sim_task *t)
{
    struct npusim_task_stats st = t->st;
    task_init(t, t->core, t->mem, t->err, t->errlen);
    t->st = st;
}

int npusim_core_run_task(struct npusim_core *core, const struct npusim_mem *mem, uint32_t regcmd_iova,
                         uint32_t regcmd_count, struct npusim_task_stats *stats, char *err, size_t errlen)
{
    struct sim_task t;
    struct pc_tail tail;
    task_init(&t, core, mem, err, errlen);

    /* rocket: PC_REGISTER_AMOUNTS = (regcmd_count+1)/2 − 1, TASK_NUMBER = 1 (docs/hardware/rocket-uapi.md §4.2). */
    if (!regcmd_count)
        return sim_fail(
                &t, -EINVAL,
                "regcmd_count 0: rocket drops such a job without an error (docs/hardware/rocket-uapi.md §2.3, §4.3)");
    uint32_t amount = (regcmd_count + 1) / 2 - 1;
    if (amount > NPU_PC_AMOUNT_MAX)
        return sim_fail(&t, -EINVAL,
                        "regcmd_count %u needs PC_DATA_AMOUNT %u > 16 bits (docs/hardware/registers.md §2.1)",
                        regcmd_count, amount);
    int rc = run_one(&t, regcmd_iova, 2 * (amount + 1), &tail);
    if (!rc && stats) *stats = t.st;
    return rc;
}

int npusim_core_run_chain(struct npusim_core *core, const struct npusim_mem *mem, uint32_t regcmd_iova,
                          uint32_t pc_data_amount, uint32_t task_number, struct npusim_task_stats *stats, char *err,
                          size_t errlen)
{
    struct sim_task t;
    struct pc_tail tail;
    task_init(&t, core, mem, err, errlen);

    if (task_number < 1 || task_number > NPU_TASKS_PER_KICK_MAX)
        return sim_fail(&t, -EINVAL, "TASK_NUMBER %u outside 1..%u (12-bit PC_TASK_CON; docs/hardware/regcmd.md §6.1)",
                        task_number, NPU_TASKS_PER_KICK_MAX);
    if (pc_data_amount > NPU_PC_AMOUNT_MAX)
        return sim_fail(&t, -EINVAL, "PC_DATA_AMOUNT %u exceeds 16 bits (docs/hardware/registers.md §2.1)",
                        pc_data_amount);

    npusim_core_begin_job(core); /* a vendor kick is one job */
    uint32_t addr = regcmd_iova, amount = pc_data_amount;
    for (uint32_t i = 0; i < task_number; i++) {
        if (i) task_next(&t);
        if (run_one(&t, addr, 2 * (amount + 1), &tail)) return t.rc;
        if (i + 1 == task_number) break;
        /* Without a next pointer the PC stalls with the task counter short: the vendor
		 * driver's job times out (ORK, docs/hardware/regcmd.md §6.1). */
        if (!tail.has_next || !tail.next_amount)
            return sim_fail(&t, -ETIMEDOUT,
                            "task %u of %u (regcmd 0x%08x) has no next PC_BASE_ADDRESS/PC_REGISTER_AMOUNTS in its "
                            "tail: the PC would stall and the job time out (docs/hardware/regcmd.md §2, §6.1)",
                            i, task_number, addr);
        addr = tail.next_addr;
        amount = tail.next_amount;
    }
    if (stats) *stats = t.st;
    return 0;
}
