// SPDX-License-Identifier: MIT
/* The timing MODEL held to the published measurements it claims to reproduce (npu_calibration.c: every
 * fitted row, both bounds, with the tolerance stated on the row), plus its arithmetic and the board-profile
 * hook. A parameter edit that breaks a fit fails here; the hook shows the same with a bandwidth that is off. */
#include <errno.h>
#include <math.h>

#include "npu_calibration.h"
#include "npu_limits.h"
#include "npu_regs.h"
#include "npu_timing.h"
#include "tap.h"

#define PERTURBED_GBPS 20.0 /* a per-core bandwidth no measurement supports */

static unsigned fitted_rows_failing(void)
{
    unsigned bad = 0;
    for (unsigned i = 0; i < npu_cal_row_count; i++) bad += !npu_cal_row_fits(&npu_cal_rows[i]);
    return bad;
}

static void test_calibration(void)
{
    unsigned fitted = 0;
    for (unsigned i = 0; i < npu_cal_row_count; i++) {
        const struct npu_cal_row *r = &npu_cal_rows[i];
        double opt = npu_cal_ratio(r, NPU_MODEL_OPTIMISTIC), pess = npu_cal_ratio(r, NPU_MODEL_PESSIMISTIC);
        if (r->tolerance > 0) {
            fitted++;
            tap_ok(npu_cal_row_fits(r), "%s: %g %s measured, model %.3g-%.3g (ratios %.2f / %.2f, tolerance ±%.0f %%)",
                   r->what, r->measured, npu_cal_unit_name(r->unit), npu_cal_predict(r, NPU_MODEL_OPTIMISTIC),
                   npu_cal_predict(r, NPU_MODEL_PESSIMISTIC), opt, pess, r->tolerance * 100);
        }
        /* optimistic means faster: more throughput, less time */
        bool time = r->unit == NPU_CAL_US || r->unit == NPU_CAL_MS;
        tap_ok(time ? opt <= pess : opt >= pess, "%s: the optimistic bound is the faster one", r->what);
    }
    tap_ok(fitted >= 10, "%u fitted rows (the 4096^3 ceilings, the 128x1024x8192 figures, the floors)", fitted);
}

static void test_arithmetic(void)
{
    /* Padded-shape cycles: M·⌈K/32⌉·⌈N/32⌉ for int8, ⌈N/16⌉ for fp16 (docs/hardware/registers.md §1.3). */
    struct npu_model_work w = npu_model_work_matmul(3, 33, 33, NPU_PREC_INT8, 4);
    tap_is_int((long long)w.cycles, 3 * 2 * 2, "int8 3x33x33: 12 cycles of the 32x32 array");
    tap_is_int((long long)w.weight_bytes, 33 * 33, "  weight bytes K·N");
    w = npu_model_work_matmul(1, 64, 48, NPU_PREC_FP16, 4);
    tap_is_int((long long)w.cycles, 1 * 2 * 3, "fp16 1x64x48: 6 cycles of 32 channels x 16 kernels");
    /* fp16 at half the int8 rate: the same MACs take twice the time */
    struct npu_model_work i8 = npu_model_work_matmul(64, 1024, 1024, NPU_PREC_INT8, 4);
    struct npu_model_work f16 = npu_model_work_matmul(64, 1024, 1024, NPU_PREC_FP16, 4);
    uint64_t ci = npu_model_compute_ns(&i8, NPU_CLOCK_VENDOR_MHZ, NPU_MODEL_OPTIMISTIC);
    uint64_t cf = npu_model_compute_ns(&f16, NPU_CLOCK_VENDOR_MHZ, NPU_MODEL_OPTIMISTIC);
    tap_is_int((long long)ci, 64 * 1024 * 1024 / 1024, "int8 64x1024x1024 at 1 GHz: 65536 ns of MACs");
    tap_is_int((long long)cf, 2 * (long long)ci, "  fp16: twice that");
    tap_is_int((long long)npu_model_compute_ns(&i8, NPU_CLOCK_MAINLINE_MHZ, NPU_MODEL_OPTIMISTIC), 5 * (long long)ci,
               "  at 200 MHz five times that");

    /* Serial DMA (pessimistic) adds; reused weights are not fetched. */
    uint64_t body = npu_model_task_body_ns(&i8, NPU_CLOCK_VENDOR_MHZ, 1, NPU_MODEL_PESSIMISTIC);
    uint64_t dma = npu_model_dma_ns(i8.bytes_in + i8.bytes_out,
                                    npu_model_core_gbps(NPU_CLOCK_VENDOR_MHZ, 1, NPU_MODEL_PESSIMISTIC));
    tap_ok(body >= ci + dma - 1 && body <= ci + dma + 1, "pessimistic: compute + DMA in series (%llu ns)",
           (unsigned long long)body);
    struct npu_model_work r = i8;
    r.weights_reused = true;
    uint64_t reused = npu_model_task_body_ns(&r, NPU_CLOCK_VENDOR_MHZ, 1, NPU_MODEL_PESSIMISTIC);
    double wdma = (double)i8.weight_bytes / npu_model_core_gbps(NPU_CLOCK_VENDOR_MHZ, 1, NPU_MODEL_PESSIMISTIC);
    tap_ok(fabs((double)(body - reused) - wdma) < 2, "WEIGHT_REUSE saves the weight fetch (%.0f ns)", wdma);

    /* Contention: three cores share the aggregate; the pessimistic bus cap binds at 200 MHz. */
    tap_ok(npu_model_core_gbps(NPU_CLOCK_VENDOR_MHZ, 3, NPU_MODEL_OPTIMISTIC) <
                   npu_model_core_gbps(NPU_CLOCK_VENDOR_MHZ, 1, NPU_MODEL_OPTIMISTIC),
           "3 cores streaming get less per core than 1 (%.2f GB/s)",
           npu_model_core_gbps(NPU_CLOCK_VENDOR_MHZ, 3, NPU_MODEL_OPTIMISTIC));
    tap_ok(npu_model_core_gbps(NPU_CLOCK_MAINLINE_MHZ, 1, NPU_MODEL_PESSIMISTIC) < 4.0,
           "pessimistic at 200 MHz: a DMA in the core clock domain (%.1f GB/s)",
           npu_model_core_gbps(NPU_CLOCK_MAINLINE_MHZ, 1, NPU_MODEL_PESSIMISTIC));
    tap_ok(npu_model_job_overhead_ns(NPU_MODEL_PESSIMISTIC) > npu_model_job_overhead_ns(NPU_MODEL_OPTIMISTIC),
           "the pessimistic job pays the IOMMU attach");
    tap_ok(npu_model_job_timeout_ns() == 500000000ull, "job timeout 500 ms (docs/hardware/rocket-uapi.md §1.3)");

    /* The vendor's rows per full-K tile (docs/hardware/limits.md §1.4): fp16 K=4096 24, int8 twice. */
    tap_is_int(npu_model_vendor_rows(NPU_PREC_FP16, 4096), 24, "vendor fp16 rows at K=4096");
    tap_is_int(npu_model_vendor_rows(NPU_PREC_INT8, 4096), 48, "vendor int8 rows at K=4096 (same bank split)");

    char buf[96];
    npu_model_format_ms(buf, sizeof buf, 12.3, 19.8, NPU_CLOCK_MAINLINE_MHZ);
    tap_contains(buf, "model 12.300-19.800 ms (optimistic-pessimistic, 200 MHz)", "two-bound label: %s", buf);
}

static void test_board_profile_hook(void)
{
    tap_contains(npu_model_source(), "fitted to published measurements", "source before a profile: %s",
                 npu_model_source());
    struct npu_model_measured m = {
            .task_overhead_us = 31, .job_overhead_us = 400, .dma_core_gbps = 9.5, .clock_mhz = NPU_CLOCK_VENDOR_MHZ};
    tap_is_int(npu_model_install_measured(&m, "2026-12-01"), 0, "install measured parameters");
    tap_contains(npu_model_source(), "board profile 2026-12-01", "source names the profile: %s", npu_model_source());
    tap_ok(npu_model_param(NPU_MODEL_TASK_OVERHEAD_US, NPU_MODEL_OPTIMISTIC) == 31 &&
                   npu_model_param(NPU_MODEL_TASK_OVERHEAD_US, NPU_MODEL_PESSIMISTIC) == 31,
           "a measured per-task cost replaces both bounds");
    tap_is_int((long long)npu_model_job_overhead_ns(NPU_MODEL_PESSIMISTIC), 400000,
               "a measured per-job cost includes the IOMMU attach");
    tap_ok(npu_model_param(NPU_MODEL_MAC_EFFICIENCY, NPU_MODEL_PESSIMISTIC) ==
                   npu_model_params[NPU_MODEL_MAC_EFFICIENCY].value[NPU_MODEL_PESSIMISTIC],
           "what the profile did not measure stays fitted");
    tap_is_int(npu_model_clock_mhz(), NPU_CLOCK_VENDOR_MHZ, "the profile's clock becomes the default");
    npu_model_reset();
    tap_is_int(npu_model_clock_mhz(), NPU_CLOCK_MAINLINE_MHZ, "reset: back to the mainline clock");

    struct npu_model_measured bad = {.mac_efficiency = 1.5};
    tap_is_int(npu_model_install_measured(&bad, "x"), -EINVAL, "an efficiency above 1 is refused");
    tap_contains(npu_model_source(), "fitted", "  and nothing was installed");

    /* The fit bites: a bandwidth no measurement supports breaks rows. */
    tap_is_int(fitted_rows_failing(), 0, "the fitted table: every row fits");
    struct npu_model_measured off = {.dma_core_gbps = PERTURBED_GBPS, .dma_aggregate_gbps = 3 * PERTURBED_GBPS};
    npu_model_install_measured(&off, "perturbed");
    unsigned failing = fitted_rows_failing();
    tap_ok(failing >= 3, "per-core bandwidth %.0f GB/s: %u fitted rows fail", PERTURBED_GBPS, failing);
    npu_model_reset();
}

int main(void)
{
    test_calibration();
    test_arithmetic();
    test_board_profile_hook();
    return tap_done();
}
