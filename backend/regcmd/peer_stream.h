/* SPDX-License-Identifier: MIT */
/*
 * Peer-stream generator: the register stream of one int8 fully-connected task as Mesa's rocket driver and
 * MF-rocket (its ggml port) program it on mainline rocket, written from the recipe in
 * docs/hardware/regcmd.md §9: a 1×1 convolution over a W = 1, H = M feature map of asymmetric uint8 data
 * shifted to int8 by −0x80, NC1HWC2 feature and output, a per-channel int32 bias read by DPU_RDMA into the
 * BS ALU, the weight zero point through the CPEND stage (BS_OW_OP) and int8 output through OUT_CVT;
 * op-enable 0x1D; 126 body entries + the 4-entry tail.
 *
 * Test equipment for the software NPU's peer-stream mode (the one independent cross-check of the
 * simulator against streams proven on silicon); the GEMM engine does not use it.
 */
#ifndef RK_PEER_STREAM_H
#define RK_PEER_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RK_PEER_BODY_ENTRIES 126 /* docs/hardware/regcmd.md §9 */

struct rk_peer_fc {
    uint32_t m, k, n; /* rows, input channels (a multiple of 16, as MF-rocket requires), output channels */
    uint32_t in_iova, w_iova, bias_iova, out_iova; /* 16-byte aligned */
    uint8_t in_zp, w_zp, out_zp;                   /* uint8 zero points */
    float conv_scale;                              /* in_scale·w_scale/out_scale: positive, below 2^15 */
    bool weight_reuse; /* CBUF_CON0.WEIGHT_REUSE: an earlier task of this job on this core loaded these weights */
};

/* What the recipe derives from the shape: padded sizes and Mesa's CBUF split. */
struct rk_peer_plan {
    uint32_t channels; /* DATAIN_CHANNEL = K */
    uint32_t kernels;  /* WEIGHT_KERNELS = align2(N) */
    uint32_t cout;     /* CORE/DPU channels = align32(N) */
    uint32_t data_banks, weight_banks;
    bool weights_resident; /* the weights stay in the CBUF, so later tasks may set WEIGHT_REUSE */
    uint32_t cvt_scale, cvt_shift;
};

/* Plan one task; 0 or −EINVAL/−ENOTSUP with a reason (shape outside the recipe, the CBUF split it cannot
 * make, WEIGHT_REUSE with streamed weights). */
int rk_peer_fc_plan(const struct rk_peer_fc *fc, struct rk_peer_plan *plan, char *err, size_t errlen);

/* Body + tail (zero next pointer, op-enable 0x1D) into out[cap]; *count = body + 4, the rocket regcmd_count.
 * 0 or a negative errno with a reason. */
int rk_peer_fc_regcmd(const struct rk_peer_fc *fc, uint64_t *out, size_t cap, size_t *count, char *err, size_t errlen);

/* OUT_CVT_SCALE / OUT_CVT_SHIFT register values for a conversion scale: a 15-bit mantissa multiplier and a
 * right shift (docs/hardware/arithmetic.md §2). −EINVAL unless 0 < conv_scale < 2^15 and normal. */
int rk_peer_out_cvt(float conv_scale, uint32_t *scale, uint32_t *shift);

/* Buffer sizes of the operands, in bytes. */
size_t rk_peer_input_bytes(uint32_t m, uint32_t k);  /* int8 [K/16][M][16] */
size_t rk_peer_weight_bytes(uint32_t k, uint32_t n); /* int8 kernel groups, docs/hardware/layouts.md §3.3 */
size_t rk_peer_bias_bytes(uint32_t n);               /* int32 [align32(N)] */
size_t rk_peer_output_bytes(uint32_t m, uint32_t n); /* int8 [align32(N)/16][M][16] */

/* x[M][K] uint8 -> the NC1HWC2 int8 feature (value − 0x80). */
void rk_peer_pack_input(int8_t *dst, const uint8_t *x, uint32_t m, uint32_t k);
/* w[N][K] uint8 -> Mesa's weight blocks (value − 0x80; the odd kernel of an odd N is zero). */
void rk_peer_pack_weights(int8_t *dst, const uint8_t *w, uint32_t k, uint32_t n);
/* The bias buffer: bias[n] − Σ_k (w[n][k] − w_zp)·(in_zp − 0x80), which folds the input zero point into the
 * bias (docs/hardware/arithmetic.md §3); channels past N are 0. */
void rk_peer_biases(int32_t *dst, const int32_t *bias, const uint8_t *w, uint32_t k, uint32_t n, uint8_t in_zp,
                    uint8_t w_zp);
/* The NC1HWC2 int8 output -> y[M][N] uint8 (value + 0x80). */
void rk_peer_unpack_output(uint8_t *y, const int8_t *src, uint32_t m, uint32_t n);

#endif
