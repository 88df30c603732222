// SPDX-License-Identifier: MIT
/*
 * Unit tests for the software NPU core (TAP).  A tiny in-test IOVA space (an array of fake BOs)
 * implements npusim_mem; streams come from the regcmd builder, from the vendor capture of
 * docs/hardware/regcmd.md §8, or from either with registers patched to reach one check at a time.
 *
 * Tolerances: int8 -> int32 and int8 -> fp32 are compared bit-exactly (docs/hardware/arithmetic.md §1).  fp16
 * accumulation is not bit-exact on silicon (docs/hardware/arithmetic.md §5); the model accumulates in double and
 * rounds once, and the test accepts |got - ref| <= 2^-20·Σ|a·b| (+ half an fp16 ulp of ref for fp16 output),
 * ref = fp64 sum.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "layout.h"
#include "npu_limits.h"
#include "npusim.h"
#include "regcmd.h"
#include "tap.h"

/* ---- fake IOVA space ---- */
struct bo {
    uint32_t iova;
    size_t size;
    uint8_t *ptr;
};
struct space {
    struct bo bo[16];
    int n;
    struct npusim_mem mem;
};

static void *space_map(void *ctx, uint32_t iova, size_t len)
{
    struct space *s = ctx;
    for (int i = 0; i < s->n; i++) {
        struct bo *b = &s->bo[i];
        if (iova >= b->iova && (uint64_t)iova + len <= (uint64_t)b->iova + b->size) return b->ptr + (iova - b->iova);
    }
    return NULL;
}

static void space_init(struct space *s)
{
    memset(s, 0, sizeof(*s));
    s->mem.ctx = s;
    s->mem.map = space_map;
}

static void *bo_new(struct space *s, uint32_t iova, size_t size)
{
    struct bo *b = &s->bo[s->n++];
    b->iova = iova;
    b->size = size;
    b->ptr = calloc(1, size ? size : 1);
    return b->ptr;
}

static void space_free(struct space *s)
{
    for (int i = 0; i < s->n; i++) free(s->bo[i].ptr);
    s->n = 0;
}

/* ---- deterministic data ---- */
static uint32_t rng_state;
static uint32_t rnd(void)
{
    uint32_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return rng_state = x;
}
static float rnd_unit(void) { return (float)(rnd() >> 8) / (float)(1 << 24) * 2.0f - 1.0f; }

#include "blob_i8.h"

#define A_IOVA   0x00100000u
#define B_IOVA   0x00200000u
#define C_IOVA   0x01000000u
#define REG_IOVA 0x00040000u
#define SEG_CAP  120

/* ---- one matmul through builder + sim, checked against the CPU ---- */
struct run {
    struct rk_matmul mm;
    void *a_host, *b_host; /* row-major A[m][k], B[k][n] in mm.in type */
    double *ref, *mag;     /* fp64 C[m][n] and Σ|a·b| */
    void *c_host;          /* unpacked NPU result [m][n] in mm.out type */
};

static void run_make(struct run *r, struct space *s, uint64_t *seg)
{
    struct rk_matmul *mm = &r->mm;
    size_t bpe = rk_dtype_size(mm->in);
    r->a_host = malloc((size_t)mm->m * mm->k * bpe);
    r->b_host = malloc((size_t)mm->k * mm->n * bpe);
    r->ref = calloc((size_t)mm->m * mm->n, sizeof(double));
    r->mag = calloc((size_t)mm->m * mm->n, sizeof(double));
    r->c_host = calloc((size_t)mm->m * mm->n, 4);
    for (size_t i = 0; i < (size_t)mm->m * mm->k; i++) {
        if (mm->in == RK_INT8)
            ((int8_t *)r->a_host)[i] = (int8_t)rnd();
        else
            ((uint16_t *)r->a_host)[i] = rk_fp16_from_float(rnd_unit());
    }
    for (size_t i = 0; i < (size_t)mm->k * mm->n; i++) {
        if (mm->in == RK_INT8)
            ((int8_t *)r->b_host)[i] = (int8_t)rnd();
        else
            ((uint16_t *)r->b_host)[i] = rk_fp16_from_float(rnd_unit());
    }
    for (uint32_t i = 0; i < mm->m; i++)
        for (uint32_t j = 0; j < mm->n; j++) {
            double acc = 0, mag = 0;
            for (uint32_t k = 0; k < mm->k; k++) {
                double a, b;
                if (mm->in == RK_INT8) {
                    a = ((int8_t *)r->a_host)[(size_t)i * mm->k + k];
                    b = ((int8_t *)r->b_host)[(size_t)k * mm->n + j];
                } else {
                    a = rk_fp16_to_float(((uint16_t *)r->a_host)[(size_t)i * mm->k + k]);
                    b = rk_fp16_to_float(((uint16_t *)r->b_host)[(size_t)k * mm->n + j]);
                }
                acc += a * b;
                mag += fabs(a * b);
            }
            r->ref[(size_t)i * mm->n + j] = acc;
            r->mag[(size_t)i * mm->n + j] = mag;
        }

    void *a = bo_new(s, mm->a_iova, rk_a_bytes(mm));
    void *b = bo_new(s, mm->b_iova, rk_b_bytes(mm));
    bo_new(s, mm->c_iova, rk_c_bytes(mm));
    rk_pack_a(mm, a, r->a_host, mm->k);
    if (mm->in == RK_INT8)
        rk_pack_b_int8(b, r->b_host, mm->k, mm->n, mm->n, 1);
    else
        rk_pack_b_fp16(b, r->b_host, mm->k, mm->n, mm->n, 1);
    if (seg) bo_new(s, REG_IOVA, SEG_CAP * 8);
}

static void run_free(struct run *r)
{
    free(r->a_host);
    free(r->b_host);
    free(r->ref);
    free(r->mag);
    free(r->c_host);
}

/* Count of elements outside tolerance (0 = pass). */
static int run_compare(struct run *r, struct space *s)
{
    struct rk_matmul *mm = &r->mm;
    rk_unpack_c(mm, r->c_host, mm->n, space_map(s, mm->c_iova, rk_c_bytes(mm)));
    int bad = 0;
    for (size_t i = 0; i < (size_t)mm->m * mm->n; i++) {
        double ref = r->ref[i], got, tol = ldexp(r->mag[i], -20);
        if (mm->out == RK_INT32) {
            got = ((int32_t *)r->c_host)[i];
            tol = 0;
        } else if (mm->out == RK_FP32) {
            got = ((float *)r->c_host)[i];
            if (mm->in == RK_INT8) {
                ref = (float)(int64_t)ref; /* one RNE rounding of the exact sum */
                tol = 0;
            }
        } else {
            got = rk_fp16_to_float(((uint16_t *)r->c_host)[i]);
            tol += ldexp(fabs(ref), -11) + ldexp(1, -24);
        }
        if (!(fabs(got - ref) <= tol)) {
            if (bad < 3) tap_diag("C[%zu][%zu] = %.9g, want %.9g (tol %.3g)", i / mm->n, i % mm->n, got, ref, tol);
            bad++;
        }
    }
    return bad;
}

static int sim_matmul_patched(struct npusim_core *core, const struct rk_matmul *mm_in, char *err, size_t errlen,
                              struct npusim_task_stats *st, int *bad, void (*patch_fn)(uint64_t *seg));

static int sim_matmul(struct npusim_core *core, const struct rk_matmul *mm_in, char *err, size_t errlen,
                      struct npusim_task_stats *st, int *bad)
{
    return sim_matmul_patched(core, mm_in, err, errlen, st, bad, NULL);
}

static int sim_matmul_patched(struct npusim_core *core, const struct rk_matmul *mm_in, char *err, size_t errlen,
                              struct npusim_task_stats *st, int *bad, void (*patch_fn)(uint64_t *seg))
{
    struct space s;
    struct run r = {.mm = *mm_in};
    uint64_t seg[SEG_CAP];
    uint32_t count = 0;
    space_init(&s);
    run_make(&r, &s, seg);
    int rc = rk_regcmd_matmul_task(&r.mm, 0, seg, SEG_CAP, &count, err, errlen);
    if (!rc && patch_fn) patch_fn(seg);
    if (!rc) {
        memcpy(space_map(&s, REG_IOVA, SEG_CAP * 8), seg, sizeof(seg));
        rc = npusim_core_run_task(core, &s.mem, REG_IOVA, count, st, err, errlen);
    }
    *bad = rc ? -1 : run_compare(&r, &s);
    run_free(&r);
    space_free(&s);
    return rc;
}

static struct rk_matmul mk(enum rk_dtype in, enum rk_dtype out, uint32_t m, uint32_t k, uint32_t n)
{
    return (struct rk_matmul){
            .in = in, .out = out, .m = m, .k = k, .n = n, .a_iova = A_IOVA, .b_iova = B_IOVA, .c_iova = C_IOVA};
}

static const char *dt(enum rk_dtype t)
{
    return t == RK_INT8 ? "int8" : t == RK_FP16 ? "fp16" : t == RK_INT32 ? "int32" : "fp32";
}

static void test_matmuls(struct npusim_core *core)
{
    static const struct {
        enum rk_dtype in, out;
        uint32_t m, k, n;
        enum rk_layout al, cl;
    } cases[] = {
            {RK_INT8, RK_INT32, 4, 64, 32, 0, 0},   {RK_INT8, RK_INT32, 1, 1, 1, 0, 0},
            {RK_INT8, RK_INT32, 2, 33, 31, 0, 0},   {RK_INT8, RK_INT32, 3, 100, 1023, 0, 0},
            {RK_INT8, RK_INT32, 7, 300, 70, 0, 0},  {RK_INT8, RK_INT32, 37, 512, 96, 0, 0},
            {RK_INT8, RK_INT32, 1, 8192, 32, 0, 0}, {RK_INT8, RK_INT32, 4, 3840, 64, 0, 0},
            {RK_INT8, RK_INT32, 8, 96, 64, 1, 1},   {RK_INT8, RK_INT32, 1, 70, 40, 1, 1},
            {RK_INT8, RK_INT32, 3, 50, 33, 0, 1},   {RK_INT8, RK_FP32, 4, 64, 32, 0, 0},
            {RK_INT8, RK_FP32, 3, 2000, 45, 0, 0},  {RK_INT8, RK_FP32, 12, 128, 64, 1, 1},
            {RK_FP16, RK_FP32, 4, 64, 32, 0, 0},    {RK_FP16, RK_FP32, 3, 77, 1023, 0, 0},
            {RK_FP16, RK_FP32, 8, 200, 48, 1, 1},   {RK_FP16, RK_FP16, 4, 64, 32, 0, 0},
            {RK_FP16, RK_FP16, 2, 45, 17, 0, 0},    {RK_FP16, RK_FP16, 8, 96, 40, 1, 1},
            {RK_FP16, RK_FP16, 1, 300, 1023, 0, 0},
    };
    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct rk_matmul mm = mk(cases[i].in, cases[i].out, cases[i].m, cases[i].k, cases[i].n);
        mm.a_layout = cases[i].al;
        mm.c_layout = cases[i].cl;
        char err[256] = "";
        struct npusim_task_stats st;
        int bad;
        int rc = sim_matmul(core, &mm, err, sizeof(err), &st, &bad);
        if (!tap_ok(rc == 0 && bad == 0, "%s->%s M=%u K=%u N=%u A %s C %s %s", dt(mm.in), dt(mm.out), mm.m, mm.k, mm.n,
                    mm.a_layout ? "NC1HWC2" : "row-major", mm.c_layout ? "NC1HWC2" : "row-major",
                    mm.out == RK_INT32 || mm.in == RK_INT8 ? "bit-exact" : "within tolerance"))
            tap_diag("rc %d (%s), %d elements wrong", rc, err, bad);
    }
}

static void test_blob_and_stats(struct npusim_core *core)
{
    struct space s;
    struct run r = {.mm = mk(RK_INT8, RK_INT32, 4, 64, 32)};
    r.mm.c_iova = 0x00300000;
    space_init(&s);
    run_make(&r, &s, NULL);
    uint64_t *seg = bo_new(&s, REG_IOVA, sizeof(blob_i8));
    memcpy(seg, blob_i8, sizeof(blob_i8));
    struct npusim_task_stats st;
    char err[256] = "";
    int rc = npusim_core_run_task(core, &s.mem, REG_IOVA, 112, &st, err, sizeof(err));
    tap_ok(rc == 0 && run_compare(&r, &s) == 0,
           "vendor-captured docs/hardware/regcmd.md §8.3 stream runs bit-exact int8 M=4 K=64 N=32 (%s)", err);
    tap_ok(st.regcmd_entries == 112 && st.macs == 4 * 64 * 32 && st.bytes_in == 4 * 64 + 64 * 32 &&
                   st.bytes_out == 4 * 32 * 4 && st.m == 4 && st.k == 64 && st.n == 32 && st.in_precision == 0 &&
                   st.out_precision == 4 && st.tasks == 1,
           "task stats: 112 entries, 8192 MACs, bytes in/out, geometry, precisions");
    uint32_t v = 0;
    tap_ok(npusim_core_peek(core, CNA_DCOMP_ADDR0, &v) && v == B_IOVA && npusim_core_peek(core, DPU_SURFACE_ADD, &v) &&
                   v == 0x80,
           "register file holds the task's writes (DCOMP_ADDR0, SURFACE_ADD)");
    tap_ok(!npusim_core_peek(core, 0x1090, &v), "peek: register never written reports false");

    /* fetch amounts: tail not counted -> op-enable never fetched */
    rc = npusim_core_run_task(core, &s.mem, REG_IOVA, 108, &st, err, sizeof(err));
    tap_ok(rc == -ETIMEDOUT && strstr(err, "4-entry tail") && strstr(err, "108 entries"),
           "regcmd_count without the tail: op-enable never fetched, reported as a timeout");
    rc = npusim_core_run_task(core, &s.mem, REG_IOVA, 0, &st, err, sizeof(err));
    tap_ok(rc == -EINVAL && strstr(err, "regcmd_count 0"), "regcmd_count 0 rejected (rocket drops the job)");
    rc = npusim_core_run_task(core, &s.mem, REG_IOVA, 113, &st, err, sizeof(err));
    tap_ok(rc == -EFAULT && strstr(err, "PC regcmd fetch") && strstr(err, "0x00040000"),
           "odd regcmd_count 113 fetches 114 entries: past the 112-entry BO is an IOMMU fault");
    space_free(&s);
    run_free(&r);

    /* odd count inside a larger segment: the padding word is fetched and must be a no-op */
    space_init(&s);
    r = (struct run){.mm = mk(RK_INT8, RK_INT32, 4, 64, 32)};
    r.mm.c_iova = 0x00300000;
    run_make(&r, &s, NULL);
    seg = bo_new(&s, REG_IOVA, 120 * 8);
    memcpy(seg, blob_i8, sizeof(blob_i8));
    rc = npusim_core_run_task(core, &s.mem, REG_IOVA, 113, &st, err, sizeof(err));
    tap_ok(rc == 0 && st.regcmd_entries == 114, "odd regcmd_count: 114 entries fetched, zero padding is a no-op");
    seg[112] = 0x0201000000001060ull;
    rc = npusim_core_run_task(core, &s.mem, REG_IOVA, 113, &st, err, sizeof(err));
    tap_ok(rc == -EINVAL && strstr(err, "follows op-enable"),
           "a register write fetched after op-enable is rejected (UNVERIFIED)");
    space_free(&s);
    run_free(&r);
}

/* ---- patching a stream to reach one check at a time ---- */
static int patch(uint64_t *seg, size_t n, uint16_t reg, uint32_t value)
{
    int hits = 0;
    for (size_t i = 0; i < n; i++)
        if (npu_entry_reg(seg[i]) == reg && npu_entry_target(seg[i]) == npu_block_target(npu_block_of(reg))) {
            seg[i] = npu_entry(npu_entry_target(seg[i]), reg, value);
            hits++;
        }
    return hits;
}

/* Rewrite every register that depends on the task geometry (row-major A and C). */
static void patch_geom(uint64_t *seg, int in_prec, int out_prec, uint32_t m, uint32_t kpad, uint32_t npad,
                       uint32_t data_banks, uint32_t grains)
{
    uint32_t bpe = in_prec == NPU_PREC_INT8 ? 1 : 2, obpe = out_prec == NPU_PREC_FP16 ? 2 : 4;
    patch(seg, 108, CNA_DATA_SIZE0, 1u << 16 | m);
    patch(seg, 108, CNA_FC_DATA_SIZE0, 1u << 16 | m);
    patch(seg, 108, CNA_DATA_SIZE3, m);
    patch(seg, 108, CNA_CONV_CON2, grains << 4);
    patch(seg, 108, CORE_DATAOUT_SIZE_0, (m - 1) << 16);
    patch(seg, 108, DPU_DATA_CUBE_HEIGHT, m - 1);
    patch(seg, 108, DPU_WDMA_SIZE_1, (m - 1) << 16);
    patch(seg, 108, CNA_DATA_SIZE1, (kpad - 1) << 16 | kpad);
    patch(seg, 108, CNA_FC_DATA_SIZE1, kpad);
    patch(seg, 108, CNA_WEIGHT_SIZE0, kpad * npad * bpe);
    patch(seg, 108, CNA_WEIGHT_SIZE1, kpad * bpe);
    patch(seg, 108, CNA_CBUF_CON1, (kpad * bpe + 63) / 64);
    patch(seg, 108, CNA_DMA_CON1, kpad * bpe / 16);
    patch(seg, 108, CNA_CBUF_CON0, (12 - data_banks) << 4 | data_banks);
    patch(seg, 108, CNA_WEIGHT_SIZE2, 1u << 24 | 1u << 16 | npad);
    patch(seg, 108, CORE_DATAOUT_SIZE_1, npad - 1);
    patch(seg, 108, DPU_DATA_CUBE_CHANNEL, ((npad - 1) & 0x1fff) << 16 | ((npad - 1) & 0x1fff));
    patch(seg, 108, DPU_WDMA_SIZE_0, (npad - 1) & 0x1fff);
    uint32_t notch = npad * obpe / 16 - 1;
    patch(seg, 108, DPU_DATA_CUBE_NOTCH_ADDR, (notch & 0x1fff) << 16 | (notch & 0x1fff));
}

/* A space with big enough BOs for any patched geometry and a base stream from the builder. */
struct rig {
    struct space s;
    uint64_t *seg;
    struct rk_matmul mm;
};

static void rig_init(struct rig *g, enum rk_dtype in, enum rk_dtype out)
{
    space_init(&g->s);
    g->mm = mk(in, out, 4, 64, 32);
    bo_new(&g->s, A_IOVA, 1 << 20);
    bo_new(&g->s, B_IOVA, 8 << 20);
    bo_new(&g->s, C_IOVA, 1 << 20);
    g->seg = bo_new(&g->s, REG_IOVA, SEG_CAP * 8);
    uint32_t count;
    char err[256];
    if (rk_regcmd_matmul_task(&g->mm, 0, g->seg, SEG_CAP, &count, err, sizeof(err))) tap_diag("rig: %s", err);
}

static void rig_expect(struct npusim_core *core, struct rig *g, int want_rc, const char *needle, const char *desc)
{
    char err[512] = "";
    int rc = npusim_core_run_task(core, &g->s.mem, REG_IOVA, 112, NULL, err, sizeof(err));
    if (!tap_ok(rc == want_rc && strstr(err, needle), "%s", desc))
        tap_diag("rc %d, err \"%s\"; want rc %d mentioning \"%s\"", rc, err, want_rc, needle);
    space_free(&g->s);
}

static void test_envelope(struct npusim_core *core)
{
    struct rig g;

    rig_init(&g, RK_INT8, RK_INT32);
    patch_geom(g.seg, 0, 4, 1, 11008, 32, 1, 2);
    rig_expect(core, &g, -EINVAL,
               "silicon would produce garbage here: int8 K=11008 > 8192 per task (docs/hardware/limits.md §5)",
               "sim: int8 K=11008 > 8192 per task reported as garbage");
    rig_init(&g, RK_INT8, RK_INT32);
    patch_geom(g.seg, 0, 4, 8, 3840, 32, 1, 9);
    rig_expect(core, &g, -EINVAL, "K=3840 in (3072,4096) with M=8", "sim: int8 K in (3072,4096) with M>4 reported");
    rig_init(&g, RK_FP16, RK_FP32);
    patch_geom(g.seg, 2, 5, 2, 3840, 32, 1, 2);
    rig_expect(core, &g, -EINVAL, "fp16 K=3840 in (3072,4096) with FEATURE_GRAINS=2",
               "sim: fp16 K hazard with too few feature grains");
    rig_init(&g, RK_INT8, RK_INT32);
    patch_geom(g.seg, 0, 4, 1, 64, 8224, 1, 2);
    rig_expect(core, &g, -EINVAL, "N=8224 > 8192", "sim: N > 8192 per task reported as garbage");
    rig_init(&g, RK_INT8, RK_INT32);
    patch(g.seg, 108, DPU_DATA_CUBE_NOTCH_ADDR, 0x00060006);
    rig_expect(core, &g, -EINVAL, "output lines overlap",
               "sim: notch too small for the row (13-bit notch wrap) reported as garbage");
    rig_init(&g, RK_INT8, RK_INT32);
    patch_geom(g.seg, 0, 4, 64, 1024, 32, 1, 64);
    rig_expect(core, &g, -EINVAL, "needs 2 CBUF banks, DATA_BANK=1", "sim: feature tile larger than DATA_BANK");
    /* int8 row-major: more grains than two banks of rows (HM's cap), more data banks than the 8 validated
     * (docs/hardware/limits.md §4, §5 E5, E18) */
    rig_init(&g, RK_INT8, RK_INT32);
    patch_geom(g.seg, 0, 4, 64, 1024, 32, 2, 65);
    rig_expect(core, &g, -EINVAL, "int8 FEATURE_GRAINS=65 is more than the 64 rows of K=1024 two CBUF banks hold",
               "sim: int8 FEATURE_GRAINS above two banks of rows reported as garbage");
    rig_init(&g, RK_INT8, RK_INT32);
    patch_geom(g.seg, 0, 4, 64, 1024, 32, 2, 64);
    {
        char err[512] = "";
        int rc = npusim_core_run_task(core, &g.s.mem, REG_IOVA, 112, NULL, err, sizeof(err));
        tap_ok(rc == 0, "sim: 64 grains (two banks of K=1024 rows) run (%s)", err);
        space_free(&g.s);
    }
    rig_init(&g, RK_INT8, RK_INT32);
    patch_geom(g.seg, 0, 4, 144, 2048, 32, 9, 32);
    rig_expect(core, &g, -EINVAL, "int8 DATA_BANK=9 is more than the 8 data banks validated",
               "sim: int8 feature tile in 9 data banks reported as garbage");
    rig_init(&g, RK_INT8, RK_INT32);
    patch(g.seg, 108, CNA_CBUF_CON0, 0x91);
    rig_expect(core, &g, -EINVAL, "must be 12", "sim: DATA_BANK + WEIGHT_BANK != 12");
    rig_init(&g, RK_FP16, RK_FP32);
    patch_geom(g.seg, 2, 5, 1, 4096, 32, 9, 2);
    rig_expect(core, &g, -EINVAL, "one 16-kernel group of K=4096 needs 4 CBUF banks, WEIGHT_BANK=3",
               "sim: kernel group larger than WEIGHT_BANK");
    rig_init(&g, RK_INT8, RK_INT32);
    patch(g.seg, 108, CNA_DATA_SIZE0, 1u << 16 | 2048);
    rig_expect(core, &g, -ENOTSUP, "CNA_DATA_SIZE0", "sim: H=2048 overflows the 11-bit field");
    rig_init(&g, RK_INT8, RK_INT32);
    patch(g.seg, 108, CNA_CONV_CON2, 0);
    rig_expect(core, &g, -EINVAL, "FEATURE_GRAINS=0", "sim: FEATURE_GRAINS 0 rejected");
    rig_init(&g, RK_INT8, RK_INT32);
    patch(g.seg, 108, DPU_DATA_FORMAT, 2u << 29);
    patch(g.seg, 108, DPU_OUT_CVT_SCALE, 0x10001);
    patch(g.seg, 108, DPU_BS_OW_CFG, 0x124);
    patch(g.seg, 108, DPU_SURFACE_ADD, 0x20);
    rig_expect(core, &g, -ENOTSUP, "int8 -> fp16 is not covered", "sim: int8->fp16 not covered by the model");
    rig_init(&g, RK_FP16, RK_FP16);
    patch(g.seg, 108, DPU_OUT_CVT_SCALE, 1);
    rig_expect(core, &g, -EINVAL, "silicon would hang here: fp16 output needs OUT_CVT_SCALE=0x10001",
               "sim: fp16 output without FP32TOFP16_EN hangs");
    rig_init(&g, RK_FP16, RK_FP16);
    g.mm.c_row_stride = 64;
    patch(g.seg, 108, DPU_DATA_CUBE_NOTCH_ADDR, 0x00070007);
    rig_expect(core, &g, -ENOTSUP, "fp16 output into a wider row",
               "sim: fp16 N-tile scatter into a wider row not covered");
    rig_init(&g, RK_INT8, RK_INT32);
    g.mm.a_layout = RK_LAYOUT_NC1HWC2;
    g.mm.m = 3;
    patch(g.seg, 108, CNA_CONV_CON1, 0);
    patch(g.seg, 108, CNA_DMA_CON2, 0x0fffffff);
    patch_geom(g.seg, 0, 4, 3, 64, 32, 1, 4);
    patch(g.seg, 108, CNA_DMA_CON1, 4);
    rig_expect(core, &g, -ENOTSUP, "H=3", "sim: NC1HWC2 fetch with H=3 is UNVERIFIED");

    /* register checks the model enforces */
    rig_init(&g, RK_INT8, RK_INT32);
    patch(g.seg, 108, CNA_CBUF_CON0, 0x10b1);
    rig_expect(core, &g, -ENOTSUP, "DATA_REUSE", "sim: DATA_REUSE (set by no working stream) not modelled");
    rig_init(&g, RK_INT8, RK_INT32);
    patch(g.seg, 108, CNA_DCOMP_CTRL, 1);
    rig_expect(core, &g, -ENOTSUP, "decompression", "sim: DCOMP weight decompression not modelled");
    rig_init(&g, RK_INT8, RK_INT32);
    patch(g.seg, 108, CORE_CLIP_TRUNCATE, 3);
    rig_expect(core, &g, -ENOTSUP, "UNVERIFIED", "sim: CLIP_TRUNCATE rounding is UNVERIFIED");
    rig_init(&g, RK_INT8, RK_INT32);
    patch(g.seg, 108, DPU_BS_CFG, 0x20052);
    rig_expect(core, &g, -ENOTSUP, "bypassed BS/BN/EW", "sim: BS bias stage not modelled");
    rig_init(&g, RK_INT8, RK_INT32);
    patch(g.seg, 108, DPU_S_POINTER, 0);
    rig_expect(core, &g, -EINVAL, "docs/hardware/registers.md §2.4, §3.4", "sim: DPU_S_POINTER not re-armed");
    rig_init(&g, RK_INT8, RK_INT32);
    patch(g.seg, 108, DPU_SURFACE_ADD, 0x40);
    rig_expect(core, &g, -EINVAL, "SURFACE_ADD", "sim: SURFACE_ADD inconsistent with the output atoms");
    rig_init(&g, RK_INT8, RK_INT32);
    patch(g.seg, 108, CNA_CBUF_CON1, 2);
    rig_expect(core, &g, -EINVAL, "DATA_ENTRIES", "sim: DATA_ENTRIES off the docs/hardware/limits.md §2 rule");
    rig_init(&g, RK_INT8, RK_INT32);
    patch(g.seg, 108, CORE_DATAOUT_SIZE_1, 63);
    rig_expect(core, &g, -EINVAL, "CORE output channels", "sim: CORE channels disagree with WEIGHT_KERNELS");
}

static void test_stream_faults(struct npusim_core *core)
{
    struct rig g;

    rig_init(&g, RK_INT8, RK_INT32);
    g.seg[7] = npu_entry(NPU_TGT_DPU, CNA_CONV_CON3, 9);
    rig_expect(core, &g, -EINVAL, "target 0x1001 does not match register 0x1014 in block CNA",
               "target/offset mismatch rejected");
    rig_init(&g, RK_INT8, RK_INT32);
    g.seg[7] = npu_entry(NPU_TGT_CNA, 0x1090, 0);
    rig_expect(core, &g, -ENOTSUP, "0x1090 is not in the register table",
               "write to a register outside the table rejected");
    rig_init(&g, RK_INT8, RK_INT32);
    g.seg[7] = npu_entry(NPU_TGT_DPU_RDMA, 0x5004, 0xe);
    rig_expect(core, &g, -ENOTSUP, "DPU_RDMA block is not covered", "DPU_RDMA writes not covered");
    rig_init(&g, RK_INT8, RK_INT32);
    g.seg[7] = npu_entry(0x0401, 0x2004, 0);
    rig_expect(core, &g, -EINVAL, "target 0x0401", "unknown target 0x0401 rejected");
    rig_init(&g, RK_INT8, RK_INT32);
    g.seg[111] = npu_entry(NPU_TGT_OP_EN, PC_OPERATION_ENABLE, 0x1d);
    rig_expect(core, &g, -ENOTSUP, "0x1d", "op-enable mask other than 0xd not covered");
    rig_init(&g, RK_INT8, RK_INT32);
    g.seg[110] = 0;
    rig_expect(core, &g, -EINVAL, "0x0041 marker", "op-enable without the 0x0041 marker rejected");
    rig_init(&g, RK_INT8, RK_INT32);
    g.seg[108] = npu_entry(NPU_TGT_PC, PC_BASE_ADDRESS, 0x00500008);
    rig_expect(core, &g, -EINVAL, "next PC_BASE_ADDRESS 0x00500008",
               "misaligned next-task address in the tail rejected");

    /* K padding: channels past DATAIN_CHANNEL_REAL must be zero in A or in B */
    rig_init(&g, RK_INT8, RK_INT32);
    patch(g.seg, 108, CNA_DATA_SIZE1, 49u << 16 | 64);
    memset(space_map(&g.s, A_IOVA, 256), 1, 256);
    memset(space_map(&g.s, B_IOVA, 2048), 1, 2048);
    rig_expect(core, &g, -EINVAL, "channel 50 is beyond DATAIN_CHANNEL_REAL+1=50",
               "non-zero K padding in both A and B rejected (UNVERIFIED)");
    rig_init(&g, RK_INT8, RK_INT32);
    patch(g.seg, 108, CNA_DATA_SIZE1, 49u << 16 | 64);
    memset(space_map(&g.s, A_IOVA, 256), 1, 256);
    {
        char err[256] = "";
        int rc = npusim_core_run_task(core, &g.s.mem, REG_IOVA, 112, NULL, err, sizeof(err));
        tap_ok(rc == 0, "non-zero A beyond K with zero B rows is accepted (%s)", err);
        space_free(&g.s);
    }

    /* misalignment */
    rig_init(&g, RK_INT8, RK_INT32);
    patch(g.seg, 108, CNA_FEATURE_DATA_ADDR, A_IOVA + 8);
    rig_expect(core, &g, -EINVAL, "CNA_FEATURE_DATA_ADDR 0x00100008 is not 16-byte aligned",
               "misaligned feature address rejected");
    rig_init(&g, RK_INT8, RK_INT32);
    patch(g.seg, 108, CNA_DCOMP_ADDR0, B_IOVA + 4);
    rig_expect(core, &g, -EINVAL, "weights) 0x00200004", "misaligned weight address rejected");
    rig_init(&g, RK_INT8, RK_INT32);
    patch(g.seg, 108, DPU_DST_BASE_ADDR, C_IOVA + 2);
    rig_expect(core, &g, -EINVAL, "DPU_DST_BASE_ADDR 0x01000002", "misaligned output address rejected");
    {
        char err[256];
        rig_init(&g, RK_INT8, RK_INT32);
        int rc = npusim_core_run_task(core, &g.s.mem, REG_IOVA + 8, 112, NULL, err, sizeof(err));
        tap_ok(rc == -EINVAL && strstr(err, "regcmd address 0x00040008"), "misaligned regcmd address rejected");
        space_free(&g.s);
    }

    /* unmapped addresses: IOMMU-style faults naming the address */
    rig_init(&g, RK_INT8, RK_INT32);
    patch(g.seg, 108, DPU_DST_BASE_ADDR, 0x30000000);
    rig_expect(core, &g, -EFAULT, "DPU output write at 0x30000000", "unmapped output address faults");
    rig_init(&g, RK_INT8, RK_INT32);
    patch(g.seg, 108, CNA_DCOMP_ADDR0, B_IOVA + (8 << 20) - 1024);
    rig_expect(core, &g, -EFAULT, "CNA weight read at 0x009ffc00", "weight range crossing the end of its BO faults");
    rig_init(&g, RK_INT8, RK_INT32);
    patch(g.seg, 108, CNA_FEATURE_DATA_ADDR, 0x00f00000);
    rig_expect(core, &g, -EFAULT, "CNA feature read at 0x00f00000", "unmapped feature address faults");
    {
        char err[256];
        rig_init(&g, RK_INT8, RK_INT32);
        int rc = npusim_core_run_task(core, &g.s.mem, 0x7000000, 112, NULL, err, sizeof(err));
        tap_ok(rc == -EFAULT && strstr(err, "PC regcmd fetch at 0x07000000"), "unmapped regcmd faults");
        space_free(&g.s);
    }
}

/* Strict mode and the persistent register file. */
static void test_strict_and_persistence(void)
{
    struct npusim_core *core = npusim_core_create(1);
    struct rig g;
    char err[512];
    struct npusim_task_stats st;

    rig_init(&g, RK_INT8, RK_INT32);
    int rc = npusim_core_run_task(core, &g.s.mem, REG_IOVA, 112, &st, err, sizeof(err));
    tap_ok(rc == 0 && st.stale_reads == 0, "full-body task runs in strict mode");
    /* the next task relies on CVT_CON0 from the previous one */
    g.seg[17] = 0;
    rc = npusim_core_run_task(core, &g.s.mem, REG_IOVA, 112, &st, err, sizeof(err));
    tap_ok(rc == -EINVAL && strstr(err, "CNA_CVT_CON0") && strstr(err, "did not write"),
           "strict mode rejects a task reading a register it did not write");
    npusim_core_set_strict(core, false);
    rc = npusim_core_run_task(core, &g.s.mem, REG_IOVA, 112, &st, err, sizeof(err));
    tap_ok(rc == 0 && st.stale_reads == 1,
           "non-strict: the register persisted from the previous task (1 stale read counted)");
    space_free(&g.s);

    /* persistence of values across tasks: the last write wins, untouched registers keep theirs */
    struct npusim_core *fresh = npusim_core_create(2);
    npusim_core_set_strict(fresh, false);
    rig_init(&g, RK_INT8, RK_INT32);
    g.seg[17] = 0;
    rc = npusim_core_run_task(fresh, &g.s.mem, REG_IOVA, 112, &st, err, sizeof(err));
    tap_ok(rc == -EINVAL && strstr(err, "never written"),
           "non-strict: a register never written on a fresh core is an error (reset value unknown)");
    g.seg[17] = blob_i8[17];
    patch(g.seg, 108, CNA_DCOMP_ADDR0, B_IOVA + 0x1000);
    rc = npusim_core_run_task(fresh, &g.s.mem, REG_IOVA, 112, &st, err, sizeof(err));
    uint32_t v = 0, v2 = 0;
    tap_ok(rc == 0 && npusim_core_peek(fresh, CNA_DCOMP_ADDR0, &v) && v == B_IOVA + 0x1000,
           "task 1 writes DCOMP_ADDR0");
    uint64_t small[16] = {npu_entry(NPU_TGT_CNA, CNA_DCOMP_ADDR0, B_IOVA + 0x2000)};
    rk_regcmd_tail(&small[1], 0, 0);
    memcpy(g.seg, small, sizeof(small));
    /* a 1-register delta task: in non-strict mode it reads everything else from task 1 */
    rc = npusim_core_run_task(fresh, &g.s.mem, REG_IOVA, 5, &st, err, sizeof(err));
    tap_ok(rc == 0 && st.stale_reads > 100 && npusim_core_peek(fresh, CNA_DCOMP_ADDR0, &v) && v == B_IOVA + 0x2000 &&
                   npusim_core_peek(fresh, DPU_SURFACE_ADD, &v2) && v2 == 0x80,
           "registers persist across tasks: a delta task runs on the previous task's state (%u stale reads)",
           st.stale_reads);
    space_free(&g.s);
    npusim_core_destroy(fresh);
    npusim_core_destroy(core);
}

/* Chains: vendor-style PC chaining through the tail, and rocket's TASK_NUMBER = 1. */
static void test_chains(struct npusim_core *core)
{
    struct space s;
    struct run r = {.mm = mk(RK_INT8, RK_INT32, 12, 200, 100)};
    char err[512] = "";
    struct npusim_task_stats st;
    space_init(&s);
    run_make(&r, &s, NULL);
    /* M=12 as three M-tiles of 4, one segment each, chained by their tails */
    uint64_t *regs = bo_new(&s, REG_IOVA, 3 * SEG_CAP * 8);
    uint32_t seg_bytes = (uint32_t)rk_regcmd_segment_entries(108) * 8, count = 0;
    int rc = 0;
    for (uint32_t t = 0; t < 3 && !rc; t++) {
        struct rk_matmul tile = r.mm;
        tile.m = 4;
        tile.a_iova += t * 4 * rk_a_stride(&r.mm);
        tile.c_iova += t * 4 * rk_c_stride(&r.mm) * 4;
        uint32_t next = t < 2 ? REG_IOVA + (t + 1) * seg_bytes : 0;
        rc = rk_regcmd_matmul_task(&tile, next, regs + t * seg_bytes / 8, SEG_CAP, &count, err, sizeof(err));
    }
    rc = rc ? rc : npusim_core_run_chain(core, &s.mem, REG_IOVA, rk_pc_data_amount(count), 3, &st, err, sizeof(err));
    tap_ok(rc == 0 && run_compare(&r, &s) == 0 && st.tasks == 3 && st.regcmd_entries == 3 * 112,
           "3-task PC chain via the tails (M=12 as 3 M-tiles) bit-exact (%s)", err);

    rc = npusim_core_run_chain(core, &s.mem, REG_IOVA + seg_bytes, rk_pc_data_amount(count), 3, &st, err, sizeof(err));
    tap_ok(rc == -ETIMEDOUT && strstr(err, "no next PC_BASE_ADDRESS"),
           "chain asking for more tasks than the tails link times out");

    /* rocket: TASK_NUMBER = 1, the next pointer is not followed */
    memset(space_map(&s, r.mm.c_iova, rk_c_bytes(&r.mm)), 0, rk_c_bytes(&r.mm));
    rc = npusim_core_run_task(core, &s.mem, REG_IOVA, count, &st, err, sizeof(err));
    const int32_t *c = space_map(&s, r.mm.c_iova, rk_c_bytes(&r.mm));
    uint32_t np = rk_c_stride(&r.mm);
    tap_ok(rc == 0 && st.tasks == 1 && c[0] == (int32_t)r.ref[0] && c[4 * np] == 0 && c[8 * np] == 0,
           "rocket run_task executes only the first task of a chained stream (TASK_NUMBER=1)");
    space_free(&s);
    run_free(&r);

    /* split-K: two K-slices of a wide A into two int32 partial buffers, summed on the host */
    space_init(&s);
    r = (struct run){.mm = mk(RK_INT8, RK_INT32, 5, 96, 64)};
    run_make(&r, &s, NULL);
    regs = bo_new(&s, REG_IOVA, 2 * SEG_CAP * 8);
    int32_t *part[2];
    rc = 0;
    for (int w = 0; w < 2 && !rc; w++) {
        struct rk_matmul sl = mk(RK_INT8, RK_INT32, 5, 64, 64);
        sl.k = w ? 32 : 64;
        sl.a_row_stride = 96;
        sl.a_iova = A_IOVA + (w ? 64 : 0);
        sl.b_iova = 0x04000000 + w * 0x10000;
        sl.c_iova = 0x05000000 + w * 0x10000;
        int8_t *bp = bo_new(&s, sl.b_iova, rk_b_bytes(&sl));
        part[w] = bo_new(&s, sl.c_iova, rk_c_bytes(&sl));
        rk_pack_b_int8(bp, (int8_t *)r.b_host + (w ? 64 * 64 : 0), sl.k, 64, 64, 1);
        rc = rk_regcmd_matmul_task(&sl, 0, regs + w * SEG_CAP, SEG_CAP, &count, err, sizeof(err));
        rc = rc ? rc : npusim_core_run_task(core, &s.mem, REG_IOVA + w * SEG_CAP * 8, count, NULL, err, sizeof(err));
    }
    int bad = rc != 0;
    for (int i = 0; i < 5 && !rc; i++)
        for (int j = 0; j < 64; j++) bad += part[0][i * 64 + j] + part[1][i * 64 + j] != (int32_t)r.ref[i * 64 + j];
    tap_ok(!bad, "split-K: two K-slices read in place from a 96-wide A, int32 partials sum exactly (%s)", err);
    space_free(&s);
    run_free(&r);

    /* N-tiles written into one wide row-major C (int32, notch from the full row, docs/hardware/layouts.md §4.3) */
    space_init(&s);
    r = (struct run){.mm = mk(RK_INT8, RK_INT32, 6, 64, 96)};
    run_make(&r, &s, NULL);
    regs = bo_new(&s, REG_IOVA, 3 * SEG_CAP * 8);
    rc = 0;
    for (int t = 0; t < 3 && !rc; t++) {
        struct rk_matmul nt = r.mm;
        nt.n = 32;
        nt.c_row_stride = 96;
        nt.b_iova = B_IOVA + t * 32 * 64; /* kernel groups are contiguous (docs/hardware/layouts.md §3.2) */
        nt.c_iova = C_IOVA + t * 32 * 4;
        rc = rk_regcmd_matmul_task(&nt, 0, regs + t * SEG_CAP, SEG_CAP, &count, err, sizeof(err));
        rc = rc ? rc : npusim_core_run_task(core, &s.mem, REG_IOVA + t * SEG_CAP * 8, count, NULL, err, sizeof(err));
    }
    tap_ok(rc == 0 && run_compare(&r, &s) == 0, "3 N-tiles of 32 into one 96-wide int32 C, bit-exact (%s)", err);
    space_free(&s);
    run_free(&r);

    /* mixed chain on one core: int8 then fp16 then int8 tasks reuse the same register file */
    int ok = 1;
    for (int t = 0; t < 3; t++) {
        struct rk_matmul mm = t == 1 ? mk(RK_FP16, RK_FP16, 3, 40, 20) : mk(RK_INT8, RK_FP32, 2, 50, 30);
        int b2;
        rc = sim_matmul(core, &mm, err, sizeof(err), NULL, &b2);
        ok &= rc == 0 && b2 == 0;
    }
    tap_ok(ok, "int8 -> fp16 -> int8 tasks back to back on one core");
}

/* WEIGHT_REUSE across the M-tiles of one job (docs/hardware/limits.md §6.3): the core keeps the weights a task
 * fetched and a reusing task computes with that copy. Two M-tiles of one matmul share B; the second reuses. */
struct reuse_rig {
    struct space s;
    struct run r;
    uint64_t *regs;
    uint32_t count[2];
};

static int reuse_build(struct reuse_rig *g, int tile, bool reuse, uint32_t b_iova, char *err, size_t errlen)
{
    struct rk_matmul mm = g->r.mm;
    mm.m = g->r.mm.m / 2;
    mm.a_iova += tile * mm.m * rk_a_stride(&g->r.mm);
    mm.c_iova += tile * mm.m * rk_c_stride(&g->r.mm) * 4;
    mm.b_iova = b_iova;
    mm.weight_reuse = reuse;
    return rk_regcmd_matmul_task(&mm, 0, g->regs + tile * SEG_CAP, SEG_CAP, &g->count[tile], err, errlen);
}

static int reuse_run(struct npusim_core *core, struct reuse_rig *g, int tile, struct npusim_task_stats *st, char *err,
                     size_t errlen)
{
    return npusim_core_run_task(core, &g->s.mem, REG_IOVA + tile * SEG_CAP * 8, g->count[tile], st, err, errlen);
}

static void test_weight_reuse(void)
{
    struct npusim_core *core = npusim_core_create(2);
    struct reuse_rig g;
    struct npusim_task_stats st0, st1;
    char err[512] = "";
    int rc;

    space_init(&g.s);
    g.r = (struct run){.mm = mk(RK_INT8, RK_INT32, 16, 200, 96)};
    run_make(&g.r, &g.s, NULL);
    g.regs = bo_new(&g.s, REG_IOVA, 2 * SEG_CAP * 8);
    uint32_t wbytes = rk_kpad(200) * 96;
    rc = reuse_build(&g, 0, false, B_IOVA, err, sizeof err);
    rc = rc ? rc : reuse_build(&g, 1, true, B_IOVA, err, sizeof err);
    npusim_core_begin_job(core);
    rc = rc ? rc : reuse_run(core, &g, 0, &st0, err, sizeof err);
    rc = rc ? rc : reuse_run(core, &g, 1, &st1, err, sizeof err);
    tap_ok(rc == 0 && run_compare(&g.r, &g.s) == 0, "two M-tiles, the second with WEIGHT_REUSE, bit-exact (%s)", err);
    tap_ok(!rc && st0.weight_bytes == wbytes && st1.weight_bytes == 0 && st1.weight_reuse_tasks == 1 &&
                   st0.bytes_in == 8 * rk_kpad(200) + wbytes && st1.bytes_in == 8 * rk_kpad(200),
           "stats: the first tile fetches %u weight bytes, the reusing one none (bytes_in %llu, %llu)", wbytes,
           (unsigned long long)st0.bytes_in, (unsigned long long)st1.bytes_in);
    {
        /* flaw 'reuse' (flaws.c): the reusing tile writes garbage, the loading one stays exact */
        struct npusim_flaws f;
        npusim_flaws_parse("reuse", &f, err, sizeof err);
        npusim_core_set_flaws(core, &f);
        npusim_core_begin_job(core);
        rc = reuse_run(core, &g, 0, NULL, err, sizeof err);
        rc = rc ? rc : reuse_run(core, &g, 1, NULL, err, sizeof err);
        const int32_t *cf = space_map(&g.s, C_IOVA, rk_c_bytes(&g.r.mm));
        int bad0 = 0, bad1 = 0;
        for (uint32_t i = 0; i < 16; i++)
            for (uint32_t j = 0; j < 96; j++)
                *(i < 8 ? &bad0 : &bad1) += cf[i * rk_c_stride(&g.r.mm) + j] != (int32_t)g.r.ref[i * 96 + j];
        tap_ok(rc == 0 && bad0 == 0 && bad1 == 8 * 96,
               "flaw reuse: the tile that loads the weights is exact, the reusing one all garbage (%d wrong)", bad1);
        npusim_core_set_flaws(core, NULL);
    }

    /* the reusing task computes with the weights in the CBUF, not with what memory holds now */
    int8_t *b = space_map(&g.s, B_IOVA, rk_b_bytes(&g.r.mm));
    for (size_t i = 0; i < rk_b_bytes(&g.r.mm); i++) b[i] = (int8_t)~b[i];
    memset(space_map(&g.s, C_IOVA, rk_c_bytes(&g.r.mm)), 0, rk_c_bytes(&g.r.mm));
    rc = reuse_run(core, &g, 1, NULL, err, sizeof err);
    const int32_t *c = space_map(&g.s, C_IOVA, rk_c_bytes(&g.r.mm));
    int bad = 0;
    for (uint32_t i = 8; i < 16; i++)
        for (uint32_t j = 0; j < 96; j++) bad += c[i * rk_c_stride(&g.r.mm) + j] != (int32_t)g.r.ref[i * 96 + j];
    tap_ok(rc == 0 && bad == 0,
           "WEIGHT_REUSE uses the CBUF copy: B rewritten in memory afterwards changes nothing (%s)", err);
    rc = reuse_build(&g, 1, false, B_IOVA, err, sizeof err);
    rc = rc ? rc : reuse_run(core, &g, 1, NULL, err, sizeof err);
    tap_ok(rc == 0 && c[8 * rk_c_stride(&g.r.mm)] != (int32_t)g.r.ref[8 * 96],
           "without WEIGHT_REUSE the rewritten B is fetched again (%s)", err);
    for (size_t i = 0; i < rk_b_bytes(&g.r.mm); i++) b[i] = (int8_t)~b[i];

    /* what the CBUF must hold for a reuse to be right */
    rc = reuse_build(&g, 0, false, B_IOVA, err, sizeof err);
    rc = rc ? rc : reuse_build(&g, 1, true, B_IOVA, err, sizeof err);
    npusim_core_begin_job(core);
    rc = rc ? rc : reuse_run(core, &g, 1, NULL, err, sizeof err);
    tap_ok(rc == -EINVAL && strstr(err, "holds no weights to reuse") && strstr(err, "earlier job"),
           "WEIGHT_REUSE in the first task of a job is refused (%s)", err);
    rc = reuse_run(core, &g, 0, NULL, err, sizeof err);
    reuse_build(&g, 1, true, B_IOVA + 0x1000, err, sizeof err);
    rc = reuse_run(core, &g, 1, NULL, err, sizeof err);
    tap_ok(rc == -EINVAL && strstr(err, "reuses the weights at 0x00201000") && strstr(err, "loaded from 0x00200000"),
           "WEIGHT_REUSE of weights at another address is refused (%s)", err);
    rc = reuse_run(core, &g, 0, NULL, err, sizeof err);
    {
        struct rk_matmul other = g.r.mm;
        other.m = 8;
        other.n = 64;
        other.weight_reuse = true;
        other.a_iova += 8 * rk_a_stride(&g.r.mm);
        rk_regcmd_matmul_task(&other, 0, g.regs + SEG_CAP, SEG_CAP, &g.count[1], err, sizeof err);
    }
    rc = reuse_run(core, &g, 1, NULL, err, sizeof err);
    tap_ok(rc == -EINVAL && strstr(err, "reuses 64 kernels") && strstr(err, "holds 96 kernels"),
           "WEIGHT_REUSE of another weight set at the same address is refused (%s)", err);
    rc = reuse_run(core, &g, 0, NULL, err, sizeof err);
    {
        struct rk_matmul tall = g.r.mm; /* 16 rows of K=4096 take 2 data banks, 8 rows 1 */
        tall.k = 4096;
        tall.n = 32;
        tall.m = 8;
        bo_new(&g.s, 0x03000000, 16 * 4096);
        bo_new(&g.s, 0x03100000, rk_b_bytes(&tall));
        tall.a_iova = 0x03000000;
        tall.b_iova = 0x03100000;
        rk_regcmd_matmul_task(&tall, 0, g.regs, SEG_CAP, &g.count[0], err, sizeof err);
        tall.m = 16;
        tall.weight_reuse = true;
        rk_regcmd_matmul_task(&tall, 0, g.regs + SEG_CAP, SEG_CAP, &g.count[1], err, sizeof err);
    }
    rc = reuse_run(core, &g, 0, NULL, err, sizeof err);
    rc = rc ? rc : reuse_run(core, &g, 1, NULL, err, sizeof err);
    tap_ok(rc == -EINVAL && strstr(err, "DATA_BANK=2/WEIGHT_BANK=10") && strstr(err, "DATA_BANK=1/WEIGHT_BANK=11"),
           "WEIGHT_REUSE with another bank split is refused (%s)", err);

    /* weights that stream through the weight banks leave nothing to reuse */
    {
        struct rk_matmul big = mk(RK_INT8, RK_INT32, 1, 4096, 128), small = big;
        bo_new(&g.s, 0x04000000, 4096);
        bo_new(&g.s, 0x04100000, rk_b_bytes(&big));
        bo_new(&g.s, 0x04800000, rk_c_bytes(&big));
        big.a_iova = small.a_iova = 0x04000000;
        big.b_iova = small.b_iova = 0x04100000;
        big.c_iova = small.c_iova = 0x04800000;
        rk_regcmd_matmul_task(&big, 0, g.regs, SEG_CAP, &g.count[0], err, sizeof err);
        small.n = 64;
        small.weight_reuse = true;
        rc = rk_regcmd_matmul_task(&small, 0, g.regs + SEG_CAP, SEG_CAP, &g.count[1], err, sizeof err);
    }
    rc = rc ? rc : reuse_run(core, &g, 0, NULL, err, sizeof err);
    rc = rc ? rc : reuse_run(core, &g, 1, NULL, err, sizeof err);
    tap_ok(rc == -EINVAL && strstr(err, "did not fit its weight banks"),
           "WEIGHT_REUSE after weights that streamed (512 KiB > 11 banks) is refused (%s)", err);

    /* a failed task leaves nothing to reuse */
    rc = reuse_build(&g, 0, false, B_IOVA, err, sizeof err);
    rc = rc ? rc : reuse_build(&g, 1, true, B_IOVA, err, sizeof err);
    rc = rc ? rc : reuse_run(core, &g, 0, NULL, err, sizeof err);
    rc = npusim_core_run_task(core, &g.s.mem, 0x7000000, 112, NULL, err, sizeof err);
    rc = reuse_run(core, &g, 1, NULL, err, sizeof err);
    tap_ok(rc == -EINVAL && strstr(err, "task before failed"), "WEIGHT_REUSE after a failed task is refused (%s)", err);

    /* the envelope decides whether a stream may use it: not in safe, in vendor */
    rc = reuse_run(core, &g, 0, NULL, err, sizeof err);
    npusim_core_set_envelope(core, &npu_envelope_safe);
    rc = reuse_run(core, &g, 1, NULL, err, sizeof err);
    tap_ok(rc == -EINVAL && strstr(err, "'safe'") && strstr(err, "WEIGHT_REUSE is not proven"),
           "envelope safe refuses WEIGHT_REUSE (%s)", err);
    rc = reuse_run(core, &g, 0, NULL, err, sizeof err);
    npusim_core_set_envelope(core, &npu_envelope_vendor);
    rc = rc ? rc : reuse_run(core, &g, 1, NULL, err, sizeof err);
    tap_ok(rc == 0, "envelope vendor allows it (%s)", err);
    npusim_core_set_envelope(core, NULL);

    /* a vendor chain is one job: task 1 may reuse what task 0 of the chain loaded, not more */
    {
        uint32_t seg_bytes = SEG_CAP * 8;
        struct rk_matmul t0 = g.r.mm, t1;
        t0.m = 8;
        t1 = t0;
        t1.a_iova += 8 * rk_a_stride(&g.r.mm);
        t1.c_iova += 8 * rk_c_stride(&g.r.mm) * 4;
        t1.weight_reuse = true;
        rc = rk_regcmd_matmul_task(&t0, REG_IOVA + seg_bytes, g.regs, SEG_CAP, &g.count[0], err, sizeof err);
        rc = rc ? rc : rk_regcmd_matmul_task(&t1, 0, g.regs + SEG_CAP, SEG_CAP, &g.count[1], err, sizeof err);
        memset(space_map(&g.s, C_IOVA, rk_c_bytes(&g.r.mm)), 0, rk_c_bytes(&g.r.mm));
        rc = rc ? rc
                : npusim_core_run_chain(core, &g.s.mem, REG_IOVA, rk_pc_data_amount(g.count[0]), 2, &st0, err,
                                        sizeof err);
        tap_ok(rc == 0 && run_compare(&g.r, &g.s) == 0 && st0.weight_reuse_tasks == 1 && st0.weight_bytes == wbytes,
               "2-task vendor chain, the second reusing: bit-exact, weights fetched once (%s)", err);
        rc = npusim_core_run_chain(core, &g.s.mem, REG_IOVA + seg_bytes, rk_pc_data_amount(g.count[1]), 1, NULL, err,
                                   sizeof err);
        tap_ok(rc == -EINVAL && strstr(err, "no weights to reuse"),
               "a chain that starts with a reusing task is refused");
    }
    run_free(&g.r);
    space_free(&g.s);
    npusim_core_destroy(core);
}

/* The M=8 NC1HWC2 stream re-expressed as a W=2 x H=4 feature cube, Mesa-conv style:
 * LS = 4W, SS = W·H − 4W, output S = 16·W·H (docs/hardware/layouts.md §2.2, §4.2). */
static void patch_w2h4(uint64_t *seg)
{
    patch(seg, 108, CNA_DATA_SIZE0, 2u << 16 | 4);
    patch(seg, 108, CNA_FC_DATA_SIZE0, 2u << 16 | 4);
    patch(seg, 108, CNA_DATA_SIZE2, 2);
    patch(seg, 108, CNA_CBUF_CON1, 2); /* ceil(W·C/64) */
    patch(seg, 108, CNA_DMA_CON1, 8);
    patch(seg, 108, CNA_DMA_CON2, 0);
    patch(seg, 108, CORE_DATAOUT_SIZE_0, 3u << 16 | 1);
    patch(seg, 108, DPU_DATA_CUBE_WIDTH, 1);
    patch(seg, 108, DPU_DATA_CUBE_HEIGHT, 3);
    patch(seg, 108, DPU_WDMA_SIZE_1, 3u << 16 | 1);
}

static void test_wide_cube(struct npusim_core *core)
{
    struct rk_matmul mm = mk(RK_INT8, RK_INT32, 8, 64, 64);
    mm.a_layout = mm.c_layout = RK_LAYOUT_NC1HWC2;
    char err[256] = "";
    int bad;
    int rc = sim_matmul_patched(core, &mm, err, sizeof(err), NULL, &bad, patch_w2h4);
    tap_ok(rc == 0 && bad == 0, "W=2 x H=4 feature cube (group line on) = the M=8 NC1HWC2 matmul (%s)", err);
}

/* Three cores in three threads at once: no shared mutable state. */
struct thr {
    int idx;
    int bad;
    uint32_t seed;
};
static void *thr_main(void *p)
{
    struct thr *t = p;
    struct npusim_core *core = npusim_core_create(t->idx);
    for (int i = 0; i < 8; i++) {
        struct space s;
        struct run r = {.mm = mk(RK_INT8, RK_INT32, 1 + (t->seed + i) % 9, 40 + 13 * i, 20 + 7 * i)};
        uint64_t seg[SEG_CAP];
        uint32_t count;
        char err[256];
        space_init(&s);
        /* run_make draws from the shared PRNG: serialise only that part */
        static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
        pthread_mutex_lock(&lock);
        run_make(&r, &s, seg);
        pthread_mutex_unlock(&lock);
        int rc = rk_regcmd_matmul_task(&r.mm, 0, seg, SEG_CAP, &count, err, sizeof(err));
        memcpy(space_map(&s, REG_IOVA, sizeof(seg)), seg, sizeof(seg));
        rc = rc ? rc : npusim_core_run_task(core, &s.mem, REG_IOVA, count, NULL, err, sizeof(err));
        t->bad += rc != 0 || run_compare(&r, &s) != 0;
        run_free(&r);
        space_free(&s);
    }
    npusim_core_destroy(core);
    return NULL;
}

static void test_threads(void)
{
    pthread_t th[3];
    struct thr t[3];
    for (int i = 0; i < 3; i++) {
        t[i] = (struct thr){.idx = i, .seed = (uint32_t)i * 5};
        pthread_create(&th[i], NULL, thr_main, &t[i]);
    }
    int bad = 0;
    for (int i = 0; i < 3; i++) {
        pthread_join(th[i], NULL);
        bad += t[i].bad;
    }
    tap_is_int(bad, 0, "3 cores in 3 threads, 8 tasks each, all exact");
}

/* Execution envelopes (hw/npu_envelope.h): the core refuses a task the active envelope does not allow. */
static void test_execution_envelope(struct npusim_core *core)
{
    const struct npu_envelope *safe = &npu_envelope_safe;
    char err[512] = "";
    int bad, rc;
    npusim_core_set_envelope(core, safe);
    struct rk_matmul mm = mk(RK_INT8, RK_INT32, safe->m_tile_max, 64, safe->n_tile_max);
    rc = sim_matmul(core, &mm, err, sizeof err, NULL, &bad);
    tap_ok(rc == 0 && bad == 0, "safe: the largest safe tile (%u x %u) runs bit-exact (%s)", mm.m, mm.n, err);
    mm.m++;
    rc = sim_matmul(core, &mm, err, sizeof err, NULL, &bad);
    tap_ok(rc == -EINVAL && strstr(err, "rows per task") && strstr(err, "'safe'"), "safe: one row more is refused (%s)",
           err);
    mm = mk(RK_INT8, RK_INT32, 4, 64, safe->n_tile_max + 32);
    rc = sim_matmul(core, &mm, err, sizeof err, NULL, &bad);
    tap_ok(rc == -EINVAL && strstr(err, "output channels"), "safe: one kernel group more is refused (%s)", err);

    /* an in-place K-slice: A rows 96 wide, the task reads 64 of them */
    struct space s;
    struct run r = {.mm = mk(RK_INT8, RK_INT32, 5, 96, 64)};
    space_init(&s);
    run_make(&r, &s, NULL);
    uint64_t *regs = bo_new(&s, REG_IOVA, 2 * SEG_CAP * 8);
    struct rk_matmul sl = mk(RK_INT8, RK_INT32, 5, 64, 64);
    sl.a_row_stride = 96;
    bo_new(&s, 0x04000000, rk_b_bytes(&sl));
    bo_new(&s, 0x05000000, rk_c_bytes(&sl));
    sl.b_iova = 0x04000000, sl.c_iova = 0x05000000;
    uint32_t count = 0;
    rc = rk_regcmd_matmul_task(&sl, 0, regs, SEG_CAP, &count, err, sizeof err);
    rc = rc ? rc : npusim_core_run_task(core, &s.mem, REG_IOVA, count, NULL, err, sizeof err);
    tap_ok(rc == -EINVAL && strstr(err, "LINE_STRIDE"), "safe: an in-place K-slice is refused (%s)", err);
    npusim_core_set_envelope(core, &npu_envelope_vendor);
    rc = npusim_core_run_task(core, &s.mem, REG_IOVA, count, NULL, err, sizeof err);
    tap_ok(rc == 0, "vendor: the same in-place K-slice runs (%s)", err);

    /* a tail that names the next task */
    npusim_core_set_envelope(core, safe);
    sl.a_row_stride = 0;
    rc = rk_regcmd_matmul_task(&sl, REG_IOVA + SEG_CAP * 8, regs, SEG_CAP, &count, err, sizeof err);
    rc = rc ? rc : npusim_core_run_task(core, &s.mem, REG_IOVA, count, NULL, err, sizeof err);
    tap_ok(rc == -EINVAL && strstr(err, "next task"), "safe: a chained tail is refused (%s)", err);
    rc = rk_regcmd_matmul_task(&sl, 0, regs, SEG_CAP, &count, err, sizeof err);
    rc = rc ? rc : npusim_core_run_task(core, &s.mem, REG_IOVA, count, NULL, err, sizeof err);
    tap_ok(rc == 0, "safe: the same task with a zero next pointer runs (%s)", err);
    space_free(&s);
    run_free(&r);
    npusim_core_set_envelope(core, NULL);
}

/* Simulated flaws (flaws.c): the spec parser, then each flaw turns exactly the tasks beyond it into garbage (or a
 * hang) and leaves the ones inside it exact. */
static void test_flaws(struct npusim_core *core)
{
    struct npusim_flaws f;
    char err[512] = "";
    int bad = 0, rc;
    tap_is_int(npusim_flaws_parse("m-tile>32,n-tile>256,k>3008,inplace,chain,reuse,int8-fp32", &f, err, sizeof err), 0,
               "parse every kind of flaw");
    tap_ok(f.m_tile_above == 32 && f.n_tile_above == 256 && f.k_above == 3008 && f.inplace && f.chain && f.reuse &&
                   f.broken_pairs == NPU_PAIR_I8_F32,
           "the parsed flaws");
    tap_ok(!npusim_flaws_parse("none", &f, err, sizeof err) && !npusim_flaws_any(&f), "'none' is no flaw");
    static const char *const bad_specs[] = {"m-tile>", "m-tile>0", "m-tile>x", "k>12,", "fast", ",chain", "k>-1"};
    for (size_t i = 0; i < sizeof bad_specs / sizeof *bad_specs; i++) {
        rc = npusim_flaws_parse(bad_specs[i], &f, err, sizeof err);
        tap_ok(rc == -EINVAL && err[0], "'%s' is refused: %s", bad_specs[i], err);
    }

    struct {
        const char *spec;
        struct rk_matmul good, flawed;
    } cases[] = {
            {"m-tile>32", mk(RK_INT8, RK_INT32, 32, 64, 64), mk(RK_INT8, RK_INT32, 33, 64, 64)},
            {"n-tile>64", mk(RK_INT8, RK_INT32, 4, 64, 64), mk(RK_INT8, RK_INT32, 4, 64, 96)},
            {"k>64", mk(RK_INT8, RK_INT32, 4, 64, 32), mk(RK_INT8, RK_INT32, 4, 65, 32)},
            {"int8-fp32", mk(RK_INT8, RK_INT32, 4, 64, 32), mk(RK_INT8, RK_FP32, 4, 64, 32)},
            {"fp16-fp32", mk(RK_FP16, RK_FP16, 4, 64, 32), mk(RK_FP16, RK_FP32, 4, 64, 32)},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        npusim_flaws_parse(cases[i].spec, &f, err, sizeof err);
        npusim_core_set_flaws(core, &f);
        rc = sim_matmul(core, &cases[i].good, err, sizeof err, NULL, &bad);
        tap_ok(rc == 0 && bad == 0, "flaw %s: the task inside it is exact", cases[i].spec);
        rc = sim_matmul(core, &cases[i].flawed, err, sizeof err, NULL, &bad);
        tap_ok(rc == 0 && bad > 0, "flaw %s: the task beyond it runs and writes garbage (%d wrong values)",
               cases[i].spec, bad);
    }
    /* rows beyond the flaw only */
    npusim_flaws_parse("m-tile>8", &f, err, sizeof err);
    npusim_core_set_flaws(core, &f);
    struct rk_matmul mm = mk(RK_INT8, RK_INT32, 12, 64, 32);
    rc = sim_matmul(core, &mm, err, sizeof err, NULL, &bad);
    tap_ok(rc == 0 && bad == 4 * 32, "m-tile>8 with 12 rows: exactly rows 8..11 are wrong (%d values)", bad);

    /* an in-place K-slice (A rows 96 wide, the task reads 64) and a chained tail */
    struct space s;
    struct run r = {.mm = mk(RK_INT8, RK_INT32, 5, 96, 64)};
    space_init(&s);
    run_make(&r, &s, NULL);
    uint64_t *regs = bo_new(&s, REG_IOVA, 2 * SEG_CAP * 8);
    struct rk_matmul sl = mk(RK_INT8, RK_INT32, 5, 64, 64);
    sl.a_row_stride = 96;
    bo_new(&s, 0x04000000, rk_b_bytes(&sl));
    int32_t *c = bo_new(&s, 0x05000000, rk_c_bytes(&sl));
    sl.b_iova = 0x04000000, sl.c_iova = 0x05000000;
    uint32_t count = 0;
    int32_t exact[5 * 64];
    npusim_core_set_flaws(core, NULL);
    rc = rk_regcmd_matmul_task(&sl, 0, regs, SEG_CAP, &count, err, sizeof err);
    rc = rc ? rc : npusim_core_run_task(core, &s.mem, REG_IOVA, count, NULL, err, sizeof err);
    memcpy(exact, c, sizeof exact);
    npusim_flaws_parse("inplace", &f, err, sizeof err);
    npusim_core_set_flaws(core, &f);
    rc = rc ? rc : npusim_core_run_task(core, &s.mem, REG_IOVA, count, NULL, err, sizeof err);
    tap_ok(rc == 0 && memcmp(exact, c, sizeof exact), "flaw inplace: a K-slice read in place comes back wrong");
    sl.a_row_stride = 0;
    rc = rk_regcmd_matmul_task(&sl, 0, regs, SEG_CAP, &count, err, sizeof err);
    rc = rc ? rc : npusim_core_run_task(core, &s.mem, REG_IOVA, count, NULL, err, sizeof err);
    tap_ok(rc == 0, "flaw inplace: a task reading whole rows runs (%s)", err);
    npusim_flaws_parse("chain", &f, err, sizeof err);
    npusim_core_set_flaws(core, &f);
    rc = rk_regcmd_matmul_task(&sl, REG_IOVA + SEG_CAP * 8, regs, SEG_CAP, &count, err, sizeof err);
    rc = rc ? rc : npusim_core_run_task(core, &s.mem, REG_IOVA, count, NULL, err, sizeof err);
    tap_ok(rc == -ETIMEDOUT && strstr(err, "'chain'"), "flaw chain: a chained tail hangs the task (%s)", err);
    rc = rk_regcmd_matmul_task(&sl, 0, regs, SEG_CAP, &count, err, sizeof err);
    rc = rc ? rc : npusim_core_run_task(core, &s.mem, REG_IOVA, count, NULL, err, sizeof err);
    tap_ok(rc == 0, "flaw chain: the same task with a zero next pointer runs (%s)", err);
    space_free(&s);
    run_free(&r);
    npusim_core_set_flaws(core, NULL);
}

int main(void)
{
    const char *s = getenv("RK_TEST_SEED");
    rng_state = s ? (uint32_t)strtoul(s, NULL, 0) : 0x00c0ffeeu;
    if (!rng_state) rng_state = 1;
    tap_diag("test_npusim seed 0x%08x (set RK_TEST_SEED to change)", rng_state);
    tap_diag("tolerance: int8 paths bit-exact; fp16 paths |got-ref| <= 2^-20*sum|a*b| (+ 2^-11*|ref| + 2^-24 for fp16 "
             "out)");

    struct npusim_core *core = npusim_core_create(0);
    test_blob_and_stats(core);
    test_matmuls(core);
    test_envelope(core);
    test_stream_faults(core);
    test_strict_and_persistence();
    test_chains(core);
    test_execution_envelope(core);
    test_weight_reuse();
    test_flaws(core);
    test_wide_cube(core);
    test_threads();
    npusim_core_destroy(core);
    return tap_done();
}
