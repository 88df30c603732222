// SPDX-License-Identifier: MIT
/* Unit tests for the regcmd builder, the shared envelope and the reference layouts (TAP). */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "layout.h"
#include "npu_limits.h"
#include "regcmd.h"
#include "tap.h"

#include "blob_i8.h"

static uint32_t rng_state;
static uint32_t rnd(void)
{
    /* xorshift32: deterministic, seed printed in the TAP output */
    uint32_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return rng_state = x;
}

static int first_diff(const uint64_t *a, const uint64_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i]) {
            tap_diag("entry %zu: got %016" PRIx64 ", want %016" PRIx64, i, a[i], b[i]);
            return (int)i;
        }
    return -1;
}

static struct rk_matmul blob_mm(void)
{
    return (struct rk_matmul){.in = RK_INT8,
                              .out = RK_INT32,
                              .m = 4,
                              .k = 64,
                              .n = 32,
                              .a_iova = 0x00100000,
                              .b_iova = 0x00200000,
                              .c_iova = 0x00300000};
}

static uint32_t last_count;
static void build(const struct rk_matmul *mm, uint32_t next, uint64_t *seg, int *rc, char *err)
{
    *rc = rk_regcmd_matmul_task(mm, next, seg, 120, &last_count, err, 256);
}

static void test_entries(void)
{
    uint64_t e = npu_entry(NPU_TGT_CNA, CNA_CBUF_CON0, 0xb1);
    tap_is_int(e, 0x0201000000b11040ull, "entry encode: target<<48 | value<<16 | reg (docs/hardware/regcmd.md §1)");
    tap_ok(npu_entry_target(e) == NPU_TGT_CNA && npu_entry_reg(e) == CNA_CBUF_CON0 && npu_entry_value(e) == 0xb1,
           "entry decode round-trips target, register, value");
    e = npu_entry(NPU_TGT_DPU, DPU_DATA_FORMAT, 0xA8000002u);
    tap_ok(npu_entry_value(e) == 0xA8000002u && npu_entry_reg(e) == DPU_DATA_FORMAT,
           "entry decode keeps bit 31 of the value");
    tap_ok(npu_get(0x003f0040, CNA_DATA_SIZE1_DATAIN_CHANNEL_REAL) == 63 &&
                   npu_get(0x003f0040, CNA_DATA_SIZE1_DATAIN_CHANNEL) == 64,
           "field get (DATA_SIZE1)");
    tap_ok(npu_fits(CNA_DATA_SIZE0_DATAIN_HEIGHT, 2047) && !npu_fits(CNA_DATA_SIZE0_DATAIN_HEIGHT, 2048),
           "field width check (11-bit DATAIN_HEIGHT)");
    tap_ok(!strcmp(npu_reg_name(DPU_SURFACE_ADD), "DPU_SURFACE_ADD") && !npu_reg_name(0x1090),
           "register table names known registers only");
    char d[96];
    rk_regcmd_describe(0x0201000000b11040ull, d, sizeof(d));
    tap_ok(!strcmp(d, "CNA_CBUF_CON0 (0x1040) = 0x000000b1"), "describe a register write: %s", d);
    rk_regcmd_describe(0x00810000000d0008ull, d, sizeof(d));
    tap_ok(!strcmp(d, "op-enable 0xd"), "describe op-enable: %s", d);
}

static void test_blob_stream(void)
{
    uint64_t seg[120];
    char err[256] = "";
    int rc;
    struct rk_matmul mm = blob_mm();

    build(&mm, 0, seg, &rc, err);
    tap_ok(rc == 0, "build int8 M=4 K=64 N=32 (%s)", err);
    tap_ok(first_diff(seg, blob_i8, 112) < 0,
           "byte-exact docs/hardware/regcmd.md §8.3 stream: 108 body + 4 tail words");
    tap_is_int(last_count, 112, "regcmd_count for the task = 108 + 4");

    /* The capture itself had zero addresses (docs/hardware/regcmd.md §8.1). */
    uint64_t want[112];
    memcpy(want, blob_i8, sizeof(want));
    want[25] = npu_entry(NPU_TGT_CNA, CNA_FEATURE_DATA_ADDR, 0);
    want[34] = npu_entry(NPU_TGT_CNA, CNA_DCOMP_ADDR0, 0);
    want[61] = npu_entry(NPU_TGT_DPU, DPU_DST_BASE_ADDR, 0);
    mm.a_iova = mm.b_iova = mm.c_iova = 0;
    build(&mm, 0, seg, &rc, err);
    tap_ok(rc == 0 && first_diff(seg, want, 112) < 0,
           "byte-exact docs/hardware/regcmd.md §8.3 stream with zero addresses");

    /* Two-task variant: M=8 as two M-tiles of 4, segments at 0x00400000 and 0x00400380. */
    uint64_t t0[120], t1[120];
    struct rk_matmul a = blob_mm(), b = blob_mm();
    b.a_iova += 4 * 64;
    b.c_iova += 4 * 128;
    build(&a, 0x00400380, t0, &rc, err);
    build(&b, 0, t1, &rc, err);
    memcpy(want, blob_i8, sizeof(want));
    want[108] = 0x0101004003800010ull;
    want[109] = 0x0101000000370014ull;
    tap_ok(first_diff(t0, want, 112) < 0,
           "two-task chain: task 0 tail = next PC_BASE_ADDRESS + amount 55 (docs/hardware/regcmd.md §8.5)");
    memcpy(want, blob_i8, sizeof(want));
    want[25] = 0x0201001001001070ull;
    want[61] = 0x1001003002004020ull;
    tap_ok(first_diff(t1, want, 112) < 0,
           "two-task chain: task 1 differs in entries 25 and 61 only (docs/hardware/regcmd.md §8.5)");

    /* BLOB-F16 differs from BLOB-I8 in exactly these entries (docs/hardware/regcmd.md §8.6). */
    mm = blob_mm();
    mm.in = RK_FP16;
    mm.out = RK_FP32;
    build(&mm, 0, seg, &rc, err);
    memcpy(want, blob_i8, sizeof(want));
    want[3] = want[5] = npu_entry(NPU_TGT_CNA, CNA_CONV_CON1, 0x20000120);
    want[12] = npu_entry(NPU_TGT_CNA, CNA_WEIGHT_SIZE0, 4096);
    want[13] = npu_entry(NPU_TGT_CNA, CNA_WEIGHT_SIZE1, 128);
    want[16] = npu_entry(NPU_TGT_CNA, CNA_CBUF_CON1, 2);
    want[28] = npu_entry(NPU_TGT_CNA, CNA_DMA_CON1, 8);
    want[53] = npu_entry(NPU_TGT_CORE, CORE_MISC_CFG, 0x201);
    want[59] = npu_entry(NPU_TGT_DPU, DPU_DATA_FORMAT, 0xA8000002u);
    want[71] = npu_entry(NPU_TGT_DPU, DPU_BS_OW_CFG, 0x36E);
    want[94] = npu_entry(NPU_TGT_DPU, DPU_SURFACE_ADD, 0x40);
    tap_ok(rc == 0 && first_diff(seg, want, 112) < 0,
           "fp16->fp32 stream = docs/hardware/regcmd.md §8.3 with the nine BLOB-F16 deltas (§8.6)");

    /* int8 -> fp32 differs only in DATA_FORMAT (docs/hardware/regcmd.md §8.6). */
    mm = blob_mm();
    mm.out = RK_FP32;
    build(&mm, 0, seg, &rc, err);
    memcpy(want, blob_i8, sizeof(want));
    want[59] = npu_entry(NPU_TGT_DPU, DPU_DATA_FORMAT, 0xA0000000u);
    tap_ok(rc == 0 && first_diff(seg, want, 112) < 0,
           "int8->fp32 stream = docs/hardware/regcmd.md §8.3 with OUT_PRECISION 5 (§8.6)");

    /* fp16 -> fp16: OUT_CVT FP32TOFP16_EN, SIZE_E 1, SURFACE_ADD 0x20, notch Npad/8-1 (docs/hardware/layouts.md §4.2,
     * docs/hardware/arithmetic.md §2). */
    mm.in = RK_FP16;
    mm.out = RK_FP16;
    build(&mm, 0, seg, &rc, err);
    tap_ok(rc == 0 && seg[84] == npu_entry(NPU_TGT_DPU, DPU_OUT_CVT_SCALE, 0x10001) &&
                   seg[94] == npu_entry(NPU_TGT_DPU, DPU_SURFACE_ADD, 0x20) &&
                   seg[65] == npu_entry(NPU_TGT_DPU, DPU_DATA_CUBE_NOTCH_ADDR, 0x00030003) &&
                   seg[59] == npu_entry(NPU_TGT_DPU, DPU_DATA_FORMAT, 0x48000002u),
           "fp16->fp16 output registers (docs/hardware/layouts.md §4.2, docs/hardware/arithmetic.md §2)");
}

static void test_body_shape(void)
{
    uint64_t body[RK_REGCMD_BODY_ENTRIES];
    size_t n = 0;
    char err[256] = "";
    struct rk_matmul mm = {.in = RK_INT8,
                           .out = RK_INT32,
                           .m = 3,
                           .k = 100,
                           .n = 1023,
                           .a_iova = 0x1000,
                           .b_iova = 0x20000,
                           .c_iova = 0x80000};
    int rc = rk_regcmd_matmul(&mm, body, RK_REGCMD_BODY_ENTRIES, &n, err, sizeof(err));
    tap_ok(rc == 0 && n == 108, "odd shape M=3 K=100 N=1023 builds a 108-entry body (%s)", err);
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        uint16_t reg = npu_entry_reg(body[i]);
        if (npu_entry_target(body[i]) != npu_block_target(npu_block_of(reg)) || !npu_reg_name(reg)) bad++;
    }
    tap_is_int(bad, 0, "every body entry names a table register with its block's target");
    rc = rk_regcmd_matmul(&mm, body, 100, &n, err, sizeof(err));
    tap_ok(rc == -ENOSPC, "too small a body buffer is rejected");

    /* NC1HWC2 recipes (MTX): group line on, LS 4, SS M-4; C stride 16·M, notch 0
     * (docs/hardware/layouts.md §2.2, §4.2). */
    mm = blob_mm();
    mm.a_layout = mm.c_layout = RK_LAYOUT_NC1HWC2;
    mm.m = 8;
    rc = rk_regcmd_matmul(&mm, body, RK_REGCMD_BODY_ENTRIES, &n, err, sizeof(err));
    tap_ok(rc == 0 && body[3] == npu_entry(NPU_TGT_CNA, CNA_CONV_CON1, 0) &&
                   body[28] == npu_entry(NPU_TGT_CNA, CNA_DMA_CON1, 4) &&
                   body[29] == npu_entry(NPU_TGT_CNA, CNA_DMA_CON2, 4) &&
                   body[62] == npu_entry(NPU_TGT_DPU, DPU_DST_SURF_STRIDE, 128) &&
                   body[65] == npu_entry(NPU_TGT_DPU, DPU_DATA_CUBE_NOTCH_ADDR, 0) &&
                   body[94] == npu_entry(NPU_TGT_DPU, DPU_SURFACE_ADD, 8 * 128),
           "NC1HWC2 A and C recipes (M=8)");
    mm.m = 1;
    rc = rk_regcmd_matmul(&mm, body, RK_REGCMD_BODY_ENTRIES, &n, err, sizeof(err));
    tap_ok(rc == 0 && body[29] == npu_entry(NPU_TGT_CNA, CNA_DMA_CON2, 0x0ffffffd),
           "NC1HWC2 A with M=1: SURF_STRIDE -3 masked to 28 bits (docs/hardware/layouts.md §2.2)");

    /* N-tile into a wider int32 C: notch from the full row (HM, docs/hardware/layouts.md §4.3). */
    mm = blob_mm();
    mm.c_row_stride = 1024;
    rc = rk_regcmd_matmul(&mm, body, RK_REGCMD_BODY_ENTRIES, &n, err, sizeof(err));
    tap_ok(rc == 0 && body[65] == npu_entry(NPU_TGT_DPU, DPU_DATA_CUBE_NOTCH_ADDR, 0x00ff00ff),
           "int32 N-tile into a 1024-wide C: notch 255 (docs/hardware/layouts.md §4.3)");
    /* K-slice of a wider A: LINE_STRIDE from the full row. */
    mm = blob_mm();
    mm.a_row_stride = 4096;
    rc = rk_regcmd_matmul(&mm, body, RK_REGCMD_BODY_ENTRIES, &n, err, sizeof(err));
    tap_ok(rc == 0 && body[28] == npu_entry(NPU_TGT_CNA, CNA_DMA_CON1, 256),
           "K-slice of a 4096-wide A: LINE_STRIDE 256");

    /* Large M: grains capped at two banks of rows for int8 (docs/hardware/limits.md §4), banks split (§1.2). */
    mm = blob_mm();
    mm.m = 128;
    mm.k = 1024;
    rc = rk_regcmd_matmul(&mm, body, RK_REGCMD_BODY_ENTRIES, &n, err, sizeof(err));
    tap_ok(rc == 0 && body[6] == npu_entry(NPU_TGT_CNA, CNA_CONV_CON2, 64 << 4) &&
                   body[0] == npu_entry(NPU_TGT_CNA, CNA_CBUF_CON0, 0x84),
           "M=128 K=1024: FEATURE_GRAINS 64, CBUF 8 weight + 4 data banks");
}

static void test_amounts(void)
{
    tap_is_int(rk_regcmd_count(108), 112, "rocket regcmd_count = body + 4");
    tap_is_int(rk_pc_data_amount(112), 55, "kernel PC_DATA_AMOUNT (112+1)/2-1 = 55 (docs/hardware/regcmd.md §4, §8.4)");
    tap_is_int(rk_pc_data_amount(111), 55, "odd regcmd_count rounds up to whole 128-bit units");
    tap_is_int(rk_pc_fetch_entries(55), 112, "PC fetches 2·(amount+1) entries");
    tap_is_int(rk_next_amount(108), 55, "in-stream next amount ceil(108/2)+1 = 55 (docs/hardware/regcmd.md §4)");
    tap_ok(rk_next_amount(13) == 8 && rk_next_amount(12) == 7 && rk_next_amount(17) == 10,
           "in-stream amounts match the RKNN capture 13->8, 12->7, 17->10 (docs/hardware/regcmd.md §4)");
    tap_is_int(rk_regcmd_segment_entries(108), 112, "segment room 112 entries for a 108 body");
    tap_is_int(rk_regcmd_segment_entries(13), 24, "segment room rounds body+4 up to 64 bytes");

    uint64_t t[4];
    tap_is_int(rk_regcmd_tail(t, 0, 0), 4, "tail has 4 entries");
    tap_ok(t[0] == 0 && t[1] == 0x0101000000000014ull && t[2] == 0x0041000000000000ull && t[3] == 0x00810000000d0008ull,
           "end-of-chain tail = docs/hardware/regcmd.md §8.3 entries 108-111");
    rk_regcmd_tail(t, 0x12345670, 108);
    tap_ok(t[0] == npu_entry(NPU_TGT_PC, PC_BASE_ADDRESS, 0x12345670) &&
                   t[1] == npu_entry(NPU_TGT_PC, PC_REGISTER_AMOUNTS, 55),
           "chaining tail names the next segment and its amount");
    uint64_t seg[120];
    uint32_t count;
    char err[256] = "";
    struct rk_matmul mm = blob_mm();
    tap_ok(rk_regcmd_matmul_task(&mm, 0x12345678, seg, 120, &count, err, sizeof(err)) == -EINVAL,
           "unaligned next regcmd address rejected");
}

/* A refusal names its source in the repository, as in "(docs/hardware/limits.md §5)". */
static bool cites_docs(const char *err)
{
    static const char section_sign[] = "\u00a7"; /* UTF-8, as in the messages */
    const char *doc = strstr(err, "docs/hardware/");
    const char *md = doc ? strstr(doc, ".md ") : NULL;
    return md && strncmp(md + strlen(".md "), section_sign, strlen(section_sign)) == 0;
}

/* One test per envelope check: the builder refuses with the reason and the section. */
static void expect_reject(struct rk_matmul mm, int want_rc, const char *needle, const char *desc)
{
    char err[256] = "";
    int rc = rk_matmul_check(&mm, err, sizeof(err));
    if (!tap_ok(rc == want_rc && strstr(err, needle) && cites_docs(err), "%s", desc))
        tap_diag("rc %d, err \"%s\", want rc %d mentioning \"%s\"", rc, err, want_rc, needle);
}

static void test_envelope(void)
{
    struct rk_matmul mm = blob_mm();
    char err[256] = "";
    tap_ok(rk_matmul_check(&mm, err, sizeof(err)) == 0, "blob matmul inside the envelope");

    mm = blob_mm();
    mm.m = 1;
    mm.k = 11008;
    expect_reject(mm, -EINVAL, "garbage here: int8 K=11008 > 8192", "int8 K=11008 > 8192 per task rejected");
    mm = blob_mm();
    mm.m = 1;
    mm.k = 8192;
    tap_ok(rk_matmul_check(&mm, err, sizeof(err)) == 0, "int8 K=8192 M=1 accepted (%s)", err);
    mm = blob_mm();
    mm.m = 8;
    mm.k = 3840;
    expect_reject(mm, -EINVAL, "K=3840 in (3072,4096) with M=8", "int8 K=3840 with M>4 rejected");
    mm.m = 4;
    tap_ok(rk_matmul_check(&mm, err, sizeof(err)) == 0, "int8 K=3840 with M=4 accepted");
    mm = blob_mm();
    mm.n = 16384;
    expect_reject(mm, -EINVAL, "N=16384 > 8192", "N=16384 > 8192 per task rejected");
    mm = blob_mm();
    mm.c_row_stride = 40000;
    expect_reject(mm, -EINVAL, "notch 9999 > 8191", "row-major notch > 13 bits rejected");
    mm = blob_mm();
    mm.m = 2047;
    mm.k = 1024;
    expect_reject(mm, -EINVAL, "needs 64 CBUF banks", "feature tile larger than CBUF rejected");
    mm = blob_mm();
    mm.m = 17;
    mm.k = 8192;
    expect_reject(mm, -EINVAL, "one 32-kernel group of K=8192 needs 8 CBUF banks, WEIGHT_BANK=7",
                  "kernel group that does not fit the weight banks rejected");
    mm.m = 16;
    tap_ok(rk_matmul_check(&mm, err, sizeof(err)) == 0, "int8 K=8192 M=16 fits (HM: 16 rows to K=8192)");
    mm = blob_mm();
    mm.in = RK_FP16;
    mm.out = RK_FP32;
    mm.m = 1;
    mm.k = 11296;
    expect_reject(mm, -EINVAL, "16-kernel group of K=11296 needs 12", "fp16 kernel group > 11 banks rejected");
    mm = blob_mm();
    mm.m = 2048;
    expect_reject(mm, -EINVAL, "11-bit", "M=2048 exceeds DATAIN_HEIGHT field");
    mm = blob_mm();
    mm.out = RK_FP16;
    expect_reject(mm, -ENOTSUP, "int8 -> fp16 is not covered", "int8->fp16 not covered by the model");
    mm = blob_mm();
    mm.in = RK_INT32;
    expect_reject(mm, -ENOTSUP, "only RK_INT8 and RK_FP16", "int32 input rejected");
    mm = blob_mm();
    mm.a_iova += 8;
    expect_reject(mm, -EINVAL, "A address 0x00100008 is not 16-byte aligned", "misaligned A rejected");
    mm = blob_mm();
    mm.b_iova += 4;
    expect_reject(mm, -EINVAL, "B address", "misaligned B rejected");
    mm = blob_mm();
    mm.c_iova += 2;
    expect_reject(mm, -EINVAL, "C address", "misaligned C rejected");
    mm = blob_mm();
    mm.c_iova = 0xffffff00;
    expect_reject(mm, -EINVAL, "32-bit IOVA window", "C past 4 GiB rejected");
    mm = blob_mm();
    mm.in = RK_FP16;
    mm.out = RK_FP16;
    mm.c_row_stride = 64;
    expect_reject(mm, -ENOTSUP, "fp16 output N-tile", "fp16 N-tile into a wider C rejected");
    mm = blob_mm();
    mm.a_layout = RK_LAYOUT_NC1HWC2;
    mm.m = 3;
    expect_reject(mm, -ENOTSUP, "H=3", "NC1HWC2 A with M=3 is UNVERIFIED");
    mm = blob_mm();
    mm.a_row_stride = 40;
    expect_reject(mm, -EINVAL, "A row stride 40", "A row stride below Kpad rejected");
    mm = blob_mm();
    mm.c_row_stride = 34;
    expect_reject(mm, -EINVAL, "C row stride 34", "C row stride not a 16-byte multiple rejected");
    mm = blob_mm();
    mm.k = 0;
    expect_reject(mm, -EINVAL, "empty", "empty matmul rejected");
}

static void test_layouts(void)
{
    /* B packing agrees with the docs/hardware/layouts.md §3.1 formula, from K×N and from N×K sources alike. */
    const uint32_t shapes[][2] = {{64, 32}, {100, 1023}, {33, 1}, {1, 31}, {300, 70}};
    int bad_fmt = 0, bad_t = 0, bad_pad = 0;
    for (unsigned s = 0; s < 5; s++) {
        uint32_t k = shapes[s][0], n = shapes[s][1], kp = rk_kpad(k), np = rk_npad(RK_INT8, n);
        int8_t *b = malloc((size_t)k * n), *bt = malloc((size_t)k * n);
        int8_t *p = malloc((size_t)kp * np), *pt = malloc((size_t)kp * np);
        for (uint32_t kk = 0; kk < k; kk++)
            for (uint32_t nn = 0; nn < n; nn++) bt[(size_t)nn * k + kk] = b[(size_t)kk * n + nn] = (int8_t)rnd();
        rk_pack_b_int8(p, b, k, n, n, 1);
        rk_pack_b_int8(pt, bt, k, n, 1, k);
        bad_t += memcmp(p, pt, (size_t)kp * np) != 0;
        for (uint32_t kk = 0; kk < kp; kk++)
            for (uint32_t nn = 0; nn < np; nn++) {
                int8_t v = p[(nn / 32) * kp * 32 + (kk / 32) * 1024 + (nn % 32) * 32 + kk % 32];
                if (kk < k && nn < n)
                    bad_fmt += v != b[(size_t)kk * n + nn];
                else
                    bad_pad += v != 0;
            }
        free(b);
        free(bt);
        free(p);
        free(pt);
    }
    tap_ok(!bad_fmt, "int8 B packing follows [N/32][K/32][32][32] (docs/hardware/layouts.md §3.1), odd K/N");
    tap_ok(!bad_t, "int8 B packing: K×N and N×K sources give the same blocks");
    tap_ok(!bad_pad, "int8 B padding is zero");

    bad_fmt = bad_pad = 0;
    {
        uint32_t k = 70, n = 40, kp = rk_kpad(k), np = rk_npad(RK_FP16, n);
        uint16_t *b = malloc((size_t)k * n * 2), *p = malloc((size_t)kp * np * 2);
        for (size_t i = 0; i < (size_t)k * n; i++) b[i] = (uint16_t)rnd();
        rk_pack_b_fp16(p, b, k, n, n, 1);
        for (uint32_t kk = 0; kk < kp; kk++)
            for (uint32_t nn = 0; nn < np; nn++) {
                uint16_t v = p[(nn / 16) * kp * 16 + (kk / 32) * 512 + (nn % 16) * 32 + kk % 32];
                if (kk < k && nn < n)
                    bad_fmt += v != b[(size_t)kk * n + nn];
                else
                    bad_pad += v != 0;
            }
        tap_ok(np == 48 && !bad_fmt && !bad_pad,
               "fp16 B packing follows [N/16][K/32][16][32] with zero padding (docs/hardware/layouts.md §3.1)");
        free(b);
        free(p);
    }

    /* A: row-major and NC1HWC2 element positions; C: unpack inverts the NPU layout. */
    for (int lay = 0; lay < 2; lay++) {
        struct rk_matmul mm = {
                .in = RK_INT8, .out = RK_INT32, .m = 4, .k = 45, .n = 37, .a_layout = lay, .c_layout = lay};
        int8_t a[4 * 45], pa[4 * 64];
        for (int i = 0; i < 4 * 45; i++) a[i] = (int8_t)rnd();
        memset(pa, 0x55, sizeof(pa));
        rk_pack_a(&mm, pa, a, 45);
        int bad = rk_a_bytes(&mm) != 256;
        for (int r = 0; r < 4; r++)
            for (int c = 0; c < 64; c++) {
                int8_t v = lay ? pa[(c / 16) * 4 * 16 + r * 16 + c % 16] : pa[r * 64 + c];
                bad += v != (c < 45 ? a[r * 45 + c] : 0);
            }
        tap_ok(!bad, "A packing %s with zero K padding (docs/hardware/layouts.md §1, §2.2)",
               lay ? "NC1HWC2 [K/16][M][16]" : "row-major [M][Kpad]");

        uint32_t np = rk_npad(RK_INT8, 37);
        int32_t craw[4 * 64], c[4 * 37];
        for (int i = 0; i < 4 * 64; i++) craw[i] = (int32_t)rnd();
        rk_unpack_c(&mm, c, 37, craw);
        bad = rk_c_bytes(&mm) != 4 * np * 4;
        for (int r = 0; r < 4; r++)
            for (int n = 0; n < 37; n++)
                bad += c[r * 37 + n] != (lay ? craw[(n / 4) * 4 * 4 + r * 4 + n % 4] : craw[r * (int)np + n]);
        tap_ok(!bad, "C unpack %s (docs/hardware/layouts.md §4.2)",
               lay ? "NC1HWC2 [N/4][M][4]" : "row-major [M][Npad]");
    }
    struct rk_matmul mm = blob_mm();
    mm.a_row_stride = 256;
    mm.c_row_stride = 96;
    tap_ok(rk_a_bytes(&mm) == 3 * 256 + 64 && rk_c_bytes(&mm) == (3 * 96 + 32) * 4,
           "A/C extents follow the row strides of a K-slice / N-tile");
    tap_ok(rk_npad(RK_INT8, 1023) == 1024 && rk_npad(RK_FP16, 17) == 32 && rk_npad(RK_FP16, 16) == 16 &&
                   rk_kpad(1) == 32 && rk_kpad(64) == 64,
           "Kpad to 32, Npad to the kernel group");
}

static void test_fp16(void)
{
    int bad = 0;
    for (uint32_t h = 0; h < 0x10000; h++) {
        if ((h & 0x7c00) == 0x7c00 && (h & 0x3ff)) continue; /* NaN payloads */
        bad += rk_fp16_from_float(rk_fp16_to_float((uint16_t)h)) != h;
    }
    tap_is_int(bad, 0, "fp16 -> fp32 -> fp16 round-trips every non-NaN half");
    tap_ok(rk_fp16_from_float(1.0f) == 0x3c00 && rk_fp16_from_float(65520.0f) == 0x7c00 &&
                   rk_fp16_from_float(1.0f + 1.0f / 2048) == 0x3c00 &&
                   rk_fp16_from_float(1.0f + 3.0f / 2048) == 0x3c02 && rk_fp16_from_float(5.9604645e-8f) == 0x0001 &&
                   rk_fp16_from_float(2.98e-8f) == 0x0000,
           "fp32 -> fp16 rounds to nearest even, overflows to Inf, handles subnormals");
}

int main(void)
{
    const char *s = getenv("RK_TEST_SEED");
    rng_state = s ? (uint32_t)strtoul(s, NULL, 0) : 0x5eed1234u;
    if (!rng_state) rng_state = 1;
    tap_diag("test_regcmd seed 0x%08x (set RK_TEST_SEED to change)", rng_state);
    test_entries();
    test_blob_stream();
    test_body_shape();
    test_amounts();
    test_envelope();
    test_layouts();
    test_fp16();
    return tap_done();
}
