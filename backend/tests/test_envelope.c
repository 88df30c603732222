/* SPDX-License-Identifier: MIT */
/* Execution envelopes (hw/npu_envelope.h): names, the built-in envelopes, the per-task check, validation. */
#include <errno.h>

#include "npu_envelope.h"
#include "npu_regs.h"
#include "tap.h"

static struct npu_task_geom geom(int in, int out, uint32_t rows, uint32_t kpad, uint32_t npad)
{
    return (struct npu_task_geom){.in_prec = in, .out_prec = out, .w = 1, .h = rows, .kpad = kpad, .npad = npad};
}

int main(void)
{
    char err[256];
    enum npu_envelope_kind k;

    tap_ok(!npu_envelope_parse("safe", &k) && k == NPU_ENVELOPE_SAFE, "parse safe");
    tap_ok(!npu_envelope_parse("vendor", &k) && k == NPU_ENVELOPE_VENDOR, "parse vendor");
    tap_ok(!npu_envelope_parse("board", &k) && k == NPU_ENVELOPE_BOARD, "parse board");
    tap_is_int(npu_envelope_parse("fast", &k), -EINVAL, "an unknown name is refused");
    tap_ok(!strcmp(npu_envelope_name(NPU_ENVELOPE_VENDOR), "vendor"), "name vendor");

    tap_is_int(npu_envelope_validate(&npu_envelope_safe, err, sizeof err), 0, "safe is valid");
    tap_is_int(npu_envelope_validate(&npu_envelope_vendor, err, sizeof err), 0, "vendor is valid");
    tap_ok(npu_envelope_safe.m_tile_max <= npu_envelope_vendor.m_tile_max &&
                   npu_envelope_safe.n_tile_max <= npu_envelope_vendor.n_tile_max &&
                   npu_envelope_safe.tasks_per_job_max <= npu_envelope_vendor.tasks_per_job_max &&
                   npu_envelope_safe.job_budget_ms <= npu_envelope_vendor.job_budget_ms,
           "safe is inside vendor");
    tap_ok(!npu_envelope_safe.inplace_k_slices && !npu_envelope_safe.chained_tails && !npu_envelope_safe.weight_reuse,
           "safe uses no in-place slices, chained tails or weight reuse");

    /* Tile sizes: the largest safe tile passes, one row or one kernel group more fails. */
    const struct npu_envelope *s = &npu_envelope_safe;
    struct npu_task_geom g = geom(NPU_PREC_INT8, NPU_PREC_INT32, s->m_tile_max, 1536, s->n_tile_max);
    struct npu_task_features f = {.line_stride_atoms = 1536 / NPU_ATOM_BYTES};
    tap_is_int(npu_envelope_task_check(s, &g, &f, err, sizeof err), 0, "largest safe tile passes");
    g.h = s->m_tile_max + 1;
    tap_is_int(npu_envelope_task_check(s, &g, &f, err, sizeof err), -EINVAL, "one row more fails");
    tap_contains(err, "rows per task", "the reason names rows");
    tap_contains(err, "'safe'", "the reason names the envelope");
    tap_is_int(npu_envelope_task_check(&npu_envelope_vendor, &g, &f, err, sizeof err), 0, "vendor takes it");
    g = geom(NPU_PREC_INT8, NPU_PREC_INT32, 4, 1536, s->n_tile_max + NPU_KGROUP_INT8);
    tap_is_int(npu_envelope_task_check(s, &g, &f, err, sizeof err), -EINVAL, "one kernel group more fails");
    tap_contains(err, "output channels", "the reason names columns");

    /* In-place K-slices: a row-major LINE_STRIDE wider than the task's K. */
    g = geom(NPU_PREC_INT8, NPU_PREC_INT32, 4, 4096, 32);
    f = (struct npu_task_features){.line_stride_atoms = 8960 / NPU_ATOM_BYTES};
    tap_is_int(npu_envelope_task_check(s, &g, &f, err, sizeof err), -EINVAL, "in-place slice fails in safe");
    tap_contains(err, "LINE_STRIDE", "the reason names LINE_STRIDE");
    tap_is_int(npu_envelope_task_check(&npu_envelope_vendor, &g, &f, err, sizeof err), 0, "vendor allows it");
    g.group_line_on = true;
    f.line_stride_atoms = 4;
    tap_is_int(npu_envelope_task_check(s, &g, &f, err, sizeof err), 0, "NC1HWC2 line stride is not a slice");

    /* fp16 rows are two bytes per element. */
    g = geom(NPU_PREC_FP16, NPU_PREC_FP32, 4, 1024, 32);
    f = (struct npu_task_features){.line_stride_atoms = 1024 * 2 / NPU_ATOM_BYTES};
    tap_is_int(npu_envelope_task_check(s, &g, &f, err, sizeof err), 0, "fp16 full rows pass");
    f.line_stride_atoms++;
    tap_is_int(npu_envelope_task_check(s, &g, &f, err, sizeof err), -EINVAL, "fp16 one atom wider fails");

    /* Chained tails, weight reuse, output pairs. */
    g = geom(NPU_PREC_INT8, NPU_PREC_INT32, 4, 64, 32);
    f = (struct npu_task_features){.line_stride_atoms = 4, .chained = true};
    tap_is_int(npu_envelope_task_check(s, &g, &f, err, sizeof err), -EINVAL, "chained tail fails in safe");
    tap_contains(err, "next task", "the reason names the chain");
    f = (struct npu_task_features){.line_stride_atoms = 4, .weight_reuse = true};
    tap_is_int(npu_envelope_task_check(s, &g, &f, err, sizeof err), -EINVAL, "weight reuse fails in safe");
    tap_contains(err, "WEIGHT_REUSE", "the reason names WEIGHT_REUSE");
    g = geom(NPU_PREC_INT8, NPU_PREC_FP32, 4, 64, 32);
    tap_is_int(npu_envelope_task_check(s, &g, NULL, err, sizeof err), -EINVAL, "int8->fp32 is not in safe");
    tap_contains(err, "int8->fp32", "the reason names the pair");
    tap_is_int(npu_envelope_task_check(&npu_envelope_vendor, &g, NULL, err, sizeof err), 0, "vendor allows it");

    /* Validation of a board envelope. */
    struct npu_envelope b = npu_envelope_safe;
    b.kind = NPU_ENVELOPE_BOARD;
    tap_is_int(npu_envelope_validate(&b, err, sizeof err), 0, "a copy of safe is a valid board envelope");
    b.n_tile_max = 100;
    tap_is_int(npu_envelope_validate(&b, err, sizeof err), -EINVAL, "n_tile_max not a multiple of 32");
    b = npu_envelope_safe, b.k_task_max_int8 = NPU_INT8_K_MAX + NPU_K_ALIGN;
    tap_is_int(npu_envelope_validate(&b, err, sizeof err), -EINVAL, "K above the hard limit");
    b = npu_envelope_safe, b.tasks_per_job_max = 0;
    tap_is_int(npu_envelope_validate(&b, err, sizeof err), -EINVAL, "no tasks per job");
    b = npu_envelope_safe, b.out_pairs = 0;
    tap_is_int(npu_envelope_validate(&b, err, sizeof err), -EINVAL, "no output pair");

    char line[256];
    npu_envelope_describe(&npu_envelope_safe, line, sizeof line);
    tap_contains(line, "envelope safe", "describe names it");
    tap_contains(line, "32 rows x 256 columns", "describe gives the tile");
    return tap_done();
}
