// SPDX-License-Identifier: MIT
/*
 * Flaws: the software NPU misbehaving the way unknown silicon might (RKNPU_SIM_FLAW), so that the
 * calibration ladder can be shown to find the edge of what works. A flawed task does not fail: like
 * silicon, it writes wrong numbers (garbage above some tile size or K, in-place K-slices read wrongly,
 * weights kept in CBUF for WEIGHT_REUSE read wrongly, a broken output conversion), or its job hangs (a
 * chained tail), and only a comparison with a reference or the job timeout can tell.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "npusim_internal.h"

/* What a flawed accumulator becomes: int32 sums with bits flipped, float sums moved far beyond any
 * tolerance a comparison with a reference allows (docs/hardware/arithmetic.md §7). */
#define FLAW_INT_XOR     0x55aa5a5
#define FLAW_FLOAT_SHIFT 65536.0

static const struct {
    const char *name;
    uint32_t pair;
} pair_flaws[] = {
        {"int8-int32", NPU_PAIR_I8_I32},
        {"int8-fp32", NPU_PAIR_I8_F32},
        {"fp16-fp32", NPU_PAIR_F16_F32},
        {"fp16-fp16", NPU_PAIR_F16_F16},
};
#define PAIR_FLAWS (sizeof pair_flaws / sizeof pair_flaws[0])

static int flaw_fail(char *err, size_t errlen, const char *fmt, const char *item)
{
    if (err && errlen) snprintf(err, errlen, fmt, item);
    return -EINVAL;
}

/* "NAME>N" with a decimal N >= 1; 0 if item is not NAME>... */
static int threshold(const char *item, size_t len, const char *name, uint32_t *out, char *err, size_t errlen)
{
    size_t nl = strlen(name);
    if (len <= nl + 1 || strncmp(item, name, nl) || item[nl] != '>') return 0;
    char num[16];
    if (len - nl - 1 >= sizeof num) return flaw_fail(err, errlen, "flaw '%s': the number is too long", name);
    memcpy(num, item + nl + 1, len - nl - 1);
    num[len - nl - 1] = 0;
    char *end;
    unsigned long v = strtoul(num, &end, 10);
    if (num[0] < '0' || num[0] > '9' || *end || v < 1 || v > UINT32_MAX)
        return flaw_fail(err, errlen, "flaw '%s': expected a positive number after '>'", name);
    *out = (uint32_t)v;
    return 1;
}

int npusim_flaws_parse(const char *spec, struct npusim_flaws *f, char *err, size_t errlen)
{
    memset(f, 0, sizeof *f);
    if (!spec || !*spec || !strcmp(spec, "none")) return 0;
    for (const char *p = spec; *p;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        char item[64];
        if (!len || len >= sizeof item) return flaw_fail(err, errlen, "empty or overlong flaw in '%s'", spec);
        memcpy(item, p, len);
        item[len] = 0;
        int r = 0;
        if ((r = threshold(item, len, "m-tile", &f->m_tile_above, err, errlen)) ||
            (r = threshold(item, len, "n-tile", &f->n_tile_above, err, errlen)) ||
            (r = threshold(item, len, "k", &f->k_above, err, errlen))) {
            if (r < 0) return r;
        } else if (!strcmp(item, "inplace")) {
            f->inplace = true;
        } else if (!strcmp(item, "chain")) {
            f->chain = true;
        } else if (!strcmp(item, "reuse")) {
            f->reuse = true;
        } else {
            size_t i = 0;
            while (i < PAIR_FLAWS && strcmp(item, pair_flaws[i].name)) i++;
            if (i == PAIR_FLAWS)
                return flaw_fail(
                        err, errlen,
                        "unknown flaw '%s' (accepted: m-tile>N, n-tile>N, k>N, inplace, chain, reuse, int8-int32, "
                        "int8-fp32, fp16-fp32, fp16-fp16, none)",
                        item);
            f->broken_pairs |= pair_flaws[i].pair;
        }
        p += len + (comma != NULL);
        if (comma && !*p) return flaw_fail(err, errlen, "a trailing comma in '%s'", spec);
    }
    return 0;
}

bool npusim_flaws_any(const struct npusim_flaws *f)
{
    return f->m_tile_above || f->n_tile_above || f->k_above || f->inplace || f->chain || f->reuse || f->broken_pairs;
}

static uint32_t task_pair(const struct sim_task *t)
{
    if (t->prec == NPU_PREC_INT8)
        return t->out_prec == NPU_PREC_INT32 ? NPU_PAIR_I8_I32 : t->out_prec == NPU_PREC_FP32 ? NPU_PAIR_I8_F32 : 0;
    return t->out_prec == NPU_PREC_FP32 ? NPU_PAIR_F16_F32 : t->out_prec == NPU_PREC_FP16 ? NPU_PAIR_F16_F16 : 0;
}

static void spoil(struct sim_task *t, size_t i)
{
    if (t->acc_i)
        t->acc_i[i] ^= FLAW_INT_XOR;
    else
        t->acc_f[i] += FLAW_FLOAT_SHIFT * (double)(1 + i % 3);
}

int flaws_chain(struct sim_task *t, const struct pc_tail *tail)
{
    if (!t->core->flaws.chain || !tail->has_next) return 0;
    return sim_fail(t, -ETIMEDOUT,
                    "task at 0x%08x: its tail names a next task and this core's PC then never raises the completion "
                    "interrupt (simulated flaw 'chain'); the job hangs until the job timeout",
                    t->regcmd_addr);
}

void flaws_apply(struct sim_task *t)
{
    const struct npusim_flaws *f = &t->core->flaws;
    size_t px = (size_t)t->w * t->h, nk = t->nk;
    uint64_t row_atoms = (uint64_t)t->w * t->kpad * t->bpe / NPU_ATOM_BYTES;
    bool all = (f->k_above && t->kpad > f->k_above) || (f->broken_pairs & task_pair(t)) ||
               (f->inplace && !t->group_line_on && t->line_stride > row_atoms) || (f->reuse && t->weight_reuse);
    for (size_t p = 0; p < px; p++)
        for (size_t n = 0; n < nk; n++)
            if (all || (f->m_tile_above && px > f->m_tile_above && p >= f->m_tile_above) ||
                (f->n_tile_above && nk > f->n_tile_above && n >= f->n_tile_above))
                spoil(t, p * nk + n);
}
