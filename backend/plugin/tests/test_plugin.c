/* The plugin through ggml alone (no llama.cpp): load libggml-rknpu.so by path, run MUL_MATs of
 * several weight types on RKNPU0 (the simulator) against the CPU backend, inject an NPU fault and see
 * it reported, then unload and load again. Run under valgrind by test/plugin-reload.test.ts to check
 * that unload/reload leaks nothing. TAP output. */
#include "ggml.h"
#include "ggml-alloc.h"
#include "ggml-backend.h"

#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tap.h"

typedef int (*inject_fault_fn)(const char *spec);

static uint32_t rng = 12345;
static float frand(void)
{
    rng = rng * 1664525u + 1013904223u;
    return (float)(rng >> 8) / (float)(1u << 24) * 2.0f - 1.0f;
}

/* dst[N, M] = W[K, N]ᵀ · X[K, M] on `backend` with W in `wbuft`; returns the NMSE against `ref`
 * (computed on the CPU when ref_out is given), or a negative value when compute fails. */
static double run_matmul(ggml_backend_t backend, ggml_backend_buffer_type_t wbuft, enum ggml_type wtype, int K, int N,
                         int M, float *out)
{
    struct ggml_init_params ip = {.mem_size = 16 * ggml_tensor_overhead() + ggml_graph_overhead(), .no_alloc = true};
    struct ggml_context *wctx = ggml_init(ip), *actx = ggml_init(ip);
    struct ggml_tensor *w = ggml_new_tensor_2d(wctx, wtype, K, N);
    struct ggml_tensor *x = ggml_new_tensor_2d(actx, GGML_TYPE_F32, K, M);
    struct ggml_tensor *y = ggml_mul_mat(actx, w, x);
    struct ggml_cgraph *gf = ggml_new_graph(actx);
    ggml_build_forward_expand(gf, y);
    ggml_backend_buffer_t wb = ggml_backend_alloc_ctx_tensors_from_buft(wctx, wbuft);
    ggml_backend_buffer_t ab = ggml_backend_alloc_ctx_tensors_from_buft(actx, ggml_backend_cpu_buffer_type());

    rng = 777; /* the same data for every call */
    float *wf = malloc(sizeof(float) * K * N), *xf = malloc(sizeof(float) * K * M);
    for (int i = 0; i < K * N; i++) wf[i] = frand();
    for (int i = 0; i < K * M; i++) xf[i] = frand();
    size_t wbytes = ggml_row_size(wtype, K) * N;
    void *wq = malloc(wbytes);
    ggml_quantize_chunk(wtype, wf, wq, 0, N, K, NULL);
    ggml_backend_tensor_set(w, wq, 0, wbytes);
    ggml_backend_tensor_set(x, xf, 0, sizeof(float) * K * M);
    enum ggml_status st = ggml_backend_graph_compute(backend, gf);
    if (st == GGML_STATUS_SUCCESS) ggml_backend_tensor_get(y, out, 0, sizeof(float) * N * M);
    free(wf), free(xf), free(wq);
    ggml_backend_buffer_free(wb), ggml_backend_buffer_free(ab);
    ggml_free(wctx), ggml_free(actx);
    return st == GGML_STATUS_SUCCESS ? 0 : -1;
}

static double nmse(const float *a, const float *ref, int n)
{
    double e = 0, r = 0;
    for (int i = 0; i < n; i++) e += (a[i] - ref[i]) * (double)(a[i] - ref[i]), r += ref[i] * (double)ref[i];
    return r > 0 ? e / r : e;
}

int main(int argc, char **argv)
{
    char exe[PATH_MAX], plugin[PATH_MAX + 32];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[n > 0 ? n : 0] = 0;
    snprintf(plugin, sizeof plugin, "%s/libggml-rknpu.so", dirname(exe));
    setenv("RKNPU_DEVICE", "sim", 1);
    setenv("RKNPU_MIN_BATCH", "1", 1);
    ggml_backend_load_all_from_path(LLAMA_CPP_LIBDIR);
    ggml_backend_t cpu = ggml_backend_init_by_type(GGML_BACKEND_DEVICE_TYPE_CPU, NULL);
    tap_ok(cpu != NULL, "CPU backend");
    if (!cpu) return tap_done();
    int rounds = argc > 1 ? atoi(argv[1]) : 2;

    const struct {
        enum ggml_type type;
        int K, N, M;
        double bound;
    } cases[] = {
            {GGML_TYPE_F32, 96, 40, 9, 1e-5}, /* float weights run in fp16 */
            {GGML_TYPE_F16, 64, 33, 8, 1e-5},
            {GGML_TYPE_Q8_0, 128, 48, 10, 5e-4}, /* quantized weights run in int8 */
            {GGML_TYPE_Q4_K, 256, 64, 12, 5e-4},
    };
    for (int round = 0; round < rounds; round++) {
        ggml_backend_reg_t reg = ggml_backend_load(plugin);
        tap_ok(reg != NULL, "round %d: plugin loads", round);
        if (!reg) break;
        ggml_backend_dev_t dev = ggml_backend_reg_dev_count(reg) ? ggml_backend_reg_dev_get(reg, 0) : NULL;
        tap_ok(dev && !strcmp(ggml_backend_dev_name(dev), "RKNPU0"), "round %d: RKNPU0 registered", round);
        if (!dev) break;
        ggml_backend_t npu = ggml_backend_dev_init(dev, NULL);
        for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
            int N = cases[c].N, M = cases[c].M;
            float *y_npu = calloc(N * M, sizeof(float)), *y_cpu = calloc(N * M, sizeof(float));
            int a = run_matmul(npu, ggml_backend_dev_buffer_type(dev), cases[c].type, cases[c].K, N, M, y_npu);
            int b = run_matmul(cpu, ggml_backend_cpu_buffer_type(), cases[c].type, cases[c].K, N, M, y_cpu);
            double e = nmse(y_npu, y_cpu, N * M);
            tap_ok(a == 0 && b == 0 && e <= cases[c].bound, "round %d: %s K=%d N=%d M=%d NMSE %.2e <= %.0e", round,
                   ggml_type_name(cases[c].type), cases[c].K, N, M, e, cases[c].bound);
            free(y_npu), free(y_cpu);
        }
        inject_fault_fn inject =
                (inject_fault_fn)ggml_backend_reg_get_proc_address(reg, "ggml_backend_rknpu_sim_inject_fault");
        tap_ok(inject && inject("dma@1") == 0, "round %d: fault injected", round);
        float y[40 * 9];
        tap_ok(run_matmul(npu, ggml_backend_dev_buffer_type(dev), GGML_TYPE_F32, 96, 40, 9, y) < 0,
               "round %d: an NPU fault fails the graph", round);
        tap_ok(run_matmul(npu, ggml_backend_dev_buffer_type(dev), GGML_TYPE_F32, 96, 40, 9, y) == 0,
               "round %d: the next graph works", round);
        ggml_backend_free(npu);
        ggml_backend_unload(reg);
    }
    ggml_backend_free(cpu);
    return tap_done();
}
