// SPDX-License-Identifier: MIT
/*
 * The software NPU's peer-stream mode (TAP): Mesa-style int8 fully-connected streams, as Mesa's rocket driver
 * and MF-rocket run them on mainline rocket (docs/hardware/regcmd.md §9), built by the peer-stream generator,
 * replayed on the simulator and compared bit for bit with a C reference of the documented arithmetic
 * (docs/hardware/arithmetic.md §2, §3):
 *
 *   v = bias[n] + Σ_k (x[m][k] − in_zp)·(w[n][k] − w_zp)            (what BS + CPEND add up to)
 *   y = clamp(round_half_even(v·OUT_CVT_SCALE / 2^OUT_CVT_SHIFT) + out_zp, 0, 255)
 *
 * computed from the uint8 tensors directly, so the generator's zero-point folding, its packing and the
 * simulator's decoding are all under test. Then: multi-task jobs with WEIGHT_REUSE, and one test per value the
 * mode refuses.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "npu_envelope.h"
#include "npu_limits.h"
#include "npu_regs.h"
#include "npusim.h"
#include "peer_stream.h"
#include "regcmd.h"
#include "tap.h"

/* ---- a small IOVA space of fake BOs ---- */
struct bo {
    uint32_t iova;
    size_t size;
    uint8_t *ptr;
};
struct space {
    struct bo bo[24];
    int n;
    struct npusim_mem mem;
};

static void *space_map(void *ctx, uint32_t iova, size_t len)
{
    struct space *s = ctx;
    for (int i = 0; i < s->n; i++)
        if (iova >= s->bo[i].iova && (uint64_t)iova + len <= (uint64_t)s->bo[i].iova + s->bo[i].size)
            return s->bo[i].ptr + (iova - s->bo[i].iova);
    return NULL;
}

static void *bo_new(struct space *s, uint32_t iova, size_t size)
{
    struct bo *b = &s->bo[s->n++];
    *b = (struct bo){iova, size, calloc(1, size ? size : 1)};
    return b->ptr;
}

static void space_init(struct space *s)
{
    memset(s, 0, sizeof *s);
    s->mem = (struct npusim_mem){.ctx = s, .map = space_map};
}

static void space_free(struct space *s)
{
    for (int i = 0; i < s->n; i++) free(s->bo[i].ptr);
    s->n = 0;
}

static uint32_t rng_state;
static uint32_t rnd(void)
{
    uint32_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return rng_state = x;
}

/* ---- the C reference ---- */
static int64_t ref_round_half_even(int64_t x, uint32_t s)
{
    if (s == 0) return x;
    if (s >= 63) return 0;
    int64_t d = (int64_t)1 << s, q = x / d, r = x % d;
    if (r < 0) q--, r += d; /* floor */
    if (2 * r > d || (2 * r == d && (q % 2 != 0))) q++;
    return q;
}

struct fc_case {
    uint32_t m, k, n;
    uint8_t *x, *w; /* x[M][K], w[N][K] uint8 */
    int32_t *bias;  /* [N] */
    uint8_t in_zp, w_zp, out_zp;
    float conv_scale;
};

static int64_t ref_acc(const struct fc_case *c, uint32_t r, uint32_t n)
{
    int64_t v = c->bias[n];
    for (uint32_t k = 0; k < c->k; k++)
        v += ((int64_t)c->x[(size_t)r * c->k + k] - c->in_zp) * ((int64_t)c->w[(size_t)n * c->k + k] - c->w_zp);
    return v;
}

static uint8_t ref_out(const struct fc_case *c, uint32_t r, uint32_t n, uint32_t scale, uint32_t shift)
{
    int64_t y = ref_round_half_even(ref_acc(c, r, n) * scale, shift) + c->out_zp;
    return (uint8_t)(y < 0 ? 0 : y > UINT8_MAX ? UINT8_MAX : y);
}

/* Output codes the range of v maps to: a little more than uint8 holds, so the tails saturate. */
#define CASE_SPAN 300.0
#define CASE_MID  127.5

/* Random tensors; the scale and the output zero point are set from the data so the outputs spread over (and
 * a little past) the uint8 range. */
static void case_make(struct fc_case *c, uint32_t m, uint32_t k, uint32_t n)
{
    *c = (struct fc_case){.m = m, .k = k, .n = n};
    c->x = malloc((size_t)m * k);
    c->w = malloc((size_t)n * k);
    c->bias = malloc(n * sizeof(int32_t));
    for (size_t i = 0; i < (size_t)m * k; i++) c->x[i] = (uint8_t)rnd();
    for (size_t i = 0; i < (size_t)n * k; i++) c->w[i] = (uint8_t)rnd();
    c->in_zp = (uint8_t)rnd();
    c->w_zp = (uint8_t)rnd();
    c->out_zp = (uint8_t)rnd();
    /* The biases cancel the mean of the sums (as a real bias correction would) plus noise of half their spread,
     * so v spreads around 0 and the zero point can centre it. */
    int64_t total = 0, dev = 1;
    memset(c->bias, 0, n * sizeof(int32_t));
    for (uint32_t r = 0; r < m; r++)
        for (uint32_t j = 0; j < n; j++) total += ref_acc(c, r, j);
    int64_t mean = total / ((int64_t)m * n);
    for (uint32_t r = 0; r < m; r++)
        for (uint32_t j = 0; j < n; j++) {
            int64_t d = ref_acc(c, r, j) - mean;
            dev = d > dev ? d : -d > dev ? -d : dev;
        }
    for (uint32_t j = 0; j < n; j++) c->bias[j] = (int32_t)(-mean + (int64_t)(rnd() % (uint32_t)(dev + 1)) - dev / 2);
    int64_t vmin = INT64_MAX, vmax = INT64_MIN;
    for (uint32_t r = 0; r < m; r++)
        for (uint32_t j = 0; j < n; j++) {
            int64_t v = ref_acc(c, r, j);
            vmin = v < vmin ? v : vmin;
            vmax = v > vmax ? v : vmax;
        }
    double scale = CASE_SPAN / (double)(vmax - vmin + 1), zp = CASE_MID - scale * 0.5 * ((double)vmin + (double)vmax);
    c->conv_scale = (float)scale;
    c->out_zp = (uint8_t)(zp < 0 ? 0 : zp > UINT8_MAX ? UINT8_MAX : lround(zp));
}

static void case_free(struct fc_case *c)
{
    free(c->x);
    free(c->w);
    free(c->bias);
}

/* ---- one peer task (or a column of row tiles) on a fake IOVA space ---- */
#define IN_IOVA   0x00100000u
#define W_IOVA    0x00800000u
#define BIAS_IOVA 0x00f00000u
#define OUT_IOVA  0x01000000u
#define REG_IOVA  0x00040000u
#define SEG_CAP   136 /* 130 entries, room to spare */
#define TILE_SPAN 0x00100000u

struct peer_rig {
    struct space s;
    struct fc_case c;
    uint64_t *regs;
    size_t count[8];
    int tiles;
    uint32_t tile_m;
};

/* Weights and bias once, the rows in tiles of tile_m, tiles > 0 reusing the weights if asked. */
static int rig_build(struct peer_rig *g, uint32_t tile_m, bool reuse, char *err, size_t errlen)
{
    struct fc_case *c = &g->c;
    g->tile_m = tile_m;
    g->tiles = (int)((c->m + tile_m - 1) / tile_m);
    int8_t *wp = bo_new(&g->s, W_IOVA, rk_peer_weight_bytes(c->k, c->n));
    int32_t *bp = bo_new(&g->s, BIAS_IOVA, rk_peer_bias_bytes(c->n));
    rk_peer_pack_weights(wp, c->w, c->k, c->n);
    rk_peer_biases(bp, c->bias, c->w, c->k, c->n, c->in_zp, c->w_zp);
    g->regs = bo_new(&g->s, REG_IOVA, (size_t)g->tiles * SEG_CAP * 8);
    for (int t = 0; t < g->tiles; t++) {
        uint32_t r0 = (uint32_t)t * tile_m, m = c->m - r0 < tile_m ? c->m - r0 : tile_m;
        int8_t *in = bo_new(&g->s, IN_IOVA + t * TILE_SPAN, rk_peer_input_bytes(m, c->k));
        bo_new(&g->s, OUT_IOVA + t * TILE_SPAN, rk_peer_output_bytes(m, c->n));
        rk_peer_pack_input(in, c->x + (size_t)r0 * c->k, m, c->k);
        struct rk_peer_fc fc = {.m = m,
                                .k = c->k,
                                .n = c->n,
                                .in_iova = IN_IOVA + t * TILE_SPAN,
                                .w_iova = W_IOVA,
                                .bias_iova = BIAS_IOVA,
                                .out_iova = OUT_IOVA + t * TILE_SPAN,
                                .in_zp = c->in_zp,
                                .w_zp = c->w_zp,
                                .out_zp = c->out_zp,
                                .conv_scale = c->conv_scale,
                                .weight_reuse = reuse && t > 0};
        int rc = rk_peer_fc_regcmd(&fc, g->regs + t * SEG_CAP, SEG_CAP, &g->count[t], err, errlen);
        if (rc) return rc;
    }
    return 0;
}

static void rig_init(struct peer_rig *g, uint32_t m, uint32_t k, uint32_t n)
{
    space_init(&g->s);
    case_make(&g->c, m, k, n);
}

static void rig_free(struct peer_rig *g)
{
    case_free(&g->c);
    space_free(&g->s);
}

/* All tiles as one rocket job on one core; stats summed. */
static int rig_run(struct npusim_core *core, struct peer_rig *g, struct npusim_task_stats *sum, char *err,
                   size_t errlen)
{
    npusim_core_begin_job(core);
    if (sum) memset(sum, 0, sizeof *sum);
    for (int t = 0; t < g->tiles; t++) {
        struct npusim_task_stats st;
        int rc = npusim_core_run_task(core, &g->s.mem, REG_IOVA + t * SEG_CAP * 8, (uint32_t)g->count[t], &st, err,
                                      errlen);
        if (rc) return rc;
        if (sum) {
            sum->tasks += st.tasks;
            sum->peer_tasks += st.peer_tasks;
            sum->weight_reuse_tasks += st.weight_reuse_tasks;
            sum->weight_bytes += st.weight_bytes;
            sum->bytes_in += st.bytes_in;
            sum->bytes_out += st.bytes_out;
        }
    }
    return 0;
}

/* Elements that differ from the reference; *near counts those more than 1 off the real-valued quantised
 * result (a check on the reference and the generator's OUT_CVT values, not on the simulator). */
static uint64_t codes_inside, codes_saturated; /* over all replays: the reference must exercise both */

static int rig_compare(struct peer_rig *g, int *near)
{
    struct fc_case *c = &g->c;
    uint32_t scale, shift;
    rk_peer_out_cvt(c->conv_scale, &scale, &shift);
    uint8_t *y = malloc((size_t)g->tile_m * c->n);
    int bad = 0;
    *near = 0;
    for (int t = 0; t < g->tiles; t++) {
        uint32_t r0 = (uint32_t)t * g->tile_m, m = c->m - r0 < g->tile_m ? c->m - r0 : g->tile_m;
        rk_peer_unpack_output(y, space_map(&g->s, OUT_IOVA + t * TILE_SPAN, rk_peer_output_bytes(m, c->n)), m, c->n);
        for (uint32_t r = 0; r < m; r++)
            for (uint32_t n = 0; n < c->n; n++) {
                uint8_t got = y[(size_t)r * c->n + n], want = ref_out(c, r0 + r, n, scale, shift);
                if (want == 0 || want == UINT8_MAX)
                    codes_saturated++;
                else
                    codes_inside++;
                if (got != want && bad++ < 3)
                    tap_diag("y[%u][%u] = %u, want %u", r0 + r, n, (unsigned)got, (unsigned)want);
                double real = (double)c->conv_scale * (double)ref_acc(c, r0 + r, n) + c->out_zp;
                real = real < 0 ? 0 : real > UINT8_MAX ? UINT8_MAX : real;
                *near += fabs((double)want - real) > 1.0;
            }
    }
    free(y);
    return bad;
}

static void test_replay(struct npusim_core *core)
{
    static const struct {
        uint32_t m, k, n;
        const char *what;
    } cases[] = {
            {4, 64, 32, "one kernel group"},
            {16, 2560, 128, "MF-rocket's tile at K=2560 (weights stream)"},
            {32, 2560, 128, "32 rows at K=2560 (MF-rocket: correct), 52 grains > two banks of rows"},
            {1, 48, 33, "K % 32 = 16 (16-wide last block), odd N (kernels in pairs)"},
            {8, 16, 1, "K=16, N=1"},
            {12, 96, 300, "N=300: ten groups, the last one 12 kernels"},
            {4, 8192, 64, "K=8192, the int8 ceiling"},
    };
    for (unsigned i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct peer_rig g;
        struct npusim_task_stats st;
        char err[512] = "";
        rig_init(&g, cases[i].m, cases[i].k, cases[i].n);
        int rc = rig_build(&g, cases[i].m, false, err, sizeof err);
        rc = rc ? rc : rig_run(core, &g, &st, err, sizeof err);
        int near = 0, bad = rc ? -1 : rig_compare(&g, &near);
        if (!tap_ok(rc == 0 && bad == 0 && near == 0 && st.peer_tasks == 1,
                    "peer FC M=%u K=%u N=%u zero points %u/%u/%u bit-exact: %s", cases[i].m, cases[i].k, cases[i].n,
                    g.c.in_zp, g.c.w_zp, g.c.out_zp, cases[i].what))
            tap_diag("rc %d (%s), %d wrong, %d off the real result", rc, err, bad, near);
        if (i == 0)
            tap_ok(!rc && st.weight_bytes == 64 * 32 && st.bytes_in == 4 * 64 + 64 * 32 + 32 * 4 &&
                           st.bytes_out == 4 * 32,
                   "stats: feature + weights + bias read, int8 written (%llu in, %llu out)",
                   (unsigned long long)st.bytes_in, (unsigned long long)st.bytes_out);
        rig_free(&g);
    }
    tap_ok(codes_saturated > 0 && codes_inside > 4 * codes_saturated,
           "the data exercise rounding and saturation: %llu outputs inside, %llu saturated",
           (unsigned long long)codes_inside, (unsigned long long)codes_saturated);
}

/* Ties: with OUT_CVT_SCALE = 0x6000 = 3·2^13 and SHIFT 20, y = v·3/128, so v = 64·odd lands on x.5. x equal to
 * the input zero point makes every sum 0 and v = bias; CVT_ROUND = 0 must round those half to even. */
static void test_rounding(struct npusim_core *core)
{
    struct peer_rig g;
    char err[512] = "";
    rig_init(&g, 4, 64, 32);
    struct fc_case *c = &g.c;
    memset(c->x, c->in_zp, (size_t)c->m * c->k);
    c->out_zp = 128;
    c->conv_scale = ldexpf(1.0f + 8191.0f / 16384.0f, -6);
    uint32_t scale = 0, shift = 0;
    rk_peer_out_cvt(c->conv_scale, &scale, &shift);
    for (uint32_t n = 0; n < c->n; n++) c->bias[n] = 64 * (2 * (int32_t)n - 31);
    int differ = 0; /* outputs where half up would give another code */
    for (uint32_t n = 0; n < c->n; n++) {
        int64_t v = (int64_t)c->bias[n] * scale, d = (int64_t)1 << shift;
        int64_t up = (v + d / 2) >> shift;
        differ += up + c->out_zp != ref_out(c, 0, n, scale, shift);
    }
    int rc = rig_build(&g, 4, false, err, sizeof err);
    rc = rc ? rc : rig_run(core, &g, NULL, err, sizeof err);
    int near = 0, bad = rc ? -1 : rig_compare(&g, &near);
    tap_ok(scale == 0x6000 && shift == 20 && differ == 16 && rc == 0 && bad == 0,
           "32 exact ties x.5 round half to even (16 would differ rounding half up) (%s)", err);
    rig_free(&g);
}

/* MF-rocket's job: a column's row tiles in one job, task 0 loads the weights, tasks 1..k reuse them. */
static void test_weight_reuse(struct npusim_core *core)
{
    struct peer_rig g;
    struct npusim_task_stats st;
    char err[512] = "";
    rig_init(&g, 64, 512, 128);
    int rc = rig_build(&g, 16, true, err, sizeof err);
    rc = rc ? rc : rig_run(core, &g, &st, err, sizeof err);
    int near = 0, bad = rc ? -1 : rig_compare(&g, &near);
    tap_ok(rc == 0 && bad == 0 && near == 0, "4 row tiles of 16, tiles 1..3 with WEIGHT_REUSE, bit-exact (%s)", err);
    tap_ok(!rc && st.tasks == 4 && st.weight_reuse_tasks == 3 && st.weight_bytes == 512 * 128,
           "weights fetched once: %llu bytes for 4 tasks, 3 reusing", (unsigned long long)st.weight_bytes);

    /* the same job without its first task: nothing to reuse */
    npusim_core_begin_job(core);
    rc = npusim_core_run_task(core, &g.s.mem, REG_IOVA + SEG_CAP * 8, (uint32_t)g.count[1], NULL, err, sizeof err);
    tap_ok(rc == -EINVAL && strstr(err, "no weights to reuse"), "a job whose first task reuses is refused (%s)", err);

    /* in the safe envelope reuse is not proven */
    npusim_core_set_envelope(core, &npu_envelope_safe);
    rc = rig_run(core, &g, NULL, err, sizeof err);
    tap_ok(rc == -EINVAL && strstr(err, "WEIGHT_REUSE is not proven"), "envelope safe refuses the reuse (%s)", err);
    npusim_core_set_envelope(core, &npu_envelope_vendor);
    rc = rig_run(core, &g, NULL, err, sizeof err);
    tap_ok(rc == 0, "envelope vendor runs it (%s)", err);
    npusim_core_set_envelope(core, NULL);
    rig_free(&g);

    /* streamed weights: the generator refuses, as Mesa reuses only resident weights */
    rig_init(&g, 32, 2560, 128);
    rc = rig_build(&g, 16, true, err, sizeof err);
    tap_ok(rc == -EINVAL && strstr(err, "stream"), "generator: no WEIGHT_REUSE when the weights stream (%s)", err);
    rig_free(&g);

    /* the safe envelope takes the plain stream: int8 out is what ran on rocket */
    rig_init(&g, 16, 256, 128);
    npusim_core_set_envelope(core, &npu_envelope_safe);
    rc = rig_build(&g, 16, false, err, sizeof err);
    rc = rc ? rc : rig_run(core, &g, NULL, err, sizeof err);
    int near2 = 0;
    tap_ok(rc == 0 && rig_compare(&g, &near2) == 0, "envelope safe runs a 16 x 128 peer tile (%s)", err);
    npusim_core_set_envelope(core, NULL);
    rig_free(&g);
}

/* ---- the mode refuses what the recipe does not use ---- */
static int patch(uint64_t *seg, size_t n, uint16_t reg, uint32_t value)
{
    int hits = 0;
    for (size_t i = 0; i < n; i++)
        if (seg[i] && npu_entry_reg(seg[i]) == reg && npu_entry_target(seg[i]) == npu_block_target(npu_block_of(reg))) {
            seg[i] = npu_entry(npu_entry_target(seg[i]), reg, value);
            hits++;
        }
    return hits;
}

struct refusal {
    uint16_t reg;
    uint32_t value;
    int rc;
    const char *needle, *what;
};

static void expect_refusal(struct npusim_core *core, const struct refusal *r)
{
    struct peer_rig g;
    char err[512] = "";
    rig_init(&g, 16, 256, 64);
    int rc = rig_build(&g, 16, false, err, sizeof err);
    int hits = rc ? 0 : patch(g.regs, g.count[0], r->reg, r->value);
    rc = rc ? rc : rig_run(core, &g, NULL, err, sizeof err);
    /* an IOMMU fault names the address instead of a section */
    bool cited = rc == -EFAULT || strstr(err, "docs/hardware/");
    if (!tap_ok(hits > 0 && rc == r->rc && strstr(err, r->needle) && cited, "peer mode refuses %s", r->what))
        tap_diag("rc %d, err \"%s\"; want rc %d mentioning \"%s\"", rc, err, r->rc, r->needle);
    rig_free(&g);
}

static void test_refusals(struct npusim_core *core)
{
    const struct refusal cases[] = {
            {CNA_CONV_CON2, 53u << 4, -ENOTSUP, "FEATURE_GRAINS = 50 + stride + 1", "another grain count"},
            {CNA_CONV_CON1, 1u << 29, -ENOTSUP, "NC1HWC2", "the row-major feature fetch"},
            {CNA_DATA_SIZE1, 254u << 16 | 256, -ENOTSUP, "multiple of 16 only", "channels past K (zero-point padding)"},
            {CNA_PAD_CON1, 0x100, -ENOTSUP, "CNA_PAD_CON1", "a pad value that is no int8"},
            {CNA_DMA_CON1, 8, -ENOTSUP, "line stride is 4*W", "another line stride"},
            {CNA_DMA_CON2, 0, -ENOTSUP, "surface stride is W*H - 4*W", "another surface stride"},
            {CNA_CBUF_CON0, 0x10b1, -ENOTSUP, "DATA_REUSE", "DATA_REUSE, which no stream sets"},
            {CORE_DATAOUT_SIZE_1, 31, -EINVAL, "padded to 32", "CORE channels not padded to 32"},
            {DPU_DATA_FORMAT, 4u << 29, -ENOTSUP, "int8 output", "int32 output under op-enable 0x1D"},
            {DPU_BS_CFG, DPU_BS_CFG_ALL_BYPASS, -ENOTSUP, "adds a bias from memory", "a bypassed BS stage"},
            {DPU_BS_OW_CFG, 0x126, -ENOTSUP, "OD_BYPASS 0", "CPEND bypassed"},
            {DPU_BS_OW_OP, 0x81, -ENOTSUP, "0x80 - the weight zero point", "OW_OP 129 (no uint8 zero point)"},
            {DPU_BS_OW_OP, 0x10001, -ENOTSUP, "DPU_BS_OW_OP", "bits above the 16-bit OW_OP"},
            {DPU_OUT_CVT_OFFSET, 200, -ENOTSUP, "output zero point - 0x80", "an output offset that is no int8"},
            {DPU_OUT_CVT_SCALE, 0x3fff, -ENOTSUP, "15-bit mantissa", "a multiplier below 2^14"},
            {DPU_OUT_CVT_SCALE, 0x14000, -ENOTSUP, "FP32TOFP16_EN", "FP32TOFP16_EN on int8 output"},
            {DPU_OUT_CVT_SHIFT, 1u << 30 | 20, -ENOTSUP, "half to even", "CVT_ROUND half up"},
            {DPU_OUT_CVT_SHIFT, 1u << 31 | 20, -ENOTSUP, "multiply first", "CVT_TYPE ALU first"},
            {DPU_DST_SURF_STRIDE, 0x10, -ENOTSUP, "16*W*H", "row-major output"},
            {DPU_DATA_CUBE_NOTCH_ADDR, 0x10001, -ENOTSUP, "no notch", "a notch"},
            {DPU_DATA_CUBE_CHANNEL, 61u << 16 | 63, -ENOTSUP, "ORIG_CHANNEL", "ORIG_CHANNEL below align2(N) - 1"},
            {DPU_RDMA_S_POINTER, 0, -EINVAL, "re-armed", "DPU_RDMA_S_POINTER not re-armed"},
            {DPU_RDMA_BRDMA_CFG, 4, -ENOTSUP, "BS ALU only", "the bias feeding CPEND"},
            {DPU_RDMA_ERDMA_CFG, 0, -ENOTSUP, "reader off", "ERDMA on"},
            {DPU_RDMA_FEATURE_MODE_CFG, 15u << 11, -ENOTSUP, "disables MRDMA", "MRDMA on"},
            {DPU_RDMA_DATA_CUBE_CHANNEL, 31, -EINVAL, "cube must be the DPU's", "an RDMA cube unlike the DPU's"},
            {DPU_RDMA_WEIGHT, 0x01010102, -ENOTSUP, "0x01010101", "other arbiter weights"},
            {DPU_RDMA_BS_BASE_ADDR, BIAS_IOVA + 4, -EINVAL, "not 16-byte aligned", "a misaligned bias address"},
            {DPU_RDMA_BS_BASE_ADDR, 0x30000000, -EFAULT, "DPU_RDMA bias read at 0x30000000", "an unmapped bias"},
    };
    for (unsigned i = 0; i < sizeof cases / sizeof cases[0]; i++) expect_refusal(core, &cases[i]);

    /* a bias that pushes the BS sum out of int32: its width is not known */
    struct peer_rig g;
    char err[512] = "";
    rig_init(&g, 4, 64, 32);
    int rc = rig_build(&g, 4, false, err, sizeof err);
    ((int32_t *)space_map(&g.s, BIAS_IOVA, 4))[0] = INT32_MAX;
    rc = rc ? rc : rig_run(core, &g, NULL, err, sizeof err);
    tap_ok(rc == -EINVAL && strstr(err, "leaves int32") && strstr(err, "UNVERIFIED"),
           "a BS sum outside int32 is refused, not guessed (%s)", err);
    rig_free(&g);

    /* strict: a register the task does not write */
    rig_init(&g, 4, 64, 32);
    rc = rig_build(&g, 4, false, err, sizeof err);
    for (size_t i = 0; i < g.count[0]; i++)
        if (npu_entry_reg(g.regs[i]) == DPU_RDMA_WEIGHT) g.regs[i] = 0;
    rc = rc ? rc : rig_run(core, &g, NULL, err, sizeof err);
    tap_ok(rc == -EINVAL && strstr(err, "DPU_RDMA_WEIGHT") && strstr(err, "did not write"),
           "strict: a peer task that leaves DPU_RDMA_WEIGHT to an earlier task is refused (%s)", err);
    rig_free(&g);

    /* DPU_RDMA written but left off by op-enable 0xd */
    rig_init(&g, 4, 64, 32);
    rc = rig_build(&g, 4, false, err, sizeof err);
    g.regs[g.count[0] - 1] = npu_entry(NPU_TGT_OP_EN, PC_OPERATION_ENABLE, NPU_EN_MATMUL);
    rc = rc ? rc : rig_run(core, &g, NULL, err, sizeof err);
    tap_ok(rc == -ENOTSUP && strstr(err, "leaves the block off"), "DPU_RDMA writes under op-enable 0xd refused (%s)",
           err);
    rig_free(&g);

    /* without peer-stream mode the stream is not accepted at all */
    struct npusim_core *plain = npusim_core_create(1);
    rig_init(&g, 4, 64, 32);
    rc = rig_build(&g, 4, false, err, sizeof err);
    rc = rc ? rc : rig_run(plain, &g, NULL, err, sizeof err);
    tap_ok(rc == -ENOTSUP && strstr(err, "DPU_RDMA"), "a core not in peer-stream mode refuses the stream (%s)", err);
    rig_free(&g);
    npusim_core_destroy(plain);
}

/* Our own streams keep their checks on a core in peer-stream mode, and the two recipes alternate on one core. */
static void test_mixed(struct npusim_core *core)
{
    struct peer_rig g;
    char err[512] = "";
    rig_init(&g, 8, 128, 64);
    int rc = rig_build(&g, 8, false, err, sizeof err);
    struct rk_matmul mm = {.in = RK_INT8,
                           .out = RK_INT32,
                           .m = 4,
                           .k = 64,
                           .n = 32,
                           .a_iova = 0x02000000,
                           .b_iova = 0x02100000,
                           .c_iova = 0x02200000};
    int8_t *a = bo_new(&g.s, mm.a_iova, rk_a_bytes(&mm)), *b = bo_new(&g.s, mm.b_iova, rk_b_bytes(&mm));
    int32_t *cm = bo_new(&g.s, mm.c_iova, rk_c_bytes(&mm));
    uint64_t *ours = bo_new(&g.s, 0x02300000, SEG_CAP * 8);
    for (size_t i = 0; i < rk_a_bytes(&mm); i++) a[i] = (int8_t)rnd();
    for (size_t i = 0; i < rk_b_bytes(&mm); i++) b[i] = (int8_t)rnd();
    uint32_t count = 0;
    rc = rc ? rc : rk_regcmd_matmul_task(&mm, 0, ours, SEG_CAP, &count, err, sizeof err);
    int ok = 1;
    for (int round = 0; round < 2 && !rc; round++) {
        rc = npusim_core_run_task(core, &g.s.mem, 0x02300000, count, NULL, err, sizeof err);
        for (uint32_t i = 0; i < 4 && !rc;
             i++) /* C[i][0] against its dot product (packed B: kernel 0, 32-wide blocks) */
        {
            int32_t want = 0;
            for (uint32_t k = 0; k < 64; k++) want += a[i * 64 + k] * b[(k / 32) * 1024 + k % 32];
            ok &= cm[i * 32] == want;
        }
        rc = rc ? rc : rig_run(core, &g, NULL, err, sizeof err);
        int near = 0;
        ok &= !rc && rig_compare(&g, &near) == 0;
    }
    tap_ok(rc == 0 && ok, "our matmul and a peer task alternate on one peer-mode core, both exact (%s)", err);
    patch(ours, count, DPU_BS_OW_OP, 1);
    rc = npusim_core_run_task(core, &g.s.mem, 0x02300000, count, NULL, err, sizeof err);
    tap_ok(rc == -ENOTSUP && strstr(err, "CPEND"), "our recipe still refuses a non-zero OW_OP in peer-stream mode (%s)",
           err);
    rig_free(&g);
}

static void test_generator(void)
{
    uint32_t scale, shift;
    tap_ok(rk_peer_out_cvt(1.0f, &scale, &shift) == 0 && scale == 0x4001 && shift == 14,
           "OUT_CVT for scale 1.0: multiplier 0x4001, shift 14 (ORK's identity is 0x4000 >> 14)");
    tap_ok(rk_peer_out_cvt(0.75f, &scale, &shift) == 0 && scale == 0x6001 && shift == 15,
           "OUT_CVT for 0.75: 0x6001 >> 15");
    tap_ok(rk_peer_out_cvt(0.0f, &scale, &shift) == -EINVAL && rk_peer_out_cvt(40000.0f, &scale, &shift) == -EINVAL,
           "OUT_CVT refuses 0 and scales from 2^15 up");
    struct rk_peer_fc fc = {.m = 4, .k = 64, .n = 32, .conv_scale = 0.01f};
    struct rk_peer_plan p;
    char err[256] = "";
    tap_ok(rk_peer_fc_plan(&fc, &p, err, sizeof err) == 0 && p.kernels == 32 && p.cout == 32 && p.data_banks == 1 &&
                   p.weight_banks == 11 && p.weights_resident,
           "plan M=4 K=64 N=32: 1 data bank, weights resident (%s)", err);
    fc.k = 40;
    tap_ok(rk_peer_fc_plan(&fc, &p, err, sizeof err) == -ENOTSUP && strstr(err, "multiple of 16"),
           "K=40 refused: MF-rocket runs K %% 16 == 0 only");
    fc = (struct rk_peer_fc){.m = 2047, .k = 8192, .n = 32, .conv_scale = 0.01f};
    tap_ok(rk_peer_fc_plan(&fc, &p, err, sizeof err) == -ENOTSUP && strstr(err, "split"),
           "a tile larger than the data banks refused, as Mesa would split it (%s)", err);
    uint64_t seg[SEG_CAP];
    size_t count = 0;
    fc = (struct rk_peer_fc){.m = 4, .k = 64, .n = 32, .conv_scale = 0.01f};
    tap_ok(rk_peer_fc_regcmd(&fc, seg, SEG_CAP, &count, err, sizeof err) == 0 &&
                   count == RK_PEER_BODY_ENTRIES + NPU_REGCMD_TAIL_ENTRIES &&
                   seg[count - 1] == npu_entry(NPU_TGT_OP_EN, PC_OPERATION_ENABLE, NPU_EN_PEER),
           "130 entries (126 + tail), op-enable 0x1d (docs/hardware/regcmd.md §9)");
}

int main(void)
{
    const char *s = getenv("RK_TEST_SEED");
    rng_state = s ? (uint32_t)strtoul(s, NULL, 0) : 0x9ee25eedu;
    if (!rng_state) rng_state = 1;
    tap_diag("test_npusim_peer seed 0x%08x (set RK_TEST_SEED to change)", rng_state);

    struct npusim_core *core = npusim_core_create(0);
    npusim_core_set_peer_streams(core, true);
    test_generator();
    test_replay(core);
    test_rounding(core);
    test_weight_reuse(core);
    test_refusals(core);
    test_mixed(core);
    npusim_core_destroy(core);
    return tap_done();
}
