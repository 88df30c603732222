// SPDX-License-Identifier: MIT
/*
 * Readout: the NPU's row-major C tiles (int32 or fp32, docs/hardware/layouts.md §4.2) of every K-slice summed and
 * scaled into row-major f32 Y: y = (float)(Σ_s c_s) · (s_x[m] · s_w[n]) (docs/hardware/arithmetic.md §4). int32
 * partials are summed modulo 2^32 like the NPU accumulator (docs/hardware/arithmetic.md §1 item 5), so split-K is
 * exact. These scalar functions are the reference for readout_avx2.c / readout_neon.c (bit-identical: the same two
 * multiplications in the same order, no fused multiply-add).
 */
#include "gemm_internal.h"

void rk_readout_i32_ref(const void *const *c, uint32_t nslices, uint32_t n, float sx, const float *sw, float *y,
                        int32_t *acc)
{
    for (uint32_t j = 0; j < n; j++) {
        uint32_t a = 0;
        for (uint32_t s = 0; s < nslices; s++) a += (uint32_t)((const int32_t *)c[s])[j];
        if (acc) acc[j] = (int32_t)a;
        y[j] = (float)(int32_t)a * (sx * sw[j]);
    }
}

void rk_readout_f32_ref(const void *const *c, uint32_t nslices, uint32_t n, float sx, const float *sw, float *y,
                        int32_t *acc)
{
    (void)acc;
    for (uint32_t j = 0; j < n; j++) {
        float a = ((const float *)c[0])[j];
        for (uint32_t s = 1; s < nslices; s++) a += ((const float *)c[s])[j];
        y[j] = a * (sx * sw[j]);
    }
}

#if defined(__x86_64__) || defined(__i386__)
void rk_readout_i32_avx2(const void *const *, uint32_t, uint32_t, float, const float *, float *, int32_t *);
void rk_readout_f32_avx2(const void *const *, uint32_t, uint32_t, float, const float *, float *, int32_t *);
#define READOUT_VEC(name) (rk_simd_available() ? rk_readout_##name##_avx2 : rk_readout_##name##_ref)
#elif defined(__aarch64__)
void rk_readout_i32_neon(const void *const *, uint32_t, uint32_t, float, const float *, float *, int32_t *);
void rk_readout_f32_neon(const void *const *, uint32_t, uint32_t, float, const float *, float *, int32_t *);
#define READOUT_VEC(name) rk_readout_##name##_neon
#else
#define READOUT_VEC(name) rk_readout_##name##_ref
#endif

void rk_readout_i32_simd(const void *const *c, uint32_t nslices, uint32_t n, float sx, const float *sw, float *y,
                         int32_t *acc)
{
    READOUT_VEC(i32)(c, nslices, n, sx, sw, y, acc);
}

void rk_readout_f32_simd(const void *const *c, uint32_t nslices, uint32_t n, float sx, const float *sw, float *y,
                         int32_t *acc)
{
    READOUT_VEC(f32)(c, nslices, n, sx, sw, y, acc);
}
