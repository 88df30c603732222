// SPDX-License-Identifier: MIT
/* Reference packers for the NPU operand layouts (docs/hardware/layouts.md §2–§4). */
#include <string.h>

#include "layout.h"
#include "npu_limits.h"
#include "npu_regs.h"

int rk_dtype_precision(enum rk_dtype t)
{
    switch (t) {
    case RK_INT8:
        return NPU_PREC_INT8;
    case RK_FP16:
        return NPU_PREC_FP16;
    case RK_INT32:
        return NPU_PREC_INT32;
    case RK_FP32:
        return NPU_PREC_FP32;
    }
    return -1;
}

size_t rk_dtype_size(enum rk_dtype t) { return npu_prec_bytes(rk_dtype_precision(t)); }

uint32_t rk_kpad(uint32_t k) { return (k + NPU_K_ALIGN - 1) & ~(uint32_t)(NPU_K_ALIGN - 1); }

uint32_t rk_npad(enum rk_dtype in, uint32_t n)
{
    uint32_t g = in == RK_FP16 ? NPU_KGROUP_FP16 : NPU_KGROUP_INT8;
    return (n + g - 1) / g * g;
}

uint32_t rk_a_stride(const struct rk_matmul *mm) { return mm->a_row_stride ? mm->a_row_stride : rk_kpad(mm->k); }
uint32_t rk_c_stride(const struct rk_matmul *mm)
{
    return mm->c_row_stride ? mm->c_row_stride : rk_npad(mm->in, mm->n);
}

/* Elements per 16-byte atom: the "C2" of NC1HWC2. */
static size_t epa(enum rk_dtype t) { return NPU_ATOM_BYTES / rk_dtype_size(t); }

size_t rk_a_bytes(const struct rk_matmul *mm)
{
    size_t bpe = rk_dtype_size(mm->in), kpad = rk_kpad(mm->k);
    if (mm->a_layout == RK_LAYOUT_NC1HWC2) return kpad * mm->m * bpe;
    return ((size_t)(mm->m - 1) * rk_a_stride(mm) + kpad) * bpe;
}

size_t rk_b_bytes(const struct rk_matmul *mm)
{
    return (size_t)rk_kpad(mm->k) * rk_npad(mm->in, mm->n) * rk_dtype_size(mm->in);
}

size_t rk_c_bytes(const struct rk_matmul *mm)
{
    size_t obpe = rk_dtype_size(mm->out), npad = rk_npad(mm->in, mm->n);
    if (mm->c_layout == RK_LAYOUT_NC1HWC2) return npad * mm->m * obpe;
    return ((size_t)(mm->m - 1) * rk_c_stride(mm) + npad) * obpe;
}

static void copy_elem(void *dst, size_t di, const void *src, size_t si, size_t bpe)
{
    memcpy((char *)dst + di * bpe, (const char *)src + si * bpe, bpe);
}

static void zero_elem(void *dst, size_t di, size_t bpe) { memset((char *)dst + di * bpe, 0, bpe); }

void rk_pack_a(const struct rk_matmul *mm, void *dst, const void *src, size_t lda)
{
    size_t bpe = rk_dtype_size(mm->in), kpad = rk_kpad(mm->k), e = epa(mm->in);
    for (size_t r = 0; r < mm->m; r++) {
        for (size_t c = 0; c < kpad; c++) {
            size_t di = mm->a_layout == RK_LAYOUT_NC1HWC2 ? (c / e) * mm->m * e + r * e + c % e
                                                          : /* [Kpad/epa][M][epa] */
                                r * rk_a_stride(mm) + c;    /* [M][stride] */
            if (c < mm->k)
                copy_elem(dst, di, src, r * lda + c, bpe);
            else
                zero_elem(dst, di, bpe);
        }
    }
}

/* One layout for both types: [Npad/G][Kpad/32][G n][32 k], G = kernel group (docs/hardware/layouts.md §3.1). */
static void pack_b(void *dst, const void *src, size_t bpe, uint32_t g, uint32_t k, uint32_t n, size_t stride_k,
                   size_t stride_n)
{
    size_t kpad = rk_kpad(k), npad = (n + g - 1) / g * g;
    memset(dst, 0, kpad * npad * bpe);
    for (size_t nn = 0; nn < n; nn++)
        for (size_t kk = 0; kk < k; kk++) {
            size_t di = (nn / g) * kpad * g + (kk / 32) * g * 32 + (nn % g) * 32 + kk % 32;
            copy_elem(dst, di, src, kk * stride_k + nn * stride_n, bpe);
        }
}

void rk_pack_b_int8(int8_t *dst, const int8_t *src, uint32_t k, uint32_t n, size_t stride_k, size_t stride_n)
{
    pack_b(dst, src, 1, NPU_KGROUP_INT8, k, n, stride_k, stride_n);
}

void rk_pack_b_fp16(uint16_t *dst, const uint16_t *src, uint32_t k, uint32_t n, size_t stride_k, size_t stride_n)
{
    pack_b(dst, src, 2, NPU_KGROUP_FP16, k, n, stride_k, stride_n);
}

void rk_unpack_c(const struct rk_matmul *mm, void *dst, size_t ldc, const void *src)
{
    size_t obpe = rk_dtype_size(mm->out), e = epa(mm->out);
    for (size_t r = 0; r < mm->m; r++)
        for (size_t c = 0; c < mm->n; c++) {
            size_t si = mm->c_layout == RK_LAYOUT_NC1HWC2 ? (c / e) * mm->m * e + r * e + c % e
                                                          : /* [Npad/oepa][M][oepa] */
                                r * rk_c_stride(mm) + c;
            copy_elem(dst, r * ldc + c, src, si, obpe);
        }
}

uint16_t rk_fp16_from_float(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000);
    uint32_t exp = (x >> 23) & 0xff, man = x & 0x7fffff;

    if (exp == 0xff) /* Inf / NaN (keep NaN quiet) */
        return sign | 0x7c00 | (man ? 0x200 | (man >> 13) : 0);
    int e = (int)exp - 127 + 15;
    if (e >= 31) return sign | 0x7c00;
    if (e <= 0) { /* subnormal or zero */
        if (e < -10) return sign;
        man |= 0x800000;
        unsigned shift = (unsigned)(14 - e);
        uint32_t h = man >> shift, rem = man & ((1u << shift) - 1), half = 1u << (shift - 1);
        if (rem > half || (rem == half && (h & 1))) h++;
        return sign | (uint16_t)h;
    }
    uint32_t h = (uint32_t)e << 10 | man >> 13, rem = man & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (h & 1))) h++; /* may carry into the exponent: still correct */
    return sign | (uint16_t)h;
}

float rk_fp16_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ff, x;
    if (exp == 0x1f)
        x = sign | 0x7f800000 | man << 13;
    else if (exp)
        x = sign | (exp - 15 + 127) << 23 | man << 13;
    else if (!man)
        x = sign;
    else { /* subnormal: normalise */
        int e = -1;
        do {
            man <<= 1;
            e++;
        } while (!(man & 0x400));
        x = sign | (uint32_t)(127 - 15 - e) << 23 | (man & 0x3ff) << 13;
    }
    float f;
    memcpy(&f, &x, 4);
    return f;
}
