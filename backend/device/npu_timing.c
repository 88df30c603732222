/* NPU timing MODEL (see npu_timing.h): the one table of parameters with both bounds and their sources, the
 * hook that installs a board profile's measured values, and the task/job/tiling arithmetic. Facts of the
 * hardware (clocks, CBUF) and of the kernel driver (job timeout) are defined where they belong and only
 * referenced here. The calibration against published measurements is npu_calibration.c. */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <string.h>

#include "npu_limits.h"
#include "npu_regs.h"
#include "npu_timing.h"
#include "rocket_uapi.h"

#define US_NS              1000.0
#define MS_NS              1000000.0
#define MHZ_PER_GHZ        1000.0
/* The MAC array takes 32 input channels per cycle against one kernel group (docs/hardware/registers.md §1.3):
 * a task's cycles are M·⌈K/32⌉·⌈N/group⌉, which is the "efficiency as a function of the tile shape". */
#define MAC_ARRAY_CHANNELS 32

/* Both bounds of every parameter. The fit (docs/performance.md, "Calibration") reproduces the vendor's
 * int8 GEMM ceilings with compute and weight DMA strictly serial, every M-tile fetching its weights again,
 * full MAC efficiency and the vendor-API bandwidths: the optimistic set is that fit plus a little overlap;
 * the pessimistic set takes the bandwidths a register-level stream measured (ORK) and the slow ends of the
 * driver costs. */
const struct npu_model_param npu_model_params[NPU_MODEL_PARAM_COUNT] = {
        [NPU_MODEL_INT8_MACS_PER_CYCLE] = {"int8_macs_per_cycle_per_core",
                                           {1024, 1024},
                                           "MAC/cycle",
                                           "docs/hardware/measurements.md §1 (TRM 36.1)"},
        [NPU_MODEL_FP16_MACS_PER_CYCLE] = {"fp16_macs_per_cycle_per_core",
                                           {512, 512},
                                           "MAC/cycle",
                                           "docs/hardware/measurements.md §1 (fp16/bf16/int16 at half the int8 rate)"},
        [NPU_MODEL_TF32_MACS_PER_CYCLE] = {"tf32_macs_per_cycle_per_core",
                                           {256, 256},
                                           "MAC/cycle",
                                           "docs/hardware/measurements.md §1"},
        [NPU_MODEL_MAC_EFFICIENCY] = {"mac_efficiency",
                                      {1.0, 1.0},
                                      "of padded-shape cycles",
                                      "fitted: docs/hardware/measurements.md §2 (4096^3 int8 needs none below 1 "
                                      "with serial DMA; no measurement separates it: board calibration)"},
        [NPU_MODEL_CLOCK_MHZ] = {"clock_default",
                                 {NPU_CLOCK_MAINLINE_MHZ, NPU_CLOCK_MAINLINE_MHZ},
                                 "MHz",
                                 "docs/hardware/measurements.md §1 (mainline DT, no devfreq)"},
        [NPU_MODEL_DMA_OVERLAP] = {"dma_compute_overlap",
                                   {0.25, 0.0},
                                   "of min(compute, DMA)",
                                   "fitted: docs/hardware/measurements.md §2 (the vendor ceilings need ~0; 0.25 keeps "
                                   "every calibration row within its tolerance)"},
        [NPU_MODEL_DMA_CORE_GBPS] = {"dma_per_core",
                                     {11.1, 8.7},
                                     "GB/s",
                                     "docs/hardware/measurements.md §4 (vendor API 11.1; ORK register-level single "
                                     "task 8.6-8.8)"},
        [NPU_MODEL_DMA_AGGREGATE_GBPS] = {"dma_aggregate",
                                          {26.6, 22},
                                          "GB/s",
                                          "docs/hardware/measurements.md §4 (vendor API 26.6 on 3 cores; ORK "
                                          "ceiling ~22)"},
        /* 11.1 GB/s at 1 GHz is 11.1 bytes per NPU cycle: if the DMA runs in the core clock domain, 16 bytes
         * (the smallest power-of-two bus that carries it) cap it at 3.2 GB/s at 200 MHz. */
        [NPU_MODEL_DMA_BYTES_PER_CYCLE] = {"dma_bytes_per_core_cycle",
                                           {0, 16},
                                           "B/cycle (0 = no cap)",
                                           "docs/hardware/measurements.md §4 notes (bus clock separate [UNV]; "
                                           "pessimistic: DMA in the core clock domain)"},
        [NPU_MODEL_TASK_OVERHEAD_US] = {"per_task_overhead",
                                        {22, 47},
                                        "us",
                                        "docs/hardware/measurements.md §3 (rkopnu IRQ thread 22; pessimistic: a "
                                        "whole one-task vendor submit, fitted to ORK's floors)"},
        [NPU_MODEL_JOB_OVERHEAD_US] = {"per_job_overhead",
                                       {90, 90},
                                       "us",
                                       "docs/hardware/measurements.md §3 (drm_sched worker, rkopnu)"},
        [NPU_MODEL_JOB_IOMMU_US] = {"per_job_iommu_attach",
                                    {0, 1000},
                                    "us",
                                    "docs/hardware/measurements.md §3 (rocket attaches per job; pessimistic: one "
                                    "1 ms rk_iommu poll timeout)"},
        [NPU_MODEL_VENDOR_SUBMIT_US] = {"vendor_submit_fixed",
                                        {47, 47},
                                        "us",
                                        "fitted: docs/hardware/measurements.md §3 (ORK per-submit floors; vendor "
                                        "driver only, for the calibration)"},
        [NPU_MODEL_JOB_TIMEOUT_MS] = {"job_timeout",
                                      {ROCKET_UAPI_JOB_TIMEOUT_MS, ROCKET_UAPI_JOB_TIMEOUT_MS},
                                      "ms",
                                      "docs/hardware/rocket-uapi.md §1.3 (then core reset)"},
        [NPU_MODEL_CORES] = {"cores", {NPU_CORES, NPU_CORES}, "", "docs/hardware/rocket-uapi.md §1.1"},
};

static const char MODEL_SOURCE_FITTED[] = "fitted to published measurements";

/* The active parameters: the table, with what a board profile measured in place of the fitted values. */
static struct {
    bool installed;
    double value[NPU_MODEL_PARAM_COUNT][NPU_MODEL_BOUNDS];
    char source[96];
} active;

static void load_fitted(void)
{
    for (int i = 0; i < NPU_MODEL_PARAM_COUNT; i++)
        for (int b = 0; b < NPU_MODEL_BOUNDS; b++) active.value[i][b] = npu_model_params[i].value[b];
    snprintf(active.source, sizeof active.source, "%s", MODEL_SOURCE_FITTED);
    active.installed = false;
}

/* The first use may come from several core threads at once. */
static pthread_once_t active_once = PTHREAD_ONCE_INIT;
static void ensure_active(void) { pthread_once(&active_once, load_fitted); }

void npu_model_reset(void)
{
    ensure_active();
    load_fitted();
}

double npu_model_param(enum npu_model_param_id id, enum npu_model_bound b)
{
    ensure_active();
    return active.value[id][b];
}

const char *npu_model_source(void)
{
    ensure_active();
    return active.source;
}

uint32_t npu_model_clock_mhz(void) { return (uint32_t)npu_model_param(NPU_MODEL_CLOCK_MHZ, NPU_MODEL_PESSIMISTIC); }

static void set_both(enum npu_model_param_id id, double v)
{
    for (int b = 0; b < NPU_MODEL_BOUNDS; b++) active.value[id][b] = v;
}

int npu_model_install_measured(const struct npu_model_measured *m, const char *date)
{
    ensure_active();
    /* Plausibility only: a profile that measured nonsense must not silently drive job splitting. */
    if (!m || m->mac_efficiency > 1.0 || m->task_overhead_us > MS_NS / US_NS * ROCKET_UAPI_JOB_TIMEOUT_MS ||
        m->job_overhead_us > MS_NS / US_NS * ROCKET_UAPI_JOB_TIMEOUT_MS || m->clock_mhz > NPU_MODEL_CLOCK_MHZ_MAX ||
        !isfinite(m->task_overhead_us) || !isfinite(m->job_overhead_us) || !isfinite(m->dma_core_gbps) ||
        !isfinite(m->dma_aggregate_gbps) || !isfinite(m->mac_efficiency))
        return -EINVAL;
    npu_model_reset();
    if (m->task_overhead_us > 0) set_both(NPU_MODEL_TASK_OVERHEAD_US, m->task_overhead_us);
    if (m->job_overhead_us > 0) {
        set_both(NPU_MODEL_JOB_OVERHEAD_US, m->job_overhead_us);
        set_both(NPU_MODEL_JOB_IOMMU_US, 0); /* a measured job cost includes the attach */
    }
    if (m->mac_efficiency > 0) set_both(NPU_MODEL_MAC_EFFICIENCY, m->mac_efficiency);
    if (m->dma_core_gbps > 0) {
        set_both(NPU_MODEL_DMA_CORE_GBPS, m->dma_core_gbps);
        set_both(NPU_MODEL_DMA_BYTES_PER_CYCLE, 0); /* measured at the board's clock */
    }
    if (m->dma_aggregate_gbps > 0) set_both(NPU_MODEL_DMA_AGGREGATE_GBPS, m->dma_aggregate_gbps);
    if (m->clock_mhz > 0) set_both(NPU_MODEL_CLOCK_MHZ, m->clock_mhz);
    active.installed = true;
    snprintf(active.source, sizeof active.source, "board profile %s", date && *date ? date : "(undated)");
    return 0;
}

static double macs_per_cycle(int precision, enum npu_model_bound b)
{
    switch (precision) {
    case NPU_PREC_INT8:
        return npu_model_param(NPU_MODEL_INT8_MACS_PER_CYCLE, b);
    case NPU_PREC_TF32:
        return npu_model_param(NPU_MODEL_TF32_MACS_PER_CYCLE, b);
    default:
        return npu_model_param(NPU_MODEL_FP16_MACS_PER_CYCLE, b); /* int16, fp16, bf16 */
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

static uint64_t div_up(uint64_t a, uint64_t b) { return (a + b - 1) / b; }

/* Kernels the MAC array takes per cycle: one kernel group (32 int8, 16 fp16 and the 16-bit types). */
static uint32_t model_group(int precision)
{
    unsigned g = npu_kernel_group(precision);
    return g ? g : NPU_KGROUP_FP16;
}

struct npu_model_work npu_model_work_matmul(uint32_t m, uint32_t kpad, uint32_t npad, int precision, uint32_t out_bytes)
{
    uint64_t bpe = npu_prec_bytes(precision), k = kpad, n = npad;
    uint64_t group = model_group(precision);
    return (struct npu_model_work){
            .macs = (uint64_t)m * k * n,
            .bytes_in = ((uint64_t)m * k + k * n) * bpe,
            .bytes_out = (uint64_t)m * n * out_bytes,
            .precision = precision,
            .cycles = (uint64_t)m * div_up(k, MAC_ARRAY_CHANNELS) * div_up(n, group),
            .weight_bytes = k * n * bpe,
    };
}

struct npu_model_work npu_model_work_from_shape(const struct npu_task_shape *s)
{
    int prec = s->in == NPU_DTYPE_FP16 ? NPU_PREC_FP16 : NPU_PREC_INT8;
    int out = dtype_precision(s->out);
    return npu_model_work_matmul(s->m, s->k, s->n, prec, out >= 0 ? npu_prec_bytes(out) : 0);
}

double npu_model_core_gbps(uint32_t clock_mhz, uint32_t cores, enum npu_model_bound b)
{
    if (!clock_mhz) clock_mhz = npu_model_clock_mhz();
    double bw = npu_model_param(NPU_MODEL_DMA_CORE_GBPS, b);
    double share = npu_model_param(NPU_MODEL_DMA_AGGREGATE_GBPS, b) / (cores ? cores : 1);
    double cap = npu_model_param(NPU_MODEL_DMA_BYTES_PER_CYCLE, b) * clock_mhz / MHZ_PER_GHZ;
    if (share < bw) bw = share;
    if (cap > 0 && cap < bw) bw = cap;
    return bw;
}

uint64_t npu_model_compute_ns(const struct npu_model_work *w, uint32_t clock_mhz, enum npu_model_bound b)
{
    if (!clock_mhz) clock_mhz = npu_model_clock_mhz();
    double rate = macs_per_cycle(w->precision, b), cycles = (double)w->macs / rate;
    /* The padded-shape count is for the rated array; scale it by the rate in the table. */
    if (w->cycles) cycles = (double)w->cycles * MAC_ARRAY_CHANNELS * model_group(w->precision) / rate;
    return (uint64_t)(cycles * US_NS / (clock_mhz * npu_model_param(NPU_MODEL_MAC_EFFICIENCY, b)) + 0.5);
}

uint64_t npu_model_dma_ns(uint64_t bytes, double gbytes_per_s)
{
    return (uint64_t)((double)bytes / gbytes_per_s + 0.5);
}

uint64_t npu_model_task_body_ns(const struct npu_model_work *w, uint32_t clock_mhz, uint32_t cores,
                                enum npu_model_bound b)
{
    uint64_t fetched = w->bytes_in + w->bytes_out;
    if (w->weights_reused && w->weight_bytes <= w->bytes_in) fetched -= w->weight_bytes;
    double compute = (double)npu_model_compute_ns(w, clock_mhz, b);
    double dma = (double)npu_model_dma_ns(fetched, npu_model_core_gbps(clock_mhz, cores, b));
    double hidden = npu_model_param(NPU_MODEL_DMA_OVERLAP, b) * (compute < dma ? compute : dma);
    return (uint64_t)(compute + dma - hidden + 0.5);
}

uint64_t npu_model_task_ns(const struct npu_model_work *w, uint32_t clock_mhz, uint32_t cores, enum npu_model_bound b)
{
    return npu_model_task_body_ns(w, clock_mhz, cores, b) +
           (uint64_t)(npu_model_param(NPU_MODEL_TASK_OVERHEAD_US, b) * US_NS);
}

uint64_t npu_model_job_overhead_ns(enum npu_model_bound b)
{
    return (uint64_t)((npu_model_param(NPU_MODEL_JOB_OVERHEAD_US, b) + npu_model_param(NPU_MODEL_JOB_IOMMU_US, b)) *
                      US_NS);
}

uint64_t npu_model_job_timeout_ns(void)
{
    return (uint64_t)(npu_model_param(NPU_MODEL_JOB_TIMEOUT_MS, NPU_MODEL_PESSIMISTIC) * MS_NS);
}

uint64_t npu_model_parallel_bound_ns(const uint64_t *core_busy_ns, int cores, uint64_t total_bytes,
                                     enum npu_model_bound b)
{
    uint64_t t = 0;
    for (int c = 0; c < cores; c++)
        if (core_busy_ns[c] > t) t = core_busy_ns[c];
    uint64_t bw = npu_model_dma_ns(total_bytes, npu_model_param(NPU_MODEL_DMA_AGGREGATE_GBPS, b));
    return t > bw ? t : bw;
}

uint64_t npu_model_parallel_ns(const uint64_t *core_busy_ns, int cores, uint64_t total_bytes)
{
    return npu_model_parallel_bound_ns(core_busy_ns, cores, total_bytes, NPU_MODEL_PESSIMISTIC);
}

/* Vendor rows per full-K M-tile, fp16, by Kpad (ORK's decoding of the vendor's CBUF_CON0 and CONV_CON2,
 * docs/hardware/limits.md §1.4). int8 [INF]: the same bank split (one 32-kernel int8 group holds the same
 * bytes as one 16-kernel fp16 group) with rows of half the bytes, so twice the rows. */
static const struct {
    uint32_t kpad_max, fp16_rows;
} vendor_rows[] = {{512, 64}, {1024, 48}, {2048, 32}, {4096, 24}, {8192, 8}};

uint32_t npu_model_vendor_rows(int precision, uint32_t kpad)
{
    size_t n = sizeof vendor_rows / sizeof vendor_rows[0], i = 0;
    while (i + 1 < n && kpad > vendor_rows[i].kpad_max) i++;
    return vendor_rows[i].fp16_rows * (precision == NPU_PREC_INT8 ? 2 : 1);
}

uint64_t npu_model_tiling_ns(const struct npu_model_tiling *t, uint32_t clock_mhz, enum npu_model_bound b)
{
    uint32_t cores = t->cores ? t->cores : 1;
    uint32_t share = t->independent ? t->n : (uint32_t)div_up(t->n, cores);
    uint32_t group = model_group(t->precision), kpad = (uint32_t)div_up(t->k, NPU_K_ALIGN) * NPU_K_ALIGN;
    uint32_t ntile = t->n_tile && t->n_tile < share ? t->n_tile : share;
    uint32_t mtile = t->m_tile && t->m_tile < t->m ? t->m_tile : t->m;
    bool vendor = t->driver == NPU_MODEL_DRIVER_VENDOR;
    uint64_t ns =
            vendor ? (uint64_t)(npu_model_param(NPU_MODEL_VENDOR_SUBMIT_US, b) * US_NS) : npu_model_job_overhead_ns(b);
    for (uint32_t n0 = 0; n0 < share; n0 += ntile) {
        uint32_t n = share - n0 < ntile ? share - n0 : ntile;
        for (uint32_t m0 = 0; m0 < t->m; m0 += mtile) {
            uint32_t m = t->m - m0 < mtile ? t->m - m0 : mtile;
            struct npu_model_work w =
                    npu_model_work_matmul(m, kpad, (uint32_t)div_up(n, group) * group, t->precision, t->out_bytes);
            w.weights_reused = t->reuse_weights && m0 > 0;
            ns += vendor ? npu_model_task_body_ns(&w, clock_mhz, cores, b) : npu_model_task_ns(&w, clock_mhz, cores, b);
        }
    }
    return ns;
}

const char *npu_model_bound_name(enum npu_model_bound b)
{
    return b == NPU_MODEL_OPTIMISTIC ? "optimistic" : "pessimistic";
}

char *npu_model_format_ms(char *buf, size_t len, double opt_ms, double pess_ms, uint32_t clock_mhz)
{
    snprintf(buf, len, "model %.3f-%.3f ms (optimistic-pessimistic, %u MHz)", opt_ms, pess_ms, clock_mhz);
    return buf;
}

void npu_model_print_params(FILE *out)
{
    fprintf(out, "# timing MODEL parameters (estimates, not measurements; active: %s):\n", npu_model_source());
    fprintf(out, "#   %-30s %10s %11s %-22s %s\n", "parameter", "optimistic", "pessimistic", "unit", "source");
    for (int i = 0; i < NPU_MODEL_PARAM_COUNT; i++)
        fprintf(out, "#   %-30s %10g %11g %-22s [%s]\n", npu_model_params[i].name,
                npu_model_param((enum npu_model_param_id)i, NPU_MODEL_OPTIMISTIC),
                npu_model_param((enum npu_model_param_id)i, NPU_MODEL_PESSIMISTIC), npu_model_params[i].unit,
                npu_model_params[i].source);
}
