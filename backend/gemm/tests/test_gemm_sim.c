// SPDX-License-Identifier: MIT
/*
 * GEMM engine end to end on the software NPU (3 simulated cores): the int32 result is bit-exact against the
 * CPU reference of the same quantization, the f32 error is within the stated bound (gemm_ref.h), for
 * multi-tile, K-sliced (incl. ffn_down K=8960), N-split, odd and outlier cases, both modes, in the default
 * (safe) envelope; the tiling cases again in the vendor envelope and a narrow board one. The software NPU is
 * opened with the engine's envelope, so any task the planner emits outside it fails the case. NPU failures
 * are reported as errors. Sizes keep the run within a minute or two on 2 host cores.
 */
#include <errno.h>
#include <math.h>

#include "gemm_case.h"
#include "tap.h"

static void check_case(struct rk_gemm_engine *e, const char *name, struct gc_params p)
{
    struct gc_result r;
    int rc = gc_run(e, &p, &r);
    if (!tap_ok(rc == 0, "%s: M=%lld K=%lld N=%lld %s runs", name, (long long)p.M, (long long)p.K, (long long)p.N,
                rk_gemm_mode_name(p.mode))) {
        tap_diag("%s", r.err);
        return;
    }
    if (rk_mode_int8(p.mode) &&
        !tap_ok(r.int_mismatches == 0 && r.int_compared == (uint64_t)(p.M * p.N),
                "%s: int32 bit-exact vs CPU (%llu values)", name, (unsigned long long)r.int_compared))
        tap_diag("%llu mismatches; %s", (unsigned long long)r.int_mismatches, r.err);
    if (!tap_ok(r.f32.over_bound == 0, "%s: f32 error within the bound (max %.3g of bound, NMSE %.3g)", name,
                r.f32.max_rel_to_bound, r.f32.nmse))
        tap_diag("%llu of %llu over; worst [%lld][%lld] abs %.4g", (unsigned long long)r.f32.over_bound,
                 (unsigned long long)r.f32.compared, (long long)r.f32.worst_m, (long long)r.f32.worst_n, r.f32.max_abs);
    tap_diag("%s: %u tasks, %u jobs, slices %u, DMA %.2f MB, glue %.3f ms, MODEL %.3f ms @200 MHz / %.3f ms @1 GHz",
             name, r.st.tasks, r.st.jobs, r.wi.k_slices, r.st.dma_bytes / 1e6, r.st.glue_ns / 1e6,
             r.st.model_ns_200[NPU_MODEL_PESSIMISTIC] / 1e6, r.st.model_ns_1000[NPU_MODEL_PESSIMISTIC] / 1e6);
}

#define P(...) ((struct gc_params){__VA_ARGS__})

/* The tiling cases (K-slices, M- and N-tiles, jobs) in another envelope. */
static void envelope_cases(const struct npu_envelope *env)
{
    struct rk_gemm_engine *e = NULL;
    char why[256], name[64];
    struct rk_gemm_options o = {.kind = NPU_DEVICE_SIM, .cores = 3, .envelope = env};
    if (!tap_ok(rk_gemm_open(&o, &e, why, sizeof why) == 0, "open a 3-core engine in envelope %s",
                npu_envelope_name(env->kind))) {
        tap_diag("%s", why);
        return;
    }
    tap_ok(rk_gemm_envelope(e)->m_tile_max == env->m_tile_max, "the engine keeps the envelope it was opened with");
    snprintf(name, sizeof name, "%s: ffn_down K=8960", npu_envelope_name(env->kind));
    check_case(e, name, P(.mode = RK_GEMM_INT8, .M = 70, .K = 8960, .N = 256, .seed = 31));
    snprintf(name, sizeof name, "%s: M=300 K=1536 N=1024", npu_envelope_name(env->kind));
    check_case(e, name, P(.mode = RK_GEMM_INT8, .M = 300, .K = 1536, .N = 1024, .seed = 32));
    snprintf(name, sizeof name, "%s: fp16 K=8960", npu_envelope_name(env->kind));
    check_case(e, name, P(.mode = RK_GEMM_FP16, .M = 20, .K = 8960, .N = 96, .seed = 33));
    snprintf(name, sizeof name, "%s: int8-had K=3584 odd N", npu_envelope_name(env->kind));
    check_case(e, name, P(.mode = RK_GEMM_INT8_HAD, .M = 9, .K = 3584, .N = 333, .seed = 34));
    rk_gemm_close(e);
}

int main(void)
{
    struct rk_gemm_engine *e = NULL;
    char why[256];
    struct rk_gemm_options o = {.kind = NPU_DEVICE_SIM, .cores = 3};
    if (!tap_ok(rk_gemm_open(&o, &e, why, sizeof why) == 0, "open a 3-core engine on the simulator")) {
        tap_diag("%s", why);
        return tap_done();
    }
    tap_ok(rk_gemm_envelope(e)->kind == NPU_ENVELOPE_SAFE, "no envelope given: the engine plans in 'safe'");
    const enum rk_gemm_mode I8 = RK_GEMM_INT8, F16 = RK_GEMM_FP16, HAD = RK_GEMM_INT8_HAD;
    check_case(e, "tiny", P(.mode = I8, .M = 4, .K = 64, .N = 64, .seed = 1));
    for (int m = 1; m <= 3; m++)
        check_case(e, "odd N=1023 K=1000",
                   P(.mode = I8, .M = m, .K = 1000, .N = 1023, .seed = 10 + m, .ldx_pad = 5, .ldy_pad = 3));
    check_case(e, "odd K=33 N=1", P(.mode = I8, .M = 3, .K = 33, .N = 1, .seed = 3));
    check_case(e, "multi-tile M=300 K=1536 N=1024", P(.mode = I8, .M = 300, .K = 1536, .N = 1024, .seed = 4));
    check_case(e, "prefill M=512 K=1536 N=1536", P(.mode = I8, .M = 512, .K = 1536, .N = 1536, .seed = 5));
    {
        /* attn_k/attn_v at M=512: the vendor envelope's plan marks WEIGHT_REUSE (the builder and the software NPU
         * decide what the flag does; the result must stay bit-exact either way); safe has no weight reuse */
        struct gc_params p = P(.mode = I8, .M = 512, .K = 1536, .N = 256, .seed = 18);
        struct gc_result r;
        int rc = gc_run(e, &p, &r);
        tap_ok(rc == 0 && r.int_mismatches == 0 && r.st.reuse_tasks == 0,
               "safe (k/v M=512): no task reuses weights, bit-exact (%u tasks)", r.st.tasks);
        struct rk_gemm_engine *ev = NULL;
        struct rk_gemm_options ov = {.kind = NPU_DEVICE_SIM, .cores = 3, .envelope = &npu_envelope_vendor};
        if (tap_ok(rk_gemm_open(&ov, &ev, why, sizeof why) == 0, "open a 3-core engine in 'vendor'")) {
            rc = gc_run(ev, &p, &r);
            tap_ok(rc == 0 && r.int_mismatches == 0 && r.st.reuse_tasks > 0,
                   "WEIGHT_REUSE plan (vendor, k/v M=512, %u of %u tasks reuse): bit-exact", r.st.reuse_tasks,
                   r.st.tasks);
            rk_gemm_close(ev);
        }
    }
    check_case(e, "ffn_down K=8960 (K-slices)", P(.mode = I8, .M = 40, .K = 8960, .N = 256, .seed = 6));
    check_case(e, "hazard K=3584 M=16 (sliced)", P(.mode = I8, .M = 16, .K = 3584, .N = 96, .seed = 7));
    check_case(e, "N-tiles N=10000 (2 per core)", P(.mode = I8, .M = 8, .K = 64, .N = 10000, .seed = 8));
    check_case(e, "outliers x100 in X, x20 in W",
               P(.mode = I8, .M = 64, .K = 1536, .N = 256, .seed = 9, .x_outliers = 4, .x_factor = 100, .w_outliers = 8,
                 .w_factor = 20));
    check_case(e, "fp16 M=33 K=1536 N=300", P(.mode = F16, .M = 33, .K = 1536, .N = 300, .seed = 11));
    check_case(e, "fp16 K=8960 (slices) outliers",
               P(.mode = F16, .M = 20, .K = 8960, .N = 96, .seed = 12, .x_outliers = 4, .x_factor = 100));
    check_case(e, "fp16 K=3840 M=20 (grains window)", P(.mode = F16, .M = 20, .K = 3840, .N = 64, .seed = 14));
    check_case(e, "int8-had K=8960 outliers",
               P(.mode = HAD, .M = 24, .K = 8960, .N = 96, .seed = 15, .x_outliers = 4, .x_factor = 100));
    check_case(e, "int8-had odd K=1000 (H_8) N=1023", P(.mode = HAD, .M = 3, .K = 1000, .N = 1023, .seed = 16));
    check_case(e, "int8-had K=33 (no rotation)", P(.mode = HAD, .M = 2, .K = 33, .N = 5, .seed = 17));
    check_case(e, "fp16 odd N=1023 K=1000 M=2", P(.mode = F16, .M = 2, .K = 1000, .N = 1023, .seed = 13));

    /* Error of both modes on the same outlier data (the accuracy-mode comparison). */
    {
        struct gc_params p = P(.mode = I8, .M = 32, .K = 1536, .N = 512, .seed = 21, .x_outliers = 4, .x_factor = 100);
        struct gc_result a, b, c;
        gc_run(e, &p, &a);
        p.mode = F16;
        gc_run(e, &p, &b);
        p.mode = HAD;
        gc_run(e, &p, &c);
        tap_ok(a.rc == 0 && b.rc == 0 && b.f32.nmse < a.f32.nmse / 10,
               "fp16 mode is >10x more accurate on outlier data (NMSE int8 %.3g, fp16 %.3g)", a.f32.nmse, b.f32.nmse);
        tap_ok(c.rc == 0 && c.int_mismatches == 0 && c.f32.nmse < a.f32.nmse / 3,
               "int8-had mode: int32 bit-exact, >3x more accurate than int8 on outlier data (NMSE %.3g)", c.f32.nmse);
    }

    /* Small job budget: many jobs, same result. */
    {
        struct rk_gemm_engine *e2 = NULL;
        /* one chunk: these cases count the jobs of the whole matmul (test_gemm_pipeline covers chunks) */
        struct rk_gemm_options o2 = {.kind = NPU_DEVICE_SIM, .cores = 1, .job_budget_ms = 1, .pipeline_chunks = 1};
        if (tap_ok(rk_gemm_open(&o2, &e2, why, sizeof why) == 0, "open a 1-core engine with a 1 ms job budget")) {
            struct gc_params p = P(.mode = I8, .M = 256, .K = 2048, .N = 512, .seed = 22);
            struct gc_result r;
            int rc = gc_run(e2, &p, &r);
            tap_ok(rc == 0 && r.int_mismatches == 0 && r.st.jobs > 1, "1 core, %u jobs of <= 1 ms MODEL: bit-exact",
                   r.st.jobs);
            /* the pessimistic job overhead alone (IOMMU attach) fills the 1 ms: one task per job */
            tap_ok(r.st.jobs == r.st.tasks, "a budget below the job overhead: one task per job (%u tasks)", r.st.tasks);
            npu_sim_inject_fault(NPU_SIM_FAULT_RESET, r.st.jobs);
            rc = gc_run(e2, &p, &r);
            npu_sim_inject_fault(NPU_SIM_FAULT_NONE, 0);
            char want[96];
            snprintf(want, sizeof want, "simulated NPU core 0, job %u/%u (tasks ", r.st.jobs - 1, r.st.jobs);
            tap_ok(rc == -ETIME && strstr(r.err, want) && strstr(r.err, "; M=256 K=2048 N=512 int8): job ") &&
                           strstr(r.err, "treated as a core reset"),
                   "reset in the last job: named with its tasks and the shape: %s", r.err);
            rk_gemm_close(e2);
        }
        struct rk_gemm_engine *e3 = NULL;
        o2.unchecked_submit = true;
        if (tap_ok(rk_gemm_open(&o2, &e3, why, sizeof why) == 0, "the same without the after-SUBMIT fence check")) {
            struct gc_params p = P(.mode = I8, .M = 128, .K = 8960, .N = 256, .seed = 23);
            struct gc_result r;
            npu_sim_inject_fault(NPU_SIM_FAULT_DROPPED, 2);
            int rc = gc_run(e3, &p, &r);
            npu_sim_inject_fault(NPU_SIM_FAULT_NONE, 0);
            tap_ok(rc == -EIO && strstr(r.err, "simulated NPU core 0, job 1/") && strstr(r.err, ", K-slice ") &&
                           strstr(r.err, " (k ") &&
                           strstr(r.err, "; M=128 K=8960 N=256 int8) untouched after the job signalled completion"),
                   "dropped@2 of a K-sliced plan: the canary names the task, its rows, columns and slice: %s", r.err);
            rc = gc_run(e3, &p, &r);
            tap_ok(rc == 0 && r.int_mismatches == 0, "  the next run is bit-exact");
            rk_gemm_close(e3);
        }
    }

    /* The same tiling in the vendor envelope and in a narrow board envelope. */
    envelope_cases(&npu_envelope_vendor);
    struct npu_envelope board = npu_envelope_vendor;
    board.kind = NPU_ENVELOPE_BOARD, board.m_tile_max = 16, board.n_tile_max = 64, board.k_task_max_int8 = 1024;
    board.k_task_max_fp16 = 512, board.chained_tails = false, board.inplace_k_slices = false;
    board.tasks_per_job_max = 5;
    envelope_cases(&board);
    board.n_tile_max = 100;
    struct rk_gemm_engine *bad = NULL;
    struct rk_gemm_options ob = {.kind = NPU_DEVICE_SIM, .cores = 1, .envelope = &board};
    tap_ok(rk_gemm_open(&ob, &bad, why, sizeof why) == -EINVAL && !bad && strstr(why, "n_tile_max"),
           "an invalid envelope is refused at open: %s", why);

    /* Declines and errors. */
    tap_ok(rk_gemm_supports(600000, 64, I8, NULL, why, sizeof why) == -ENOTSUP && strstr(why, "K=600000"),
           "supports() declines K=600000 with a reason: %s", why);
    tap_ok(rk_gemm_supports(1536, 151936, I8, NULL, why, sizeof why) == 0,
           "supports() accepts the lm_head 1536x151936");
    tap_ok(rk_gemm_supports(0, 64, I8, NULL, why, sizeof why) == -EINVAL, "supports() declines K=0");
    {
        float W[64 * 32], X[2 * 64], Y[2 * 32];
        uint64_t s = 5;
        gr_fill(W, 32, 64, 64, 1, 0, 1, &s);
        gr_fill(X, 2, 64, 64, 1, 0, 1, &s);
        struct rk_weight *w = NULL;
        int rc = rk_weight_prepare(e, W, 64, 32, 256, NULL, I8, &w);
        tap_ok(rc == 0, "prepare a small weight");
        X[70] = NAN;
        rc = rk_gemm_run(e, w, X, 2, 64, Y, 32, NULL);
        int64_t bad_row = -1;
        tap_ok(rc == 0 && rk_gemm_nonfinite_rows(e, &bad_row, 1) == 1 && bad_row == 1 && isnan(Y[32]) && isnan(Y[63]) &&
                       !isnan(Y[0]) && !isnan(Y[31]),
               "a NaN activation row is left out: its Y row NaN, the other computed (rc %d)", rc);
        X[70] = 0;
        /* Each fault fails the matmul with the core, the job and its tasks, the shape and the reason. */
        static const struct {
            enum npu_sim_fault fault;
            int rc;
            const char *why;
        } faults[] = {
                {NPU_SIM_FAULT_DMA, -EFAULT, "DMA fault"},
                {NPU_SIM_FAULT_RESET, -ETIME, "treated as a core reset"},
                {NPU_SIM_FAULT_SLOW, -ETIME, "treated as a core reset"},
                {NPU_SIM_FAULT_DROPPED, 0, NULL}, /* -EIO: the fence check or, if it could not tell, a canary */
        };
        for (size_t i = 0; i < sizeof faults / sizeof faults[0]; i++) {
            for (int k = 0; k < 2 * 32; k++) Y[k] = 12345.0f;
            npu_sim_inject_fault(faults[i].fault, 1);
            rc = rk_gemm_run(e, w, X, 2, 64, Y, 32, NULL);
            npu_sim_inject_fault(NPU_SIM_FAULT_NONE, 0);
            const char *msg = rk_gemm_last_error(e);
            bool why = faults[i].why ? strstr(msg, faults[i].why) != NULL
                                     : strstr(msg, "not accepted by the kernel") || strstr(msg, "canary");
            tap_ok(rc == (faults[i].rc ? faults[i].rc : -EIO) && why && strstr(msg, "simulated NPU core 0, job 0/1") &&
                           strstr(msg, "M=2 K=64 N=32 int8") && strstr(msg, "result discarded"),
                   "injected '%s' fails the matmul (rc %d): %s", npu_sim_fault_name(faults[i].fault), rc, msg);
            bool kept = true;
            for (int k = 0; k < 2 * 32; k++) kept &= Y[k] == 12345.0f;
            tap_ok(kept, "  nothing was written to Y");
            rc = rk_gemm_run(e, w, X, 2, 64, Y, 32, NULL);
            tap_ok(rc == 0, "  the next matmul works");
        }
        /* Without the device layer's fence check a dropped job is caught by its canaries. */
        {
            struct rk_gemm_engine *e1 = NULL;
            struct rk_gemm_options o1 = {.kind = NPU_DEVICE_SIM, .cores = 1, .unchecked_submit = true};
            struct rk_weight *w1 = NULL;
            if (tap_ok(rk_gemm_open(&o1, &e1, why, sizeof why) == 0 &&
                               rk_weight_prepare(e1, W, 64, 32, 256, NULL, I8, &w1) == 0,
                       "a 1-core engine without the after-SUBMIT fence check")) {
                npu_sim_inject_fault(NPU_SIM_FAULT_DROPPED, 1);
                rc = rk_gemm_run(e1, w1, X, 2, 64, Y, 32, NULL);
                npu_sim_inject_fault(NPU_SIM_FAULT_NONE, 0);
                tap_ok(rc == -EIO && strstr(rk_gemm_last_error(e1),
                                            "simulated NPU core 0, job 0/1 (tasks 0-0): output canary of task 0 "
                                            "(rows 0-1, cols 0-31; M=2 K=64 N=32 int8) untouched after the job "
                                            "signalled completion: the core was reset or the job dropped; "
                                            "result discarded"),
                       "dropped: the untouched canary fails the matmul: %s", rk_gemm_last_error(e1));
                tap_ok(rk_gemm_run(e1, w1, X, 2, 64, Y, 32, NULL) == 0,
                       "  the next matmul works (the other canary word)");
            }
            rk_weight_free(w1);
            rk_gemm_close(e1);
        }
        /* Non-finite rows found by two parallel shares (M·K above the threading threshold): left out as NaN
         * rows, named, and the other rows bit for bit what they are without them (rows are independent). */
        for (int mode = 0; mode < 2; mode++) {
            enum rk_gemm_mode md = mode ? RK_GEMM_FP16 : I8;
            struct rk_weight *wb = NULL;
            float *Wb = malloc(sizeof(float) * 64 * 1536), *Xb = malloc(sizeof(float) * 300 * 1536);
            float *Yb = malloc(sizeof(float) * 300 * 64), *Yf = malloc(sizeof(float) * 300 * 64);
            gr_fill(Wb, 64, 1536, 1536, 1, 0, 1, &s);
            gr_fill(Xb, 300, 1536, 1536, 1, 0, 1, &s);
            struct rk_gemm_stats st = {0};
            rc = rk_weight_prepare(e, Wb, 1536, 64, 1536 * 4, NULL, md, &wb);
            rc = rc ? rc : rk_gemm_run(e, wb, Xb, 300, 1536, Yf, 64, NULL);
            int64_t none = rc ? -1 : rk_gemm_nonfinite_rows(e, NULL, 0);
            Xb[17 * 1536 + 1535] = NAN;
            Xb[250 * 1536 + 7] = -INFINITY;
            rc = rc ? rc : rk_gemm_run(e, wb, Xb, 300, 1536, Yb, 64, &st);
            int64_t rows[4] = {-1, -1, -1, -1}, n = rc ? -1 : rk_gemm_nonfinite_rows(e, rows, 4);
            int nan_rows = 0, same = 0;
            for (int m = 0; m < 300; m++) {
                bool all_nan = true;
                for (int c = 0; c < 64; c++) all_nan = all_nan && isnan(Yb[m * 64 + c]);
                nan_rows += all_nan;
                same += !all_nan && !memcmp(Yb + m * 64, Yf + m * 64, 64 * sizeof(float));
            }
            tap_ok(rc == 0 && none == 0 && n == 2 && rows[0] == 17 && rows[1] == 250 && st.nonfinite_rows == 2,
                   "%s: NaN in row 17 and -Inf in row 250 of 300: run (rc %d), rows named (%lld: %lld, %lld)",
                   rk_gemm_mode_name(md), rc, (long long)n, (long long)rows[0], (long long)rows[1]);
            tap_ok(nan_rows == 2 && same == 298, "  their Y rows NaN (%d), the 298 others as without them (%d)",
                   nan_rows, same);
            rk_weight_free(wb);
            free(Wb), free(Xb), free(Yb), free(Yf);
        }
        W[5] = INFINITY;
        struct rk_weight *w2 = NULL;
        rc = rk_weight_prepare(e, W, 64, 32, 256, NULL, I8, &w2);
        tap_ok(rc == -EDOM && w2 == NULL, "non-finite weight declined (-EDOM): %s", rk_gemm_last_error(e));
        rk_weight_free(w);
    }
    {
        /* Ephemeral weights (attention's K and V): one object reloaded with new values and shapes every call, its
         * BOs grown when needed and kept otherwise; every result against a double reference. */
        static const struct {
            int64_t K, N;
        } shapes[] = {{128, 200}, {128, 700}, {128, 96}, {300, 64}, {64, 513}};
        struct rk_weight *ew = NULL;
        uint64_t s = 11;
        const int64_t M = 37, ld = 320; /* rows of B wider than K: a strided view, like a KV-cache head */
        for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
            int64_t K = shapes[i].K, N = shapes[i].N;
            float *B = malloc(sizeof(float) * N * ld), *X = malloc(sizeof(float) * M * K),
                  *Y = malloc(sizeof(float) * M * N);
            gr_fill(B, N, ld, ld, 1, 0, 1, &s);
            gr_fill(X, M, K, K, 1, 0, 1, &s);
            uint32_t bo_before = ew && ew->b[0] ? ew->b[0]->size : 0;
            int rc = rk_weight_load(e, &ew, B, K, N, sizeof(float) * ld, NULL, RK_GEMM_FP16);
            if (!rc) rc = rk_gemm_run(e, ew, X, M, K, Y, N, NULL);
            double err = 0, ref2 = 0;
            for (int64_t m = 0; m < M && !rc; m++)
                for (int64_t n = 0; n < N; n++) {
                    double r = 0;
                    for (int64_t k = 0; k < K; k++) r += (double)X[m * K + k] * B[n * ld + k];
                    err += (Y[m * N + n] - r) * (Y[m * N + n] - r), ref2 += r * r;
                }
            tap_ok(rc == 0 && err / ref2 < 1e-6,
                   "ephemeral weight %zu: K=%lld N=%lld fp16, NMSE %.2g (BO %u -> %u bytes)", i, (long long)K,
                   (long long)N, rc ? -1.0 : err / ref2, bo_before, ew ? ew->b[0]->size : 0);
            if (i == 2) tap_ok(ew->b[0]->size == bo_before, "  a smaller operand keeps the BO");
            free(B), free(X), free(Y);
        }
        rk_weight_free(ew);
    }
    rk_gemm_close(e);
    return tap_done();
}
