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
