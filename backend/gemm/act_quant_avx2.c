// SPDX-License-Identifier: MIT
/*
 * AVX2/F16C activation quantization: the same arithmetic as rk_act_quant_*_ref (act_quant.c), 8 floats at a
 * time. The absolute maximum is order-independent and the conversions round half to even like lrintf /
 * rk_fp16_from_float, so the result is bit-identical (tests compare). Built with -mavx2 -mf16c; only called
 * after a CPUID check.
 */
#if defined(__x86_64__) || defined(__i386__)
#include <float.h>
#include <immintrin.h>
#include <math.h>
#include <string.h>

#include "gemm_internal.h"
#include "layout.h"

/* amax of a row, or -1 if it holds a NaN or an infinity */
static float row_amax_avx2(const float *r, uint32_t K)
{
    const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    __m256 mx = _mm256_setzero_ps(), bad = _mm256_setzero_ps();
    uint32_t k = 0;
    for (; k + 8 <= K; k += 8) {
        __m256 v = _mm256_and_ps(_mm256_loadu_ps(r + k), abs_mask);
        bad = _mm256_or_ps(bad, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
        mx = _mm256_max_ps(mx, v);
    }
    float lanes[8], a = 0;
    _mm256_storeu_ps(lanes, mx);
    for (int i = 0; i < 8; i++) a = lanes[i] > a ? lanes[i] : a;
    if (_mm256_movemask_ps(bad)) return -1;
    for (; k < K; k++) {
        float v = fabsf(r[k]);
        if (v != v) return -1;
        a = v > a ? v : a;
    }
    return a <= FLT_MAX ? a : -1;
}

int rk_act_quant_i8_avx2(const float *x, int64_t M, int64_t ldx, uint32_t K, uint32_t Kpad, void *dst, float *sx)
{
    int nonfinite = 0;
    const __m256i lo = _mm256_set1_epi32(-127), hi = _mm256_set1_epi32(127);
    const __m256i perm = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    for (int64_t m = 0; m < M; m++) {
        const float *r = x + m * ldx;
        int8_t *d = (int8_t *)dst + m * Kpad;
        float amax = row_amax_avx2(r, K);
        if (amax < 0) {
            nonfinite += rk_act_row_nonfinite(d, Kpad, &sx[m]);
            continue;
        }
        if (amax == 0) {
            memset(d, 0, Kpad);
            sx[m] = 0;
            continue;
        }
        float inv = 127.0f / amax;
        __m256 vinv = _mm256_set1_ps(inv);
        uint32_t k = 0;
        for (; k + 32 <= K; k += 32) {
            __m256i q[4];
            for (int j = 0; j < 4; j++) {
                __m256i v = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(r + k + 8 * j), vinv));
                q[j] = _mm256_min_epi32(_mm256_max_epi32(v, lo), hi);
            }
            /* packs work per 128-bit lane: [a0-3 b0-3 | a4-7 b4-7] -> bytes [a0-3 b0-3 c0-3 d0-3 | a4-7 ...] */
            __m256i ab = _mm256_packs_epi32(q[0], q[1]), cd = _mm256_packs_epi32(q[2], q[3]);
            __m256i b = _mm256_permutevar8x32_epi32(_mm256_packs_epi16(ab, cd), perm);
            _mm256_storeu_si256((__m256i *)(d + k), b);
        }
        for (; k < K; k++) d[k] = rk_q8(r[k] * inv);
        memset(d + K, 0, Kpad - K);
        sx[m] = amax / 127.0f;
    }
    return nonfinite;
}

int rk_act_quant_f16_avx2(const float *x, int64_t M, int64_t ldx, uint32_t K, uint32_t Kpad, void *dst, float *sx)
{
    int nonfinite = 0;
    for (int64_t m = 0; m < M; m++) {
        const float *r = x + m * ldx;
        uint16_t *d = (uint16_t *)dst + m * Kpad;
        float amax = row_amax_avx2(r, K);
        if (amax < 0) {
            nonfinite += rk_act_row_nonfinite(d, (size_t)Kpad * 2, &sx[m]);
            continue;
        }
        float s = rk_pow2_scale_f16(amax), inv = 1.0f / s;
        __m256 vinv = _mm256_set1_ps(inv);
        uint32_t k = 0;
        for (; k + 8 <= K; k += 8) {
            __m128i h = _mm256_cvtps_ph(_mm256_mul_ps(_mm256_loadu_ps(r + k), vinv),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
            _mm_storeu_si128((__m128i *)(d + k), h);
        }
        for (; k < K; k++) d[k] = rk_fp16_from_float(r[k] * inv);
        memset(d + K, 0, (size_t)(Kpad - K) * 2);
        sx[m] = s;
    }
    return nonfinite;
}
#endif
