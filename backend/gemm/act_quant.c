// SPDX-License-Identifier: MIT
/*
 * Quantization of rows: weights (prepare time) and activations (run time, straight into the NPU's
 * row-major A layout, docs/hardware/layouts.md §2.2: row pitch Kpad·bpe, zero padding §1).
 * The scalar functions here are the reference the vectorised ones (act_quant_avx2.c / _neon.c) must match
 * bit for bit: same scale, same multiply, round-half-even conversion, same clamp.
 */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <string.h>

#include "gemm_internal.h"
#include "layout.h"

#define Q8_MAX           127.0f /* symmetric int8: ±127, never −128 (docs/hardware/arithmetic.md §4) */
#define F16_HEADROOM_EXP 14     /* |value| < 2^14 after scaling: fp16 max is 65504 (docs/hardware/arithmetic.md §5) */

float rk_pow2_scale_f16(float amax)
{
    if (!(amax > 0)) return 1.0f;
    int e;
    frexpf(amax, &e); /* amax < 2^e */
    e -= F16_HEADROOM_EXP;
    return ldexpf(1.0f, e < -126 ? -126 : e);
}

static int row_amax(const float *r, uint32_t k, float *amax)
{
    float a = 0;
    for (uint32_t i = 0; i < k; i++) {
        float v = fabsf(r[i]);
        if (!(v <= FLT_MAX)) return -EINVAL; /* NaN or Inf */
        a = v > a ? v : a;
    }
    *amax = a;
    return 0;
}

int rk_quant_row_i8(const float *w, uint32_t k, int8_t *q, float *scale)
{
    float amax;
    if (row_amax(w, k, &amax)) return -EINVAL;
    if (amax == 0) {
        memset(q, 0, k);
        *scale = 1.0f; /* all-zero row: scale 1 (docs/hardware/arithmetic.md §4) */
        return 0;
    }
    float inv = Q8_MAX / amax;
    for (uint32_t i = 0; i < k; i++) q[i] = rk_q8(w[i] * inv);
    *scale = amax / Q8_MAX;
    return 0;
}

int rk_quant_row_f16(const float *w, uint32_t k, uint16_t *q, float *scale)
{
    float amax;
    if (row_amax(w, k, &amax)) return -EINVAL;
    float s = rk_pow2_scale_f16(amax), inv = 1.0f / s; /* powers of two: the scaling itself is exact */
    for (uint32_t i = 0; i < k; i++) q[i] = rk_fp16_from_float(w[i] * inv);
    *scale = s;
    return 0;
}

int rk_act_quant_i8_ref(const float *x, int64_t M, int64_t ldx, uint32_t K, uint32_t Kpad, void *dst, float *sx)
{
    int nonfinite = 0;
    for (int64_t m = 0; m < M; m++) {
        const float *r = x + m * ldx;
        int8_t *d = (int8_t *)dst + m * Kpad;
        float amax;
        if (row_amax(r, K, &amax)) {
            nonfinite += rk_act_row_nonfinite(d, Kpad, &sx[m]);
            continue;
        }
        if (amax == 0) {
            memset(d, 0, Kpad);
            sx[m] = 0;
            continue;
        }
        float inv = Q8_MAX / amax;
        for (uint32_t k = 0; k < K; k++) d[k] = rk_q8(r[k] * inv);
        memset(d + K, 0, Kpad - K);
        sx[m] = amax / Q8_MAX;
    }
    return nonfinite;
}

int rk_act_quant_f16_ref(const float *x, int64_t M, int64_t ldx, uint32_t K, uint32_t Kpad, void *dst, float *sx)
{
    int nonfinite = 0;
    for (int64_t m = 0; m < M; m++) {
        const float *r = x + m * ldx;
        uint16_t *d = (uint16_t *)dst + m * Kpad;
        float amax;
        if (row_amax(r, K, &amax)) {
            nonfinite += rk_act_row_nonfinite(d, (size_t)Kpad * 2, &sx[m]);
            continue;
        }
        float s = rk_pow2_scale_f16(amax), inv = 1.0f / s;
        for (uint32_t k = 0; k < K; k++) d[k] = rk_fp16_from_float(r[k] * inv);
        memset(d + K, 0, (size_t)(Kpad - K) * 2);
        sx[m] = s;
    }
    return nonfinite;
}

/* ---- dispatch: chosen at compile time by architecture (plus a CPUID check for AVX2/F16C on x86) ---- */
#if defined(__x86_64__) || defined(__i386__)
int rk_act_quant_i8_avx2(const float *, int64_t, int64_t, uint32_t, uint32_t, void *, float *);
int rk_act_quant_f16_avx2(const float *, int64_t, int64_t, uint32_t, uint32_t, void *, float *);
bool rk_simd_available(void) { return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("f16c"); }
const char *rk_simd_name(void) { return rk_simd_available() ? "avx2" : "scalar"; }
int rk_act_quant_i8_simd(const float *x, int64_t M, int64_t ldx, uint32_t K, uint32_t Kpad, void *dst, float *sx)
{
    return rk_simd_available() ? rk_act_quant_i8_avx2(x, M, ldx, K, Kpad, dst, sx)
                               : rk_act_quant_i8_ref(x, M, ldx, K, Kpad, dst, sx);
}
int rk_act_quant_f16_simd(const float *x, int64_t M, int64_t ldx, uint32_t K, uint32_t Kpad, void *dst, float *sx)
{
    return rk_simd_available() ? rk_act_quant_f16_avx2(x, M, ldx, K, Kpad, dst, sx)
                               : rk_act_quant_f16_ref(x, M, ldx, K, Kpad, dst, sx);
}
#elif defined(__aarch64__)
int rk_act_quant_i8_neon(const float *, int64_t, int64_t, uint32_t, uint32_t, void *, float *);
int rk_act_quant_f16_neon(const float *, int64_t, int64_t, uint32_t, uint32_t, void *, float *);
bool rk_simd_available(void) { return true; } /* Advanced SIMD is baseline on AArch64 */
const char *rk_simd_name(void) { return "neon"; }
int rk_act_quant_i8_simd(const float *x, int64_t M, int64_t ldx, uint32_t K, uint32_t Kpad, void *dst, float *sx)
{
    return rk_act_quant_i8_neon(x, M, ldx, K, Kpad, dst, sx);
}
int rk_act_quant_f16_simd(const float *x, int64_t M, int64_t ldx, uint32_t K, uint32_t Kpad, void *dst, float *sx)
{
    return rk_act_quant_f16_neon(x, M, ldx, K, Kpad, dst, sx);
}
#else
bool rk_simd_available(void) { return false; }
const char *rk_simd_name(void) { return "scalar"; }
int rk_act_quant_i8_simd(const float *x, int64_t M, int64_t ldx, uint32_t K, uint32_t Kpad, void *dst, float *sx)
{
    return rk_act_quant_i8_ref(x, M, ldx, K, Kpad, dst, sx);
}
int rk_act_quant_f16_simd(const float *x, int64_t M, int64_t ldx, uint32_t K, uint32_t Kpad, void *dst, float *sx)
{
    return rk_act_quant_f16_ref(x, M, ldx, K, Kpad, dst, sx);
}
#endif
