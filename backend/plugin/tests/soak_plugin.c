/* soak-plugin: a long, bounded run of MUL_MATs through the plugin on the software NPU with faults injected at
 * random (docs/reliability.md, "Soak").
 *
 *   soak-plugin [--seconds S] [--matmuls N] [--seed S] [--fault-one-in F] [--nan-one-in R]
 *
 * A pool of weights, one per type, each of a random shape, lives in RKNPU buffers (each also in a CPU buffer for
 * the reference); now and then one is freed and made again with new values and the same shape, as a model is
 * unloaded and loaded again (the same shape, so the live memory stays the same and a leak shows). Every step runs one
 * matmul with a fresh random activation of random M: before about one step in F a fault of a random kind
 * (reset, dropped, slow, dma) is armed for the step's first NPU job, and that step must fail; every other step
 * must match the CPU backend (NMSE within the type's bound; rows holding a NaN or an infinity, planted in about
 * one step in R, bit for bit). Resident memory is sampled every step: after the warm-up (the first tenth of the
 * run, when scratch buffers grow to their largest) it must stay flat. TAP output, one line per check; exit 1
 * when one fails. Everything derives from the seed, so a failing step is reproduced by the same arguments.
 */
#include "ggml.h"
#include "ggml-alloc.h"
#include "ggml-backend.h"

#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ggml-rknpu.h"
#include "tap.h"

#define REPLACE_ONE_IN  10 /* a weight is replaced before about one step in this many */
#define DEFAULT_MATMULS 200
#define DEFAULT_FAULT   8
#define DEFAULT_NAN     6
#define M_MAX           160
#define WARMUP_FRACTION 10 /* RSS is judged after the first 1/WARMUP_FRACTION of the steps */
#define RSS_FLAT_KIB    (8 * 1024)
#define REPORT_EVERY_S  60
#define NMSE_FP16       1e-5 /* float weights run in fp16 (test_plugin's bounds) */
#define NMSE_INT8       5e-4 /* quantized weights run in int8 */
#define GRAPH_TENSORS   8

struct wtype {
    enum ggml_type type;
    int k_unit; /* K must be a multiple of the type's block */
};
static const struct wtype WTYPES[] = {
        {GGML_TYPE_F32, 32},  {GGML_TYPE_F16, 32},   {GGML_TYPE_BF16, 32},  {GGML_TYPE_Q8_0, 32},
        {GGML_TYPE_Q4_0, 32}, {GGML_TYPE_Q4_K, 256}, {GGML_TYPE_Q6_K, 256}, {GGML_TYPE_IQ4_NL, 32},
};
#define N_WTYPES     (sizeof WTYPES / sizeof WTYPES[0])
#define K_BLOCKS_MAX 24 /* K up to 24 blocks of 32 (or 3 of 256) */
#define N_MAX        256
static const char *const FAULTS[] = {"dma@1", "dropped@1", "reset@1", "slow@1"};
#define N_FAULTS (sizeof FAULTS / sizeof FAULTS[0])

static uint64_t rng_state;
static uint64_t rnd(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull); /* splitmix64 */
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
static uint32_t below(uint32_t n) { return (uint32_t)(rnd() % n); }
static float frand(void) { return (float)(rnd() >> 40) / (float)(1u << 24) * 2.0f - 1.0f; }

struct weight {
    enum ggml_type type;
    int K, N;
    struct ggml_context *ctx_npu, *ctx_cpu;
    struct ggml_tensor *npu, *cpu;
    ggml_backend_buffer_t buf_npu, buf_cpu;
};

static long rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1) break;
    if (f) fclose(f);
    return kib;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void weight_free(struct weight *w)
{
    if (w->buf_npu) ggml_backend_buffer_free(w->buf_npu);
    if (w->buf_cpu) ggml_backend_buffer_free(w->buf_cpu);
    if (w->ctx_npu) ggml_free(w->ctx_npu);
    if (w->ctx_cpu) ggml_free(w->ctx_cpu);
    memset(w, 0, sizeof *w);
}

/* Random values for a weight of this type and shape, quantized once and set into both buffers. */
static int weight_new(struct weight *w, ggml_backend_buffer_type_t npu_buft, enum ggml_type type, int K, int N)
{
    w->type = type, w->K = K, w->N = N;
    struct ggml_init_params ip = {.mem_size = 2 * ggml_tensor_overhead(), .no_alloc = true};
    w->ctx_npu = ggml_init(ip), w->ctx_cpu = ggml_init(ip);
    w->npu = ggml_new_tensor_2d(w->ctx_npu, w->type, w->K, w->N);
    w->cpu = ggml_new_tensor_2d(w->ctx_cpu, w->type, w->K, w->N);
    w->buf_npu = ggml_backend_alloc_ctx_tensors_from_buft(w->ctx_npu, npu_buft);
    w->buf_cpu = ggml_backend_alloc_ctx_tensors_from_buft(w->ctx_cpu, ggml_backend_cpu_buffer_type());
    if (!w->buf_npu || !w->buf_cpu) return -1;
    size_t n = (size_t)w->K * w->N, bytes = ggml_row_size(w->type, w->K) * w->N;
    float *f = malloc(n * sizeof *f);
    void *q = malloc(bytes);
    for (size_t i = 0; i < n; i++) f[i] = frand();
    ggml_quantize_chunk(w->type, f, q, 0, w->N, w->K, NULL);
    ggml_backend_tensor_set(w->npu, q, 0, bytes);
    ggml_backend_tensor_set(w->cpu, q, 0, bytes);
    free(f), free(q);
    return 0;
}

/* y = W·x on `backend` (W its tensor in that backend's buffer); 0 or -1 when the graph fails. */
static int matmul(ggml_backend_t backend, struct ggml_tensor *W, const float *x, int M, float *y)
{
    struct ggml_init_params ip = {.mem_size = GRAPH_TENSORS * ggml_tensor_overhead() + ggml_graph_overhead(),
                                  .no_alloc = true};
    struct ggml_context *ctx = ggml_init(ip);
    struct ggml_tensor *X = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, W->ne[0], M);
    struct ggml_tensor *Y = ggml_mul_mat(ctx, W, X);
    struct ggml_cgraph *gf = ggml_new_graph(ctx);
    ggml_build_forward_expand(gf, Y);
    ggml_backend_buffer_t buf = ggml_backend_alloc_ctx_tensors_from_buft(ctx, ggml_backend_cpu_buffer_type());
    ggml_backend_tensor_set(X, x, 0, sizeof(float) * W->ne[0] * M);
    int rc = ggml_backend_graph_compute(backend, gf) == GGML_STATUS_SUCCESS ? 0 : -1;
    if (!rc) ggml_backend_tensor_get(Y, y, 0, sizeof(float) * W->ne[1] * M);
    ggml_backend_buffer_free(buf);
    ggml_free(ctx);
    return rc;
}

static bool is_float_type(enum ggml_type t) { return t == GGML_TYPE_F32 || t == GGML_TYPE_F16 || t == GGML_TYPE_BF16; }

struct tally {
    long steps, faulted, fault_detected, fault_missed, checked, wrong, npu_errors, nan_steps, nan_rows;
    long replaced;
    double worst_nmse_ratio;
    long rss_warm, rss_peak_after, rss_end;
};

/* One step: maybe a fault, a random activation (maybe with non-finite rows), NPU vs CPU. */
static void step(struct tally *t, ggml_backend_t npu, ggml_backend_t cpu, struct weight *w, int fault_one_in,
                 int nan_one_in, ggml_backend_rknpu_sim_inject_fault_t inject, long index)
{
    int M = 1 + (int)below(M_MAX);
    size_t nx = (size_t)w->K * M, ny = (size_t)w->N * M;
    float *x = malloc(nx * sizeof *x), *y_npu = malloc(ny * sizeof *y_npu), *y_cpu = malloc(ny * sizeof *y_cpu);
    uint8_t *bad_row = calloc((size_t)M, 1);
    for (size_t i = 0; i < nx; i++) x[i] = frand();
    bool fault = below((uint32_t)fault_one_in) == 0, nan = below((uint32_t)nan_one_in) == 0;
    if (nan) {
        static const float poison[] = {NAN, INFINITY, -INFINITY};
        int rows = 1 + (int)below(3);
        for (int r = 0; r < rows; r++) {
            int m = (int)below((uint32_t)M);
            x[(size_t)m * w->K + below((uint32_t)w->K)] = poison[below(3)];
            bad_row[m] = 1;
        }
    }
    const char *kind = fault ? FAULTS[below(N_FAULTS)] : NULL;
    if (kind) inject(kind);
    int rc = matmul(npu, w->npu, x, M, y_npu);
    if (kind) inject("none"); /* never left armed for a later step */
    t->steps++;
    if (kind) {
        t->faulted++;
        if (rc) {
            t->fault_detected++;
        } else {
            t->fault_missed++;
            printf("# step %ld: injected %s on %s K=%d N=%d M=%d, but the matmul succeeded\n", index, kind,
                   ggml_type_name(w->type), w->K, w->N, M);
        }
        goto out;
    }
    if (rc) {
        t->npu_errors++;
        printf("# step %ld: %s K=%d N=%d M=%d failed without an injected fault\n", index, ggml_type_name(w->type), w->K,
               w->N, M);
        goto out;
    }
    if (matmul(cpu, w->cpu, x, M, y_cpu)) {
        t->npu_errors++;
        printf("# step %ld: the CPU reference failed\n", index);
        goto out;
    }
    t->checked++;
    double e = 0, r = 0;
    long mismatched_bad = 0, bad = 0;
    for (int m = 0; m < M; m++) {
        const float *a = y_npu + (size_t)m * w->N, *b = y_cpu + (size_t)m * w->N;
        if (bad_row[m]) {
            bad++;
            mismatched_bad += memcmp(a, b, (size_t)w->N * sizeof *a) != 0;
            continue;
        }
        for (int n = 0; n < w->N; n++) e += (a[n] - b[n]) * (double)(a[n] - b[n]), r += b[n] * (double)b[n];
    }
    double nmse = r > 0 ? e / r : e, bound = is_float_type(w->type) ? NMSE_FP16 : NMSE_INT8;
    if (nan) t->nan_steps++, t->nan_rows += bad;
    if (nmse / bound > t->worst_nmse_ratio) t->worst_nmse_ratio = nmse / bound;
    if (!(nmse <= bound) || mismatched_bad) {
        t->wrong++;
        printf("# step %ld: %s K=%d N=%d M=%d: NMSE %.2e (bound %.0e), %ld of %ld non-finite rows differ from the "
               "CPU\n",
               index, ggml_type_name(w->type), w->K, w->N, M, nmse, bound, mismatched_bad, bad);
    }
out:
    free(x), free(y_npu), free(y_cpu), free(bad_row);
}

static int parse_num(const char *s, long min, long *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < min) return -1;
    *out = v;
    return 0;
}

int main(int argc, char **argv)
{
    long seconds = 0, matmuls = DEFAULT_MATMULS, seed = 1, fault_one_in = DEFAULT_FAULT, nan_one_in = DEFAULT_NAN;
    for (int i = 1; i < argc; i++) {
        long *dst = !strcmp(argv[i], "--seconds")        ? &seconds
                    : !strcmp(argv[i], "--matmuls")      ? &matmuls
                    : !strcmp(argv[i], "--seed")         ? &seed
                    : !strcmp(argv[i], "--fault-one-in") ? &fault_one_in
                    : !strcmp(argv[i], "--nan-one-in")   ? &nan_one_in
                                                         : NULL;
        if (!dst || i + 1 >= argc || parse_num(argv[++i], dst == &fault_one_in || dst == &nan_one_in ? 2 : 0, dst)) {
            fprintf(stderr, "usage: soak-plugin [--seconds S] [--matmuls N] [--seed S] [--fault-one-in F>=2] "
                            "[--nan-one-in R>=2]\n");
            return 64;
        }
    }
    if (seconds > 0 && matmuls == DEFAULT_MATMULS) matmuls = LONG_MAX; /* a time-bounded run */
    rng_state = (uint64_t)seed;
    char exe[PATH_MAX], plugin[PATH_MAX + 32];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[n > 0 ? n : 0] = 0;
    snprintf(plugin, sizeof plugin, "%s/libggml-rknpu.so", dirname(exe));
    setenv("RKNPU_DEVICE", "sim", 1);
    setenv("RKNPU_MIN_BATCH", "1", 1);
    ggml_backend_load_all_from_path(LLAMA_CPP_LIBDIR);
    ggml_backend_t cpu = ggml_backend_init_by_type(GGML_BACKEND_DEVICE_TYPE_CPU, NULL);
    ggml_backend_reg_t reg = ggml_backend_load(plugin);
    ggml_backend_dev_t dev = reg && ggml_backend_reg_dev_count(reg) ? ggml_backend_reg_dev_get(reg, 0) : NULL;
    ggml_backend_rknpu_sim_inject_fault_t inject =
            reg ? (ggml_backend_rknpu_sim_inject_fault_t)ggml_backend_reg_get_proc_address(
                          reg, "ggml_backend_rknpu_sim_inject_fault")
                : NULL;
    if (!tap_ok(cpu && dev && inject, "CPU backend, RKNPU0 on the simulator, fault injection")) return tap_done();
    ggml_backend_t npu = ggml_backend_dev_init(dev, NULL);
    ggml_backend_buffer_type_t npu_buft = ggml_backend_dev_buffer_type(dev);
    struct weight pool[N_WTYPES] = {0};
    for (size_t i = 0; i < N_WTYPES; i++) {
        int unit = WTYPES[i].k_unit, blocks = unit * K_BLOCKS_MAX > 768 ? 768 / unit : K_BLOCKS_MAX;
        if (weight_new(&pool[i], npu_buft, WTYPES[i].type, unit * (1 + (int)below((uint32_t)blocks)),
                       1 + (int)below(N_MAX)))
            return tap_ok(0, "weight buffers for %s", ggml_type_name(WTYPES[i].type)), tap_done();
    }

    struct tally t = {0};
    long warm_after = matmuls == LONG_MAX ? 0 : matmuls / WARMUP_FRACTION;
    double t0 = now_s(), last_report = t0, deadline = seconds > 0 ? t0 + (double)seconds : INFINITY;
    for (long i = 0; i < matmuls && now_s() < deadline; i++) {
        if (below(REPLACE_ONE_IN) == 0) {
            struct weight *w = &pool[below(N_WTYPES)];
            struct weight again = {0};
            if (weight_new(&again, npu_buft, w->type, w->K, w->N)) {
                t.npu_errors++;
                printf("# step %ld: cannot allocate a %s weight again\n", i, ggml_type_name(w->type));
                weight_free(&again);
            } else {
                weight_free(w);
                *w = again;
                t.replaced++;
            }
        }
        step(&t, npu, cpu, &pool[below(N_WTYPES)], (int)fault_one_in, (int)nan_one_in, inject, i);
        long kib = rss_kib();
        bool warm = matmuls == LONG_MAX ? now_s() - t0 >= (deadline - t0) / WARMUP_FRACTION : i + 1 >= warm_after;
        if (warm && !t.rss_warm) t.rss_warm = kib;
        if (warm && kib > t.rss_peak_after) t.rss_peak_after = kib;
        t.rss_end = kib;
        if (now_s() - last_report >= REPORT_EVERY_S) {
            last_report = now_s();
            printf("# %.0f s: %ld matmuls, %ld faulted (%ld detected), %ld checked, %ld wrong, RSS %ld KiB\n",
                   last_report - t0, t.steps, t.faulted, t.fault_detected, t.checked, t.wrong, kib);
            fflush(stdout);
        }
    }
    double secs = now_s() - t0;

    printf("# soak: %ld matmuls in %.0f s (seed %ld, a fault before about 1 in %ld, non-finite rows in about 1 in "
           "%ld, %ld weights made again); weights:",
           t.steps, secs, seed, fault_one_in, nan_one_in, t.replaced);
    for (size_t i = 0; i < N_WTYPES; i++) printf(" %s %dx%d", ggml_type_name(pool[i].type), pool[i].K, pool[i].N);
    printf("\n");
    for (size_t i = 0; i < N_WTYPES; i++) weight_free(&pool[i]);
    ggml_backend_free(npu);
    ggml_backend_unload(reg);
    ggml_backend_free(cpu);
    tap_ok(t.steps > 0 && t.fault_missed == 0 && t.faulted == t.fault_detected,
           "%ld injected faults (reset, dropped, slow, dma), every one failed its matmul", t.faulted);
    tap_ok(t.npu_errors == 0, "no matmul failed without an injected fault (%ld did)", t.npu_errors);
    tap_ok(t.checked > 0 && t.wrong == 0,
           "%ld matmuls checked against the CPU backend, %ld wrong (worst NMSE %.2f of its bound); %ld with "
           "non-finite rows (%ld rows, bit for bit)",
           t.checked, t.wrong, t.worst_nmse_ratio, t.nan_steps, t.nan_rows);
#ifdef __SANITIZE_ADDRESS__
    /* ASan keeps freed memory in its quarantine (256 MiB by default), so RSS grows by design; LeakSanitizer
     * checks for leaks at exit instead. */
    tap_skip("AddressSanitizer's quarantine holds freed memory; LeakSanitizer checks leaks",
             "RSS flat after the warm-up");
#else
    tap_ok(t.rss_warm > 0 && t.rss_peak_after - t.rss_warm <= RSS_FLAT_KIB,
           "RSS flat after the warm-up: %ld KiB at its end, peak %ld KiB after it, %ld KiB at the end (growth "
           "allowed %d KiB)",
           t.rss_warm, t.rss_peak_after, t.rss_end, RSS_FLAT_KIB);
#endif
    return tap_done();
}
