// SPDX-License-Identifier: MIT
/* Engine object: one npu_device (fd, IOVA space) per NPU core (docs/hardware/rocket-uapi.md §1.4, §4.6), error text. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "gemm_internal.h"

const char *rk_gemm_mode_name(enum rk_gemm_mode mode)
{
    return mode == RK_GEMM_FP16 ? "fp16" : mode == RK_GEMM_INT8 ? "int8" : mode == RK_GEMM_INT8_HAD ? "int8-had" : "?";
}

int rk_gemm_mode_parse(const char *name, enum rk_gemm_mode *mode)
{
    if (name && !strcmp(name, "int8")) return *mode = RK_GEMM_INT8, 0;
    if (name && !strcmp(name, "fp16")) return *mode = RK_GEMM_FP16, 0;
    if (name && !strcmp(name, "int8-had")) return *mode = RK_GEMM_INT8_HAD, 0;
    return -EINVAL;
}

int rk_gemm_fail(struct rk_gemm_engine *e, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->err, sizeof e->err, fmt, ap);
    va_end(ap);
    return rc;
}

const char *rk_gemm_last_error(const struct rk_gemm_engine *e) { return e ? e->err : "no engine"; }

const struct npu_envelope *rk_gemm_envelope(const struct rk_gemm_engine *e) { return &e->env; }

int rk_gemm_device_info(const struct rk_gemm_engine *e, struct npu_device_info *info)
{
    if (!e || !info) return -EINVAL;
    return npu_device_get_info(e->group[0]->dev[0], info);
}

void rk_engine_use_group(struct rk_gemm_engine *e, uint32_t g)
{
    e->dev = e->group[g]->dev;
    e->scratch = e->group[g]->scratch;
}

static void group_close(struct rk_fd_group *g)
{
    if (!g) return;
    for (uint32_t c = 0; c < NPU_CORES; c++) {
        for (uint32_t s = 0; s < RK_GEMM_BUF_SETS; s++) {
            struct rk_core_scratch *sc = &g->scratch[s][c];
            npu_bo_close(sc->a), npu_bo_close(sc->c), npu_bo_close(sc->regcmd);
        }
        if (g->dev[c]) npu_device_close(g->dev[c]);
    }
    free(g);
}

/* Open the next fd group: one device per core. 0, or -errno with the reason in why. */
static int group_open(struct rk_gemm_engine *e, char *why, size_t whylen)
{
    if (e->groups == RK_GEMM_MAX_GROUPS) {
        snprintf(why, whylen, "all %u fd groups (%u IOVA spaces of %llu bytes) are full", RK_GEMM_MAX_GROUPS,
                 RK_GEMM_MAX_GROUPS * e->cores, (unsigned long long)e->iova_space);
        return -ENOSPC;
    }
    struct rk_fd_group *g = calloc(1, sizeof *g);
    if (!g) {
        snprintf(why, whylen, "out of memory");
        return -ENOMEM;
    }
    /* The software NPU refuses any task outside the envelope, so a planner mistake cannot pass as a result. */
    struct npu_open_options oo = {.model_clock_mhz = e->opt.model_clock_mhz,
                                  .envelope = &e->env,
                                  .unchecked_submit = e->opt.unchecked_submit,
                                  .sim_iova_space = e->opt.sim_iova_space};
    for (uint32_t c = 0; c < e->cores; c++) {
        int rc = npu_device_open(e->opt.kind, &oo, &g->dev[c]);
        if (rc) {
            snprintf(why, whylen, "opening NPU device %u of %u (%s, fd group %u): %s", c + 1, e->cores,
                     npu_device_kind_name(e->opt.kind), e->groups, npu_last_error());
            group_close(g);
            return rc;
        }
    }
    e->group[e->groups++] = g;
    return 0;
}

int rk_gemm_open(const struct rk_gemm_options *opt, struct rk_gemm_engine **out, char *why, size_t whylen)
{
    struct rk_gemm_options o = opt ? *opt : (struct rk_gemm_options){.kind = NPU_DEVICE_AUTO};
    *out = NULL;
    if (!o.cores) o.cores = NPU_CORES;
    if (o.cores > NPU_CORES) {
        snprintf(why, whylen, "cores must be 1..%u (got %u)", NPU_CORES, o.cores);
        return -EINVAL;
    }
    struct rk_gemm_engine *e = calloc(1, sizeof *e);
    if (!e) {
        snprintf(why, whylen, "out of memory");
        return -ENOMEM;
    }
    e->opt = o, e->cores = o.cores;
    e->env = o.envelope ? *o.envelope : npu_envelope_safe;
    e->opt.envelope = &e->env;
    if (npu_envelope_validate(&e->env, why, whylen)) {
        rk_gemm_close(e);
        return -EINVAL;
    }
    int rc = group_open(e, why, whylen);
    if (rc) {
        rk_gemm_close(e);
        return rc;
    }
    struct npu_device_info info;
    npu_device_get_info(e->group[0]->dev[0], &info);
    e->iova_space = info.iova_space ? info.iova_space : NPU_IOVA_SPACE;
    e->iova_reserve = o.iova_reserve ? o.iova_reserve : e->iova_space / RK_GEMM_IOVA_RESERVE_DIV;
    if (e->iova_reserve >= e->iova_space) {
        snprintf(why, whylen, "IOVA reserve of %llu bytes leaves no room in a %llu-byte IOVA space",
                 (unsigned long long)e->iova_reserve, (unsigned long long)e->iova_space);
        rk_gemm_close(e);
        return -EINVAL;
    }
    rk_engine_use_group(e, 0);
    *out = e;
    return 0;
}

void rk_gemm_close(struct rk_gemm_engine *e)
{
    if (!e) return;
    for (uint32_t g = 0; g < e->groups; g++) group_close(e->group[g]);
    free(e->sx), free(e->xrot), free(e->xq);
    free(e);
}

/* BOs take whole pages of an IOVA space (drm_mm at PAGE_SIZE, docs/hardware/rocket-uapi.md §2.3). */
#define IOVA_PAGE_BYTES 4096u
static uint64_t iova_span(uint64_t bytes) { return (bytes + IOVA_PAGE_BYTES - 1) / IOVA_PAGE_BYTES * IOVA_PAGE_BYTES; }

static bool group_has_room(const struct rk_gemm_engine *e, const struct rk_fd_group *g, const uint64_t *bytes,
                           uint32_t cores)
{
    for (uint32_t c = 0; c < cores; c++)
        if (g->used[c] + iova_span(bytes[c]) > e->iova_space - e->iova_reserve) return false;
    return true;
}

void rk_weight_bos_release(struct rk_weight *w)
{
    struct rk_fd_group *g = w->e && w->group < w->e->groups ? w->e->group[w->group] : NULL;
    for (uint32_t c = 0; c < NPU_CORES; c++) {
        if (w->b[c] && g) g->used[c] -= iova_span(w->b[c]->size);
        npu_bo_close(w->b[c]);
        w->b[c] = NULL;
    }
}

int rk_weight_bos_place(struct rk_gemm_engine *e, struct rk_weight *w, const uint64_t *bytes, uint32_t cores)
{
    char why[320];
    for (uint32_t c = 0; c < cores; c++)
        if (bytes[c] >= UINT32_MAX || iova_span(bytes[c]) > e->iova_space - e->iova_reserve)
            return rk_gemm_fail(e, -ENOSPC,
                                "a core's share of %llu bytes does not fit one fd's IOVA space (%llu bytes, %llu "
                                "kept for scratch; docs/hardware/rocket-uapi.md §1.4)",
                                (unsigned long long)bytes[c], (unsigned long long)e->iova_space,
                                (unsigned long long)e->iova_reserve);
    for (uint32_t gi = 0;; gi++) {
        if (gi == e->groups) {
            int rc = group_open(e, why, sizeof why);
            if (rc) return rk_gemm_fail(e, rc, "no room for a weight of %u shares: %s", cores, why);
        }
        struct rk_fd_group *g = e->group[gi];
        if (!group_has_room(e, g, bytes, cores)) continue;
        int rc = 0;
        uint32_t c = 0;
        for (; c < cores && !rc; c++)
            if (!(rc = npu_bo_create(g->dev[c], (uint32_t)bytes[c], &w->b[c]))) g->used[c] += iova_span(bytes[c]);
        if (!rc) {
            w->group = gi;
            return 0;
        }
        snprintf(why, sizeof why, "%s", npu_last_error());
        w->group = gi;
        rk_weight_bos_release(w);
        /* The accounting said it fits; a fragmented space may still refuse: try the next group. */
        if (rc != -ENOSPC)
            return rk_gemm_fail(e, rc, "weight BO of %llu bytes on core %u of fd group %u: %s",
                                (unsigned long long)bytes[c - 1], c - 1, gi, why);
    }
}

int rk_gemm_memory_get(const struct rk_gemm_engine *e, struct rk_gemm_memory *m)
{
    if (!e || !m) return -EINVAL;
    *m = (struct rk_gemm_memory){.groups = e->groups,
                                 .fds = e->groups * e->cores,
                                 .iova_space = e->iova_space,
                                 .iova_reserve = e->iova_reserve};
    for (uint32_t g = 0; g < e->groups; g++)
        for (uint32_t c = 0; c < e->cores; c++) m->weight_bytes += e->group[g]->used[c];
    return 0;
}

int rk_gemm_weight_bytes(int64_t K, int64_t N, enum rk_gemm_mode mode, uint32_t cores, const struct npu_envelope *env,
                         uint64_t *bytes)
{
    struct rk_wlayout L;
    char why[256];
    int rc = rk_layout_make(K, N, mode, cores ? cores : NPU_CORES, env, &L, why, sizeof why);
    if (rc) return rc;
    *bytes = 0;
    for (uint32_t c = 0; c < L.cores; c++) *bytes += iova_span(L.core[c].b_bytes);
    return 0;
}
