// SPDX-License-Identifier: MIT
/* The execution envelopes (npu_envelope.h): the two built-in ones with their evidence, and the check. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "npu_envelope.h"
#include "npu_regs.h"

/* Mainline rocket, as MF-rocket ran it (docs/hardware/limits.md §6.1): "rows ≤ 32 correct at K = 2560",
 * "N per tile ≤ 256 correct", "K correct through 8192"; jobs of ≤ 32 tasks; every task kicked by the
 * kernel on its own (a zero next pointer); no evidence for anything else on this driver. */
#define SAFE_M_TILE_MAX        32
#define SAFE_N_TILE_MAX        256
#define SAFE_TASKS_PER_JOB_MAX 32
/* A tenth of the 500 ms job timeout: a pessimistic model that is off by 10x still leaves no reset. */
#define SAFE_JOB_BUDGET_MS     50

/* HM's vendor-driver tuner (docs/hardware/limits.md §6.2, §7): at most 128 rows per task, N-tiles up to
 * 3072, fp16 slices of at most 4096 so two weight banks and useful rows remain; half the job timeout. */
#define VENDOR_M_TILE_MAX      128
#define VENDOR_N_TILE_MAX      3072
#define VENDOR_FP16_K_TASK_MAX 4096
#define VENDOR_JOB_BUDGET_MS   250

const struct npu_envelope npu_envelope_safe = {
        .kind = NPU_ENVELOPE_SAFE,
        .m_tile_max = SAFE_M_TILE_MAX,
        .n_tile_max = SAFE_N_TILE_MAX,
        .k_task_max_int8 = NPU_INT8_K_MAX,
        .k_task_max_fp16 = VENDOR_FP16_K_TASK_MAX,
        .inplace_k_slices = false,
        .chained_tails = false,
        .weight_reuse = false,
        /* int8-out (the peer recipe) ran on rocket; our modes need the other two, and calibrate's first rungs
         * prove them. */
        .out_pairs = NPU_PAIR_I8_I8 | NPU_PAIR_I8_I32 | NPU_PAIR_F16_F32,
        .tasks_per_job_max = SAFE_TASKS_PER_JOB_MAX,
        .job_budget_ms = SAFE_JOB_BUDGET_MS,
};

const struct npu_envelope npu_envelope_vendor = {
        .kind = NPU_ENVELOPE_VENDOR,
        .m_tile_max = VENDOR_M_TILE_MAX,
        .n_tile_max = VENDOR_N_TILE_MAX,
        .k_task_max_int8 = NPU_INT8_K_MAX,
        .k_task_max_fp16 = VENDOR_FP16_K_TASK_MAX,
        .inplace_k_slices = true,
        .chained_tails = true,
        .weight_reuse = true,
        .out_pairs = NPU_PAIRS_ALL,
        .tasks_per_job_max = NPU_TASKS_PER_KICK_MAX,
        .job_budget_ms = VENDOR_JOB_BUDGET_MS,
};

static const char *const kind_names[NPU_ENVELOPE_KINDS] = {"safe", "vendor", "board"};

const char *npu_envelope_name(enum npu_envelope_kind kind)
{
    return (unsigned)kind < NPU_ENVELOPE_KINDS ? kind_names[kind] : "?";
}

int npu_envelope_parse(const char *name, enum npu_envelope_kind *kind)
{
    for (int k = 0; name && k < NPU_ENVELOPE_KINDS; k++)
        if (!strcmp(name, kind_names[k])) {
            *kind = (enum npu_envelope_kind)k;
            return 0;
        }
    return -EINVAL;
}

static uint32_t pair_of(int in_prec, int out_prec)
{
    if (in_prec == NPU_PREC_INT8)
        return out_prec == NPU_PREC_INT32  ? NPU_PAIR_I8_I32
               : out_prec == NPU_PREC_FP32 ? NPU_PAIR_I8_F32
               : out_prec == NPU_PREC_INT8 ? NPU_PAIR_I8_I8
                                           : 0;
    if (in_prec == NPU_PREC_FP16)
        return out_prec == NPU_PREC_FP32 ? NPU_PAIR_F16_F32 : out_prec == NPU_PREC_FP16 ? NPU_PAIR_F16_F16 : 0;
    return 0;
}

static const char *pair_name(uint32_t pair)
{
    switch (pair) {
    case NPU_PAIR_I8_I32:
        return "int8->int32";
    case NPU_PAIR_I8_F32:
        return "int8->fp32";
    case NPU_PAIR_F16_F32:
        return "fp16->fp32";
    case NPU_PAIR_F16_F16:
        return "fp16->fp16";
    case NPU_PAIR_I8_I8:
        return "int8->int8";
    }
    return "?";
}

int npu_envelope_task_check(const struct npu_envelope *env, const struct npu_task_geom *g,
                            const struct npu_task_features *f, char *err, size_t errlen)
{
    const char *name = npu_envelope_name(env->kind);
    uint32_t rows = g->w * g->h, pair = pair_of(g->in_prec, g->out_prec);
    uint32_t kmax = g->in_prec == NPU_PREC_FP16 ? env->k_task_max_fp16 : env->k_task_max_int8;

    if (rows > env->m_tile_max)
        return npu_fail_msg(-EINVAL, err, errlen, "envelope '%s': %u rows per task > %u", name, rows, env->m_tile_max);
    if (g->npad > env->n_tile_max)
        return npu_fail_msg(-EINVAL, err, errlen, "envelope '%s': %u output channels per task > %u", name, g->npad,
                            env->n_tile_max);
    if (g->kpad > kmax)
        return npu_fail_msg(-EINVAL, err, errlen, "envelope '%s': K=%u per task > %u", name, g->kpad, kmax);
    if (!(env->out_pairs & pair))
        return npu_fail_msg(-EINVAL, err, errlen, "envelope '%s': output %s is not proven", name,
                            pair ? pair_name(pair) : "of this precision pair");
    /* Row-major A reads one W·C row per line; a wider stride reads a K-slice of a wider A in place. */
    uint64_t row_atoms = (uint64_t)g->w * g->kpad * npu_prec_bytes(g->in_prec) / NPU_ATOM_BYTES;
    if (f && !g->group_line_on && f->line_stride_atoms > row_atoms && !env->inplace_k_slices)
        return npu_fail_msg(-EINVAL, err, errlen,
                            "envelope '%s': LINE_STRIDE %u atoms is wider than the task's rows (%llu atoms): in-place "
                            "K-slices are not proven",
                            name, f->line_stride_atoms, (unsigned long long)row_atoms);
    if (f && f->chained && !env->chained_tails)
        return npu_fail_msg(-EINVAL, err, errlen, "envelope '%s': a tail that names the next task is not proven", name);
    if (f && f->weight_reuse && !env->weight_reuse)
        return npu_fail_msg(-EINVAL, err, errlen, "envelope '%s': CBUF WEIGHT_REUSE is not proven", name);
    return 0;
}

int npu_envelope_validate(const struct npu_envelope *env, char *err, size_t errlen)
{
    const char *name = npu_envelope_name(env->kind);
    if ((unsigned)env->kind >= NPU_ENVELOPE_KINDS)
        return npu_fail_msg(-EINVAL, err, errlen, "envelope kind %d is unknown", (int)env->kind);
    if (env->m_tile_max < 1 || env->m_tile_max > NPU_HW_MAX)
        return npu_fail_msg(-EINVAL, err, errlen, "envelope '%s': m_tile_max %u outside 1..%u", name, env->m_tile_max,
                            NPU_HW_MAX);
    if (env->n_tile_max < NPU_KGROUP_INT8 || env->n_tile_max > NPU_N_MAX || env->n_tile_max % NPU_KGROUP_INT8)
        return npu_fail_msg(-EINVAL, err, errlen, "envelope '%s': n_tile_max %u is not a multiple of %u in %u..%u",
                            name, env->n_tile_max, NPU_KGROUP_INT8, NPU_KGROUP_INT8, NPU_N_MAX);
    if (env->k_task_max_int8 < NPU_K_ALIGN || env->k_task_max_int8 > NPU_INT8_K_MAX ||
        env->k_task_max_int8 % NPU_K_ALIGN)
        return npu_fail_msg(-EINVAL, err, errlen, "envelope '%s': k_task_max_int8 %u is not a multiple of %u in %u..%u",
                            name, env->k_task_max_int8, NPU_K_ALIGN, NPU_K_ALIGN, NPU_INT8_K_MAX);
    if (env->k_task_max_fp16 < NPU_K_ALIGN || env->k_task_max_fp16 > NPU_KPAD_MAX || env->k_task_max_fp16 % NPU_K_ALIGN)
        return npu_fail_msg(-EINVAL, err, errlen, "envelope '%s': k_task_max_fp16 %u is not a multiple of %u in %u..%u",
                            name, env->k_task_max_fp16, NPU_K_ALIGN, NPU_K_ALIGN, NPU_KPAD_MAX);
    if (!env->out_pairs || (env->out_pairs & ~(uint32_t)NPU_PAIRS_ALL))
        return npu_fail_msg(-EINVAL, err, errlen, "envelope '%s': output pair mask 0x%x is empty or unknown", name,
                            env->out_pairs);
    if (env->tasks_per_job_max < 1 || env->tasks_per_job_max > NPU_TASKS_PER_KICK_MAX)
        return npu_fail_msg(-EINVAL, err, errlen, "envelope '%s': tasks_per_job_max %u outside 1..%u", name,
                            env->tasks_per_job_max, NPU_TASKS_PER_KICK_MAX);
    if (env->job_budget_ms < 1)
        return npu_fail_msg(-EINVAL, err, errlen, "envelope '%s': job_budget_ms must be at least 1", name);
    return 0;
}

int npu_envelope_describe(const struct npu_envelope *env, char *buf, size_t len)
{
    return snprintf(buf, len,
                    "envelope %s (tasks <= %u rows x %u columns, K <= %u int8 / %u fp16; K-slices %s; tails %s; "
                    "weight reuse %s; jobs <= %u tasks, <= %u ms modelled)",
                    npu_envelope_name(env->kind), env->m_tile_max, env->n_tile_max, env->k_task_max_int8,
                    env->k_task_max_fp16, env->inplace_k_slices ? "in place" : "packed",
                    env->chained_tails ? "chained" : "unchained", env->weight_reuse ? "on" : "off",
                    env->tasks_per_job_max, env->job_budget_ms);
}
