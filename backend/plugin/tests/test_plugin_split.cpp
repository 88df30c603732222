/* Weight MUL_MATs split between RKNPU0 (the simulator) and the CPU backend with RKNPU_CPU_SHARE=0.3: the split
 * decision (share from speeds, rows, threads) and RKNPU_CPU_SHARE's parsing as units, then through ggml alone:
 * several weight types and odd batches against the CPU backend, the CPU's rows bit for bit what the CPU backend
 * computes for that sub-batch, both engines' MACs in the stats, and an NPU fault failing the whole matmul although
 * the CPU's part succeeded. TAP output. */
#include "ggml-alloc.h"
#include "ggml-backend.h"
#include "ggml.h"

#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <vector>

#include "ggml-rknpu.h"
#include "rknpu-config.h"
#include "rknpu-split.h"
#include "tap.h"

static const double SHARE = 0.3; /* RKNPU_CPU_SHARE of the ggml part */
static const char SHARE_TEXT[] = "0.3";

static uint32_t rng = 4242;
static float frand(void)
{
    rng = rng * 1664525u + 1013904223u;
    return (float)(rng >> 8) / (float)(1u << 24) * 2.0f - 1.0f;
}

/* dst[N, M] = W[K, N]ᵀ · X[K, M] on `backend`, W in `wbuft`, from the given float data; 0 or -1. */
static int run_matmul(ggml_backend_t backend, ggml_backend_buffer_type_t wbuft, ggml_type wtype, int K, int N, int M,
                      const float *wf, const float *xf, float *out)
{
    ggml_init_params ip = {16 * ggml_tensor_overhead() + ggml_graph_overhead(), nullptr, true};
    ggml_context *wctx = ggml_init(ip), *actx = ggml_init(ip);
    ggml_tensor *w = ggml_new_tensor_2d(wctx, wtype, K, N);
    ggml_tensor *x = ggml_new_tensor_2d(actx, GGML_TYPE_F32, K, M);
    ggml_tensor *y = ggml_mul_mat(actx, w, x);
    ggml_cgraph *gf = ggml_new_graph(actx);
    ggml_build_forward_expand(gf, y);
    ggml_backend_buffer_t wb = ggml_backend_alloc_ctx_tensors_from_buft(wctx, wbuft);
    ggml_backend_buffer_t ab = ggml_backend_alloc_ctx_tensors_from_buft(actx, ggml_backend_cpu_buffer_type());
    ggml_backend_buffer_set_usage(wb, GGML_BACKEND_BUFFER_USAGE_WEIGHTS);
    std::vector<char> wq(ggml_row_size(wtype, K) * N);
    ggml_quantize_chunk(wtype, wf, wq.data(), 0, N, K, nullptr);
    ggml_backend_tensor_set(w, wq.data(), 0, wq.size());
    ggml_backend_tensor_set(x, xf, 0, sizeof(float) * K * M);
    ggml_status st = ggml_backend_graph_compute(backend, gf);
    if (st == GGML_STATUS_SUCCESS) ggml_backend_tensor_get(y, out, 0, sizeof(float) * N * M);
    ggml_backend_buffer_free(wb), ggml_backend_buffer_free(ab);
    ggml_free(wctx), ggml_free(actx);
    return st == GGML_STATUS_SUCCESS ? 0 : -1;
}

static double nmse(const float *a, const float *ref, size_t n)
{
    double e = 0, r = 0;
    for (size_t i = 0; i < n; i++) e += (a[i] - ref[i]) * (double)(a[i] - ref[i]), r += ref[i] * (double)ref[i];
    return r > 0 ? e / r : e;
}

static void units(void)
{
    rknpu_split_speeds sp;
    tap_ok(rknpu_split_balanced_share(sp) == 0, "share: unknown speeds, NPU only");
    sp.npu_macs_per_ns = 300, sp.cpu_macs_per_ns = 100;
    tap_ok(fabs(rknpu_split_balanced_share(sp) - 0.25) < 1e-12, "share: CPU at a third of the NPU's speed, 1/4");
    sp.cpu_macs_per_ns = 0;
    tap_ok(rknpu_split_balanced_share(sp) == 0, "share: unmeasured CPU, NPU only");
    tap_is_int(rknpu_split_cpu_rows(0.3, 128, 8), 38, "rows: 0.3 of 128 is 38");
    tap_is_int(rknpu_split_cpu_rows(0.3, 10, 8), 2, "rows: the NPU keeps min_batch rows");
    tap_is_int(rknpu_split_cpu_rows(0.3, 8, 8), 0, "rows: not split when the NPU has just min_batch rows");
    tap_is_int(rknpu_split_cpu_rows(0.3, 1, 1), 0, "rows: one row is not split");
    tap_is_int(rknpu_split_cpu_rows(0.0, 512, 8), 0, "rows: share 0 is NPU only");
    tap_is_int(rknpu_split_cpu_rows(0.999, 512, 8), 504, "rows: the NPU keeps min_batch rows of a large share");
    tap_is_int(rknpu_split_cpu_threads(4), 3, "threads: 4 given, 3 for the CPU part, one for the NPU glue");
    tap_is_int(rknpu_split_cpu_threads(1), 1, "threads: at least one");
    tap_is_int(rknpu_split_cpu_threads(0), GGML_DEFAULT_N_THREADS - 1, "threads: ggml's default less one");

    struct env_case {
        const char *value;
        bool forced, error;
        double share;
    } cases[] = {{nullptr, false, false, 0}, {"auto", false, false, 0}, {"0", true, false, 0},
                 {"0.3", true, false, 0.3},  {".5", true, false, 0.5},  {"1", true, true, 0},
                 {"-0.1", true, true, 0},    {"0.3x", true, true, 0},   {"1e-1", true, true, 0},
                 {"0x0.1", true, true, 0},   {" 0.2", true, true, 0}};
    static const char *current;
    for (const env_case &c : cases) {
        current = c.value;
        rknpu_config cfg = rknpu_config_parse(
                [](const char *name) -> const char * { return !strcmp(name, "RKNPU_CPU_SHARE") ? current : nullptr; });
        bool err = cfg.error.find("RKNPU_CPU_SHARE") != std::string::npos;
        tap_ok(cfg.cpu_share_forced == c.forced && err == c.error && (c.error || cfg.cpu_share == c.share),
               "RKNPU_CPU_SHARE=%s: %s", c.value ? c.value : "(unset)",
               c.error ? "a config error" : (c.forced ? "forced" : "auto"));
    }
}

int main(int argc, char **argv)
{
    (void)argc;
    units();

    char exe[PATH_MAX], plugin[PATH_MAX + 32];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[n > 0 ? n : 0] = 0;
    snprintf(plugin, sizeof plugin, "%s/libggml-rknpu.so", dirname(exe));
    (void)argv;
    setenv("RKNPU_DEVICE", "sim", 1);
    setenv("RKNPU_MIN_BATCH", "8", 1);
    setenv("RKNPU_CPU_SHARE", SHARE_TEXT, 1);
    ggml_backend_load_all_from_path(LLAMA_CPP_LIBDIR);
    ggml_backend_t cpu = ggml_backend_init_by_type(GGML_BACKEND_DEVICE_TYPE_CPU, nullptr);
    ggml_backend_reg_t reg = ggml_backend_load(plugin);
    ggml_backend_dev_t dev = reg && ggml_backend_reg_dev_count(reg) ? ggml_backend_reg_dev_get(reg, 0) : nullptr;
    tap_ok(cpu && dev, "CPU backend and RKNPU0");
    if (!cpu || !dev) return tap_done();
    auto stats = (ggml_backend_rknpu_get_stats_t)ggml_backend_reg_get_proc_address(reg, "ggml_backend_rknpu_get_stats");
    auto inject = (ggml_backend_rknpu_sim_inject_fault_t)ggml_backend_reg_get_proc_address(
            reg, "ggml_backend_rknpu_sim_inject_fault");
    ggml_backend_t npu = ggml_backend_dev_init(dev, nullptr);

    const struct {
        ggml_type type;
        int K, N, M;
        double bound; /* the NPU's rows: the bounds of test_plugin (fp16 for float weights, int8 otherwise) */
    } cases[] = {
            {GGML_TYPE_F32, 96, 40, 23, 1e-5},   {GGML_TYPE_F16, 64, 33, 37, 1e-5},
            {GGML_TYPE_Q8_0, 128, 48, 64, 5e-4}, {GGML_TYPE_Q4_K, 256, 72, 50, 5e-4},
            {GGML_TYPE_Q6_K, 512, 40, 31, 5e-4}, {GGML_TYPE_Q4_0, 160, 24, 8, 5e-4}, /* too few rows: not split */
    };
    for (const auto &c : cases) {
        const int K = c.K, N = c.N, M = c.M;
        const int m_cpu = (int)rknpu_split_cpu_rows(SHARE, M, 8), m_npu = M - m_cpu;
        std::vector<float> wf((size_t)K * N), xf((size_t)K * M);
        for (float &v : wf) v = frand();
        for (float &v : xf) v = frand();
        std::vector<float> y((size_t)N * M), ref((size_t)N * M), sub((size_t)N * (m_cpu ? m_cpu : 1));
        ggml_backend_rknpu_stats s0 = {}, s1 = {};
        stats(&s0);
        int a = run_matmul(npu, ggml_backend_dev_buffer_type(dev), c.type, K, N, M, wf.data(), xf.data(), y.data());
        stats(&s1);
        int b = run_matmul(cpu, ggml_backend_cpu_buffer_type(), c.type, K, N, M, wf.data(), xf.data(), ref.data());
        const char *tn = ggml_type_name(c.type);
        tap_ok(a == 0 && b == 0, "%s K=%d N=%d M=%d: computed (%d rows on the CPU)", tn, K, N, M, m_cpu);
        double e = nmse(y.data(), ref.data(), (size_t)N * m_npu);
        tap_ok(e <= c.bound, "%s: the NPU's %d rows NMSE %.2e <= %.0e", tn, m_npu, e, c.bound);
        if (m_cpu) {
            /* the CPU backend on that sub-batch alone: the same kernel for the same batch, so the same bits */
            int s = run_matmul(cpu, ggml_backend_cpu_buffer_type(), c.type, K, N, m_cpu, wf.data(),
                               xf.data() + (size_t)K * m_npu, sub.data());
            tap_ok(s == 0 && !memcmp(sub.data(), y.data() + (size_t)N * m_npu, sizeof(float) * N * m_cpu),
                   "%s: the CPU's %d rows are the CPU backend's bit for bit", tn, m_cpu);
        }
        const double macs = (double)K * N;
        tap_ok(s1.split_matmuls - s0.split_matmuls == (m_cpu ? 1u : 0u) && s1.matmuls - s0.matmuls == 1, "%s: %s", tn,
               m_cpu ? "one split matmul" : "not split");
        tap_ok(fabs((s1.npu_share_gmacs - s0.npu_share_gmacs) * 1e9 - macs * m_npu) < 0.5 &&
                       fabs((s1.cpu_share_gmacs - s0.cpu_share_gmacs) * 1e9 - macs * m_cpu) < 0.5,
               "%s: stats: %.0f MACs on the NPU, %.0f on the CPU", tn, macs * m_npu, macs * m_cpu);
        tap_ok(m_cpu ? s1.cpu_share_ms > s0.cpu_share_ms : s1.cpu_share_ms == s0.cpu_share_ms,
               "%s: the CPU part's time counted", tn);
    }

    /* An NPU fault fails the whole matmul: the CPU's part does not stand in for the NPU's. */
    const int K = 128, N = 48, M = 40;
    std::vector<float> wf((size_t)K * N, 0.25f), xf((size_t)K * M, 0.5f), y((size_t)N * M);
    ggml_backend_rknpu_stats s0 = {}, s1 = {};
    stats(&s0);
    tap_ok(inject && inject("dma@1") == 0, "fault injected");
    tap_ok(run_matmul(npu, ggml_backend_dev_buffer_type(dev), GGML_TYPE_Q8_0, K, N, M, wf.data(), xf.data(), y.data()) <
                   0,
           "an NPU fault fails the split matmul");
    stats(&s1);
    tap_ok(s1.failures == s0.failures + 1 && s1.split_matmuls == s0.split_matmuls, "counted as a failure, not a split");
    tap_ok(run_matmul(npu, ggml_backend_dev_buffer_type(dev), GGML_TYPE_Q8_0, K, N, M, wf.data(), xf.data(),
                      y.data()) == 0,
           "the next one works");
    ggml_backend_free(npu);
    ggml_backend_free(cpu);
    ggml_backend_unload(reg);
    return tap_done();
}
