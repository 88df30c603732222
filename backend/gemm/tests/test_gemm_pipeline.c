// SPDX-License-Identifier: MIT
/*
 * The pipelined run (gemm_exec.c): a large matmul in row chunks over two scratch sets per core, the host glue
 * of one chunk beside the NPU work of another. On the software NPU (its cores run in threads of their own, so
 * chunks really overlap): results bit-exact against the CPU reference and bit-identical to an unpipelined
 * engine's in every mode, odd chunk sizes and strides, K-slices; a fault in a middle chunk fails the whole
 * matmul with the chunk's rows named and the next run is correct; small batches are not cut.
 */
#include <errno.h>
#include <string.h>

#include "gemm_case.h"
#include "npu_timing.h"
#include "tap.h"

#define P(...) ((struct gc_params){__VA_ARGS__})

static struct rk_gemm_engine *open_engine(uint32_t cores, uint32_t chunks)
{
    struct rk_gemm_engine *e = NULL;
    char why[256];
    struct rk_gemm_options o = {.kind = NPU_DEVICE_SIM, .cores = cores, .pipeline_chunks = chunks};
    if (!tap_ok(rk_gemm_open(&o, &e, why, sizeof why) == 0, "open a %u-core engine, pipeline_chunks %u", cores, chunks))
        tap_diag("%s", why);
    return e;
}

/* The same weight and X through a pipelined and an unpipelined engine: Y equal bit for bit (padding included). */
static void same_as_unpipelined(struct rk_gemm_engine *ep, struct rk_gemm_engine *es, const char *name,
                                enum rk_gemm_mode mode, int64_t M, int64_t K, int64_t N, int64_t pad, uint64_t seed)
{
    int64_t ldx = K + pad, ldy = N + pad;
    float *W = malloc(sizeof(float) * (size_t)(N * K)), *X = malloc(sizeof(float) * (size_t)(M * ldx));
    float *Yp = malloc(sizeof(float) * (size_t)(M * ldy)), *Ys = malloc(sizeof(float) * (size_t)(M * ldy));
    struct rk_weight *wp = NULL, *ws = NULL;
    struct rk_gemm_stats sp, ss;
    if (!W || !X || !Yp || !Ys) {
        tap_ok(0, "%s: out of memory", name);
        goto out;
    }
    gr_fill(W, N, K, K, 0.05f, 0, 1, &seed);
    gr_fill(X, M, K, ldx, 1.0f, 2, 20.0f, &seed);
    memset(Yp, 0x5a, sizeof(float) * (size_t)(M * ldy)), memset(Ys, 0x5a, sizeof(float) * (size_t)(M * ldy));
    int rc = rk_weight_prepare(ep, W, K, N, sizeof(float) * (size_t)K, NULL, mode, &wp);
    if (!rc) rc = rk_weight_prepare(es, W, K, N, sizeof(float) * (size_t)K, NULL, mode, &ws);
    if (!rc) rc = rk_gemm_run(ep, wp, X, M, ldx, Yp, ldy, &sp);
    if (!tap_ok(rc == 0, "%s: pipelined run", name)) tap_diag("%s", rk_gemm_last_error(ep));
    if (!rc) rc = rk_gemm_run(es, ws, X, M, ldx, Ys, ldy, &ss);
    if (!rc) {
        tap_ok(sp.chunks > 1 && ss.chunks == 1, "%s: M=%lld in %u chunks (unpipelined: %u)", name, (long long)M,
               sp.chunks, ss.chunks);
        tap_ok(memcmp(Yp, Ys, sizeof(float) * (size_t)(M * ldy)) == 0,
               "%s: Y bit-identical to the unpipelined run, padding untouched", name);
        tap_ok(sp.macs == ss.macs, "%s: the same MACs (%llu)", name, (unsigned long long)sp.macs);
        tap_ok(sp.exposed_glue_ns > 0 && sp.exposed_glue_ns <= sp.wall_ns && ss.exposed_glue_ns > 0,
               "%s: exposed glue measured (pipelined %.2f of %.2f ms, unpipelined %.2f of %.2f ms)", name,
               sp.exposed_glue_ns / 1e6, sp.wall_ns / 1e6, ss.exposed_glue_ns / 1e6, ss.wall_ns / 1e6);
    }
out:
    rk_weight_free(wp), rk_weight_free(ws);
    free(W), free(X), free(Yp), free(Ys);
}

static void against_cpu(struct rk_gemm_engine *e, const char *name, struct gc_params p)
{
    struct gc_result r;
    int rc = gc_run(e, &p, &r);
    if (!tap_ok(rc == 0, "%s: runs", name)) {
        tap_diag("%s", r.err);
        return;
    }
    tap_ok(r.st.chunks > 1, "%s: pipelined (%u chunks, %u jobs)", name, r.st.chunks, r.st.jobs);
    if (rk_mode_int8(p.mode))
        tap_ok(r.int_mismatches == 0 && r.int_compared == (uint64_t)(p.M * p.N), "%s: int32 bit-exact vs CPU", name);
    tap_ok(r.f32.over_bound == 0, "%s: f32 error within the bound (max %.3g of bound)", name, r.f32.max_rel_to_bound);
}

/* A fault in a middle chunk's job (one core, so the job order is the chunk order). */
static void fault_in_middle_chunk(enum npu_sim_fault fault, int want_rc, const char *want_text)
{
    struct rk_gemm_engine *e = open_engine(1, RK_GEMM_PIPELINE_CHUNKS);
    if (!e) return;
    struct gc_params p = P(.mode = RK_GEMM_INT8, .M = 256, .K = 2048, .N = 512, .seed = 41);
    struct gc_result r;
    int rc = gc_run(e, &p, &r);
    uint32_t jobs = r.st.jobs, chunks = r.st.chunks;
    tap_ok(rc == 0 && chunks >= 3, "1 core, M=256: %u chunks, %u jobs", chunks, jobs);
    npu_sim_inject_fault(fault, jobs / 2 + 1);
    rc = gc_run(e, &p, &r);
    npu_sim_inject_fault(NPU_SIM_FAULT_NONE, 0);
    tap_ok((want_rc ? rc == want_rc : rc < 0) && strstr(r.err, "M=256 K=2048 N=512 int8, row chunk ") &&
                   strstr(r.err, want_text),
           "%s in job %u of %u: the matmul fails, naming the chunk: %s", npu_sim_fault_name(fault), jobs / 2 + 1, jobs,
           r.err);
    rc = gc_run(e, &p, &r);
    tap_ok(rc == 0 && r.int_mismatches == 0 && r.st.chunks == chunks, "  the next run is bit-exact");
    rk_gemm_close(e);
}

/* pipeline_chunks 0: no cut before the glue is measured, none at the pessimistic per-job cost for a matmul
 * whose glue is below it, and cuts once a board profile measures the per-job cost low. */
static void auto_choice(void)
{
    struct rk_gemm_engine *e = open_engine(3, 0);
    if (!e) return;
    struct gc_params p = P(.mode = RK_GEMM_INT8, .M = 256, .K = 1024, .N = 768, .seed = 51);
    struct gc_result r;
    int rc = gc_run(e, &p, &r);
    tap_ok(rc == 0 && r.st.chunks == 1, "auto, first run (no glue measured yet): one chunk");
    rc = gc_run(e, &p, &r);
    double glue_ms = (r.st.quant_ns + r.st.readout_ns) / 1e6;
    /* two chunks need an estimated glue of 4 job costs; the estimate is a mean over runs, so allow for noise */
    tap_ok(rc == 0 && (r.st.chunks == 1 || glue_ms >= npu_model_job_overhead_ns(NPU_MODEL_PESSIMISTIC) / 1e6),
           "auto at the pessimistic job cost (%.2f ms) and %.2f ms of glue: %u chunk(s)",
           npu_model_job_overhead_ns(NPU_MODEL_PESSIMISTIC) / 1e6, glue_ms, r.st.chunks);
    struct npu_model_measured m = {.job_overhead_us = 1}; /* a board that attaches jobs for free, almost */
    if (tap_ok(npu_model_install_measured(&m, "test") == 0, "a measured per-job cost of 1 us installed")) {
        rc = gc_run(e, &p, &r);
        tap_ok(rc == 0 && r.st.chunks > 1 && r.int_mismatches == 0, "auto then cuts M=256 into %u chunks, bit-exact",
               r.st.chunks);
        npu_model_reset();
    }
    rk_gemm_close(e);
}

int main(void)
{
    struct rk_gemm_engine *ep = open_engine(3, RK_GEMM_PIPELINE_CHUNKS), *es = open_engine(3, 1);
    if (!ep || !es) return tap_done();
    same_as_unpipelined(ep, es, "int8 M=300 K=1536 N=1024", RK_GEMM_INT8, 300, 1536, 1024, 0, 1);
    same_as_unpipelined(ep, es, "int8 odd M=129 K=1000 N=333, strides", RK_GEMM_INT8, 129, 1000, 333, 7, 2);
    same_as_unpipelined(ep, es, "int8 K-sliced M=200 K=8960 N=256", RK_GEMM_INT8, 200, 8960, 256, 0, 3);
    same_as_unpipelined(ep, es, "fp16 M=160 K=896 N=200", RK_GEMM_FP16, 160, 896, 200, 3, 4);
    same_as_unpipelined(ep, es, "int8-had M=140 K=3584 N=96", RK_GEMM_INT8_HAD, 140, 3584, 96, 0, 5);
    against_cpu(ep, "int8 M=512 K=1536 N=1536", P(.mode = RK_GEMM_INT8, .M = 512, .K = 1536, .N = 1536, .seed = 6));
    against_cpu(ep, "fp16 M=257 K=640 N=130", P(.mode = RK_GEMM_FP16, .M = 257, .K = 640, .N = 130, .seed = 7));
    {
        struct gc_result r;
        struct gc_params p = P(.mode = RK_GEMM_INT8, .M = 100, .K = 512, .N = 64, .seed = 8);
        int rc = gc_run(ep, &p, &r);
        tap_ok(rc == 0 && r.st.chunks == 1 && r.int_mismatches == 0,
               "M=100 (below two chunks of the minimum): one chunk, bit-exact");
    }
    rk_gemm_close(ep), rk_gemm_close(es);
    auto_choice();
    fault_in_middle_chunk(NPU_SIM_FAULT_DMA, -EFAULT, "");
    fault_in_middle_chunk(NPU_SIM_FAULT_RESET, -ETIME, "treated as a core reset");
    fault_in_middle_chunk(NPU_SIM_FAULT_DROPPED, 0, "");
    return tap_done();
}
