// SPDX-License-Identifier: MIT
/*
 * Weight preparation from real ggml formats (Q4_K, Q6_K, Q8_0, Q5_0, Q4_0, F16, F32, BF16) made with
 * ggml_quantize_chunk and decoded with ggml's to_float: the packed NPU blocks equal the reference packer
 * (hw/layout.h) applied to the re-quantized rows, and a matmul on the simulated NPU is bit-exact in int32
 * and within the f32 bound against the decoded weights. Reports conversion throughput and bytes per weight.
 */
#include <errno.h>
#include <string.h>
#include <stdlib.h>

#include "gemm_case.h"
#include "ggml_weights.h"
#include "layout.h"
#include "tap.h"

static const enum ggml_type types[] = {GGML_TYPE_Q4_K, GGML_TYPE_Q6_K, GGML_TYPE_Q8_0, GGML_TYPE_Q5_0,
                                       GGML_TYPE_Q4_0, GGML_TYPE_F16,  GGML_TYPE_F32,  GGML_TYPE_BF16};

/* Core 0's packed slice 0 of a prepared weight vs rk_pack_b_* of the CPU-quantized rows. */
static int packed_matches(const struct rk_weight *w, const struct gw_weight *g)
{
    const struct rk_wlayout *L = &w->L;
    const struct rk_core_share *cs = &L->core[0];
    uint32_t K = L->k[0], n = cs->n;
    size_t bpe = L->bpe, bytes = (size_t)cs->npad * L->kpad[0] * bpe;
    uint8_t *q = malloc((size_t)n * g->K * bpe), *ref = calloc(1, bytes);
    float *sw = malloc(sizeof(float) * n);
    gr_quant_w(L->mode, g->dec, n, g->K, q, sw);
    /* rows of K-slice 0: element (k, n) at q[n·Kfull + k]: stride_k = 1, stride_n = Kfull */
    if (L->mode == RK_GEMM_FP16)
        rk_pack_b_fp16((uint16_t *)ref, (const uint16_t *)q, K, n, 1, (size_t)g->K);
    else
        rk_pack_b_int8((int8_t *)ref, (const int8_t *)q, K, n, 1, (size_t)g->K);
    npu_bo_prep(w->b[0], npu_deadline_after_ms(1000));
    int same = !memcmp(ref, (uint8_t *)w->b[0]->map + cs->b_off[0], bytes) && !memcmp(sw, w->scale, n * 4);
    npu_bo_fini(w->b[0]);
    free(q), free(ref), free(sw);
    return same;
}

int main(void)
{
    struct rk_gemm_engine *e = NULL;
    char why[256];
    struct rk_gemm_options o = {.kind = NPU_DEVICE_SIM, .cores = 3};
    if (!tap_ok(rk_gemm_open(&o, &e, why, sizeof why) == 0, "open a 3-core engine on the simulator")) {
        tap_diag("%s", why);
        return tap_done();
    }
    uint64_t seed = 99;
    for (size_t i = 0; i < sizeof types / sizeof *types; i++)
        for (int mode = 0; mode < RK_GEMM_MODES; mode++) {
            const char *tn = ggml_type_name(types[i]);
            struct gw_weight g;
            if (!tap_ok(gw_make(&g, types[i], 200, 1536, 3, &seed) == 0, "%s: make a 200x1536 weight", tn)) continue;
            struct rk_weight *w = NULL;
            int rc = rk_weight_prepare(e, g.raw, g.K, g.N, g.row_bytes, g.to_float, mode, &w);
            if (tap_ok(rc == 0, "%s -> %s: prepare", tn, rk_gemm_mode_name(mode)))
                tap_ok(packed_matches(w, &g),
                       "%s -> %s: packed blocks and scales == reference packer of the "
                       "re-quantized to_float rows",
                       tn, rk_gemm_mode_name(mode));
            else
                tap_diag("%s", rk_gemm_last_error(e));
            rk_weight_free(w);
            struct gc_params p = {.mode = mode,
                                  .M = 17,
                                  .K = g.K,
                                  .N = g.N,
                                  .seed = 5 + i,
                                  .x_outliers = 2,
                                  .x_factor = 50,
                                  .wraw = g.raw,
                                  .row_bytes = g.row_bytes,
                                  .to_float = g.to_float,
                                  .wdec = g.dec};
            struct gc_result r;
            rc = gc_run(e, &p, &r);
            tap_ok(rc == 0 && (!rk_mode_int8(mode) || r.int_mismatches == 0) && r.f32.over_bound == 0,
                   "%s -> %s: M=17 matmul %s, f32 error within bound (NMSE %.3g)", tn, rk_gemm_mode_name(mode),
                   rk_mode_int8(mode) ? "int32 bit-exact" : "ran", r.f32.nmse);
            if (rc || r.int_mismatches || r.f32.over_bound)
                tap_diag("%s; %llu over bound", r.err, (unsigned long long)r.f32.over_bound);
            gw_free(&g);
        }

    /* Conversion throughput and bytes per weight on a real-sized tensor (ffn_up, 1536x8960). */
    static const enum ggml_type tp[] = {GGML_TYPE_Q4_K, GGML_TYPE_Q6_K, GGML_TYPE_F16};
    for (size_t i = 0; i < 3; i++)
        for (int mode = 0; mode < 2; mode++) {
            struct gw_weight g;
            if (gw_make(&g, tp[i], 8960, 1536, 0, &seed)) continue;
            struct rk_weight *w = NULL;
            int rc = rk_weight_prepare(e, g.raw, g.K, g.N, g.row_bytes, g.to_float, mode, &w);
            struct rk_weight_info wi = {0};
            if (!rc) rk_weight_get_info(w, &wi);
            tap_ok(rc == 0 && wi.bytes_per_weight < (mode == RK_GEMM_FP16 ? 2.01 : 1.01),
                   "prepare %s 1536x8960 -> %s: %.1f Mweights/s, %.4f bytes/weight on the NPU (source %.4f)",
                   ggml_type_name(tp[i]), rk_gemm_mode_name(mode), wi.weights_per_second / 1e6, wi.bytes_per_weight,
                   (double)g.row_bytes / g.K);
            rk_weight_free(w);
            gw_free(&g);
        }
    rk_gemm_close(e);
    return tap_done();
}
