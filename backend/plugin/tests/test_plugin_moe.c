/* MUL_MAT_ID (mixture of experts) on RKNPU0, the simulator, through ggml alone, against the CPU backend. The
 * routing is chosen so that, with RKNPU_MIN_BATCH=4, some experts get enough rows for the NPU, some get fewer
 * (those run on the CPU inside the same node) and one gets none; b is either one row per token for every slot
 * (broadcast) or one row per slot. Checked: every row of dst against the CPU backend's MUL_MAT_ID (the NPU's
 * rows within the int8/fp16 error, the CPU-run rows to float rounding: for int8 types that also tells that they
 * did not go through the NPU), the plugin's expert counters, the placement rule (expected rows per expert vs
 * min_batch), and that an expert id out of range fails the graph instead of reading outside the weights. TAP
 * output. */
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

#include "ggml-rknpu.h"
#include "tap.h"

#define MIN_BATCH "4"
#define N_EXPERT  6
#define N_USED    2
#define N_TOKENS  24
/* rows each expert gets: >= 4 run on the NPU, 1..3 on the CPU, 0 not at all */
static const int rows_per_expert[N_EXPERT] = {20, 10, 3, 1, 14, 0};
#define NPU_EXPERTS      3
#define CPU_EXPERTS      2
#define CPU_ROW_NMSE_MAX 1e-9 /* the CPU path computes the same float sums as the CPU backend, up to order */

static uint32_t rng = 4242;
static int plant_nonfinite; /* run_moe: a NaN in token 3's b row, an infinity in token 17's */
static float frand(void)
{
    rng = rng * 1664525u + 1013904223u;
    return (float)(rng >> 8) / (float)(1u << 24) * 2.0f - 1.0f;
}

/* ids[t][e]: two different experts per token, expert x exactly rows_per_expert[x] times: slot 0 is expert 0
 * for tokens 0..19 and expert 1 after; slot 1 runs through the rest (1 ×6, 2 ×3, 3 ×1, 4 ×14) in order. */
static void make_ids(int32_t ids[N_TOKENS][N_USED])
{
    static const int32_t slot1[] = {1, 2, 3, 4}, slot1_rows[] = {6, 3, 1, 14};
    for (int t = 0, k = 0, left = slot1_rows[0]; t < N_TOKENS; t++) {
        ids[t][0] = t < 20 ? 0 : 1;
        ids[t][1] = slot1[k];
        if (--left == 0 && ++k < 4) left = slot1_rows[k];
    }
}

struct moe_case {
    enum ggml_type type;
    int K, N;
    int broadcast; /* b has one row per token (ne11 = 1) */
    double npu_bound;
};

/* dst[N, N_USED, T] = MUL_MAT_ID(as[K, N, N_EXPERT], b, ids) on `backend` with `as` in `wbuft`. T tokens;
 * bad_id >= 0 puts that expert id into token 0's first slot. Returns 0, or -1 when the graph fails. */
static int run_moe(ggml_backend_t backend, ggml_backend_buffer_type_t wbuft, const struct moe_case *c, int T,
                   int bad_id, float *out)
{
    struct ggml_init_params ip = {.mem_size = 16 * ggml_tensor_overhead() + ggml_graph_overhead(), .no_alloc = true};
    struct ggml_context *wctx = ggml_init(ip), *actx = ggml_init(ip);
    struct ggml_tensor *as = ggml_new_tensor_3d(wctx, c->type, c->K, c->N, N_EXPERT);
    struct ggml_tensor *b = ggml_new_tensor_3d(actx, GGML_TYPE_F32, c->K, c->broadcast ? 1 : N_USED, T);
    struct ggml_tensor *ids = ggml_new_tensor_2d(actx, GGML_TYPE_I32, N_USED, T);
    struct ggml_tensor *y = ggml_mul_mat_id(actx, as, b, ids);
    struct ggml_cgraph *gf = ggml_new_graph(actx);
    ggml_build_forward_expand(gf, y);
    ggml_backend_buffer_t wb = ggml_backend_alloc_ctx_tensors_from_buft(wctx, wbuft);
    ggml_backend_buffer_t ab = ggml_backend_alloc_ctx_tensors_from_buft(actx, ggml_backend_cpu_buffer_type());
    ggml_backend_buffer_set_usage(wb, GGML_BACKEND_BUFFER_USAGE_WEIGHTS); /* converted at load, like a model's */

    rng = 99; /* the same data for every call */
    const int64_t nw = (int64_t)c->K * c->N * N_EXPERT, nb = ggml_nelements(b);
    float *wf = malloc(sizeof(float) * nw), *bf = malloc(sizeof(float) * nb);
    for (int64_t i = 0; i < nw; i++) wf[i] = frand();
    for (int64_t i = 0; i < nb; i++) bf[i] = frand();
    if (plant_nonfinite) {
        const int64_t per_token = (int64_t)c->K * (c->broadcast ? 1 : N_USED);
        bf[3 * per_token + 5] = NAN;
        bf[17 * per_token + c->K - 1] = INFINITY;
    }
    size_t wbytes = ggml_nbytes(as);
    void *wq = malloc(wbytes);
    ggml_quantize_chunk(c->type, wf, wq, 0, (int64_t)c->N * N_EXPERT, c->K, NULL);
    ggml_backend_tensor_set(as, wq, 0, wbytes);
    ggml_backend_tensor_set(b, bf, 0, sizeof(float) * nb);
    int32_t all[N_TOKENS][N_USED];
    make_ids(all);
    if (bad_id >= 0) all[0][0] = bad_id;
    ggml_backend_tensor_set(ids, all, 0, sizeof(int32_t) * N_USED * T);
    enum ggml_status st = ggml_backend_graph_compute(backend, gf);
    if (st == GGML_STATUS_SUCCESS) ggml_backend_tensor_get(y, out, 0, ggml_nbytes(y));
    free(wf), free(bf), free(wq);
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

/* Does the device take MUL_MAT_ID of T tokens over an unallocated expert stack (the placement probe)? */
static int accepts(ggml_backend_dev_t dev, int T)
{
    struct ggml_init_params ip = {.mem_size = 8 * ggml_tensor_overhead(), .no_alloc = true};
    struct ggml_context *ctx = ggml_init(ip);
    struct ggml_tensor *as = ggml_new_tensor_3d(ctx, GGML_TYPE_Q8_0, 64, 32, N_EXPERT);
    struct ggml_tensor *b = ggml_new_tensor_3d(ctx, GGML_TYPE_F32, 64, 1, T);
    struct ggml_tensor *ids = ggml_new_tensor_2d(ctx, GGML_TYPE_I32, N_USED, T);
    int ok = ggml_backend_dev_supports_op(dev, ggml_mul_mat_id(ctx, as, b, ids));
    ggml_free(ctx);
    return ok;
}

int main(void)
{
    char exe[PATH_MAX], plugin[PATH_MAX + 32];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[n > 0 ? n : 0] = 0;
    snprintf(plugin, sizeof plugin, "%s/libggml-rknpu.so", dirname(exe));
    setenv("RKNPU_DEVICE", "sim", 1);
    setenv("RKNPU_MIN_BATCH", MIN_BATCH, 1);
    ggml_backend_load_all_from_path(LLAMA_CPP_LIBDIR);
    ggml_backend_t cpu = ggml_backend_init_by_type(GGML_BACKEND_DEVICE_TYPE_CPU, NULL);
    ggml_backend_reg_t reg = ggml_backend_load(plugin);
    ggml_backend_dev_t dev = reg && ggml_backend_reg_dev_count(reg) ? ggml_backend_reg_dev_get(reg, 0) : NULL;
    tap_ok(cpu && dev, "CPU backend and RKNPU0 (simulator)");
    if (!cpu || !dev) return tap_done();
    ggml_backend_t npu = ggml_backend_dev_init(dev, NULL);
    ggml_backend_rknpu_get_stats_t stats =
            (ggml_backend_rknpu_get_stats_t)ggml_backend_reg_get_proc_address(reg, "ggml_backend_rknpu_get_stats");

    /* placement: tokens x n_used / n_expert rows per expert expected, against min_batch 4 */
    tap_ok(accepts(dev, 12) && accepts(dev, 512), "accepted from 4 expected rows per expert (12 tokens, 2 of 6)");
    tap_ok(!accepts(dev, 11) && !accepts(dev, 1), "declined below (11 tokens; decode)");

    const struct moe_case cases[] = {
            {GGML_TYPE_Q8_0, 96, 40, 1, 5e-4},  /* int8, b broadcast over the slots (gate/up) */
            {GGML_TYPE_Q4_K, 256, 72, 0, 5e-4}, /* int8, one b row per slot (down) */
            {GGML_TYPE_F16, 64, 33, 0, 1e-5},   /* fp16 */
    };
    int32_t ids[N_TOKENS][N_USED];
    make_ids(ids);
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const struct moe_case *mc = &cases[c];
        const int N = mc->N, total = N * N_USED * N_TOKENS;
        float *y_npu = calloc(total, sizeof(float)), *y_cpu = calloc(total, sizeof(float));
        struct ggml_backend_rknpu_stats s0, s1;
        stats(&s0);
        int a = run_moe(npu, ggml_backend_dev_buffer_type(dev), mc, N_TOKENS, -1, y_npu);
        stats(&s1);
        int b = run_moe(cpu, ggml_backend_cpu_buffer_type(), mc, N_TOKENS, -1, y_cpu);
        tap_ok(a == 0 && b == 0, "%s K=%d N=%d%s: both graphs run", ggml_type_name(mc->type), mc->K, N,
               mc->broadcast ? " (b broadcast)" : "");
        /* per expert: the NMSE of its rows against the CPU backend */
        for (int x = 0; x < N_EXPERT; x++) {
            if (!rows_per_expert[x]) continue;
            double e = 0, r = 0;
            for (int t = 0; t < N_TOKENS; t++)
                for (int s = 0; s < N_USED; s++) {
                    if (ids[t][s] != x) continue;
                    const float *p = y_npu + ((int64_t)t * N_USED + s) * N, *q = y_cpu + ((int64_t)t * N_USED + s) * N;
                    for (int j = 0; j < N; j++) e += (p[j] - q[j]) * (double)(p[j] - q[j]), r += q[j] * (double)q[j];
                }
            double rel = e / r;
            int on_npu = rows_per_expert[x] >= atoi(MIN_BATCH);
            tap_ok(rel <= (on_npu ? mc->npu_bound : CPU_ROW_NMSE_MAX), "%s: expert %d (%d rows, %s) NMSE %.2e",
                   ggml_type_name(mc->type), x, rows_per_expert[x], on_npu ? "NPU" : "CPU", rel);
        }
        tap_ok(nmse(y_npu, y_cpu, total) <= mc->npu_bound, "%s: whole dst NMSE %.2e <= %.0e", ggml_type_name(mc->type),
               nmse(y_npu, y_cpu, total), mc->npu_bound);
        tap_ok(s1.expert_matmuls - s0.expert_matmuls == NPU_EXPERTS &&
                       s1.expert_cpu_matmuls - s0.expert_cpu_matmuls == CPU_EXPERTS &&
                       s1.matmuls - s0.matmuls == NPU_EXPERTS,
               "%s: %llu expert matmuls on the NPU, %llu on the CPU", ggml_type_name(mc->type),
               (unsigned long long)(s1.expert_matmuls - s0.expert_matmuls),
               (unsigned long long)(s1.expert_cpu_matmuls - s0.expert_cpu_matmuls));
        free(y_npu), free(y_cpu);
    }

    /* non-finite activations: no NPU fault; rows mix inside the node (gathered per expert), so the whole node is
     * the CPU backend's, bit for bit (the NPU experts' rows included) */
    for (size_t c = 0; c < 2; c++) {
        const struct moe_case *mc = &cases[c];
        const int total = mc->N * N_USED * N_TOKENS;
        float *y_npu = calloc(total, sizeof(float)), *y_cpu = calloc(total, sizeof(float));
        plant_nonfinite = 1;
        int a = run_moe(npu, ggml_backend_dev_buffer_type(dev), mc, N_TOKENS, -1, y_npu);
        int b = run_moe(cpu, ggml_backend_cpu_buffer_type(), mc, N_TOKENS, -1, y_cpu);
        plant_nonfinite = 0;
        tap_ok(a == 0 && b == 0 && !memcmp(y_npu, y_cpu, sizeof(float) * total),
               "%s: a NaN and an Inf in the activations: the CPU backend's MUL_MAT_ID bit for bit",
               ggml_type_name(mc->type));
        free(y_npu), free(y_cpu);
    }

    float *y = calloc(40 * N_USED * N_TOKENS, sizeof(float));
    tap_ok(run_moe(npu, ggml_backend_dev_buffer_type(dev), &cases[0], N_TOKENS, N_EXPERT, y) < 0,
           "an expert id out of range fails the graph");
    tap_ok(run_moe(npu, ggml_backend_dev_buffer_type(dev), &cases[0], N_TOKENS, -1, y) == 0, "the next graph works");
    free(y);
    ggml_backend_free(npu);
    ggml_backend_unload(reg);
    ggml_backend_free(cpu);
    return tap_done();
}
