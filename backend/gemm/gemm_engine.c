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
    return npu_device_get_info(e->dev[0], info);
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
    /* The software NPU refuses any task outside the envelope, so a planner mistake cannot pass as a result. */
    struct npu_open_options oo = {
            .model_clock_mhz = o.model_clock_mhz, .envelope = &e->env, .unchecked_submit = o.unchecked_submit};
    for (uint32_t c = 0; c < e->cores; c++) {
        int rc = npu_device_open(o.kind, &oo, &e->dev[c]);
        if (rc) {
            snprintf(why, whylen, "opening NPU device %u of %u (%s): %s", c + 1, e->cores, npu_device_kind_name(o.kind),
                     npu_last_error());
            rk_gemm_close(e);
            return rc;
        }
    }
    *out = e;
    return 0;
}

void rk_gemm_close(struct rk_gemm_engine *e)
{
    if (!e) return;
    for (uint32_t c = 0; c < NPU_CORES; c++) {
        for (uint32_t s = 0; s < RK_GEMM_BUF_SETS; s++) {
            struct rk_core_scratch *sc = &e->scratch[s][c];
            npu_bo_close(sc->a), npu_bo_close(sc->c), npu_bo_close(sc->regcmd);
        }
        if (e->dev[c]) npu_device_close(e->dev[c]);
    }
    free(e->sx), free(e->xrot), free(e->xq);
    free(e);
}
