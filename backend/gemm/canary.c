// SPDX-License-Identifier: MIT
/* Output canaries: what they are and why they cannot be a result is in gemm_internal.h. */
#include <string.h>

#include "gemm_internal.h"

uint32_t rk_canary_word(const struct rk_wlayout *L, unsigned phase)
{
    if (rk_mode_int8(L->mode)) return phase & 1 ? RK_CANARY_I32_ODD : RK_CANARY_I32_EVEN;
    return phase & 1 ? RK_CANARY_F32_ODD : RK_CANARY_F32_EVEN;
}

/* The task's canary row in the core's C BO: its last row, the tile's real columns. */
static uint32_t *canary_row(const struct rk_plan *p, const struct rk_plan_task *t, const void *cmap, uint32_t *n)
{
    *n = rk_tile_n(&p->L.core[t->core], t->ntile);
    return (uint32_t *)cmap + rk_plan_c_index(p, t->core, t->slice, t->ntile, t->m0 + t->m - 1);
}

void rk_canary_write(const struct rk_plan *p, uint32_t core, void *cmap, unsigned phase)
{
    const struct rk_plan_core *pc = &p->core[core];
    uint32_t word = rk_canary_word(&p->L, phase), n;
    for (uint32_t i = 0; i < pc->tasks; i++) {
        uint32_t *row = canary_row(p, &p->tasks[pc->task0 + i], cmap, &n);
        for (uint32_t j = 0; j < n; j++) row[j] = word;
    }
}

int64_t rk_canary_check(const struct rk_plan *p, uint32_t core, const void *cmap)
{
    const struct rk_plan_core *pc = &p->core[core];
    uint32_t even = rk_canary_word(&p->L, 0), odd = rk_canary_word(&p->L, 1), n;
    for (uint32_t i = 0; i < pc->tasks; i++) {
        const uint32_t *row = canary_row(p, &p->tasks[pc->task0 + i], cmap, &n);
        uint32_t hit = 0;
        for (uint32_t j = 0; j < n; j++) hit |= (row[j] == even) | (row[j] == odd);
        if (hit) return i;
    }
    return -1;
}
