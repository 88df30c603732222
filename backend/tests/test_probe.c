/* npu-probe and npu-replay on the simulator: the probe library for int8/fp16 on 1 and 3 cores, the CLI
 * (human and --json output, exit codes, no-NPU message, injected faults through RKNPU_SIM_FAULT), and a
 * replay of a memory image built with the regcmd builder. */
#include "npu_image.h"
#include "npu_probe.h"
#include "layout.h"
#include "regcmd.h"
#include "tap.h"

#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int run(const char *cmd, char *out, size_t cap)
{
    FILE *p = popen(cmd, "r");
    size_t n = p ? fread(out, 1, cap - 1, p) : 0;
    out[n] = 0;
    int st = p ? pclose(p) : -1;
    return st >= 0 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_probe_lib(void)
{
    static const enum npu_dtype types[2] = {NPU_DTYPE_INT8, NPU_DTYPE_FP16};
    static const uint32_t cores[2] = {1, 3};
    for (int t = 0; t < 2; t++)
        for (int c = 0; c < 2; c++) {
            struct npu_probe_options o = {
                    .kind = NPU_DEVICE_SIM, .dtype = types[t], .cores = cores[c], .clock_mhz = 200};
            struct npu_probe_result r;
            int err = npu_probe_run(&o, &r, NULL);
            const char *ty = t ? "fp16" : "int8";
            tap_ok(!err && r.ok, "probe %s on %u core(s): %s", ty, cores[c], err ? r.error : "ok");
            tap_ok(r.info.is_simulator, "  device reports the simulator");
            tap_ok(r.case_count == 2 && r.cases[0].tasks == (cores[c] == 3 ? 2 : 1) && r.cases[1].tasks == 4 * cores[c],
                   "  cases: 64^3 in %u task(s), 200x150x192 in %u chained tasks", r.cases[0].tasks, r.cases[1].tasks);
            tap_ok(r.cases[1].model_ms > 0 && r.cases[1].macs > 0, "  MODEL %.3f ms, measured wall %.3f ms",
                   r.cases[1].model_ms, r.cases[1].wall_ms);
            if (t == 1 && c == 1) {
                char *buf = NULL;
                size_t len = 0;
                FILE *m = open_memstream(&buf, &len);
                npu_probe_print_json(m, &o, &r);
                fclose(m);
                tap_contains(buf, "\"ok\":true", "  json: ok");
                tap_contains(buf, "\"simulator\":true", "  json: simulator");
                tap_contains(buf, "\"dtype\":\"fp16\"", "  json: dtype");
                tap_ok(strchr(buf, '\n') == buf + len - 1, "  json: exactly one line");
                free(buf);
            }
        }
}

static void test_probe_cli(void)
{
    static char out[16384];
    int rc = run(NPU_PROBE_BIN " --device sim --dtype fp16 --cores 2 --json 2>/dev/null", out, sizeof out);
    tap_is_int(rc, 0, "npu-probe --device sim --dtype fp16 --cores 2 --json exits 0");
    tap_contains(out, "\"tool\":\"npu-probe\",\"ok\":true", "  json line: %.120s", out);
    rc = run("RKNPU_DEVICE=sim " NPU_PROBE_BIN " --clock-mhz 1000 2>&1", out, sizeof out);
    tap_is_int(rc, 0, "RKNPU_DEVICE=sim npu-probe --clock-mhz 1000 exits 0");
    tap_contains(out, "SIMULATOR", "  human output says it is the simulator");
    tap_contains(out, "MODEL @ 1000 MHz", "  timing labelled MODEL at the chosen clock");
    rc = run("RKNPU_ACCEL_DIR=/nonexistent-accel " NPU_PROBE_BIN " --device auto 2>&1", out, sizeof out);
    tap_is_int(rc, 2, "no NPU and no --device sim: exit 2");
    tap_contains(out, "no rocket NPU found", "  %s", out);
    rc = run("RKNPU_ACCEL_DIR=/nonexistent-accel " NPU_PROBE_BIN " --device auto --json 2>/dev/null", out, sizeof out);
    tap_contains(out, "\"ok\":false", "  json reports ok:false");
    tap_contains(out, "no rocket NPU found", "  json carries the reason");
    rc = run("RKNPU_SIM_FAULT=dma " NPU_PROBE_BIN " --device sim 2>&1", out, sizeof out);
    tap_is_int(rc, 2, "RKNPU_SIM_FAULT=dma: probe fails with a device error");
    tap_contains(out, "DMA fault", "  reason surfaces");
    rc = run("RKNPU_SIM_FAULT=reset " NPU_PROBE_BIN " --device sim 2>&1", out, sizeof out);
    tap_is_int(rc, 2, "RKNPU_SIM_FAULT=reset: device error although the simulated kernel signalled success");
    tap_contains(out, "treated as a core reset", "  reason surfaces");
    rc = run("RKNPU_SIM_FAULT=slow@2 " NPU_PROBE_BIN " --device sim 2>&1", out, sizeof out);
    tap_is_int(rc, 2, "RKNPU_SIM_FAULT=slow@2: a correct but slow job is a device error");
    tap_contains(out, "treated as a core reset", "  reason surfaces");
    rc = run("RKNPU_SIM_FAULT=dropped@2 " NPU_PROBE_BIN " --device sim 2>&1", out, sizeof out);
    tap_is_int(rc, 2, "RKNPU_SIM_FAULT=dropped@2: the second job is dropped, probe fails");
    tap_ok(strstr(out, "not accepted by the kernel") || strstr(out, "still hold the poison"),
           "  reason surfaces: %.300s", out);
    rc = run(NPU_PROBE_BIN " --cores 4 2>&1", out, sizeof out);
    tap_is_int(rc, 64, "--cores 4 is a usage error");
}

static void test_replay(void)
{
    enum {
        M = 64,
        K = 64,
        N = 64
    };
    const uint32_t RC = 0x10000, A_ = 0x20000, B_ = 0x30000, C_ = 0x40000;
    static int8_t A[M * K], B[K * N];
    uint32_t s = 99;
    for (int i = 0; i < M * K; i++) s = s * 1103515245 + 12345, A[i] = (int8_t)(s >> 16);
    for (int i = 0; i < K * N; i++) s = s * 1103515245 + 12345, B[i] = (int8_t)(s >> 16);
    struct rk_matmul mm = {
            .in = RK_INT8, .out = RK_INT32, .m = M, .k = K, .n = N, .a_iova = A_, .b_iova = B_, .c_iova = C_};
    size_t seg = rk_regcmd_segment_entries(RK_REGCMD_BODY_ENTRIES);
    uint64_t *cmd = calloc(seg, 8);
    void *pa = calloc(1, rk_a_bytes(&mm)), *pb = calloc(1, rk_b_bytes(&mm));
    uint32_t count;
    char err[256];
    tap_ok(!rk_regcmd_matmul_task(&mm, 0, cmd, seg, &count, err, sizeof err), "replay: build a 64^3 int8 task");
    rk_pack_a(&mm, pa, A, K);
    rk_pack_b_int8(pb, B, K, N, N, 1);
    char dir[] = "/tmp/rknpu-replay-XXXXXX", path[256], cmdline[1024];
    mkdtemp(dir);
    struct npu_image img = {0};
    npu_image_add(&img, A_, (uint32_t)rk_a_bytes(&mm), pa, err, sizeof err);
    npu_image_add(&img, B_, (uint32_t)rk_b_bytes(&mm), pb, err, sizeof err);
    npu_image_add(&img, C_, (uint32_t)rk_c_bytes(&mm), NULL, err, sizeof err);
    snprintf(path, sizeof path, "%s/in.img", dir);
    tap_ok(!npu_image_save(&img, path, err, sizeof err), "replay: write memory image");
    snprintf(path, sizeof path, "%s/task.regcmd", dir);
    FILE *f = fopen(path, "wb");
    fwrite(cmd, 8, seg, f);
    fclose(f);
    snprintf(path, sizeof path, "%s/run.txt", dir);
    f = fopen(path, "w");
    fprintf(f, "# 64^3 int8\nimage in.img\nregcmd task.regcmd 0x%x\ntask 0x%x %u\n", RC, RC, count);
    fclose(f);
    static char out[8192];
    snprintf(cmdline, sizeof cmdline, "%s %s/run.txt -o %s/out.img 2>&1", NPU_REPLAY_BIN, dir, dir);
    int rc = run(cmdline, out, sizeof out);
    tap_is_int(rc, 0, "npu-replay exits 0");
    tap_contains(out, "MODEL", "  prints MODEL timing: %.100s", out);
    struct npu_image res = {0};
    snprintf(path, sizeof path, "%s/out.img", dir);
    tap_ok(!npu_image_load(&res, path, err, sizeof err), "replay: output image loads");
    int32_t *c = npu_image_map(&res, C_, rk_c_bytes(&mm)), got[M * N];
    int bad = c ? 0 : 1;
    if (c) rk_unpack_c(&mm, got, N, c);
    for (int m = 0; c && m < M; m++)
        for (int n = 0; n < N; n++) {
            int32_t ref = 0;
            for (int k = 0; k < K; k++) ref += A[m * K + k] * B[k * N + n];
            bad += got[m * N + n] != ref;
        }
    tap_is_int(bad, 0, "replayed output equals the CPU reference");
    snprintf(path, sizeof path, "%s/bad.txt", dir);
    f = fopen(path, "w");
    fprintf(f, "image in.img\nregcmd task.regcmd 0x%x\ntask 0x%x %u\n", RC, RC, count - 4);
    fclose(f);
    snprintf(cmdline, sizeof cmdline, "%s %s/bad.txt 2>&1", NPU_REPLAY_BIN, dir);
    rc = run(cmdline, out, sizeof out);
    tap_is_int(rc, 1, "replay of a stream without its tail fails (exit 1)");
    tap_contains(out, "failed", "  %.160s", out);
    snprintf(cmdline, sizeof cmdline, "rm -rf %s", dir);
    if (system(cmdline)) tap_diag("cleanup failed");
    npu_image_free(&img), npu_image_free(&res);
    free(cmd), free(pa), free(pb);
}

int main(void)
{
    test_probe_lib();
    test_probe_cli();
    test_replay();
    return tap_done();
}
