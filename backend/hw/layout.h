/* SPDX-License-Identifier: MIT */
/*
 * Host-side reference layouts for the NPU's matmul operands (docs/hardware/layouts.md): buffer sizes, packing A and B,
 * unpacking C.  Scalar and obvious on purpose: tests and the probe tool use them as the definition of the layouts.  All
 * padding is zero (docs/hardware/layouts.md §1: padded channels must contribute 0).
 */
#ifndef RK_LAYOUT_H
#define RK_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

/* A matmul task as the NPU sees its operands: types, shapes, layouts and where they are (the regcmd
 * builder turns it into registers, regcmd.h). */
enum rk_dtype {
    RK_INT8,
    RK_FP16,
    RK_INT32,
    RK_FP32
};
enum rk_layout {
    RK_LAYOUT_ROW_MAJOR = 0, /* A[M][Kpad] / C[M][Npad] (padded rows; docs/hardware/layouts.md §2.2, §4.2) */
    RK_LAYOUT_NC1HWC2 = 1,   /* A[Kpad/epa][M][epa], C[Npad/oepa][M][oepa], epa = 16 B / elem */
};

struct rk_matmul {
    enum rk_dtype in;                /* RK_INT8 | RK_FP16 (A and B) */
    enum rk_dtype out;               /* int8 in: RK_INT32 | RK_FP32; fp16 in: RK_FP32 | RK_FP16 */
    uint32_t m, k, n;                /* real dimensions of this task */
    uint32_t a_iova, b_iova, c_iova; /* 16-byte aligned; B packed by rk_pack_b_* */
    enum rk_layout a_layout, c_layout;
    /* Row-major only, in elements, 0 = Kpad / Npad.  a_row_stride > Kpad reads a K-slice of a wider
	 * A in place; c_row_stride > Npad writes an N-tile into a wider C (int32/fp32 out only: fp16
	 * N-tile scatter found no working register combination, docs/hardware/layouts.md §4.3).  The DPU writes all Npad
	 * columns of a tile, so N-tiles sharing a row must start at multiples of 32 and only the last
	 * may be ragged. */
    uint32_t a_row_stride, c_row_stride;
};

int rk_dtype_precision(enum rk_dtype t); /* the NPU's precision code (enum npu_precision), -1 if none */
size_t rk_dtype_size(enum rk_dtype t);
uint32_t rk_kpad(uint32_t k);                     /* align32(K) */
uint32_t rk_npad(enum rk_dtype in, uint32_t n);   /* N to the kernel group: 32 int8, 16 fp16 */
uint32_t rk_a_stride(const struct rk_matmul *mm); /* row-major A row stride in elements */
uint32_t rk_c_stride(const struct rk_matmul *mm); /* row-major C row stride in elements */

/* Bytes the NPU reads/writes for each operand (the BO must be at least this large). */
size_t rk_a_bytes(const struct rk_matmul *mm);
size_t rk_b_bytes(const struct rk_matmul *mm);
size_t rk_c_bytes(const struct rk_matmul *mm);

/* A from a row-major host matrix src[m][lda] (elements of mm->in: int8_t or fp16 bits) into dst
 * (rk_a_bytes).  Row-major: columns [k, Kpad) are zeroed, columns beyond Kpad are left alone. */
void rk_pack_a(const struct rk_matmul *mm, void *dst, const void *src, size_t lda);

/* B[k][n] = src[k·stride_k + n·stride_n] (K×N row-major: stride_k = n, stride_n = 1; ggml's
 * N rows of K: stride_k = 1, stride_n = k).  dst holds Kpad·Npad elements:
 *   int8 [Npad/32][Kpad/32][32 n][32 k], fp16 [Npad/16][Kpad/32][16 n][32 k]  (docs/hardware/layouts.md §3.1). */
void rk_pack_b_int8(int8_t *dst, const int8_t *src, uint32_t k, uint32_t n, size_t stride_k, size_t stride_n);
void rk_pack_b_fp16(uint16_t *dst, const uint16_t *src, uint32_t k, uint32_t n, size_t stride_k, size_t stride_n);

/* C from the NPU's layout (src, rk_c_bytes) to row-major dst[m][ldc] of mm->out elements
 * (int32_t, float, or fp16 bits). */
void rk_unpack_c(const struct rk_matmul *mm, void *dst, size_t ldc, const void *src);

/* IEEE binary16 <-> binary32, round to nearest even. */
uint16_t rk_fp16_from_float(float f);
float rk_fp16_to_float(uint16_t h);

#endif
