/* Published measurements the timing MODEL is fitted to (npu_calibration.h). Every figure, its conditions
 * and its source are in docs/hardware/measurements.md; the tilings are the ones the figures were measured
 * with, as far as the evidence shows them (docs/hardware/limits.md §1.4, §6.2). */
#include "npu_calibration.h"
#include "npu_limits.h"
#include "npu_regs.h"

#define TOL_CEILING     0.20 /* GEMM ceilings: the bounds are 11.1 vs 8.7 GB/s apart, ±20 % holds both */
#define TOL_UNSTATED    0.30 /* figures whose core count or output type the source does not state */
#define TOL_FLOOR       0.15 /* per-submit floors of one small task */
#define INT32_BYTES     4
#define FP32_BYTES      4
#define SQUARE          4096
#define BLOG_M          128 /* clehaxze's prefill-like shape 128×1024×8192 */
#define BLOG_K          1024
#define BLOG_N          8192
#define ORK_N           128 /* ORK's floor probes: one int8 task, N = 128 */
#define AB_DECODE_KN    8155
#define UNIMATRIX_PROBE 32 /* smallest task: the fixed cost alone */

/* The vendor runtime cuts a matmul into full-K M-tiles (docs/hardware/limits.md §6.2) of npu_model_vendor_rows() rows,
 * the whole N share per task, weights fetched again per M-tile, one PC-chained submit per core. */
#define VENDOR_TILING(M, K, N, PREC, OUTB, CORES, INDEP)                                                               \
    {                                                                                                                  \
        .m = (M), .k = (K), .n = (N), .precision = (PREC), .out_bytes = (OUTB), .cores = (CORES),                      \
        .independent = (INDEP), .driver = NPU_MODEL_DRIVER_VENDOR                                                      \
    }

static const char TRANSFERS_CEILING[] =
        "MAC rate, bandwidth and serial DMA transfer (register-level facts); the tiling does not: modelled with "
        "the vendor's full-K M-tiles, ours differ";
static const char TRANSFERS_FLOOR[] =
        "no: the vendor driver's submit path (rocket kicks each task itself); the fitted cost bounds rocket's "
        "per-task cost from above";

const struct npu_cal_row npu_cal_rows[] = {
        {"int8 4096x4096x4096, 1 core", "docs/hardware/measurements.md §2 (MF-rknpu2 mm_peak)", 0.69, NPU_CAL_TOPS,
         VENDOR_TILING(SQUARE, SQUARE, SQUARE, NPU_PREC_INT8, INT32_BYTES, 1, true), NPU_CLOCK_VENDOR_MHZ, 1,
         TOL_CEILING, TRANSFERS_CEILING},
        {"int8 4096^3, 2 concurrent 1-core contexts", "docs/hardware/measurements.md §2 (MF-rknpu2 mm_concurrent)",
         1.26, NPU_CAL_TOPS, VENDOR_TILING(SQUARE, SQUARE, SQUARE, NPU_PREC_INT8, INT32_BYTES, 2, true),
         NPU_CLOCK_VENDOR_MHZ, 2, TOL_CEILING,
         "as above; the concurrent runs also time context set-up (1 context: 0.66 there vs 0.69)"},
        {"int8 4096^3, 3 concurrent 1-core contexts", "docs/hardware/measurements.md §2 (MF-rknpu2 mm_concurrent)",
         1.83, NPU_CAL_TOPS, VENDOR_TILING(SQUARE, SQUARE, SQUARE, NPU_PREC_INT8, INT32_BYTES, 3, true),
         NPU_CLOCK_VENDOR_MHZ, 3, TOL_CEILING, TRANSFERS_CEILING},
        {"fp16 128x1024x8192, native A/C (taken as 3 cores)", "docs/hardware/measurements.md §2 (clehaxze EP3)", 900,
         NPU_CAL_GFLOPS, VENDOR_TILING(BLOG_M, BLOG_K, BLOG_N, NPU_PREC_FP16, FP32_BYTES, 3, false),
         NPU_CLOCK_VENDOR_MHZ, 1, TOL_UNSTATED,
         "cores and output type not stated; one core cannot reach it in the model (next row)"},
        {"fp16 128x1024x8192 if it were 1 core", "docs/hardware/measurements.md §2 (clehaxze EP3)", 900, NPU_CAL_GFLOPS,
         VENDOR_TILING(BLOG_M, BLOG_K, BLOG_N, NPU_PREC_FP16, FP32_BYTES, 1, false), NPU_CLOCK_VENDOR_MHZ, 1, 0,
         "not fitted: shows the figure needs more than one core"},
        {"int8 128x1024x8192, native A/C (taken as 3 cores)", "docs/hardware/measurements.md §2 (clehaxze EP3)", 1.8,
         NPU_CAL_TOPS, VENDOR_TILING(BLOG_M, BLOG_K, BLOG_N, NPU_PREC_INT8, INT32_BYTES, 3, false),
         NPU_CLOCK_VENDOR_MHZ, 1, TOL_UNSTATED, "cores and output type not stated (above 1 core's 2.0 peak x 34 %)"},
        {"fp16 M=1, K=N=8155, core 0", "docs/hardware/measurements.md §2 (AB multicore.md)", 12.158, NPU_CAL_MS,
         VENDOR_TILING(1, AB_DECODE_KN, AB_DECODE_KN, NPU_PREC_FP16, FP32_BYTES, 1, true), NPU_CLOCK_VENDOR_MHZ, 1,
         TOL_UNSTATED, "weight streaming: transfers (register-level)"},
        {"one int8 task, K=2048 N=128 M=1", "docs/hardware/measurements.md §3 (ORK floors)", 80, NPU_CAL_US,
         VENDOR_TILING(1, 2048, ORK_N, NPU_PREC_INT8, INT32_BYTES, 1, true), NPU_CLOCK_VENDOR_MHZ, 1, TOL_FLOOR,
         TRANSFERS_FLOOR},
        {"one int8 task, K=2048 N=128 M=16", "docs/hardware/measurements.md §3 (ORK floors)", 80, NPU_CAL_US,
         VENDOR_TILING(16, 2048, ORK_N, NPU_PREC_INT8, INT32_BYTES, 1, true), NPU_CLOCK_VENDOR_MHZ, 1, TOL_FLOOR,
         TRANSFERS_FLOOR},
        {"one int8 task, K=2048 N=128 M=32", "docs/hardware/measurements.md §3 (ORK floors)", 88, NPU_CAL_US,
         VENDOR_TILING(32, 2048, ORK_N, NPU_PREC_INT8, INT32_BYTES, 1, true), NPU_CLOCK_VENDOR_MHZ, 1, TOL_FLOOR,
         TRANSFERS_FLOOR},
        {"one int8 task, K=2048 N=128 M=36", "docs/hardware/measurements.md §3 (ORK floors)", 93, NPU_CAL_US,
         VENDOR_TILING(36, 2048, ORK_N, NPU_PREC_INT8, INT32_BYTES, 1, true), NPU_CLOCK_VENDOR_MHZ, 1, TOL_FLOOR,
         TRANSFERS_FLOOR},
        {"one int8 task, K=3584 N=128 M=8", "docs/hardware/measurements.md §3 (ORK floors)", 98, NPU_CAL_US,
         VENDOR_TILING(8, 3584, ORK_N, NPU_PREC_INT8, INT32_BYTES, 1, true), NPU_CLOCK_VENDOR_MHZ, 1, TOL_FLOOR,
         TRANSFERS_FLOOR},
        {"one int8 task, K=3584 N=128 M=16", "docs/hardware/measurements.md §3 (ORK floors)", 105, NPU_CAL_US,
         VENDOR_TILING(16, 3584, ORK_N, NPU_PREC_INT8, INT32_BYTES, 1, true), NPU_CLOCK_VENDOR_MHZ, 1, TOL_FLOOR,
         TRANSFERS_FLOOR},
        {"fixed cost per rknn_matmul_run", "docs/hardware/measurements.md §3 (unimatrix099)", 32.9, NPU_CAL_US,
         VENDOR_TILING(1, UNIMATRIX_PROBE, UNIMATRIX_PROBE, NPU_PREC_INT8, INT32_BYTES, 1, true), NPU_CLOCK_VENDOR_MHZ,
         1, 0, "not fitted: librknnrt's own path, an intercept; ORK's raw submits (above) cost more"},
        {"fp16 64x64x64, core 0", "docs/hardware/measurements.md §2 (AB multicore.md)", 0.160, NPU_CAL_MS,
         VENDOR_TILING(64, 64, 64, NPU_PREC_FP16, FP32_BYTES, 1, true), NPU_CLOCK_VENDOR_MHZ, 1, 0,
         "not fitted: the normal-layout API converts A/B/C on the CPU (docs/hardware/measurements.md §2: ~2 ms per "
         "512^2)"},
        {"fp16 256x256x256, core 0", "docs/hardware/measurements.md §2 (AB multicore.md)", 0.807, NPU_CAL_MS,
         VENDOR_TILING(256, 256, 256, NPU_PREC_FP16, FP32_BYTES, 1, true), NPU_CLOCK_VENDOR_MHZ, 1, 0,
         "not fitted: as above"},
        {"fp16 512^3 in 2 tasks (MTX registers)",
         "docs/hardware/measurements.md §2 (JAS)",
         1.0,
         NPU_CAL_MS,
         {.m = 512,
          .k = 512,
          .n = 512,
          .precision = NPU_PREC_FP16,
          .out_bytes = FP32_BYTES,
          .cores = 1,
          .independent = true,
          .m_tile = 256,
          .driver = NPU_MODEL_DRIVER_VENDOR},
         NPU_CLOCK_VENDOR_MHZ,
         1,
         0,
         "not fitted: \"about 1 ms\", one blog figure"},
};
const unsigned npu_cal_row_count = sizeof npu_cal_rows / sizeof npu_cal_rows[0];

static struct npu_model_tiling with_vendor_rows(const struct npu_cal_row *r)
{
    struct npu_model_tiling t = r->tiling;
    if (!t.m_tile) t.m_tile = npu_model_vendor_rows(t.precision, (t.k + NPU_K_ALIGN - 1) / NPU_K_ALIGN * NPU_K_ALIGN);
    return t;
}

double npu_cal_predict(const struct npu_cal_row *r, enum npu_model_bound b)
{
    struct npu_model_tiling t = with_vendor_rows(r);
    double ns = (double)npu_model_tiling_ns(&t, r->clock_mhz, b);
    double ops = 2.0 * t.m * t.k * t.n * r->runs;
    switch (r->unit) {
    case NPU_CAL_TOPS:
        return ops / ns / 1e3;
    case NPU_CAL_GFLOPS:
        return ops / ns;
    case NPU_CAL_US:
        return ns / 1e3;
    case NPU_CAL_MS:
        return ns / 1e6;
    }
    return 0;
}

double npu_cal_ratio(const struct npu_cal_row *r, enum npu_model_bound b)
{
    return npu_cal_predict(r, b) / r->measured;
}

bool npu_cal_row_fits(const struct npu_cal_row *r)
{
    if (r->tolerance <= 0) return true;
    for (int b = 0; b < NPU_MODEL_BOUNDS; b++) {
        double q = npu_cal_ratio(r, (enum npu_model_bound)b);
        if (q < 1 - r->tolerance || q > 1 + r->tolerance) return false;
    }
    return true;
}

const char *npu_cal_unit_name(enum npu_cal_unit u)
{
    static const char *const names[] = {"TOPS", "GFLOPS", "us", "ms"};
    return names[u];
}

void npu_cal_print_markdown(FILE *out)
{
    fprintf(out, "| measurement | source | measured | model optimistic | model pessimistic | ratio opt / pess | "
                 "tolerance | tiling modelled | transfers to our programming |\n");
    fprintf(out, "|---|---|---:|---:|---:|---|---|---|---|\n");
    for (unsigned i = 0; i < npu_cal_row_count; i++) {
        const struct npu_cal_row *r = &npu_cal_rows[i];
        struct npu_model_tiling t = with_vendor_rows(r);
        const char *unit = npu_cal_unit_name(r->unit);
        char tol[32];
        if (r->tolerance > 0)
            snprintf(tol, sizeof tol, "±%.0f %% %s", r->tolerance * 100, npu_cal_row_fits(r) ? "ok" : "FAILS");
        else
            snprintf(tol, sizeof tol, "not fitted");
        fprintf(out,
                "| %s | %s | %g %s | %.3g %s | %.3g %s | %.2f / %.2f | %s | %u-row M-tiles, %s, %u core(s) @ %u MHz | "
                "%s |\n",
                r->what, r->source, r->measured, unit, npu_cal_predict(r, NPU_MODEL_OPTIMISTIC), unit,
                npu_cal_predict(r, NPU_MODEL_PESSIMISTIC), unit, npu_cal_ratio(r, NPU_MODEL_OPTIMISTIC),
                npu_cal_ratio(r, NPU_MODEL_PESSIMISTIC), tol, t.m_tile < t.m ? t.m_tile : t.m,
                t.driver == NPU_MODEL_DRIVER_VENDOR ? "vendor submit" : "rocket jobs", t.cores, r->clock_mhz, r->note);
    }
}
