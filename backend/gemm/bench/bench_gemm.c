// SPDX-License-Identifier: MIT
/*
 * bench-gemm: the GEMM engine on the matmul shapes of real models (model_shapes.c: Qwen2.5-1.5B by default,
 * docs/hardware/ggml-backend.md §6; the stretch and current models of docs/models.md) against ggml's CPU backend in
 * the same run. Per shape × M: plan stats, measured host glue (and GB/s), the timing MODEL's NPU time at
 * 200 MHz and 1 GHz as two bounds (optimistic-pessimistic), the CPU backend's matmul time, and with --verify
 * the acceptance checks (int32 bit-exact vs the CPU reference of the same quantization, f32 error vs an exact
 * matmul within the stated bound). Prints a table, writes JSON, and the MODEL's prefill prediction for a
 * 512-token batch.
 *
 *   bench-gemm [--model NAME,...|stretch|all] [--device sim|rocket] [--mode int8|fp16|int8-had|both|all]
 *              [--m 1,8,32,128,512] [--shapes all|small|NAME,...] [--envelope safe|vendor|board --profile FILE]
 *              [--verify] [--json FILE] [--explain] [--cpu-threads N] [--cpu-reps N] [--no-cpu] [--pipeline N]
 *   bench-gemm --model-only [--model ...] [--mode ...] [--m ...] [--shapes ...] [--envelope ...] [--json FILE]
 *
 * --shapes small: every shape but the lm_head; NAME,...: shapes whose names start so.
 * --envelope: the execution envelope the engine plans in (default safe, as the plugin without a board
 * profile; board: the one in the board profile FILE, backend/profile/board_profile.h, whose measured timing
 * then drives the MODEL too); --no-cpu skips the CPU backend's timing (cpu_ms 0).
 * --pipeline N: the engine's row chunks (rk_gemm_options.pipeline_chunks: 0 auto, 1 off, N forced); each row is
 * then followed by a "# pipeline" line with the chunks and the host glue left on the critical path.
 * --model-only plans every case without running it (no device, no CPU backend): the MODEL's two bounds at both
 * clocks with the envelope's WEIGHT_REUSE and without it, i.e. the reuse saving per shape, and each weight's NPU
 * bytes with the model's total.
 *
 * Not a test: the full --verify sweep of Qwen2.5-1.5B runs ~180 GMAC through the software NPU, that of the stretch
 * models ~2 TMAC (docs/performance.md).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ggml-alloc.h"
#include "ggml-backend.h"
#include "ggml.h"

#include "board_profile.h"
#include "gemm_ref.h"
#include "ggml_weights.h"
#include "model_shapes.h"
#include "npu_envelope.h"
#include "npu_timing.h"

#define MAX_M        8
#define MAX_SELECTED 64
#define MIB          (1024.0 * 1024.0)

/* One shape of one model, as selected by --model, --shapes. */
struct sel {
    const struct bench_model *model;
    const struct bench_shape *sh;
};
static struct sel selected[MAX_SELECTED];
static int nsel;

/* --model: NAME[,NAME...], "stretch" (every model but the default) or "all"; 0 or -1 on an unknown name. */
static int select_models(const char *list, bool small, const char *only);

struct row {
    int shape, M;
    enum rk_gemm_mode mode;
    struct rk_gemm_stats st;
    double cpu_ms, glue_gbps;
    int verified;
    uint64_t int_mismatches, int_compared;
    struct gr_err err;
    double cpu_nmse;
    int rc;
    char msg[300];
};

struct cpu_be {
    ggml_backend_reg_t reg;
    ggml_backend_t be;
    int threads;
};

static int cpu_open(struct cpu_be *c, int threads)
{
    const char *path = getenv("RK_GGML_CPU_LIB");
    char buf[1024];
    if (!path) {
        snprintf(buf, sizeof buf, "%s/libggml-cpu.so", RK_GGML_LIBDIR);
        path = buf;
    }
    c->reg = ggml_backend_load(path);
    if (!c->reg) {
        fprintf(stderr, "bench-gemm: cannot load the CPU backend %s (set RK_GGML_CPU_LIB)\n", path);
        return -1;
    }
    c->be = ggml_backend_dev_init(ggml_backend_reg_dev_get(c->reg, 0), NULL);
    if (!c->be) return -1;
    void (*set_threads)(ggml_backend_t, int) =
            (void (*)(ggml_backend_t, int))ggml_backend_reg_get_proc_address(c->reg, "ggml_backend_set_n_threads");
    c->threads = threads;
    if (set_threads) set_threads(c->be, threads);
    return 0;
}

/* ggml CPU backend: Y[M,N] = mul_mat(W [K,N] of the weight's ggml type, X [K,M] f32); best of reps (ms). */
static double cpu_matmul(struct cpu_be *c, const struct gw_weight *g, const float *X, int64_t M, float *Y, int reps)
{
    struct ggml_init_params ip = {.mem_size = ggml_tensor_overhead() * 8 + ggml_graph_overhead(), .no_alloc = true};
    struct ggml_context *ctx = ggml_init(ip);
    struct ggml_tensor *W = ggml_new_tensor_2d(ctx, g->type, g->K, g->N);
    struct ggml_tensor *x = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, g->K, M);
    struct ggml_tensor *y = ggml_mul_mat(ctx, W, x);
    ggml_backend_buffer_t buf = ggml_backend_alloc_ctx_tensors(ctx, c->be);
    ggml_backend_tensor_set(W, g->raw, 0, ggml_nbytes(W));
    ggml_backend_tensor_set(x, X, 0, ggml_nbytes(x));
    struct ggml_cgraph *gf = ggml_new_graph(ctx);
    ggml_build_forward_expand(gf, y);
    /* Best of at least `reps` runs after a warm-up, repeated up to 20 times or ~0.5 s: the CI host is shared,
     * and a descheduled pool thread costs a whole time slice. */
    double best = 1e30, total = 0;
    for (int r = 0; r < 21 && (r <= reps || total < 500); r++) {
        int64_t t0 = npu_monotonic_ns();
        ggml_backend_graph_compute(c->be, gf);
        double ms = (npu_monotonic_ns() - t0) / 1e6;
        if (r && ms < best) best = ms;
        total += ms;
    }
    ggml_backend_tensor_get(y, Y, 0, ggml_nbytes(y));
    ggml_backend_buffer_free(buf);
    ggml_free(ctx);
    return best;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: bench-gemm [--model NAME,...|stretch|all] [--device sim|rocket] [--mode "
            "int8|fp16|int8-had|both|all]\n"
            "                  [--m 1,8,...] [--shapes all|small|NAME,...] [--envelope safe|vendor|board --profile "
            "FILE]\n"
            "                  [--verify] [--json FILE] [--explain] [--cpu-threads N] [--cpu-reps N] [--no-cpu] "
            "[--pipeline N]\n"
            "       bench-gemm --model-only [--model ...] [--mode ...] [--m ...] [--shapes ...] [--envelope ...] "
            "[--json FILE]\n");
}

static bool shape_wanted(const struct bench_shape *sh, bool small, const char *only)
{
    bool wanted = !only;
    for (const char *t = only; t && *t; t = strchr(t, ',') ? strchr(t, ',') + 1 : t + strlen(t)) {
        size_t len = strchr(t, ',') ? (size_t)(strchr(t, ',') - t) : strlen(t);
        wanted |= len && !strncmp(sh->name, t, len);
    }
    return wanted && !(small && !sh->per_layer); /* small: without the lm_head */
}

static void select_model(const struct bench_model *m, bool small, const char *only)
{
    for (int s = 0; s < m->nshapes && nsel < MAX_SELECTED; s++)
        if (shape_wanted(&m->shapes[s], small, only)) selected[nsel++] = (struct sel){m, &m->shapes[s]};
}

static int select_models(const char *list, bool small, const char *only)
{
    bool stretch = !strcmp(list, "stretch"), all = !strcmp(list, "all");
    if (stretch || all) {
        for (int i = stretch ? 1 : 0; i < bench_nmodels; i++) select_model(&bench_models[i], small, only);
        return 0;
    }
    for (const char *t = list; *t; t = strchr(t, ',') ? strchr(t, ',') + 1 : t + strlen(t)) {
        char name[64];
        size_t len = strchr(t, ',') ? (size_t)(strchr(t, ',') - t) : strlen(t);
        snprintf(name, sizeof name, "%.*s", (int)len, t);
        const struct bench_model *m = bench_model_find(name);
        if (!m) {
            fprintf(stderr, "bench-gemm: unknown model '%s' (known:", name);
            for (int i = 0; i < bench_nmodels; i++) fprintf(stderr, " %s", bench_models[i].name);
            fprintf(stderr, ", stretch, all)\n");
            return -1;
        }
        select_model(m, small, only);
    }
    return 0;
}

/* Did the selection keep every shape of model m (so that model totals mean something)? */
static bool model_complete(const struct bench_model *m)
{
    int n = 0;
    for (int i = 0; i < nsel; i++) n += selected[i].model == m;
    return n == m->nshapes;
}

/* Weights of this shape in the whole model (an expert stack counts each expert). */
static int model_count(const struct bench_model *m, const struct bench_shape *sh)
{
    return (sh->per_layer ? m->layers * sh->per_layer : 1) * (sh->experts ? sh->experts : 1);
}

/* "a-b" milliseconds of [optimistic, pessimistic] nanoseconds, padded to the column. */
static const char *bounds_ms(char *buf, size_t len, const uint64_t ns[NPU_MODEL_BOUNDS])
{
    snprintf(buf, len, "%.3f-%.3f", ns[NPU_MODEL_OPTIMISTIC] / 1e6, ns[NPU_MODEL_PESSIMISTIC] / 1e6);
    return buf;
}

/* --model-only: plans, no runs. Each case with the envelope as given and with WEIGHT_REUSE off. */
static int model_only(const int *modes, const int *Ms, int nm, const struct npu_envelope *env, const char *json)
{
    struct npu_envelope no_reuse = *env;
    no_reuse.weight_reuse = false;
    char envdesc[256];
    npu_envelope_describe(env, envdesc, sizeof envdesc);
    printf("# bench-gemm --model-only: plans without running them; %s\n", envdesc);
    npu_model_print_params(stdout);
    printf("# %-12s %-14s %5s %6s %5s %-8s %5s %4s %6s %9s %8s | %-17s %-17s | %-17s %-17s (MODEL ms, "
           "optimistic-pessimistic)\n",
           "model", "shape", "K", "N", "M", "mode", "tasks", "jobs", "reuse", "DMA_MB", "W_MiB", "@200MHz", "@1GHz",
           "no reuse @200MHz", "no reuse @1GHz");
    FILE *f = json ? fopen(json, "w") : NULL;
    if (json && !f) return perror(json), 1;
    if (f)
        fprintf(f,
                "{\"tool\":\"bench-gemm\",\"model_only\":true,\"envelope\":\"%s\",\"model_source\":\"%s\",\"cases\":[",
                npu_envelope_name(env->kind), npu_model_source());
    int n = 0, failures = 0;
    double model_bytes[MAX_SELECTED][RK_GEMM_MODES] = {{0}}; /* per selected shape: NPU bytes × occurrences */
    for (int s = 0; s < nsel; s++) {
        const struct bench_shape *sh = selected[s].sh;
        const struct bench_model *m = selected[s].model;
        for (int mi = 0; mi < 3 && modes[mi] >= 0; mi++)
            for (int k = 0; k < nm; k++) {
                struct rk_wlayout L;
                struct rk_plan p, q;
                char why[256];
                int rc = rk_layout_make(sh->K, sh->N, modes[mi], NPU_CORES, env, &L, why, sizeof why);
                if (!rc) rc = rk_plan_make(&L, (uint32_t)Ms[k], env, 0, &p, why, sizeof why);
                if (!rc && (rc = rk_plan_make(&L, (uint32_t)Ms[k], &no_reuse, 0, &q, why, sizeof why)))
                    rk_plan_free(&p);
                if (rc) {
                    printf("%-14s %-16s %5lld %6lld %5d %-8s declined: %s\n", m->name, sh->name, (long long)sh->K,
                           (long long)sh->N, Ms[k], rk_gemm_mode_name(modes[mi]), why);
                    failures++;
                    continue;
                }
                /* the packed blocks of every core plus one f32 scale per output channel (rk_weight_get_info) */
                uint64_t wbytes = (uint64_t)sh->N * sizeof(float);
                for (uint32_t c = 0; c < L.cores; c++) wbytes += L.core[c].b_bytes;
                model_bytes[s][modes[mi]] = (double)wbytes * model_count(m, sh);
                char b[4][48];
                printf("%-14s %-16s %5lld %6lld %5d %-8s %5u %4u %6u %9.2f %8.2f | %-17s %-17s | %-17s %-17s\n",
                       m->name, sh->name, (long long)sh->K, (long long)sh->N, Ms[k], rk_gemm_mode_name(modes[mi]),
                       p.ntasks, p.njobs, p.reuse_tasks, p.dma_bytes / 1e6, wbytes / MIB,
                       bounds_ms(b[0], 48, p.model_ns[RK_CLOCK_MAINLINE]),
                       bounds_ms(b[1], 48, p.model_ns[RK_CLOCK_VENDOR]),
                       bounds_ms(b[2], 48, q.model_ns[RK_CLOCK_MAINLINE]),
                       bounds_ms(b[3], 48, q.model_ns[RK_CLOCK_VENDOR]));
                if (f)
                    fprintf(f,
                            "%s\n{\"model\":\"%s\",\"layers\":%d,\"shape\":\"%s\",\"K\":%lld,\"N\":%lld,\"M\":%d,"
                            "\"mode\":\"%s\",\"per_layer\":%d,\"npu_weight_bytes\":%llu,"
                            "\"tasks\":%u,\"jobs\":%u,\"reuse_tasks\":%u,\"dma_bytes\":%llu,\"dma_bytes_no_reuse\":%"
                            "llu,"
                            "\"model_ms_200mhz\":[%.6f,%.6f],\"model_ms_1ghz\":[%.6f,%.6f],"
                            "\"no_reuse_model_ms_200mhz\":[%.6f,%.6f],\"no_reuse_model_ms_1ghz\":[%.6f,%.6f]}",
                            n++ ? "," : "", m->name, m->layers, sh->name, (long long)sh->K, (long long)sh->N, Ms[k],
                            rk_gemm_mode_name(modes[mi]), sh->per_layer, (unsigned long long)wbytes, p.ntasks, p.njobs,
                            p.reuse_tasks, (unsigned long long)p.dma_bytes, (unsigned long long)q.dma_bytes,
                            p.model_ns[RK_CLOCK_MAINLINE][0] / 1e6, p.model_ns[RK_CLOCK_MAINLINE][1] / 1e6,
                            p.model_ns[RK_CLOCK_VENDOR][0] / 1e6, p.model_ns[RK_CLOCK_VENDOR][1] / 1e6,
                            q.model_ns[RK_CLOCK_MAINLINE][0] / 1e6, q.model_ns[RK_CLOCK_MAINLINE][1] / 1e6,
                            q.model_ns[RK_CLOCK_VENDOR][0] / 1e6, q.model_ns[RK_CLOCK_VENDOR][1] / 1e6);
                rk_plan_free(&p), rk_plan_free(&q);
            }
    }
    /* NPU weight memory of each whole model: every layer's projections and the lm_head */
    printf("\n# NPU weight copies per model (all layers + lm_head; packed blocks with padding + per-channel scales)\n");
    if (f) fprintf(f, "\n],\"models\":[");
    for (int i = 0, nm_out = 0; i < bench_nmodels; i++) {
        const struct bench_model *m = &bench_models[i];
        if (!model_complete(m)) continue;
        for (int mi = 0; mi < 3 && modes[mi] >= 0; mi++) {
            double total = 0, head = 0;
            for (int s = 0; s < nsel; s++)
                if (selected[s].model == m) {
                    total += model_bytes[s][modes[mi]];
                    if (!selected[s].sh->per_layer) head += model_bytes[s][modes[mi]];
                }
            printf("# memory %-14s %-8s %9.1f MiB (%d layers %.1f MiB, lm_head %.1f MiB)\n", m->name,
                   rk_gemm_mode_name(modes[mi]), total / MIB, m->layers, (total - head) / MIB, head / MIB);
            if (f)
                fprintf(f,
                        "%s\n{\"model\":\"%s\",\"title\":\"%s\",\"mode\":\"%s\",\"layers\":%d,"
                        "\"npu_weight_bytes\":%.0f,\"lm_head_bytes\":%.0f}",
                        nm_out++ ? "," : "", m->name, m->title, rk_gemm_mode_name(modes[mi]), m->layers, total, head);
        }
    }
    if (f) {
        fprintf(f, "\n],\"failures\":%d}\n", failures);
        fclose(f);
    }
    return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
    enum npu_device_kind kind = NPU_DEVICE_SIM;
    int modes[3] = {RK_GEMM_INT8, -1, -1}, nm = 0, Ms[MAX_M], verify = 0, explain = 0, small = 0, reps = 3, no_cpu = 0;
    bool plans_only = false;
    int pipeline = -1; /* --pipeline: rk_gemm_options.pipeline_chunks; -1 = not given (auto, no extra lines) */
    enum npu_envelope_kind env_kind = NPU_ENVELOPE_SAFE;
    int threads = (int)sysconf(_SC_NPROCESSORS_ONLN);
    const char *json = NULL, *mlist = "1,8,32,128,512", *only = NULL, *profile = NULL, *models = "qwen2.5-1.5b";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--device") && v) {
            if (npu_device_kind_parse(v, &kind)) return usage(), 2;
            i++;
        } else if (!strcmp(a, "--mode") && v) {
            if (!strcmp(v, "both"))
                modes[0] = RK_GEMM_INT8, modes[1] = RK_GEMM_FP16;
            else if (!strcmp(v, "all"))
                modes[0] = RK_GEMM_INT8, modes[1] = RK_GEMM_INT8_HAD, modes[2] = RK_GEMM_FP16;
            else if (rk_gemm_mode_parse(v, (enum rk_gemm_mode *)&modes[0]))
                return usage(), 2;
            i++;
        } else if (!strcmp(a, "--m") && v)
            mlist = v, i++;
        else if (!strcmp(a, "--model") && v)
            models = v, i++;
        else if (!strcmp(a, "--shapes") && v)
            small = !strcmp(v, "small"), only = strcmp(v, "small") && strcmp(v, "all") ? v : NULL, i++;
        else if (!strcmp(a, "--json") && v)
            json = v, i++;
        else if (!strcmp(a, "--cpu-threads") && v)
            threads = atoi(v), i++;
        else if (!strcmp(a, "--cpu-reps") && v)
            reps = atoi(v), i++;
        else if (!strcmp(a, "--envelope") && v) {
            if (npu_envelope_parse(v, &env_kind)) return usage(), 2;
            i++;
        } else if (!strcmp(a, "--profile") && v) {
            profile = v, i++;
        } else if (!strcmp(a, "--no-cpu"))
            no_cpu = 1;
        else if (!strcmp(a, "--pipeline") && v)
            pipeline = atoi(v), i++;
        else if (!strcmp(a, "--model-only"))
            plans_only = true;
        else if (!strcmp(a, "--verify"))
            verify = 1;
        else if (!strcmp(a, "--explain"))
            explain = 1;
        else
            return usage(), 2;
    }
    for (const char *p = mlist; *p && nm < MAX_M; p = strchr(p, ',') ? strchr(p, ',') + 1 : p + strlen(p))
        Ms[nm++] = atoi(p);

    struct rk_board_profile board;
    if (env_kind == NPU_ENVELOPE_BOARD || profile) {
        char err[400];
        if (!profile || env_kind != NPU_ENVELOPE_BOARD) return usage(), 2;
        if (rk_board_profile_load(profile, &board, err, sizeof err)) {
            fprintf(stderr, "bench-gemm: board profile %s\n", err);
            return 1;
        }
        /* as the plugin does: the profile's measured timing drives the MODEL (device/npu_timing.h) */
        struct npu_model_measured m = {.task_overhead_us = board.timing.task_overhead_us,
                                       .job_overhead_us = board.timing.job_overhead_us,
                                       .mac_efficiency = board.timing.mac_efficiency,
                                       .dma_core_gbps = board.timing.dma_gbps,
                                       .clock_mhz = board.clock_mhz};
        if (npu_model_install_measured(&m, board.created))
            fprintf(stderr, "bench-gemm: the board profile's timing is implausible; the MODEL stays as fitted\n");
    }
    const struct npu_envelope *env = env_kind == NPU_ENVELOPE_VENDOR  ? &npu_envelope_vendor
                                     : env_kind == NPU_ENVELOPE_BOARD ? &board.envelope
                                                                      : &npu_envelope_safe;
    if (select_models(models, small, only)) return usage(), 2;
    if (plans_only) return model_only(modes, Ms, nm, env, json);

    struct rk_gemm_engine *e = NULL;
    char why[256];
    struct rk_gemm_options o = {
            .kind = kind, .cores = 3, .envelope = env, .pipeline_chunks = pipeline > 0 ? (uint32_t)pipeline : 0};
    if (rk_gemm_open(&o, &e, why, sizeof why)) {
        fprintf(stderr, "bench-gemm: %s\n", why);
        return 1;
    }
    struct cpu_be cpu;
    if (cpu_open(&cpu, threads)) return 1;
    struct npu_device_info info;
    rk_gemm_device_info(e, &info);
    char envline[256];
    npu_envelope_describe(rk_gemm_envelope(e), envline, sizeof envline);
    printf("# bench-gemm: device %s (%s), 3 cores, SIMD %s; CPU backend: ggml %s, %d thread(s), best of %d%s\n# %s\n",
           npu_device_kind_name(info.kind), info.is_simulator ? "SIMULATOR: NPU times are the timing MODEL" : info.node,
           rk_simd_name(), ggml_backend_name(cpu.be), cpu.threads, reps, no_cpu ? " (not run: --no-cpu)" : "", envline);
    npu_model_print_params(stdout);

    struct row *rows = calloc((size_t)nsel * RK_GEMM_MODES * MAX_M, sizeof *rows);
    int nrows = 0, failures = 0;
    double prep_mw[MAX_SELECTED][RK_GEMM_MODES] = {{0}}, prep_bpw[MAX_SELECTED][RK_GEMM_MODES] = {{0}};
    uint64_t npu_bytes[MAX_SELECTED][RK_GEMM_MODES] = {{0}};
    uint64_t seed = 2024;
    for (int s = 0; s < nsel; s++) {
        const struct bench_shape *sh = selected[s].sh;
        const struct bench_model *model = selected[s].model;
        struct gw_weight g;
        if (gw_make(&g, sh->type, sh->N, sh->K, 4, &seed)) {
            fprintf(stderr, "bench-gemm: out of memory making %s\n", sh->name);
            return 1;
        }
        for (int mi = 0; mi < 3 && modes[mi] >= 0; mi++) {
            enum rk_gemm_mode mode = modes[mi];
            struct rk_weight *w = NULL;
            if (rk_weight_prepare(e, g.raw, g.K, g.N, g.row_bytes, g.to_float, mode, &w)) {
                fprintf(stderr, "bench-gemm: prepare %s: %s\n", sh->name, rk_gemm_last_error(e));
                return 1;
            }
            struct rk_weight_info wi;
            rk_weight_get_info(w, &wi);
            prep_mw[s][mode] = wi.weights_per_second / 1e6, prep_bpw[s][mode] = wi.bytes_per_weight;
            npu_bytes[s][mode] = wi.npu_bytes + (uint64_t)sh->N * sizeof(float);
            printf("# prepare %-12s %-14s %6lldx%-6lld %s -> %s: %.1f Mweights/s (%.3f s), %.4f NPU bytes/weight "
                   "(source %.4f), %.2f MiB, %u K-slice(s)\n",
                   model->name, sh->name, (long long)sh->K, (long long)sh->N, ggml_type_name(sh->type),
                   rk_gemm_mode_name(mode), wi.weights_per_second / 1e6, wi.prep_seconds, wi.bytes_per_weight,
                   (double)g.row_bytes / g.K, npu_bytes[s][mode] / MIB, wi.k_slices);
            for (int k = 0; k < nm; k++) {
                int64_t M = Ms[k], K = sh->K, N = sh->N;
                struct row *r = &rows[nrows++];
                r->shape = s, r->M = (int)M, r->mode = mode;
                if (explain) rk_gemm_explain(e, w, M, stdout);
                float *X = malloc(sizeof(float) * (size_t)(M * K)), *Y = malloc(sizeof(float) * (size_t)(M * N));
                float *Yc = malloc(sizeof(float) * (size_t)(M * N));
                int32_t *acc = verify && rk_mode_int8(mode) ? malloc(sizeof(int32_t) * (size_t)(M * N)) : NULL;
                gr_fill(X, M, K, K, 1.0f, 4, 30.0f, &seed);    /* 4 outlier channels ×30 */
                memset(Y, 0, sizeof(float) * (size_t)(M * N)); /* a reused dst in ggml: no first-touch faults */
                if (acc)                                       /* the test hook's buffer: same reason */
                    memset(acc, 0, sizeof(int32_t) * (size_t)(M * N));
                r->rc = rk_gemm_run_acc(e, w, X, M, K, Y, N, &r->st, acc);
                if (r->rc) {
                    snprintf(r->msg, sizeof r->msg, "%s", rk_gemm_last_error(e));
                    failures++;
                }
                r->glue_gbps = (double)(M * K + M * N) * 4 / r->st.glue_ns;
                r->cpu_ms = no_cpu ? 0 : cpu_matmul(&cpu, &g, X, M, Yc, reps);
                if (verify && !r->rc) {
                    float *sx = malloc(sizeof(float) * (size_t)M), *sw = malloc(sizeof(float) * (size_t)N);
                    void *qx = malloc((size_t)(M * K) * 2), *qw = malloc((size_t)(N * K) * 2);
                    gr_quant_x(mode, X, M, K, K, qx, sx);
                    gr_quant_w(mode, g.dec, N, K, qw, sw);
                    if (rk_mode_int8(mode)) {
                        int32_t *ref = malloc(sizeof(int32_t) * (size_t)(M * N));
                        gr_int_matmul(qx, qw, M, N, K, ref);
                        for (int64_t i = 0; i < M * N; i++) r->int_mismatches += acc[i] != ref[i];
                        r->int_compared = (uint64_t)(M * N);
                        free(ref);
                    }
                    double *yref = malloc(sizeof(double) * (size_t)(M * N)),
                           *absd = malloc(sizeof(double) * (size_t)(M * N));
                    gr_f32_matmul(X, K, g.dec, M, N, K, 1, yref, absd);
                    gr_check(mode, Y, N, yref, absd, X, K, g.dec, M, N, K, 1, sx, sw, &r->err);
                    double se = 0, sr = 0;
                    for (int64_t i = 0; i < M * N && !no_cpu; i++)
                        se += (Yc[i] - yref[i]) * (Yc[i] - yref[i]), sr += yref[i] * yref[i];
                    r->cpu_nmse = se / (sr > 0 ? sr : 1);
                    r->verified = 1;
                    if (r->int_mismatches || r->err.over_bound) failures++;
                    free(sx), free(sw), free(qx), free(qw), free(yref), free(absd);
                }
                char b200[48], b1000[48];
                printf("%-12s %-14s %5lld %6lld %5d %-4s %5u %4u %9.2f %9.3f %7.2f %17s %17s %9.3f", model->name,
                       sh->name, (long long)K, (long long)N, r->M, rk_gemm_mode_name(mode), r->st.tasks, r->st.jobs,
                       r->st.dma_bytes / 1e6, r->st.glue_ns / 1e6, r->glue_gbps,
                       bounds_ms(b200, sizeof b200, r->st.model_ns_200),
                       bounds_ms(b1000, sizeof b1000, r->st.model_ns_1000), r->cpu_ms);
                if (r->verified)
                    printf("  %s nmse %.2e (cpu %.2e) err/bound %.3f",
                           !rk_mode_int8(mode) ? "   -  "
                           : r->int_mismatches ? "INT-MISMATCH"
                                               : "exact",
                           r->err.nmse, r->cpu_nmse, r->err.max_rel_to_bound);
                printf("%s%s\n", r->rc ? "  FAILED: " : "", r->rc ? r->msg : "");
                if (pipeline >= 0 && !r->rc)
                    printf("# pipeline %-14s M=%-4d %u chunk(s), %u jobs: host glue %.3f ms, on the critical path "
                           "%.3f ms (wall %.3f ms, NPU busy %.3f ms)\n",
                           sh->name, r->M, r->st.chunks, r->st.jobs, r->st.glue_ns / 1e6, r->st.exposed_glue_ns / 1e6,
                           r->st.wall_ns / 1e6, (r->st.wall_ns - r->st.exposed_glue_ns) / 1e6);
                fflush(stdout);
                free(X), free(Y), free(Yc), free(acc);
            }
            rk_weight_free(w);
        }
        gw_free(&g);
    }

    /* MODEL prefill prediction for a 512-token batch, per model: its layers of q,k,v,o,gate,up,down + the lm_head
     * (M = 1 output row, as llama.cpp computes logits for the last token only; and M = 512 for all logits).
     * NPU figures as [optimistic, pessimistic] at 200 MHz and 1 GHz. */
    for (int mdl = 0; mdl < bench_nmodels; mdl++) {
        const struct bench_model *m = &bench_models[mdl];
        bool any = false;
        for (int s = 0; s < nsel; s++) any |= selected[s].model == m;
        if (!any) continue;
        if (m->experts_used) { /* each expert runs on its share of the rows: a prediction needs the routing */
            printf("\n# prefill prediction (%s): not made for a mixture of experts (rows per expert depend on the "
                   "routing; %d of each stack's experts per token)\n",
                   m->title, m->experts_used);
            continue;
        }
        printf("\n# prefill prediction (%s, 512 tokens, %d layers); NPU = timing MODEL (optimistic-pessimistic, %s), "
               "glue/CPU = measured here\n",
               m->title, m->layers, npu_model_source());
        for (int mi = 0; mi < 3 && modes[mi] >= 0; mi++) {
            double npu[RK_MODEL_CLOCKS][NPU_MODEL_BOUNDS] = {{0}}, lm[2][RK_MODEL_CLOCKS][NPU_MODEL_BOUNDS] = {{{0}}};
            double glue = 0, cpu = 0, bytes = 0;
            int have_all = model_complete(m), lm_small_m = 0; /* the lm_head's smallest M (1: last-token logits) */
            for (int s = 0; s < nsel; s++) {
                if (selected[s].model != m) continue;
                const struct bench_shape *sh = selected[s].sh;
                struct row *r512 = NULL, *r1 = NULL; /* r1: the smallest M run */
                for (int i = 0; i < nrows; i++) {
                    if (rows[i].shape != s || (int)rows[i].mode != modes[mi]) continue;
                    if (rows[i].M == 512) r512 = &rows[i];
                    if (!r1 || rows[i].M < r1->M) r1 = &rows[i];
                }
                bytes += (double)npu_bytes[s][modes[mi]] * model_count(m, sh);
                if (!r512) {
                    have_all = 0;
                    continue;
                }
                for (int b = 0; b < NPU_MODEL_BOUNDS; b++) {
                    if (sh->per_layer) {
                        int cnt = model_count(m, sh);
                        npu[RK_CLOCK_MAINLINE][b] += cnt * r512->st.model_ns_200[b] / 1e6;
                        npu[RK_CLOCK_VENDOR][b] += cnt * r512->st.model_ns_1000[b] / 1e6;
                    } else {
                        lm[1][RK_CLOCK_MAINLINE][b] = r512->st.model_ns_200[b] / 1e6;
                        lm[1][RK_CLOCK_VENDOR][b] = r512->st.model_ns_1000[b] / 1e6;
                        lm[0][RK_CLOCK_MAINLINE][b] = r1->st.model_ns_200[b] / 1e6,
                        lm[0][RK_CLOCK_VENDOR][b] = r1->st.model_ns_1000[b] / 1e6, lm_small_m = r1->M;
                    }
                }
                if (sh->per_layer) {
                    int cnt = model_count(m, sh);
                    glue += cnt * r512->st.glue_ns / 1e6, cpu += cnt * r512->cpu_ms;
                }
            }
            if (!have_all)
                printf("# %s: needs M=512 for every shape (run with --shapes all --m ...,512)\n",
                       rk_gemm_mode_name(modes[mi]));
            else
                printf("# %s: layers' matmuls: NPU MODEL %.1f-%.1f ms @200 MHz, %.1f-%.1f ms @1 GHz; host glue %.1f "
                       "ms; CPU backend %.1f ms. lm_head M=%d: %.2f-%.2f / %.2f-%.2f ms, M=512: %.1f-%.1f / %.1f-%.1f "
                       "ms "
                       "(@200 MHz / @1 GHz); NPU weights %.1f MiB\n",
                       rk_gemm_mode_name(modes[mi]), npu[0][0], npu[0][1], npu[1][0], npu[1][1], glue, cpu, lm_small_m,
                       lm[0][0][0], lm[0][0][1], lm[0][1][0], lm[0][1][1], lm[1][0][0], lm[1][0][1], lm[1][1][0],
                       lm[1][1][1], bytes / MIB);
        }
    }

    /* The result checks (gemm_internal.h canaries, npu_fence.c fence checks) against the glue they are part of. */
    printf("\n# result checks per matmul: output canaries written and checked (thread CPU time, part of the glue), "
           "after-SUBMIT fence checks (wall time; on rocket they overlap the NPU's work)\n");
    for (int i = 0; i < nrows; i++) {
        const struct row *r = &rows[i];
        if (r->rc) continue;
        printf("# checks %-14s M=%-4d %-8s canaries %8.4f ms of %9.3f ms glue (%5.2f%%), fence checks %8.4f ms "
               "for %u job(s)\n",
               selected[r->shape].sh->name, r->M, rk_gemm_mode_name(r->mode), r->st.check_ns / 1e6, r->st.glue_ns / 1e6,
               100 * r->st.check_ns / r->st.glue_ns, r->st.fence_check_ns / 1e6, r->st.jobs);
    }

    if (json) {
        FILE *f = fopen(json, "w");
        if (!f) {
            perror(json);
            return 1;
        }
        fprintf(f,
                "{\"tool\":\"bench-gemm\",\"device\":\"%s\",\"simulator\":%s,\"simd\":\"%s\",\"cpu_threads\":%d,"
                "\"envelope\":\"%s\",\"model_source\":\"%s\",\"model_bounds\":[\"optimistic\",\"pessimistic\"],"
                "\"cases\":[",
                npu_device_kind_name(info.kind), info.is_simulator ? "true" : "false", rk_simd_name(), cpu.threads,
                npu_envelope_name(env->kind), npu_model_source());
        for (int i = 0; i < nrows; i++) {
            const struct row *r = &rows[i];
            const struct bench_shape *sh = selected[r->shape].sh;
            fprintf(f,
                    "%s\n{\"model\":\"%s\",\"per_layer\":%d,\"npu_weight_bytes\":%llu,\"shape\":\"%s\",\"K\":%lld,"
                    "\"N\":%lld,\"type\":\"%s\",\"M\":%d,\"mode\":\"%s\",\"ok\":%s,"
                    "\"tasks\":%u,\"jobs\":%u,\"dma_bytes\":%llu,\"glue_ms\":%.6f,\"quant_ms\":%.6f,\"readout_ms\":%."
                    "6f,"
                    "\"glue_gbps\":%.4f,\"model_ms_200mhz\":[%.6f,%.6f],\"model_ms_1ghz\":[%.6f,%.6f],"
                    "\"model_max_job_ms\":%.6f,\"reuse_tasks\":%u,"
                    "\"sim_wait_ms\":%.3f,\"cpu_ms\":%.6f,\"prep_mweights_per_s\":%.2f,\"npu_bytes_per_weight\":%.5f,"
                    "\"check_ms\":%.6f,\"fence_check_ms\":%.6f",
                    i ? "," : "", selected[r->shape].model->name, sh->per_layer,
                    (unsigned long long)npu_bytes[r->shape][r->mode], sh->name, (long long)sh->K, (long long)sh->N,
                    ggml_type_name(sh->type), r->M, rk_gemm_mode_name(r->mode), r->rc ? "false" : "true", r->st.tasks,
                    r->st.jobs, (unsigned long long)r->st.dma_bytes, r->st.glue_ns / 1e6, r->st.quant_ns / 1e6,
                    r->st.readout_ns / 1e6, r->glue_gbps, r->st.model_ns_200[0] / 1e6, r->st.model_ns_200[1] / 1e6,
                    r->st.model_ns_1000[0] / 1e6, r->st.model_ns_1000[1] / 1e6, r->st.model_max_job_ns / 1e6,
                    r->st.reuse_tasks, r->st.npu_wait_ns / 1e6, r->cpu_ms, prep_mw[r->shape][r->mode],
                    prep_bpw[r->shape][r->mode], r->st.check_ns / 1e6, r->st.fence_check_ns / 1e6);
            if (r->verified)
                fprintf(f,
                        ",\"int_compared\":%llu,\"int_mismatches\":%llu,\"nmse\":%.4g,\"max_err_over_bound\":%.4g,"
                        "\"over_bound\":%llu,\"max_abs_err\":%.4g,\"max_abs_ref\":%.4g,\"cpu_backend_nmse\":%.4g",
                        (unsigned long long)r->int_compared, (unsigned long long)r->int_mismatches, r->err.nmse,
                        r->err.max_rel_to_bound, (unsigned long long)r->err.over_bound, r->err.max_abs, r->err.max_ref,
                        r->cpu_nmse);
            fprintf(f, "}");
        }
        fprintf(f, "\n],\"failures\":%d}\n", failures);
        fclose(f);
    }
    printf("# columns: model shape K N M mode tasks jobs DMA_MB glue_ms glue_GB/s(X+Y f32) model_ms@200MHz "
           "model_ms@1GHz "
           "(MODEL, optimistic-pessimistic) cpu_ms%s\n# verdict: %s (%d failure(s))\n",
           verify ? " [int32 check, NMSE vs exact f32 (CPU backend's), max err/bound]" : "", failures ? "FAIL" : "PASS",
           failures);
    free(rows);
    rk_gemm_close(e);
    ggml_backend_free(cpu.be);
    return failures ? 1 : 0;
}
