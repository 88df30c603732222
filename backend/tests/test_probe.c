/* npu-probe, npu-calibrate and npu-replay on the simulator: the probe library for int8/fp16 on 1 and 3 cores,
 * the CLI (human and --json output, exit codes, no-NPU message, injected faults through RKNPU_SIM_FAULT, flaws
 * through RKNPU_SIM_FLAW), the calibration ladder (every rung on a flawless simulator, the timing MODEL's own
 * parameters recovered, the 'reuse' flaw narrowing only weight reuse, a flaw inside the safe envelope stopping
 * it with the failing task's registers; the whole-ladder runs are skipped under emulation), a trial under
 * injected reset/dropped faults, and a replay of a memory image built with the regcmd builder, and of a peer
 * (Mesa-style) stream. */
#include "npu_image.h"
#include "npu_ladder.h"
#include "replay_script.h"
#include "npu_probe.h"
#include "npu_trial.h"
#include "npu_timing.h"
#include "layout.h"
#include "peer_stream.h"
#include "regcmd.h"
#include "sim/core/npusim.h"
#include "tap.h"

#include <errno.h>
#include <math.h>
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
            tap_ok(r.case_count == 2 && r.cases[0].tasks == (cores[c] == 3 ? 4 : 2) && r.cases[1].tasks == 7 * cores[c],
                   "  cases (safe: 32-row tiles): 64^3 in %u task(s), 200x150x192 in %u", r.cases[0].tasks,
                   r.cases[1].tasks);
            tap_ok(r.cases[1].model_ms[NPU_MODEL_OPTIMISTIC] > 0 &&
                           r.cases[1].model_ms[NPU_MODEL_OPTIMISTIC] < r.cases[1].model_ms[NPU_MODEL_PESSIMISTIC] &&
                           r.cases[1].macs > 0,
                   "  MODEL %.3f-%.3f ms (optimistic-pessimistic), measured wall %.3f ms",
                   r.cases[1].model_ms[NPU_MODEL_OPTIMISTIC], r.cases[1].model_ms[NPU_MODEL_PESSIMISTIC],
                   r.cases[1].wall_ms);
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
    rc = run(NPU_PROBE_BIN " --device sim --envelope vendor --cores 3 --json 2>/dev/null", out, sizeof out);
    tap_is_int(rc, 0, "npu-probe --envelope vendor exits 0");
    tap_contains(out, "\"envelope\":\"vendor\"", "  json names the envelope");
    tap_contains(out, "\"tasks\":12", "  vendor: 64-row tiles, 200x150x192 in 4 tasks per core");
    rc = run(NPU_PROBE_BIN " --device sim --envelope board 2>&1", out, sizeof out);
    tap_is_int(rc, 64, "npu-probe --envelope board: a usage error (calibrate proves the board envelope)");
    rc = run("RKNPU_SIM_FLAW='m-tile>16' " NPU_PROBE_BIN " --device sim 2>&1", out, sizeof out);
    tap_is_int(rc, 1, "RKNPU_SIM_FLAW=m-tile>16: 32-row tiles come back wrong, exit 1");
    tap_contains(out, "values wrong; first at row 16", "  the first wrong value is row 16");
    rc = run("RKNPU_SIM_FLAW=bogus " NPU_PROBE_BIN " --device sim 2>&1", out, sizeof out);
    tap_is_int(rc, 2, "RKNPU_SIM_FLAW=bogus: the simulator is not opened");
    tap_contains(out, "unknown flaw 'bogus'", "  the reason");
    rc = run("RKNPU_DEVICE=sim " NPU_PROBE_BIN " --clock-mhz 1000 2>&1", out, sizeof out);
    tap_is_int(rc, 0, "RKNPU_DEVICE=sim npu-probe --clock-mhz 1000 exits 0");
    tap_contains(out, "SIMULATOR", "  human output says it is the simulator");
    tap_contains(out, "(optimistic-pessimistic, 1000 MHz)", "  timing: both MODEL bounds at the chosen clock");
    tap_contains(out, "fitted to published measurements", "  names the model's parameters");
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

static bool near(double got, double want) { return fabs(got - want) <= 1e-3 * want; }

/* The whole ladder, flawless and under the 'reuse' flaw (which only shows in rung c8 and lets the ladder go on). */
static void test_ladder_full(void)
{
    static struct npu_ladder L;
    struct npu_ladder_options o = {.kind = NPU_DEVICE_SIM, .clock_mhz = NPU_CLOCK_MAINLINE_MHZ};
    npu_sim_set_flaws("none");
    int rc = npu_ladder_run(&o, &L, NULL);
    tap_ok(rc == 0 && L.ok, "calibrate on the simulator: every required step passes (%s)", L.error);
    uint32_t ran = 0, ok = 0, rungs = 0;
    for (uint32_t i = 0; i < L.nsteps; i++) {
        ran += L.steps[i].ran, ok += L.steps[i].ok;
        rungs |= 1u << (L.steps[i].rung - 'a');
    }
    tap_ok(ran == L.nsteps && ok == ran && rungs == 0xf && L.nedges == 0,
           "  %u steps in rungs a-d, all passed, no edge", ran);
    const struct npu_envelope *e = &L.env, *v = &npu_envelope_vendor;
    tap_ok(e->kind == NPU_ENVELOPE_BOARD && e->m_tile_max == v->m_tile_max && e->n_tile_max == v->n_tile_max &&
                   e->k_task_max_int8 == v->k_task_max_int8 && e->k_task_max_fp16 == v->k_task_max_fp16 &&
                   e->inplace_k_slices && e->chained_tails && e->weight_reuse &&
                   e->out_pairs == (NPU_PAIR_I8_I32 | NPU_PAIR_I8_F32 | NPU_PAIR_F16_F32) &&
                   e->tasks_per_job_max == v->tasks_per_job_max && e->job_budget_ms == v->job_budget_ms,
           "  the widest envelope: the vendor one");
    const struct npu_ladder_step *c8 = NULL;
    for (uint32_t i = 0; i < L.nsteps; i++)
        if (!strcmp(L.steps[i].id, "c8.2")) c8 = &L.steps[i];
    tap_ok(c8 && c8->ok && c8->trial.in == RK_FP16 && c8->res.reuse_tasks == 3 && c8->res.tasks == 4 &&
                   c8->res.jobs == 1,
           "  c8.2: fp16, 3 of 4 M-tiles in one job reuse the first's weights from CBUF");
    /* the simulator's measured job time is the MODEL's pessimistic bound, so the fits give that bound back */
    const struct npu_ladder_timing *t = &L.timing;
    const enum npu_model_bound P = NPU_MODEL_PESSIMISTIC;
    double eff = npu_model_param(NPU_MODEL_MAC_EFFICIENCY, P);
    tap_ok(t->valid && near(t->task_overhead_us, npu_model_param(NPU_MODEL_TASK_OVERHEAD_US, P)) &&
                   near(t->job_overhead_us, (double)npu_model_job_overhead_ns(P) / 1e3) &&
                   near(t->mac_efficiency, eff) &&
                   near(t->int8_macs_per_cycle, npu_model_param(NPU_MODEL_INT8_MACS_PER_CYCLE, P) * eff) &&
                   near(t->fp16_macs_per_cycle, npu_model_param(NPU_MODEL_FP16_MACS_PER_CYCLE, P) * eff) &&
                   near(t->dma_gbps, npu_model_core_gbps(NPU_CLOCK_MAINLINE_MHZ, NPU_CORES, P)) &&
                   near(t->job_time_ratio_max, 1) && t->jobs_within_bounds && !t->notes[0],
           "  timing recovers the MODEL's pessimistic bound: %.2f us/task, %.2f us/job, %.1f int8 and %.1f fp16 "
           "MAC/cycle, %.3f GB/s (%s)",
           t->task_overhead_us, t->job_overhead_us, t->int8_macs_per_cycle, t->fp16_macs_per_cycle, t->dma_gbps,
           t->notes);

    /* a flaw only in what reused weights compute: the edge is c8.1, and nothing else narrows */
    npu_sim_set_flaws("reuse");
    rc = npu_ladder_run(&o, &L, NULL);
    npu_sim_set_flaws("none");
    tap_ok(rc == 0 && L.ok && !L.env.weight_reuse && L.env.m_tile_max == v->m_tile_max && L.env.chained_tails &&
                   L.nedges == 1 && !strcmp(L.edges[0].dim, "weight-reuse") && !strcmp(L.edges[0].step, "c8.1"),
           "flaw reuse: the ladder passes with weight reuse off, its edge at %s", L.nedges ? L.edges[0].step : "-");
}

/* The ladder stopping early (a flaw inside safe), npu-calibrate's output, and no NPU. */
static void test_calibrate(void)
{
    static struct npu_ladder L;
    static char out[1 << 16];
    struct npu_ladder_options o = {.kind = NPU_DEVICE_SIM, .clock_mhz = NPU_CLOCK_MAINLINE_MHZ};
    npu_sim_set_flaws("m-tile>8");
    int rc = npu_ladder_run(&o, &L, NULL);
    npu_sim_set_flaws("none");
    const struct npu_ladder_step *s = L.nsteps ? &L.steps[L.nsteps - 1] : NULL;
    tap_ok(rc == -EDOM && !L.ok && !strcmp(L.stopped_at, "b1") && s && !strcmp(s->id, "b1"),
           "flaw m-tile>8 (inside safe): the ladder stops at b1, nothing after it runs (%s)", L.error);
    tap_ok(s && s->res.reg_count == 112 && s->res.bad_row == 8 && s->res.bad_task == 0 &&
                   (s->res.regs[0] >> 48) == NPU_TGT_CNA,
           "  the failing task and its 112 register entries are kept (first wrong row %u)", s ? s->res.bad_row : 0);

    rc = run("RKNPU_SIM_FLAW='m-tile>8' " NPU_CALIBRATE_BIN " --device sim 2>&1", out, sizeof out);
    tap_is_int(rc, 1, "npu-calibrate under a flaw inside safe: exit 1");
    tap_contains(out, "FAILED at step b1", "  says where it stopped");
    tap_contains(out, "CNA_DATA_SIZE0 (0x1020) = 0x00010020", "  prints the failing task's registers decoded");
    tap_contains(out, "send back", "  and what to send back");
    rc = run("RKNPU_ACCEL_DIR=/nonexistent-accel " NPU_CALIBRATE_BIN " --device auto --json 2>/dev/null", out,
             sizeof out);
    tap_is_int(rc, 2, "npu-calibrate without an NPU: exit 2");
    tap_contains(out, "\"ok\":false", "  json ok:false");
    tap_contains(out, "no rocket NPU found", "  with the reason");
}

/* A trial fails the way the device layer fails a job (a reset job: its per-job wait; a dropped one: the check
 * after SUBMIT), and with that check off it still finds a dropped job's outputs by their poison. */
#define FAULT_TIMEOUT_US 40000 /* a short simulated job timeout: a reset costs one of it */

static void test_trial_faults(void)
{
    static struct npu_trial_result r;
    struct npu_trial t = {.in = RK_INT8, .out = RK_INT32, .m = 64, .k = 96, .n = 64, .m_tile = 16, .tasks_per_job = 2};
    for (int unchecked = 0; unchecked < 2; unchecked++) {
        struct npu_open_options oo = {.sim_job_timeout_us = FAULT_TIMEOUT_US, .unchecked_submit = unchecked};
        struct npu_device *dev = NULL;
        if (!tap_ok(npu_device_open(NPU_DEVICE_SIM, &oo, &dev) == 0, "open a sim device (%s)",
                    unchecked ? "unchecked submit" : "checked submit"))
            return;
        int rc = npu_trial_run(&dev, 1, &t, &r);
        tap_ok(rc == 0 && r.jobs == 2 && r.compared == 64 * 64, "  fault-free: 4 tasks in 2 jobs, bit-exact (%s)",
               r.error);
        npu_sim_inject_fault(NPU_SIM_FAULT_DROPPED, 2);
        rc = npu_trial_run(&dev, 1, &t, &r);
        npu_sim_inject_fault(NPU_SIM_FAULT_NONE, 0);
        if (!unchecked)
            tap_ok(rc == -EIO && r.bad_task == 2 && strstr(r.error, "job 1") &&
                           (strstr(r.error, "not accepted by the kernel") || strstr(r.error, "still hold the poison")),
                   "  the second job dropped: -EIO naming it and its first task (%s)", r.error);
        else
            tap_ok(rc == -EIO && r.unwritten == 32 * 64 && r.bad_task == 2 && r.bad_row == 32 &&
                           strstr(r.error, "still hold the poison") && strstr(r.error, "job 1") && r.reg_count > 100,
                   "  the second job dropped, no check after SUBMIT: its %llu outputs still hold the poison, task %d "
                   "and its registers kept (%s)",
                   (unsigned long long)r.unwritten, r.bad_task, r.error);
        npu_sim_inject_fault(NPU_SIM_FAULT_RESET, 1);
        rc = npu_trial_run(&dev, 1, &t, &r);
        npu_sim_inject_fault(NPU_SIM_FAULT_NONE, 0);
        tap_ok(rc == -ETIME && strstr(r.error, "job 0") && strstr(r.error, "treated as a core reset") &&
                       r.bad_task >= 0,
               "  the first job reset after the job timeout (its fence signalled): -ETIME from its wait (%s)", r.error);
        npu_device_close(dev);
    }
}

/* npu-replay --peer-streams: a two-task job of Mesa-style int8 tasks (the second reusing the weights) gives
 * the same memory as the simulated core run in-process; without the flag the replay refuses the stream. */
static void test_replay_peer(void)
{
    enum {
        M = 8,
        K = 64,
        N = 32,
        TILE = 4
    };
    const uint32_t RC = 0x10000, IN = 0x20000, W = 0x30000, BIAS = 0x40000, OUT = 0x50000, SPAN = 0x1000;
    static uint8_t x[M * K], w[N * K];
    static int32_t bias[N];
    uint32_t s = 7;
    for (int i = 0; i < M * K; i++) s = s * 1103515245 + 12345, x[i] = (uint8_t)(s >> 16);
    for (int i = 0; i < N * K; i++) s = s * 1103515245 + 12345, w[i] = (uint8_t)(s >> 16);
    for (int i = 0; i < N; i++) s = s * 1103515245 + 12345, bias[i] = (int32_t)(s >> 16) - 32768;
    char err[256], dir[] = "/tmp/rknpu-replay-peer-XXXXXX", path[256], cmdline[1024];
    static char out[8192];
    struct npu_image img = {0}, res = {0};
    uint64_t cmd[2][RK_PEER_BODY_ENTRIES + 8];
    size_t count[2] = {0, 0};
    int8_t packed[TILE * K], wp[K * N];
    int32_t bp[N];
    rk_peer_pack_weights(wp, w, K, N);
    rk_peer_biases(bp, bias, w, K, N, 120, 131);
    npu_image_add(&img, W, sizeof wp, wp, err, sizeof err);
    npu_image_add(&img, BIAS, (uint32_t)rk_peer_bias_bytes(N), bp, err, sizeof err);
    int ok = 1;
    for (int t = 0; t < 2; t++) {
        rk_peer_pack_input(packed, x + t * TILE * K, TILE, K);
        npu_image_add(&img, IN + t * SPAN, sizeof packed, packed, err, sizeof err);
        npu_image_add(&img, OUT + t * SPAN, (uint32_t)rk_peer_output_bytes(TILE, N), NULL, err, sizeof err);
        struct rk_peer_fc fc = {.m = TILE,
                                .k = K,
                                .n = N,
                                .in_iova = IN + t * SPAN,
                                .w_iova = W,
                                .bias_iova = BIAS,
                                .out_iova = OUT + t * SPAN,
                                .in_zp = 120,
                                .w_zp = 131,
                                .out_zp = 125,
                                .conv_scale = 0.0015f,
                                .weight_reuse = t > 0};
        ok &= !rk_peer_fc_regcmd(&fc, cmd[t], RK_PEER_BODY_ENTRIES + 8, &count[t], err, sizeof err);
    }
    tap_ok(ok, "replay: build a two-task peer job (%s)", ok ? "ok" : err);
    mkdtemp(dir);
    snprintf(path, sizeof path, "%s/in.img", dir);
    npu_image_save(&img, path, err, sizeof err);
    for (int t = 0; t < 2; t++) {
        snprintf(path, sizeof path, "%s/t%d.regcmd", dir, t);
        FILE *f = fopen(path, "wb");
        fwrite(cmd[t], 8, count[t], f);
        fclose(f);
    }
    snprintf(path, sizeof path, "%s/run.txt", dir);
    FILE *f = fopen(path, "w");
    fprintf(f, "image in.img\nregcmd t0.regcmd 0x%x\nregcmd t1.regcmd 0x%x\ntask 0x%x\ntask 0x%x\n", RC, RC + SPAN, RC,
            RC + SPAN);
    fclose(f);
    snprintf(cmdline, sizeof cmdline, "%s %s/run.txt 2>&1", NPU_REPLAY_BIN, dir);
    int rc = run(cmdline, out, sizeof out);
    tap_ok(rc == 1 && strstr(out, "peer-stream"), "npu-replay without --peer-streams refuses op-enable 0x1D: %.160s",
           out);
    snprintf(cmdline, sizeof cmdline, "%s %s/run.txt --peer-streams -o %s/out.img 2>&1", NPU_REPLAY_BIN, dir, dir);
    rc = run(cmdline, out, sizeof out);
    tap_is_int(rc, 0, "npu-replay --peer-streams exits 0");
    snprintf(path, sizeof path, "%s/out.img", dir);
    int loaded = !npu_image_load(&res, path, err, sizeof err);

    /* the same job on a simulated core in-process */
    struct npusim_core *core = npusim_core_create(0);
    struct npusim_mem mem = {.ctx = &img, .map = npu_image_map};
    npu_image_add(&img, RC, (uint32_t)(count[0] * 8), cmd[0], err, sizeof err);
    npu_image_add(&img, RC + SPAN, (uint32_t)(count[1] * 8), cmd[1], err, sizeof err);
    npusim_core_set_peer_streams(core, true);
    npusim_core_begin_job(core);
    struct npusim_task_stats st = {0};
    rc = npusim_core_run_task(core, &mem, RC, (uint32_t)count[0], NULL, err, sizeof err);
    rc = rc ? rc : npusim_core_run_task(core, &mem, RC + SPAN, (uint32_t)count[1], &st, err, sizeof err);
    size_t ob = rk_peer_output_bytes(TILE, N);
    int same = loaded && !rc && st.weight_reuse_tasks == 1, nonzero = 0;
    for (int t = 0; t < 2 && same; t++) {
        const uint8_t *a = npu_image_map(&img, OUT + t * SPAN, ob), *b = npu_image_map(&res, OUT + t * SPAN, ob);
        same = a && b && !memcmp(a, b, ob);
        for (size_t i = 0; same && i < ob; i++) nonzero += a[i] != 0;
    }
    tap_ok(same && nonzero > (int)ob, "replayed peer outputs equal the in-process run, the second task reusing (%s)",
           rc ? err : "ok");
    npusim_core_destroy(core);
    snprintf(cmdline, sizeof cmdline, "rm -rf %s", dir);
    if (system(cmdline)) tap_diag("cleanup failed");
    npu_image_free(&img), npu_image_free(&res);
}

/* Damaged inputs the fuzzer (backend/tools/fuzz) exercises, as fixed cases: an image whose segment length
 * wraps the 8-byte padding (it once overflowed a 1-byte buffer), a length the file does not hold, and script
 * numbers that do not parse whole. */
static void test_damaged_inputs(void)
{
    static const uint8_t hdr[16] = {'R', 'K', 'N', 'P', 'U', 'I', 'M', 'G', 1, 0, 0, 0, 1, 0, 0, 0};
    static const uint8_t wraps[8] = {0, 0, 0, 0, 0xf9, 0xff, 0xff, 0xff}, short_len[8] = {0, 0, 0, 0, 64, 0, 0, 0};
    const uint8_t *segs[2] = {wraps, short_len};
    for (int i = 0; i < 2; i++) {
        uint8_t file[16 + 8 + 8] = {0};
        memcpy(file, hdr, 16);
        memcpy(file + 16, segs[i], 8);
        FILE *f = fmemopen(file, sizeof file, "rb");
        struct npu_image img = {0};
        char err[256] = "";
        int rc = f ? npu_image_read(&img, f, "damaged", err, sizeof err) : -1;
        if (f) fclose(f);
        tap_ok(rc == -EINVAL && strstr(err, "the file holds 8"),
               "image: segment length %s rejected before allocating: %s",
               i ? "longer than the file" : "wrapping the padding", err);
        npu_image_free(&img);
    }
    static const char *const bad[] = {"zero 0x100 12junk\n", "task 0x40000 -1\n", "task 0x100000000\n", "zero 0x100\n",
                                      "segment\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        FILE *f = fmemopen((void *)bad[i], strlen(bad[i]), "r");
        struct replay_script rs = {0};
        char err[256] = "";
        int rc = f ? replay_script_parse(f, ".", &rs, err, sizeof err, NULL) : -1;
        if (f) fclose(f);
        tap_ok(rc == -EINVAL && !strncmp(err, "1: ", 3) && rs.img.count == 0 && rs.ntasks == 0,
               "script: '%.*s' rejected on its line: %s", (int)strlen(bad[i]) - 1, bad[i], err);
        replay_script_free(&rs);
    }
}

int main(void)
{
    test_damaged_inputs();
    test_probe_lib();
    test_probe_cli();
    /* seconds natively, minutes of simulated MACs under qemu-user (the aarch64 stage sets RK_TEST_EMULATED),
     * where the same code is covered by the native run */
    if (getenv("RK_TEST_EMULATED"))
        tap_skip("the whole ladder twice: too slow under emulation, covered natively",
                 "calibrate on the simulator: flawless, then under flaw 'reuse'");
    else
        test_ladder_full();
    test_calibrate();
    test_trial_faults();
    test_replay();
    test_replay_peer();
    return tap_done();
}
