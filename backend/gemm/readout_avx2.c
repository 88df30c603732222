// SPDX-License-Identifier: MIT
/* AVX2 readout: rk_readout_*_ref (readout.c) 8 columns at a time, bit-identical (same operation order;
 * cvtepi32_ps rounds half to even like the scalar int -> float conversion). Built with -mavx2; the caller
 * checks CPUID. */
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#include "gemm_internal.h"

void rk_readout_i32_avx2(const void *const *c, uint32_t nslices, uint32_t n, float sx, const float *sw, float *y,
                         int32_t *acc)
{
    __m256 vsx = _mm256_set1_ps(sx);
    uint32_t j = 0;
    for (; j + 8 <= n; j += 8) {
        __m256i a = _mm256_loadu_si256((const __m256i *)((const int32_t *)c[0] + j));
        for (uint32_t s = 1; s < nslices; s++) /* vpaddd wraps modulo 2^32 like the scalar sum */
            a = _mm256_add_epi32(a, _mm256_loadu_si256((const __m256i *)((const int32_t *)c[s] + j)));
        if (acc) _mm256_storeu_si256((__m256i *)(acc + j), a);
        __m256 scale = _mm256_mul_ps(vsx, _mm256_loadu_ps(sw + j));
        _mm256_storeu_ps(y + j, _mm256_mul_ps(_mm256_cvtepi32_ps(a), scale));
    }
    if (j < n) {
        const void *rest[RK_GEMM_MAX_SLICES];
        for (uint32_t s = 0; s < nslices; s++) rest[s] = (const int32_t *)c[s] + j;
        rk_readout_i32_ref(rest, nslices, n - j, sx, sw + j, y + j, acc ? acc + j : NULL);
    }
}

void rk_readout_f32_avx2(const void *const *c, uint32_t nslices, uint32_t n, float sx, const float *sw, float *y,
                         int32_t *acc)
{
    __m256 vsx = _mm256_set1_ps(sx);
    uint32_t j = 0;
    for (; j + 8 <= n; j += 8) {
        __m256 a = _mm256_loadu_ps((const float *)c[0] + j);
        for (uint32_t s = 1; s < nslices; s++) a = _mm256_add_ps(a, _mm256_loadu_ps((const float *)c[s] + j));
        __m256 scale = _mm256_mul_ps(vsx, _mm256_loadu_ps(sw + j));
        _mm256_storeu_ps(y + j, _mm256_mul_ps(a, scale));
    }
    if (j < n) {
        const void *rest[RK_GEMM_MAX_SLICES];
        for (uint32_t s = 0; s < nslices; s++) rest[s] = (const float *)c[s] + j;
        rk_readout_f32_ref(rest, nslices, n - j, sx, sw + j, y + j, acc);
    }
}
#endif
