// SPDX-License-Identifier: MIT
/* NEON readout: rk_readout_*_ref (readout.c) 4 columns at a time, bit-identical (same operation order, no
 * fused multiply-add; vcvtq_f32_s32 rounds to nearest even like the scalar conversion). */
#if defined(__aarch64__)
#include <arm_neon.h>

#include "gemm_internal.h"

void rk_readout_i32_neon(const void *const *c, uint32_t nslices, uint32_t n, float sx, const float *sw, float *y,
                         int32_t *acc)
{
    uint32_t j = 0;
    for (; j + 4 <= n; j += 4) {
        int32x4_t a = vld1q_s32((const int32_t *)c[0] + j);
        for (uint32_t s = 1; s < nslices; s++) /* wraps modulo 2^32 like the scalar sum */
            a = vaddq_s32(a, vld1q_s32((const int32_t *)c[s] + j));
        if (acc) vst1q_s32(acc + j, a);
        float32x4_t scale = vmulq_n_f32(vld1q_f32(sw + j), sx);
        vst1q_f32(y + j, vmulq_f32(vcvtq_f32_s32(a), scale));
    }
    if (j < n) {
        const void *rest[RK_GEMM_MAX_SLICES];
        for (uint32_t s = 0; s < nslices; s++) rest[s] = (const int32_t *)c[s] + j;
        rk_readout_i32_ref(rest, nslices, n - j, sx, sw + j, y + j, acc ? acc + j : NULL);
    }
}

void rk_readout_f32_neon(const void *const *c, uint32_t nslices, uint32_t n, float sx, const float *sw, float *y,
                         int32_t *acc)
{
    uint32_t j = 0;
    for (; j + 4 <= n; j += 4) {
        float32x4_t a = vld1q_f32((const float *)c[0] + j);
        for (uint32_t s = 1; s < nslices; s++) a = vaddq_f32(a, vld1q_f32((const float *)c[s] + j));
        float32x4_t scale = vmulq_n_f32(vld1q_f32(sw + j), sx);
        vst1q_f32(y + j, vmulq_f32(a, scale));
    }
    if (j < n) {
        const void *rest[RK_GEMM_MAX_SLICES];
        for (uint32_t s = 0; s < nslices; s++) rest[s] = (const float *)c[s] + j;
        rk_readout_f32_ref(rest, nslices, n - j, sx, sw + j, y + j, acc);
    }
}
#endif
