// SPDX-License-Identifier: MIT
/*
 * Fuzz target "sim": the software NPU core (backend/device/sim/core) fed register-command streams and memory
 * images it was not written for. Seeds are streams that run: the regcmd builder's (random shapes, precisions
 * and layouts; one task, two tasks in sequence, a PC-chained pair, the second one possibly reusing the
 * weights), the vendor capture of docs/hardware/regcmd.md §8 (backend/tests/blob_i8.h) and the Mesa-style
 * peer stream (backend/regcmd/peer_stream.h). Mutations edit entries (bits, values at field boundaries,
 * register offsets, targets, order), the counts and addresses the kick passes, the BOs (shrunk, moved,
 * dropped) and the core's modes (strict, peer streams, envelope).
 *
 * Invariants: a run returns 0 or one of the documented errnos (npusim.h); a failed run names its reason and
 * a successful one none; a successful task reports its geometry; an unmutated seed runs. Every BO is
 * allocated with exactly its size, so a read or write outside one is an AddressSanitizer report.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "blob_i8.h"
#include "fuzz.h"
#include "layout.h"
#include "npu_envelope.h"
#include "npu_limits.h"
#include "npu_regs.h"
#include "npusim.h"
#include "peer_stream.h"
#include "regcmd.h"

#define MAX_BOS    10
#define MAX_TASKS  2
#define ERR_BYTES  512
#define REG_IOVA   0x00040000u
#define A_IOVA     0x00100000u /* the capture's A, B and C addresses (docs/hardware/regcmd.md §8) */
#define B_IOVA     0x00200000u
#define C_IOVA     0x00300000u
#define A2_IOVA    0x00500000u
#define C2_IOVA    0x00600000u
#define BIAS_IOVA  0x00400000u
#define BLOB_M     4
#define BLOB_K     64
#define BLOB_N     32
#define MAX_M      40 /* shapes stay small: the point is the decoder, not the MAC loop */
#define MAX_K      300
#define MAX_N      96
#define PEER_K_MAX 20 /* in 16-channel units */
#define CHAIN_MAX  64 /* TASK_NUMBER for mutated chains, except the rare 12-bit maximum */

enum seed_kind {
    SEED_BUILDER,
    SEED_SEQUENCE,
    SEED_CHAIN,
    SEED_BLOB,
    SEED_PEER,
    SEED_KINDS
};
static const char *const seed_names[SEED_KINDS] = {"builder", "sequence", "chain", "blob", "peer"};

struct bo {
    uint32_t iova, size;
    uint8_t *ptr;
};

struct input {
    struct bo bo[MAX_BOS];
    int nbo;
    enum seed_kind kind;
    uint32_t ntasks, task_iova[MAX_TASKS], task_count[MAX_TASKS];
    uint32_t chain_amount, chain_number;
    int regcmd_bo;
    bool peer, lenient, envelope;
    int core_index;
};

static void *space_map(void *ctx, uint32_t iova, size_t len)
{
    struct input *in = ctx;
    for (int i = 0; i < in->nbo; i++) {
        struct bo *b = &in->bo[i];
        if (iova >= b->iova && (uint64_t)iova + len <= (uint64_t)b->iova + b->size) return b->ptr + (iova - b->iova);
    }
    return NULL;
}

/* A BO of exactly `size` bytes (malloc, not calloc rounding), so ASan sees any access past it. */
static uint8_t *bo_add(struct input *in, uint32_t iova, size_t size, struct fuzz_rng *r)
{
    if (in->nbo == MAX_BOS) return NULL;
    struct bo *b = &in->bo[in->nbo++];
    b->iova = iova;
    b->size = (uint32_t)size;
    b->ptr = malloc(size ? size : 1);
    if (b->ptr)
        for (size_t i = 0; i < size; i++) b->ptr[i] = (uint8_t)fuzz_u64(r);
    return b->ptr;
}

static void input_free(struct input *in)
{
    for (int i = 0; i < in->nbo; i++) free(in->bo[i].ptr);
    in->nbo = 0;
}

/* fp16 operands: mostly ordinary values, now and then any bit pattern (NaN, Inf, subnormals). */
static void fill_fp16(uint8_t *p, size_t bytes, struct fuzz_rng *r)
{
    bool raw = fuzz_one_in(r, 8);
    for (size_t i = 0; i + 1 < bytes; i += 2) {
        uint16_t v = raw ? (uint16_t)fuzz_u64(r)
                         : rk_fp16_from_float((float)((int32_t)fuzz_below(r, 2001) - 1000) / 1000.0f);
        memcpy(p + i, &v, 2);
    }
}

static struct rk_matmul random_matmul(struct fuzz_rng *r)
{
    struct rk_matmul mm = {.in = fuzz_one_in(r, 2) ? RK_INT8 : RK_FP16,
                           .m = 1 + fuzz_below(r, MAX_M),
                           .k = 1 + fuzz_below(r, MAX_K),
                           .n = 1 + fuzz_below(r, MAX_N),
                           .a_iova = A_IOVA,
                           .b_iova = B_IOVA,
                           .c_iova = C_IOVA};
    mm.out = mm.in == RK_INT8 ? (fuzz_one_in(r, 2) ? RK_INT32 : RK_FP32) : (fuzz_one_in(r, 2) ? RK_FP32 : RK_FP16);
    mm.a_layout = fuzz_one_in(r, 3) ? RK_LAYOUT_NC1HWC2 : RK_LAYOUT_ROW_MAJOR;
    mm.c_layout = fuzz_one_in(r, 3) ? RK_LAYOUT_NC1HWC2 : RK_LAYOUT_ROW_MAJOR;
    if (mm.a_layout == RK_LAYOUT_ROW_MAJOR && fuzz_one_in(r, 4))
        mm.a_row_stride = rk_kpad(mm.k) + NPU_K_ALIGN * (1 + fuzz_below(r, 3));
    if (mm.c_layout == RK_LAYOUT_ROW_MAJOR && mm.out != RK_FP16 && fuzz_one_in(r, 4))
        mm.c_row_stride = rk_npad(mm.in, mm.n) + NPU_KGROUP_INT8 * (1 + fuzz_below(r, 3));
    return mm;
}

/* Random elements of mm's input type: int8 or fp16 bits. */
static void *random_host(size_t elems, enum rk_dtype in, struct fuzz_rng *r)
{
    uint8_t *p = malloc(elems * rk_dtype_size(in) + 1);
    if (!p) return NULL;
    if (in == RK_FP16)
        fill_fp16(p, elems * 2, r);
    else
        for (size_t i = 0; i < elems; i++) p[i] = (uint8_t)fuzz_u64(r);
    return p;
}

/* The operands of mm packed as the engine packs them (A's K padding zero, B in the NPU's blocks); B only for
 * the task that loads the weights. */
static void matmul_bos(struct input *in, const struct rk_matmul *mm, bool with_b, struct fuzz_rng *r)
{
    uint8_t *a = bo_add(in, mm->a_iova, rk_a_bytes(mm), r);
    void *src = random_host((size_t)mm->m * mm->k, mm->in, r);
    if (a && src) rk_pack_a(mm, a, src, mm->k);
    free(src);
    if (with_b) {
        uint8_t *b = bo_add(in, mm->b_iova, rk_b_bytes(mm), r);
        src = random_host((size_t)mm->k * mm->n, mm->in, r);
        if (b && src && mm->in == RK_INT8) rk_pack_b_int8((int8_t *)b, src, mm->k, mm->n, mm->n, 1);
        if (b && src && mm->in == RK_FP16) rk_pack_b_fp16((uint16_t *)b, src, mm->k, mm->n, mm->n, 1);
        free(src);
    }
    bo_add(in, mm->c_iova, rk_c_bytes(mm), r);
}

/* One or two builder tasks; the second (sequence, chain) runs another M on the same weights, reusing them
 * from the CBUF when the builder allows it. */
static bool seed_builder(struct input *in, struct fuzz_rng *r)
{
    size_t seg = rk_regcmd_segment_entries(RK_REGCMD_BODY_ENTRIES);
    uint32_t seg_bytes = (uint32_t)(seg * 8);
    struct rk_matmul mm[MAX_TASKS];
    char why[256];
    in->ntasks = in->kind == SEED_BUILDER ? 1 : 2;
    mm[0] = random_matmul(r);
    if (in->ntasks == 2) {
        mm[1] = mm[0];
        mm[1].a_iova = A2_IOVA;
        mm[1].c_iova = C2_IOVA;
        /* reuse needs the CBUF split the weights were loaded with, i.e. the same M; otherwise another M */
        mm[1].weight_reuse = fuzz_one_in(r, 2);
        if (!mm[1].weight_reuse) mm[1].m = 1 + fuzz_below(r, MAX_M);
    }
    in->regcmd_bo = in->nbo;
    uint64_t *cmd = (uint64_t *)bo_add(in, REG_IOVA, seg_bytes * in->ntasks, r);
    if (!cmd) return false;
    for (uint32_t t = 0; t < in->ntasks; t++) {
        uint32_t iova = REG_IOVA + t * seg_bytes,
                 next = in->kind == SEED_CHAIN && t + 1 < in->ntasks ? iova + seg_bytes : 0;
        memset(cmd + t * seg, 0, seg_bytes);
        int rc = rk_regcmd_matmul_task(&mm[t], next, cmd + t * seg, seg, &in->task_count[t], why, sizeof why);
        if (rc && mm[t].weight_reuse) { /* weights too big to stay resident: fetch them again */
            mm[t].weight_reuse = false;
            rc = rk_regcmd_matmul_task(&mm[t], next, cmd + t * seg, seg, &in->task_count[t], why, sizeof why);
        }
        if (rc) return false;
        in->task_iova[t] = iova;
        matmul_bos(in, &mm[t], t == 0, r);
    }
    in->chain_amount = rk_pc_data_amount(in->task_count[0]);
    in->chain_number = in->ntasks;
    return true;
}

static bool seed_blob(struct input *in, struct fuzz_rng *r)
{
    in->regcmd_bo = in->nbo;
    uint8_t *cmd = bo_add(in, REG_IOVA, sizeof blob_i8, r);
    if (!cmd) return false;
    memcpy(cmd, blob_i8, sizeof blob_i8);
    bo_add(in, A_IOVA, BLOB_M * BLOB_K, r);
    bo_add(in, B_IOVA, BLOB_K * BLOB_N, r);
    bo_add(in, C_IOVA, BLOB_M * BLOB_N * sizeof(int32_t), r);
    in->ntasks = 1;
    in->task_iova[0] = REG_IOVA;
    in->task_count[0] = sizeof blob_i8 / sizeof blob_i8[0];
    return true;
}

static bool seed_peer(struct input *in, struct fuzz_rng *r)
{
    struct rk_peer_fc fc = {.m = fuzz_one_in(r, 4) ? 1 : 4 * (1 + fuzz_below(r, MAX_M / 4)),
                            .k = NPU_ATOM_BYTES * (1 + fuzz_below(r, PEER_K_MAX)),
                            .n = 1 + fuzz_below(r, MAX_N),
                            .in_iova = A_IOVA,
                            .w_iova = B_IOVA,
                            .bias_iova = BIAS_IOVA,
                            .out_iova = C_IOVA,
                            .in_zp = (uint8_t)fuzz_u64(r),
                            .w_zp = (uint8_t)fuzz_u64(r),
                            .out_zp = (uint8_t)fuzz_u64(r),
                            .conv_scale = (float)(1 + fuzz_below(r, 1000)) / 4096.0f};
    uint64_t cmd[RK_PEER_BODY_ENTRIES + NPU_REGCMD_TAIL_ENTRIES + 2];
    size_t count = 0;
    char why[256];
    if (rk_peer_fc_regcmd(&fc, cmd, sizeof cmd / sizeof cmd[0], &count, why, sizeof why)) return false;
    in->regcmd_bo = in->nbo;
    uint8_t *c = bo_add(in, REG_IOVA, count * 8, r);
    if (!c) return false;
    memcpy(c, cmd, count * 8);
    bo_add(in, fc.in_iova, rk_peer_input_bytes(fc.m, fc.k), r);
    bo_add(in, fc.w_iova, rk_peer_weight_bytes(fc.k, fc.n), r);
    /* small biases keep the BS sum inside int32, as the recipe's are */
    int32_t *bias = (int32_t *)bo_add(in, fc.bias_iova, rk_peer_bias_bytes(fc.n), r);
    for (size_t i = 0; bias && i < rk_peer_bias_bytes(fc.n) / 4; i++)
        bias[i] = (int32_t)fuzz_below(r, 1 << 16) - (1 << 15);
    bo_add(in, fc.out_iova, rk_peer_output_bytes(fc.m, fc.n), r);
    in->ntasks = 1;
    in->task_iova[0] = REG_IOVA;
    in->task_count[0] = (uint32_t)count;
    in->peer = true;
    return true;
}

/* ---- mutations ---- */
static const uint16_t targets_known[] = {NPU_TGT_NOP,      NPU_TGT_NOP1, NPU_TGT_MARKER,  NPU_TGT_OP_EN,
                                         NPU_TGT_PC,       NPU_TGT_CNA,  NPU_TGT_CORE,    NPU_TGT_DPU,
                                         NPU_TGT_DPU_RDMA, NPU_TGT_PPU,  NPU_TGT_PPU_RDMA};

static void mutate_entry(struct input *in, struct fuzz_rng *r)
{
    struct bo *b = &in->bo[in->regcmd_bo];
    uint32_t n = b->size / 8;
    if (!n) return;
    uint64_t *e = (uint64_t *)b->ptr; /* malloc'd: aligned for uint64_t */
    uint32_t i = fuzz_below(r, n), j = fuzz_below(r, n);
    uint16_t tgt = npu_entry_target(e[i]), reg = npu_entry_reg(e[i]);
    uint32_t val = npu_entry_value(e[i]);
    switch (fuzz_below(r, 9)) {
    case 0:
        e[i] ^= 1ull << fuzz_below(r, 64);
        break;
    case 1:
        e[i] = npu_entry(tgt, reg, fuzz_interesting(r));
        break;
    case 2:
        e[i] = npu_entry(tgt, reg, val + fuzz_below(r, 9) - 4);
        break;
    case 3:
        e[i] = npu_entry(tgt, fuzz_one_in(r, 4) ? (uint16_t)fuzz_u64(r) : npu_entry_reg(e[j]), val);
        break;
    case 4:
        e[i] = npu_entry(fuzz_one_in(r, 4)
                                 ? (uint16_t)fuzz_u64(r)
                                 : targets_known[fuzz_below(r, sizeof targets_known / sizeof targets_known[0])],
                         reg, val);
        break;
    case 5: {
        uint64_t t = e[i];
        e[i] = e[j], e[j] = t;
        break;
    }
    case 6:
        e[i] = e[j];
        break;
    case 7:
        e[i] = 0;
        break;
    default: /* the last non-zero word (op-enable) earlier in the stream */
        for (uint32_t k = n; k-- > 0;)
            if (e[k]) {
                e[i] = e[k];
                break;
            }
    }
}

static void mutate_bo(struct input *in, struct fuzz_rng *r)
{
    if (!in->nbo) return;
    int i = (int)fuzz_below(r, (uint32_t)in->nbo);
    struct bo *b = &in->bo[i];
    switch (fuzz_below(r, 4)) {
    case 0: { /* shrink: a fresh exact-size allocation, so ASan guards the new end */
        uint32_t size = b->size ? fuzz_below(r, b->size) : 0;
        uint8_t *p = malloc(size ? size : 1);
        if (!p) return;
        memcpy(p, b->ptr, size);
        free(b->ptr);
        b->ptr = p, b->size = size;
        break;
    }
    case 1: /* drop */
        if (i == in->regcmd_bo) return;
        free(b->ptr);
        in->bo[i] = in->bo[--in->nbo];
        if (in->regcmd_bo == in->nbo) in->regcmd_bo = i;
        break;
    case 2: { /* move by an atom, a page or a boundary value */
        static const int32_t d[] = {-4096, -16, -8, 8, 16, 4096};
        b->iova = fuzz_one_in(r, 3) ? fuzz_interesting(r) : b->iova + (uint32_t)d[fuzz_below(r, 6)];
        break;
    }
    default: { /* swap two addresses */
        struct bo *o = &in->bo[fuzz_below(r, (uint32_t)in->nbo)];
        uint32_t t = b->iova;
        b->iova = o->iova, o->iova = t;
    }
    }
}

static void mutate(struct input *in, struct fuzz_rng *r)
{
    uint32_t t = fuzz_below(r, in->ntasks);
    switch (fuzz_below(r, 12)) {
    case 0:
    case 1:
    case 2:
    case 3:
    case 4:
        mutate_entry(in, r);
        break;
    case 5: { /* the count the kick passes */
        static const int32_t d[] = {-3, -2, -1, 1, 2, 3};
        in->task_count[t] = fuzz_one_in(r, 3) ? fuzz_interesting(r) : in->task_count[t] + (uint32_t)d[fuzz_below(r, 6)];
        break;
    }
    case 6: {
        static const int32_t d[] = {-16, -8, 8, 16, 896};
        in->task_iova[t] = fuzz_one_in(r, 3) ? fuzz_interesting(r) : in->task_iova[t] + (uint32_t)d[fuzz_below(r, 5)];
        break;
    }
    case 7:
    case 8:
        mutate_bo(in, r);
        break;
    case 9: { /* operand data: any bytes (fp16 NaN/Inf included) */
        struct bo *b = &in->bo[fuzz_below(r, (uint32_t)in->nbo)];
        fuzz_mutate_bytes(r, b->ptr, b->size, 1 + fuzz_below(r, 16));
        break;
    }
    case 10:
        switch (fuzz_below(r, 3)) {
        case 0:
            in->peer = !in->peer;
            break;
        case 1:
            in->lenient = !in->lenient;
            break;
        default:
            in->envelope = !in->envelope;
        }
        break;
    default: /* the vendor kick's amount and task number */
        if (fuzz_one_in(r, 2))
            in->chain_amount = fuzz_one_in(r, 2) ? fuzz_interesting(r) : in->chain_amount + fuzz_below(r, 5) - 2;
        else
            in->chain_number = fuzz_one_in(r, 50) ? NPU_TASKS_PER_KICK_MAX : fuzz_below(r, CHAIN_MAX + 1);
    }
}

/* ---- running and checking ---- */
static void check(struct fuzz_run *run, const char *what, int rc, const char *err, size_t errlen,
                  const struct npusim_task_stats *st, bool must_pass)
{
    fuzz_outcome(run, rc, err && errlen > 1 ? err : NULL);
    if (rc != 0 && rc != -EFAULT && rc != -EINVAL && rc != -ENOTSUP && rc != -ETIMEDOUT && rc != -ENOMEM)
        fuzz_finding(run, "%s returned %d, not an errno npusim.h documents (%s)", what, rc, err ? err : "");
    if (err && errlen && !memchr(err, 0, errlen)) fuzz_finding(run, "%s left the reason unterminated", what);
    if (err && errlen >= ERR_BYTES) {
        if (rc && !err[0]) fuzz_finding(run, "%s failed (%d) without a reason", what, rc);
        if (!rc && err[0]) fuzz_finding(run, "%s succeeded but left a reason: %s", what, err);
    }
    if (!rc && (!st->tasks || !st->m || !st->k || !st->n))
        fuzz_finding(run, "%s succeeded with empty stats (tasks %u, M=%u K=%u N=%u)", what, st->tasks, st->m, st->k,
                     st->n);
    if (must_pass && rc) fuzz_finding(run, "the unmutated %s seed failed: %s", what, err ? err : "");
}

static void sim_one(void *ctx, struct fuzz_rng *r, struct fuzz_run *run)
{
    (void)ctx;
    struct input in = {.kind = (enum seed_kind)fuzz_below(r, SEED_KINDS), .core_index = (int)fuzz_below(r, NPU_CORES)};
    bool ok = in.kind == SEED_BLOB   ? seed_blob(&in, r)
              : in.kind == SEED_PEER ? seed_peer(&in, r)
                                     : seed_builder(&in, r);
    if (!ok) { /* a shape the builder refuses is not an input */
        input_free(&in);
        return;
    }
    unsigned edits = fuzz_one_in(r, 8) ? 0 : 1 + fuzz_below(r, 6);
    for (unsigned e = 0; e < edits; e++) mutate(&in, r);
    fuzz_note(run, "%s seed, %u tasks, %u edits, %d BOs%s%s%s", seed_names[in.kind], in.ntasks, edits, in.nbo,
              in.peer ? ", peer streams" : "", in.lenient ? ", lenient" : "", in.envelope ? ", safe envelope" : "");

    struct npusim_core *core = npusim_core_create(in.core_index);
    if (!core) {
        input_free(&in);
        return;
    }
    npusim_core_set_strict(core, !in.lenient);
    npusim_core_set_peer_streams(core, in.peer);
    npusim_core_set_envelope(core, in.envelope ? &npu_envelope_safe : NULL);
    npusim_core_begin_job(core);
    struct npusim_mem mem = {.ctx = &in, .map = space_map};
    /* mostly a full reason buffer; sometimes a tiny one or none, which must merely stay safe */
    char err[ERR_BYTES];
    size_t errlen = fuzz_one_in(r, 10) ? fuzz_below(r, 9) : sizeof err;
    char *errp = errlen ? err : NULL;
    bool pristine = edits == 0;
    if (in.kind == SEED_CHAIN) {
        struct npusim_task_stats st = {0};
        int rc =
                npusim_core_run_chain(core, &mem, in.task_iova[0], in.chain_amount, in.chain_number, &st, errp, errlen);
        check(run, "run_chain", rc, errp, errlen, &st, pristine);
        if (!rc && st.tasks != in.chain_number)
            fuzz_finding(run, "run_chain of %u tasks reports %u", in.chain_number, st.tasks);
    } else {
        for (uint32_t t = 0; t < in.ntasks; t++) {
            struct npusim_task_stats st = {0};
            int rc = npusim_core_run_task(core, &mem, in.task_iova[t], in.task_count[t], &st, errp, errlen);
            check(run, seed_names[in.kind], rc, errp, errlen, &st, pristine);
            if (!rc && st.tasks != 1) fuzz_finding(run, "run_task reports %u tasks", st.tasks);
            fuzz_note(run, "task %u: rc %d %s", t, rc, errp && rc ? errp : "");
        }
    }
    npusim_core_destroy(core);
    input_free(&in);
}

const struct fuzz_target fuzz_target_sim = {
        .name = "sim",
        .what = "the software NPU core: builder, vendor and peer streams, mutated, on mutated memory",
        .one = sim_one,
};
