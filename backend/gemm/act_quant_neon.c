// SPDX-License-Identifier: MIT
/*
 * NEON activation quantization: the same arithmetic as rk_act_quant_*_ref (act_quant.c), 4 floats at a
 * time; vcvtnq_s32_f32 and vcvt_f16_f32 round half to even like lrintf / rk_fp16_from_float, so results are
 * bit-identical to the reference. Advanced SIMD is baseline on AArch64: no runtime check.
 */
#if defined(__aarch64__)
#include <arm_neon.h>
#include <float.h>
#include <math.h>
#include <string.h>

#include "gemm_internal.h"
#include "layout.h"

static float row_amax_neon(const float *r, uint32_t K)
{
    float32x4_t mx = vdupq_n_f32(0);
    uint32x4_t bad = vdupq_n_u32(0);
    uint32_t k = 0;
    for (; k + 4 <= K; k += 4) {
        float32x4_t v = vabsq_f32(vld1q_f32(r + k));
        bad = vorrq_u32(bad, vmvnq_u32(vceqq_f32(v, v))); /* NaN != NaN */
        mx = vmaxnmq_f32(mx, v);
    }
    if (vmaxvq_u32(bad)) return -1;
    float a = vmaxvq_f32(mx);
    for (; k < K; k++) {
        float v = fabsf(r[k]);
        if (v != v) return -1;
        a = v > a ? v : a;
    }
    return a <= FLT_MAX ? a : -1;
}

int rk_act_quant_i8_neon(const float *x, int64_t M, int64_t ldx, uint32_t K, uint32_t Kpad, void *dst, float *sx)
{
    int nonfinite = 0;
    for (int64_t m = 0; m < M; m++) {
        const float *r = x + m * ldx;
        int8_t *d = (int8_t *)dst + m * Kpad;
        float amax = row_amax_neon(r, K);
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
        uint32_t k = 0;
        for (; k + 16 <= K; k += 16) {
            int32x4_t q[4];
            for (int j = 0; j < 4; j++) {
                int32x4_t v = vcvtnq_s32_f32(vmulq_n_f32(vld1q_f32(r + k + 4 * j), inv));
                q[j] = vminq_s32(vmaxq_s32(v, vdupq_n_s32(-127)), vdupq_n_s32(127));
            }
            int16x8_t h0 = vcombine_s16(vqmovn_s32(q[0]), vqmovn_s32(q[1]));
            int16x8_t h1 = vcombine_s16(vqmovn_s32(q[2]), vqmovn_s32(q[3]));
            vst1q_s8(d + k, vcombine_s8(vqmovn_s16(h0), vqmovn_s16(h1)));
        }
        for (; k < K; k++) d[k] = rk_q8(r[k] * inv);
        memset(d + K, 0, Kpad - K);
        sx[m] = amax / 127.0f;
    }
    return nonfinite;
}

int rk_act_quant_f16_neon(const float *x, int64_t M, int64_t ldx, uint32_t K, uint32_t Kpad, void *dst, float *sx)
{
    int nonfinite = 0;
    for (int64_t m = 0; m < M; m++) {
        const float *r = x + m * ldx;
        uint16_t *d = (uint16_t *)dst + m * Kpad;
        float amax = row_amax_neon(r, K);
        if (amax < 0) {
            nonfinite += rk_act_row_nonfinite(d, (size_t)Kpad * 2, &sx[m]);
            continue;
        }
        float s = rk_pow2_scale_f16(amax), inv = 1.0f / s;
        uint32_t k = 0;
        for (; k + 4 <= K; k += 4)
            vst1_u16(d + k, vreinterpret_u16_f16(vcvt_f16_f32(vmulq_n_f32(vld1q_f32(r + k), inv))));
        for (; k < K; k++) d[k] = rk_fp16_from_float(r[k] * inv);
        memset(d + K, 0, (size_t)(Kpad - K) * 2);
        sx[m] = s;
    }
    return nonfinite;
}
#endif
