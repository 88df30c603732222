/* NPU timing MODEL (see npu_timing.h). The one table of parameters, with sources. Facts of the hardware
 * (clocks) and of the kernel driver (job timeout) are defined where they belong and only referenced here. */
#include "npu_timing.h"
#include "npu_limits.h"
#include "npu_regs.h"
#include "rocket_uapi.h"

const struct npu_model_param npu_model_params[NPU_MODEL_PARAM_COUNT] = {
        [NPU_MODEL_INT8_MACS_PER_CYCLE] = {"int8_macs_per_cycle_per_core", 1024, "MAC/cycle",
                                           "docs/hardware/measurements.md §1 (TRM 36.1)"},
        [NPU_MODEL_FP16_MACS_PER_CYCLE] = {"fp16_macs_per_cycle_per_core", 512, "MAC/cycle",
                                           "docs/hardware/measurements.md §1 (fp16/bf16/int16 at half the int8 rate)"},
        [NPU_MODEL_TF32_MACS_PER_CYCLE] = {"tf32_macs_per_cycle_per_core", 256, "MAC/cycle",
                                           "docs/hardware/measurements.md §1"},
        [NPU_MODEL_CLOCK_MAINLINE_MHZ] = {"clock_mainline_default", NPU_CLOCK_MAINLINE_MHZ, "MHz",
                                          "docs/npu-mainline-status.md §6.1 (DT assigned-clock-rates, no devfreq)"},
        [NPU_MODEL_CLOCK_VENDOR_MHZ] = {"clock_vendor_max", NPU_CLOCK_VENDOR_MHZ, "MHz",
                                        "docs/hardware/measurements.md §1"},
        /* Measured at 1 GHz with the vendor stack; kept at 200 MHz too (UNVERIFIED: the bus clock ACLK_NPU is
     * separate from SCMI_CLK_NPU, docs/hardware/measurements.md §4, docs/npu-mainline-status.md §4). */
        [NPU_MODEL_DMA_CORE_GBPS] = {"dma_per_core", 11.1, "GB/s",
                                     "docs/hardware/measurements.md §4 (unimatrix099 11.1 GB/s per core; ORK "
                                     "single task 8.6-8.8)"},
        [NPU_MODEL_DMA_AGGREGATE_GBPS] = {"dma_aggregate_3_cores", 26.6, "GB/s",
                                          "docs/hardware/measurements.md §4 (26.6 GB/s on 3 cores; ORK ceiling ~22)"},
        [NPU_MODEL_TASK_OVERHEAD_US] =
                {"per_task_overhead", 22, "us",
                 "docs/hardware/rocket-uapi.md §4.2 (one kick + IRQ per task), §4.5 (IRQ thread ~22 us)"},
        [NPU_MODEL_JOB_OVERHEAD_US] = {"per_job_overhead", 90, "us",
                                       "docs/hardware/rocket-uapi.md §4.5 (drm_sched worker ~90 us per submitted job)"},
        [NPU_MODEL_JOB_TIMEOUT_MS] = {"job_timeout", ROCKET_UAPI_JOB_TIMEOUT_MS, "ms",
                                      "docs/hardware/rocket-uapi.md §1.3 (JOB_TIMEOUT_MS, then core reset)"},
        [NPU_MODEL_CORES] = {"cores", NPU_CORES, "", "docs/hardware/rocket-uapi.md §1.1"},
};

double npu_model_param(enum npu_model_param_id id) { return npu_model_params[id].value; }

static double macs_per_cycle(int precision)
{
    switch (precision) {
    case NPU_PREC_INT8:
        return npu_model_param(NPU_MODEL_INT8_MACS_PER_CYCLE);
    case NPU_PREC_TF32:
        return npu_model_param(NPU_MODEL_TF32_MACS_PER_CYCLE);
    default:
        return npu_model_param(NPU_MODEL_FP16_MACS_PER_CYCLE); /* int16, fp16, bf16 */
    }
}

/* The NPU's precision code for a task-shape type, -1 for NPU_DTYPE_NONE. */
static int dtype_precision(enum npu_dtype t)
{
    switch (t) {
    case NPU_DTYPE_INT8:
        return NPU_PREC_INT8;
    case NPU_DTYPE_FP16:
        return NPU_PREC_FP16;
    case NPU_DTYPE_INT32:
        return NPU_PREC_INT32;
    case NPU_DTYPE_FP32:
        return NPU_PREC_FP32;
    default:
        return -1;
    }
}

static uint32_t dtype_bytes(enum npu_dtype t) { return npu_prec_bytes(dtype_precision(t)); }

struct npu_model_work npu_model_work_from_shape(const struct npu_task_shape *s)
{
    uint64_t m = s->m, k = s->k, n = s->n;
    return (struct npu_model_work){
            .macs = m * k * n,
            .bytes_in = (m * k + k * n) * dtype_bytes(s->in),
            .bytes_out = m * n * dtype_bytes(s->out),
            .precision = s->in == NPU_DTYPE_FP16 ? NPU_PREC_FP16 : NPU_PREC_INT8,
    };
}

uint64_t npu_model_compute_ns(const struct npu_model_work *w, uint32_t clock_mhz)
{
    if (!clock_mhz) clock_mhz = (uint32_t)npu_model_param(NPU_MODEL_CLOCK_MAINLINE_MHZ);
    double cycles = (double)w->macs / macs_per_cycle(w->precision);
    return (uint64_t)(cycles * 1000.0 / clock_mhz + 0.5);
}

uint64_t npu_model_dma_ns(uint64_t bytes, double gbytes_per_s)
{
    return (uint64_t)((double)bytes / gbytes_per_s + 0.5);
}

uint64_t npu_model_task_ns(const struct npu_model_work *w, uint32_t clock_mhz)
{
    uint64_t compute = npu_model_compute_ns(w, clock_mhz);
    uint64_t dma = npu_model_dma_ns(w->bytes_in + w->bytes_out, npu_model_param(NPU_MODEL_DMA_CORE_GBPS));
    return (compute > dma ? compute : dma) + (uint64_t)(npu_model_param(NPU_MODEL_TASK_OVERHEAD_US) * 1000);
}

uint64_t npu_model_job_overhead_ns(void) { return (uint64_t)(npu_model_param(NPU_MODEL_JOB_OVERHEAD_US) * 1000); }
uint64_t npu_model_job_timeout_ns(void) { return (uint64_t)(npu_model_param(NPU_MODEL_JOB_TIMEOUT_MS) * 1000000); }

uint64_t npu_model_parallel_ns(const uint64_t *core_busy_ns, int cores, uint64_t total_bytes)
{
    uint64_t t = 0;
    for (int c = 0; c < cores; c++)
        if (core_busy_ns[c] > t) t = core_busy_ns[c];
    uint64_t bw = npu_model_dma_ns(total_bytes, npu_model_param(NPU_MODEL_DMA_AGGREGATE_GBPS));
    return t > bw ? t : bw;
}

void npu_model_print_params(FILE *out)
{
    fprintf(out, "# timing MODEL parameters (estimates, not measurements):\n");
    for (int i = 0; i < NPU_MODEL_PARAM_COUNT; i++)
        fprintf(out, "#   %-30s %8g %-10s [%s]\n", npu_model_params[i].name, npu_model_params[i].value,
                npu_model_params[i].unit, npu_model_params[i].source);
}
