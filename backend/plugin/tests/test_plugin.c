/* The plugin through ggml alone (no llama.cpp): the settings and the status they leave (each case in a
 * forked child that loads the plugin afresh, because the plugin reads the environment once per process;
 * fork without exec, so it also works under qemu-user), then MUL_MATs of several
 * weight types on RKNPU0 (the simulator) against the CPU backend, an injected NPU fault reported, and
 * unload and load again. Run under valgrind by test/plugin-faults.test.ts to check that unload/reload
 * leaks nothing. TAP output. */
#include "ggml.h"
#include "ggml-alloc.h"
#include "ggml-backend.h"

#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ggml-rknpu.h"
#include "tap.h"

static char plugin[PATH_MAX + 32];

static uint32_t rng = 12345;
static float frand(void)
{
    rng = rng * 1664525u + 1013904223u;
    return (float)(rng >> 8) / (float)(1u << 24) * 2.0f - 1.0f;
}

/* Changes X (K values per row, M rows) before it is set, e.g. to plant non-finite values; NULL = none. */
typedef void (*edit_x_fn)(float *x, int K, int M);
static edit_x_fn edit_x, edit_w; /* edit_w: the weight's rows (as floats, before quantization) */

/* dst[N, M] = W[K, N]ᵀ · X[K, M] on `backend` with W in `wbuft` into out; 0, or -1 when compute fails. */
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
    if (edit_x) edit_x(xf, K, M);
    if (edit_w) edit_w(wf, K, N);
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

/* Child: what the plugin reports under the environment it was given. */
static int print_status(void)
{
    ggml_backend_reg_t reg = ggml_backend_load(plugin);
    if (!reg) return 2;
    ggml_backend_rknpu_get_status_t get =
            (ggml_backend_rknpu_get_status_t)ggml_backend_reg_get_proc_address(reg, "ggml_backend_rknpu_get_status");
    if (!get) return 3;
    struct ggml_backend_rknpu_status st;
    memset(&st, 0x5a, sizeof st); /* every byte must be written */
    get(&st);
    printf("present=%d config_error=%d is_simulator=%d reserved=%d devices=%zu\nreason=%s\ndescription=%s\n",
           st.present, st.config_error, st.is_simulator, st.reserved, ggml_backend_reg_dev_count(reg), st.reason,
           st.description);
    ggml_backend_unload(reg);
    return 0;
}

struct status_case {
    const char *name;
    const char *device, *mode, *min_batch, *clock_mhz; /* NULL = unset */
    int present, config_error, is_simulator;
    const char *reason_has, *description_has;     /* NULL = must be empty */
    const char *envelope, *profile, *config_home; /* RKNPU_ENVELOPE, RKNPU_PROFILE, XDG_CONFIG_HOME */
};

/* Board profiles for the cases: one made on this system (the simulator, this kernel, 200 MHz), one for
 * another kernel, one that is not JSON; and a config home holding the current one. */
static char dir[] = "/tmp/rknpu-plugin-XXXXXX";
static char current[PATH_MAX], stale[PATH_MAX], broken[PATH_MAX], home[PATH_MAX], odd_timing[PATH_MAX];

static void write_profile(const char *path, const char *kernel, double mac_efficiency)
{
    FILE *f = fopen(path, "w");
    if (!f) return;
    fprintf(f,
            "{\"format\": \"rosenblatt-board-profile\", \"version\": 1, \"created\": \"2026-11-30T12:00:00Z\", "
            "\"host\": \"test\", \"kernel\": \"%s\", \"driver\": {\"name\": \"npusim\", \"version\": \"1.0.0\"}, "
            "\"clock_mhz\": 200, \"cores\": 3, \"simulator\": true, "
            "\"envelope\": {\"m_tile_max\": 64, \"n_tile_max\": 512, \"k_task_max_int8\": 8192, "
            "\"k_task_max_fp16\": 4096, \"inplace_k_slices\": true, \"chained_tails\": false, \"weight_reuse\": false, "
            "\"out_pairs\": [\"int8-int32\", \"fp16-fp32\"], \"tasks_per_job_max\": 64, \"job_budget_ms\": 100}, "
            "\"timing\": {\"task_overhead_us\": 22, \"job_overhead_us\": 90, \"int8_macs_per_cycle\": 1024, "
            "\"fp16_macs_per_cycle\": 512, \"dma_gbps\": 11.1, \"mac_efficiency\": %g, \"job_time_ratio_max\": 1}}\n",
            kernel, mac_efficiency);
    fclose(f);
}

static void make_profiles(void)
{
    struct utsname u;
    uname(&u);
    if (!mkdtemp(dir)) return;
    snprintf(current, sizeof current, "%s/current.json", dir);
    snprintf(stale, sizeof stale, "%s/stale.json", dir);
    snprintf(broken, sizeof broken, "%s/broken.json", dir);
    snprintf(home, sizeof home, "%s/config", dir);
    snprintf(odd_timing, sizeof odd_timing, "%s/odd-timing.json", dir);
    write_profile(current, u.release, 1);
    write_profile(stale, "0.0.1-another-kernel", 1);
    write_profile(odd_timing, u.release, 1.5); /* more MACs than the array has: implausible */
    FILE *f = fopen(broken, "w");
    if (f) fputs("{\"format\": \"rosenblatt-board-profile\",\n \"version\": }\n", f), fclose(f);
    char sub[PATH_MAX + 32], file[PATH_MAX + 64];
    mkdir(home, 0700);
    snprintf(sub, sizeof sub, "%s/rosenblatt", home);
    mkdir(sub, 0700);
    snprintf(file, sizeof file, "%s/board-profile.json", sub);
    write_profile(file, u.release, 1);
}

static void remove_profiles(void)
{
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd)) tap_diag("could not remove %s", dir);
}

/* A child with the case's environment loads the plugin and prints its status into out. Called before
 * the parent loads the plugin, so every child starts without it. */
static int run_child(const struct status_case *c, char *out, size_t outlen)
{
    int fd[2];
    if (pipe(fd)) return -1;
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fd[1], 1);
        close(fd[0]), close(fd[1]);
        freopen("/dev/null", "w", stderr); /* the plugin's log line; the status is what is checked */
        const char *vars[][2] = {{"RKNPU_DEVICE", c->device},
                                 {"RKNPU_MODE", c->mode},
                                 {"RKNPU_MIN_BATCH", c->min_batch},
                                 {"RKNPU_CLOCK_MHZ", c->clock_mhz},
                                 {"RKNPU_ENVELOPE", c->envelope},
                                 {"RKNPU_PROFILE", c->profile},
                                 /* never the user's own profile */
                                 {"XDG_CONFIG_HOME", c->config_home ? c->config_home : "/nonexistent-config"}};
        for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
            vars[i][1] ? setenv(vars[i][0], vars[i][1], 1) : unsetenv(vars[i][0]);
        setenv("RKNPU_ACCEL_DIR", "/nonexistent-accel", 1); /* no NPU, even on a board */
        int rc = print_status();
        fflush(stdout);
        _exit(rc);
    }
    close(fd[1]);
    size_t len = 0;
    for (ssize_t r; len + 1 < outlen && (r = read(fd[0], out + len, outlen - 1 - len)) > 0;) len += (size_t)r;
    out[len] = 0;
    close(fd[0]);
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) < 0) return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/* The text after "key=" up to the end of its line, copied into buf. */
static const char *line_value(const char *text, const char *key, char *buf, size_t len)
{
    const char *p = strstr(text, key);
    buf[0] = 0;
    if (!p) return buf;
    p += strlen(key);
    size_t n = strcspn(p, "\n");
    snprintf(buf, len, "%.*s", (int)(n < len ? n : len - 1), p);
    return buf;
}

static void check_status(const struct status_case *c)
{
    char out[2048], reason[600], desc[300];
    int rc = run_child(c, out, sizeof out);
    int present = -1, config_error = -1, is_sim = -1, reserved = -1;
    size_t devices = 99;
    int got = sscanf(out, "present=%d config_error=%d is_simulator=%d reserved=%d devices=%zu", &present, &config_error,
                     &is_sim, &reserved, &devices);
    line_value(out, "\nreason=", reason, sizeof reason);
    line_value(out, "\ndescription=", desc, sizeof desc);
    tap_ok(rc == 0 && got == 5, "%s: the child reports a status (exit %d)", c->name, rc);
    tap_ok(present == c->present && devices == (size_t)c->present, "%s: present=%d, %zu device(s)", c->name, present,
           devices);
    tap_ok(config_error == c->config_error && is_sim == c->is_simulator && reserved == 0,
           "%s: config_error=%d is_simulator=%d reserved=%d", c->name, config_error, is_sim, reserved);
    tap_ok(c->reason_has ? strstr(reason, c->reason_has) != NULL : reason[0] == 0, "%s: reason '%s'", c->name, reason);
    tap_ok(c->description_has ? strstr(desc, c->description_has) != NULL : desc[0] == 0, "%s: description '%s'",
           c->name, desc);
}

static void status_cases(void)
{
    const struct status_case cases[] = {
            {"RKNPU_DEVICE=gpu", "gpu", NULL, NULL, NULL, 0, 1, 0, "RKNPU_DEVICE='gpu'", NULL, NULL, NULL, NULL},
            {"RKNPU_MODE=int4", "sim", "int4", NULL, NULL, 0, 1, 0, "RKNPU_MODE='int4'", NULL, NULL, NULL, NULL},
            {"RKNPU_MIN_BATCH=0", "sim", NULL, "0", NULL, 0, 1, 0, "RKNPU_MIN_BATCH='0'", NULL, NULL, NULL, NULL},
            {"RKNPU_MIN_BATCH=8x", "sim", NULL, "8x", NULL, 0, 1, 0, "RKNPU_MIN_BATCH='8x'", NULL, NULL, NULL, NULL},
            {"RKNPU_CLOCK_MHZ=2001", "sim", NULL, NULL, "2001", 0, 1, 0, "RKNPU_CLOCK_MHZ='2001'", NULL, NULL, NULL,
             NULL},
            {"RKNPU_CLOCK_MHZ=-200", "sim", NULL, NULL, "-200", 0, 1, 0, "RKNPU_CLOCK_MHZ='-200'", NULL, NULL, NULL,
             NULL},
            {"RKNPU_DEVICE=rocket without an NPU", "rocket", NULL, NULL, NULL, 0, 1, 0, "RKNPU_DEVICE=rocket", NULL,
             NULL, NULL, NULL},
            {"RKNPU_DEVICE=auto without an NPU", "auto", NULL, NULL, NULL, 0, 0, 0, "no rocket NPU found", NULL, NULL,
             NULL, NULL},
            {"RKNPU_DEVICE unset without an NPU", NULL, NULL, NULL, NULL, 0, 0, 0, "no rocket NPU found", NULL, NULL,
             NULL, NULL},
            {"RKNPU_DEVICE=off", "off", "fp16", "4", NULL, 0, 0, 0, "RKNPU_DEVICE=off", NULL, NULL, NULL, NULL},
            {"RKNPU_DEVICE=sim", "sim", "int8-had", "3", "1000", 1, 0, 1, NULL,
             "SOFTWARE SIMULATOR (3 cores, timing model 1000 MHz, fitted to published measurements, envelope safe",
             NULL, NULL, NULL},
            {"RKNPU_ENVELOPE=fast", "sim", NULL, NULL, NULL, 0, 1, 0, "RKNPU_ENVELOPE='fast'", NULL, "fast", NULL,
             NULL},
            {"RKNPU_ENVELOPE=vendor", "sim", NULL, NULL, NULL, 1, 0, 1, NULL, "envelope vendor", "vendor", NULL, NULL},
            /* a profile made on this system also installs its measured timing into the MODEL */
            {"a current profile: board", "sim", NULL, NULL, NULL, 1, 0, 1, NULL,
             "timing model 200 MHz, board profile 2026-11-30T12:00:00Z, envelope board", NULL, current, NULL},
            {"a current profile with implausible timing: board, MODEL as fitted", "sim", NULL, NULL, NULL, 1, 0, 1,
             NULL, "fitted to published measurements, envelope board", NULL, odd_timing, NULL},
            {"a current profile in the config home: board", "sim", NULL, NULL, NULL, 1, 0, 1, NULL, "envelope board",
             NULL, NULL, home},
            {"a current profile, RKNPU_ENVELOPE=safe", "sim", NULL, NULL, NULL, 1, 0, 1, NULL, "envelope safe", "safe",
             current, NULL},
            {"a current profile, RKNPU_ENVELOPE=board", "sim", NULL, NULL, NULL, 1, 0, 1, NULL, "envelope board",
             "board", current, NULL},
            {"a profile for another clock: safe", "sim", NULL, NULL, "1000", 1, 0, 1, NULL, "envelope safe", NULL,
             current, NULL},
            {"a stale profile: safe", "sim", NULL, NULL, NULL, 1, 0, 1, NULL,
             "fitted to published measurements, envelope safe", NULL, stale, NULL},
            {"a stale profile, RKNPU_ENVELOPE=board", "sim", NULL, NULL, NULL, 0, 1, 0,
             "is stale: made for kernel 0.0.1-another-kernel", NULL, "board", stale, NULL},
            {"RKNPU_ENVELOPE=board without a profile", "sim", NULL, NULL, NULL, 0, 1, 0,
             "RKNPU_ENVELOPE=board, but there is no board profile at /nonexistent-config/rosenblatt/board-profile.json",
             NULL, "board", NULL, NULL},
            {"RKNPU_PROFILE names no file", "sim", NULL, NULL, NULL, 0, 1, 0,
             "board profile /nonexistent/p.json: No such file", NULL, NULL, "/nonexistent/p.json", NULL},
            {"RKNPU_PROFILE is not a profile", "sim", NULL, NULL, NULL, 0, 1, 0, "line 2, column 13: expected a value",
             NULL, NULL, broken, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) check_status(&cases[i]);
}

/* Non-finite activations (docs/reliability.md): rows of a prefill holding a NaN, +Inf, -Inf, both a NaN and
 * an infinity, and +Inf and -Inf together. */
enum {
    ROW_NAN = 2,
    ROW_PINF = 5,
    ROW_NINF = 6,
    ROW_NAN_INF = 9,
    ROW_PNINF = 13,
    NONFINITE_ROWS = 5
};
static const int nonfinite_rows[NONFINITE_ROWS] = {ROW_NAN, ROW_PINF, ROW_NINF, ROW_NAN_INF, ROW_PNINF};

static void plant_nonfinite(float *x, int K, int M)
{
    (void)M;
    x[ROW_NAN * K + K / 3] = NAN;
    x[ROW_PINF * K + K - 1] = INFINITY;
    x[ROW_NINF * K] = -INFINITY;
    x[ROW_NAN_INF * K + 1] = INFINITY, x[ROW_NAN_INF * K + K / 2] = NAN;
    x[ROW_PNINF * K + 3] = INFINITY, x[ROW_PNINF * K + K - 2] = -INFINITY;
}

static bool is_nonfinite_row(int m)
{
    for (int i = 0; i < NONFINITE_ROWS; i++)
        if (nonfinite_rows[i] == m) return true;
    return false;
}

static int same_bits(float a, float b) { return !memcmp(&a, &b, sizeof a); }

/* A prefill MUL_MAT with non-finite rows on RKNPU0 equals the CPU backend: those rows bit for bit (NaN where
 * the CPU has NaN, with the same bits), the other rows within the type's bound (they ran on the NPU). What the
 * CPU produced is printed per row: NaN / +Inf / -Inf / finite counts, which differ by weight type. */
static void nonfinite_case(ggml_backend_t npu, ggml_backend_buffer_type_t nbuft, ggml_backend_t cpu,
                           enum ggml_type type, int K, int N, int M, double bound)
{
    float *y_npu = calloc((size_t)N * M, sizeof(float)), *y_cpu = calloc((size_t)N * M, sizeof(float));
    edit_x = plant_nonfinite;
    int a = run_matmul(npu, nbuft, type, K, N, M, y_npu);
    int b = run_matmul(cpu, ggml_backend_cpu_buffer_type(), type, K, N, M, y_cpu);
    edit_x = NULL;
    int exact = 0, nan_cpu = 0, nan_npu = 0;
    double e = 0, r = 0;
    char seen[NONFINITE_ROWS * 48] = "";
    for (int m = 0; m < M; m++) {
        const float *yn = y_npu + (size_t)m * N, *yc = y_cpu + (size_t)m * N;
        if (!is_nonfinite_row(m)) {
            for (int n = 0; n < N; n++) e += (yn[n] - yc[n]) * (double)(yn[n] - yc[n]), r += yc[n] * (double)yc[n];
            continue;
        }
        int nan = 0, pinf = 0, ninf = 0, row_exact = 1;
        for (int n = 0; n < N; n++) {
            nan += isnan(yc[n]), pinf += yc[n] == INFINITY, ninf += yc[n] == -INFINITY;
            nan_npu += isnan(yn[n]), nan_cpu += isnan(yc[n]);
            row_exact &= same_bits(yn[n], yc[n]);
        }
        exact += row_exact;
        snprintf(seen + strlen(seen), sizeof seen - strlen(seen), "%s%d:%d/%d/%d/%d", m == ROW_NAN ? "" : " ", m, nan,
                 pinf, ninf, N - nan - pinf - ninf);
    }
    double nm = r > 0 ? e / r : e;
    tap_ok(a == 0 && b == 0 && exact == NONFINITE_ROWS && nan_npu == nan_cpu,
           "%s K=%d N=%d M=%d: the %d non-finite rows equal the CPU backend bit for bit (NaN/+Inf/-Inf/finite per "
           "row %s)",
           ggml_type_name(type), K, N, M, exact, seen);
    tap_ok(a == 0 && b == 0 && nm <= bound, "  %s: the other %d rows ran on the NPU, NMSE %.2e <= %.0e",
           ggml_type_name(type), M - NONFINITE_ROWS, nm, bound);
    free(y_npu), free(y_cpu);
}

/* One NaN in a row of the KV-cache side of an attention product (src0 of a per-call MUL_MAT). */
static void plant_nan_in_cache(float *w, int K, int N) { w[(N / 2) * K + K / 4] = NAN; }

/* Attention on the NPU (rknpu-attention.cpp) with non-finite inputs: rows mix inside these nodes, so the whole
 * node is the CPU backend's, bit for bit. First a per-call MUL_MAT (KQ: src0 an F16 tensor of a non-weight
 * buffer, like a KV-cache view) with non-finite query rows and then a NaN in the cache; then FLASH_ATTN_EXT. */
static void nonfinite_attention(ggml_backend_t npu, ggml_backend_t cpu, ggml_backend_rknpu_get_stats_t stats)
{
    enum {
        K = 64,
        N = 48,
        M = 16
    };
    static float y_npu[N * M], y_cpu[N * M];
    struct ggml_backend_rknpu_stats s0, s1;
    stats(&s0);
    int ok = !run_matmul(npu, ggml_backend_cpu_buffer_type(), GGML_TYPE_F16, K, N, M, y_npu);
    stats(&s1);
    tap_ok(ok && s1.attention_ops > s0.attention_ops, "attention MUL_MAT (per-call F16 src0) runs on the NPU");
    for (int pass = 0; pass < 2; pass++) {
        edit_x = pass ? NULL : plant_nonfinite;
        edit_w = pass ? plant_nan_in_cache : NULL;
        int a = run_matmul(npu, ggml_backend_cpu_buffer_type(), GGML_TYPE_F16, K, N, M, y_npu);
        int b = run_matmul(cpu, ggml_backend_cpu_buffer_type(), GGML_TYPE_F16, K, N, M, y_cpu);
        tap_ok(a == 0 && b == 0 && !memcmp(y_npu, y_cpu, sizeof y_npu),
               "attention MUL_MAT with %s: the CPU backend's result bit for bit (rc %d)",
               pass ? "a NaN in the cache" : "NaN and Inf query rows", a);
    }
    edit_x = edit_w = NULL;

    /* FLASH_ATTN_EXT: q [D, T, H], k/v [D, KV, HKV] F16, a causal mask; a NaN in one query row, then in V */
    enum {
        D = 64,
        T = 16,
        H = 4,
        HKV = 2,
        KV = 32
    };
    static float o_npu[D * H * T], o_cpu[D * H * T];
    for (int pass = 0; pass < 3; pass++) {
        float *outs[2] = {o_npu, o_cpu};
        ggml_backend_t backends[2] = {npu, cpu};
        int rc[2];
        for (int i = 0; i < 2; i++) {
            struct ggml_init_params ip = {.mem_size = 16 * ggml_tensor_overhead() + ggml_graph_overhead(),
                                          .no_alloc = true};
            struct ggml_context *ctx = ggml_init(ip);
            struct ggml_tensor *q = ggml_new_tensor_3d(ctx, GGML_TYPE_F32, D, T, H);
            struct ggml_tensor *k = ggml_new_tensor_3d(ctx, GGML_TYPE_F16, D, KV, HKV);
            struct ggml_tensor *v = ggml_new_tensor_3d(ctx, GGML_TYPE_F16, D, KV, HKV);
            struct ggml_tensor *mask = ggml_new_tensor_2d(ctx, GGML_TYPE_F16, KV, T);
            struct ggml_tensor *o = ggml_flash_attn_ext(ctx, q, k, v, mask, 0.125f, 0.0f, 0.0f);
            struct ggml_cgraph *gf = ggml_new_graph(ctx);
            ggml_build_forward_expand(gf, o);
            ggml_backend_buffer_t buf = ggml_backend_alloc_ctx_tensors_from_buft(ctx, ggml_backend_cpu_buffer_type());
            rng = 31;
            float *qf = malloc(sizeof(float) * D * T * H);
            ggml_fp16_t *kh = malloc(sizeof(ggml_fp16_t) * D * KV * HKV),
                        *vh = malloc(sizeof(ggml_fp16_t) * D * KV * HKV), *mh = malloc(sizeof(ggml_fp16_t) * KV * T);
            for (int j = 0; j < D * T * H; j++) qf[j] = frand();
            for (int j = 0; j < D * KV * HKV; j++)
                kh[j] = ggml_fp32_to_fp16(frand()), vh[j] = ggml_fp32_to_fp16(frand());
            for (int t = 0; t < T; t++) /* query t sees keys 0..KV-T+t */
                for (int c = 0; c < KV; c++) mh[t * KV + c] = ggml_fp32_to_fp16(c <= KV - T + t ? 0.0f : -INFINITY);
            if (pass == 1) qf[(1 * T + 5) * D + 7] = NAN; /* head 1, query 5 */
            if (pass == 2) vh[(0 * KV + 3) * D + 2] = ggml_fp32_to_fp16(NAN);
            ggml_backend_tensor_set(q, qf, 0, ggml_nbytes(q));
            ggml_backend_tensor_set(k, kh, 0, ggml_nbytes(k));
            ggml_backend_tensor_set(v, vh, 0, ggml_nbytes(v));
            ggml_backend_tensor_set(mask, mh, 0, ggml_nbytes(mask));
            stats(&s0);
            rc[i] = ggml_backend_graph_compute(backends[i], gf) == GGML_STATUS_SUCCESS ? 0 : -1;
            stats(&s1);
            if (!rc[i]) ggml_backend_tensor_get(o, outs[i], 0, ggml_nbytes(o));
            if (i == 0 && pass == 0) tap_ok(s1.attention_ops > s0.attention_ops, "FLASH_ATTN_EXT runs on the NPU");
            free(qf), free(kh), free(vh), free(mh);
            ggml_backend_buffer_free(buf);
            ggml_free(ctx);
        }
        if (pass)
            tap_ok(!rc[0] && !rc[1] && !memcmp(o_npu, o_cpu, sizeof o_npu),
                   "FLASH_ATTN_EXT with a NaN in %s: the CPU backend's result bit for bit",
                   pass == 1 ? "a query row" : "V");
    }
}

int main(int argc, char **argv)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[n > 0 ? n : 0] = 0;
    snprintf(plugin, sizeof plugin, "%s/libggml-rknpu.so", dirname(exe));
    make_profiles();
    status_cases();
    remove_profiles();

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
        if (round == 0) {
            const struct {
                enum ggml_type type;
                int K, N;
                double bound;
            } nf[] = {
                    {GGML_TYPE_F32, 96, 40, 1e-5},   {GGML_TYPE_F16, 64, 33, 1e-5},    {GGML_TYPE_BF16, 64, 24, 1e-5},
                    {GGML_TYPE_Q8_0, 128, 48, 5e-4}, {GGML_TYPE_Q4_0, 96, 40, 5e-4},   {GGML_TYPE_Q4_K, 256, 64, 5e-4},
                    {GGML_TYPE_Q6_K, 256, 40, 5e-4}, {GGML_TYPE_IQ4_NL, 64, 32, 5e-4}, {GGML_TYPE_MXFP4, 128, 24, 5e-4},
            };
            for (size_t c = 0; c < sizeof nf / sizeof nf[0]; c++)
                nonfinite_case(npu, ggml_backend_dev_buffer_type(dev), cpu, nf[c].type, nf[c].K, nf[c].N, 16,
                               nf[c].bound);
            nonfinite_attention(npu, cpu,
                                (ggml_backend_rknpu_get_stats_t)ggml_backend_reg_get_proc_address(
                                        reg, "ggml_backend_rknpu_get_stats"));
        }
        ggml_backend_rknpu_sim_inject_fault_t inject =
                (ggml_backend_rknpu_sim_inject_fault_t)ggml_backend_reg_get_proc_address(
                        reg, "ggml_backend_rknpu_sim_inject_fault");
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
