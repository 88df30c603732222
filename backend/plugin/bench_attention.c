/* bench-attention: the attention of a long prompt, layer by layer, on the CPU backend and on RKNPU0.
 *
 * For each prompt length, the prompt is processed in ubatches as llama.cpp does (ubatch tokens at a time,
 * each attending causally to the KV cache written so far, n_kv padded to KV_PAD). Per ubatch one
 * FLASH_ATTN_EXT (or, with --no-fa, the KQ and KQV MUL_MATs with the softmax between them) of one layer is
 * run on the CPU backend (measured) and on RKNPU0 (the plugin's counters: the NPU time of the timing MODEL
 * with both bounds at 200 MHz and 1 GHz, and the measured host glue: the engine's per-call work plus the
 * attention module's packing of K/V and softmax). Outputs are compared (NMSE). Figures are per layer;
 * --layers multiplies them for a model. Defaults: Qwen2.5-1.5B (12 heads, 2 KV heads, head size 128).
 *
 *   GGML_BACKEND_PATH is not used: the plugin path is the first argument.
 *   bench-attention PLUGIN [--lengths 512,2048,4096,8192] [--heads 12] [--kv-heads 2] [--head-size 128]
 *                          [--ubatch 512] [--layers 28] [--threads N] [--kv-type f16|q8_0] [--no-fa] [--last]
 *                          [--cpu-only]
 * --last runs only the last ubatch of each length (the longest KV) and scales nothing; --cpu-only skips RKNPU0.
 * The CPU column is CPU time (all of the CPU backend's threads), not wall time.
 */
#include "ggml.h"
#include "ggml-alloc.h"
#include "ggml-backend.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ggml-rknpu.h"

#define KV_PAD        256 /* llama.cpp pads the KV length it attends over */
#define MAX_LENGTHS   16
#define GRAPH_TENSORS 16

struct opts {
    int lengths[MAX_LENGTHS], nlengths;
    int heads, kv_heads, head_size, ubatch, layers, threads;
    enum ggml_type kv_type;
    int fa, last, cpu_only;
};

static uint32_t rng = 4242;
static float frand(void)
{
    rng = rng * 1664525u + 1013904223u;
    return (float)(rng >> 8) / (float)(1u << 24) * 2.0f - 1.0f;
}

/* CPU time of the whole process (the CPU backend's threads; the simulator's are idle meanwhile): on a shared
 * host the wall clock would measure the other jobs. */
static double cpu_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

struct attn_graph {
    struct ggml_context *ctx;
    struct ggml_cgraph *gf;
    struct ggml_tensor *q, *k, *v, *mask, *out;
    ggml_backend_buffer_t buf;
};

/* One layer's attention for `nq` queries at positions pos0.. over n_kv keys (causal mask). */
static void build(struct attn_graph *g, const struct opts *o, int nq, int n_kv, int pos0)
{
    struct ggml_init_params ip = {.mem_size = GRAPH_TENSORS * ggml_tensor_overhead() + ggml_graph_overhead(),
                                  .no_alloc = true};
    g->ctx = ggml_init(ip);
    int D = o->head_size;
    float scale = 1.0f / sqrtf((float)D);
    g->q = ggml_new_tensor_3d(g->ctx, GGML_TYPE_F32, D, nq, o->heads);
    g->mask = ggml_new_tensor_2d(g->ctx, GGML_TYPE_F16, n_kv, nq);
    if (o->fa) {
        g->k = ggml_new_tensor_3d(g->ctx, o->kv_type, D, n_kv, o->kv_heads);
        g->v = ggml_new_tensor_3d(g->ctx, o->kv_type, D, n_kv, o->kv_heads);
        g->out = ggml_flash_attn_ext(g->ctx, g->q, g->k, g->v, g->mask, scale, 0.0f, 0.0f);
        ggml_prec_set_acc(g->out, GGML_PREC_F32);
    } else { /* llama.cpp without flash attention: V stored transposed, KQ, softmax, KQV */
        g->k = ggml_new_tensor_3d(g->ctx, o->kv_type, D, n_kv, o->kv_heads);
        g->v = ggml_new_tensor_3d(g->ctx, o->kv_type, n_kv, D, o->kv_heads);
        struct ggml_tensor *kq = ggml_mul_mat(g->ctx, g->k, g->q);
        ggml_prec_set_acc(kq, GGML_PREC_F32);
        kq = ggml_soft_max_ext(g->ctx, kq, g->mask, scale, 0.0f);
        g->out = ggml_mul_mat(g->ctx, g->v, kq);
    }
    g->gf = ggml_new_graph(g->ctx);
    ggml_build_forward_expand(g->gf, g->out);
    g->buf = ggml_backend_alloc_ctx_tensors_from_buft(g->ctx, ggml_backend_cpu_buffer_type());

    rng = 4242u + (uint32_t)pos0;
    size_t nqf = (size_t)D * nq * o->heads;
    float *f = malloc(sizeof(float) * (nqf > (size_t)D * n_kv ? nqf : (size_t)D * n_kv));
    for (size_t i = 0; i < nqf; i++) f[i] = frand();
    ggml_backend_tensor_set(g->q, f, 0, nqf * sizeof(float));
    struct ggml_tensor *kv[2] = {g->k, g->v};
    for (int t = 0; t < 2; t++) {
        int64_t rows = ggml_nrows(kv[t]), cols = kv[t]->ne[0];
        void *qd = malloc(ggml_nbytes(kv[t]));
        for (int64_t r = 0; r < rows; r++) {
            for (int64_t c = 0; c < cols; c++) f[c] = frand();
            ggml_quantize_chunk(o->kv_type, f, (char *)qd + r * kv[t]->nb[1], 0, 1, cols, NULL);
        }
        ggml_backend_tensor_set(kv[t], qd, 0, ggml_nbytes(kv[t]));
        free(qd);
    }
    ggml_fp16_t *m = malloc(sizeof(ggml_fp16_t) * (size_t)n_kv * nq);
    for (int t = 0; t < nq; t++)
        for (int c = 0; c < n_kv; c++) m[(size_t)t * n_kv + c] = ggml_fp32_to_fp16(c <= pos0 + t ? 0.0f : -INFINITY);
    ggml_backend_tensor_set(g->mask, m, 0, sizeof(ggml_fp16_t) * (size_t)n_kv * nq);
    free(m), free(f);
}

static void drop(struct attn_graph *g)
{
    ggml_backend_buffer_free(g->buf);
    ggml_free(g->ctx);
}

static int parse(int argc, char **argv, struct opts *o)
{
    *o = (struct opts){.heads = 12,
                       .kv_heads = 2,
                       .head_size = 128,
                       .ubatch = 512,
                       .layers = 28,
                       .threads = 0,
                       .kv_type = GGML_TYPE_F16,
                       .fa = 1};
    const char *lengths = "512,2048,4096,8192";
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--no-fa"))
            o->fa = 0;
        else if (!strcmp(a, "--last"))
            o->last = 1;
        else if (!strcmp(a, "--cpu-only"))
            o->cpu_only = 1;
        else if (!v)
            return -1;
        else if (!strcmp(a, "--lengths"))
            lengths = v, i++;
        else if (!strcmp(a, "--heads"))
            o->heads = atoi(v), i++;
        else if (!strcmp(a, "--kv-heads"))
            o->kv_heads = atoi(v), i++;
        else if (!strcmp(a, "--head-size"))
            o->head_size = atoi(v), i++;
        else if (!strcmp(a, "--ubatch"))
            o->ubatch = atoi(v), i++;
        else if (!strcmp(a, "--layers"))
            o->layers = atoi(v), i++;
        else if (!strcmp(a, "--threads"))
            o->threads = atoi(v), i++;
        else if (!strcmp(a, "--kv-type")) {
            if (!strcmp(v, "f16"))
                o->kv_type = GGML_TYPE_F16;
            else if (!strcmp(v, "q8_0"))
                o->kv_type = GGML_TYPE_Q8_0;
            else
                return -1;
            i++;
        } else
            return -1;
    }
    for (const char *p = lengths; *p && o->nlengths < MAX_LENGTHS; p = strchr(p, ',') ? strchr(p, ',') + 1 : "")
        o->lengths[o->nlengths++] = atoi(p);
    if (o->heads < 1 || o->kv_heads < 1 || o->heads % o->kv_heads || o->ubatch < 1 || o->head_size < 1) return -1;
    return 0;
}

int main(int argc, char **argv)
{
    struct opts o;
    if (argc < 2 || parse(argc, argv, &o)) {
        fprintf(stderr,
                "usage: %s PLUGIN [--lengths L,...] [--heads H] [--kv-heads G] [--head-size D] [--ubatch U] "
                "[--layers N] [--threads T] [--kv-type f16|q8_0] [--no-fa] [--last] [--cpu-only]\n",
                argv[0]);
        return 2;
    }
    ggml_backend_load_all_from_path(LLAMA_CPP_LIBDIR);
    ggml_backend_reg_t reg = ggml_backend_load(argv[1]);
    ggml_backend_dev_t npu_dev = ggml_backend_dev_by_name("RKNPU0");
    ggml_backend_dev_t cpu_dev = ggml_backend_dev_by_type(GGML_BACKEND_DEVICE_TYPE_CPU);
    if (!reg || !npu_dev || !cpu_dev) {
        fprintf(stderr, "bench-attention: no RKNPU0 (set RKNPU_DEVICE=sim without an NPU) or no CPU backend\n");
        return 1;
    }
    ggml_backend_rknpu_get_stats_t stats =
            (ggml_backend_rknpu_get_stats_t)ggml_backend_reg_get_proc_address(reg, "ggml_backend_rknpu_get_stats");
    ggml_backend_t cpu = ggml_backend_dev_init(cpu_dev, NULL), npu = ggml_backend_dev_init(npu_dev, NULL);
    ggml_backend_set_n_threads_t set_threads = (ggml_backend_set_n_threads_t)ggml_backend_reg_get_proc_address(
            ggml_backend_dev_backend_reg(cpu_dev), "ggml_backend_set_n_threads");
    ggml_backend_set_n_threads_t set_npu_threads =
            (ggml_backend_set_n_threads_t)ggml_backend_reg_get_proc_address(reg, "ggml_backend_set_n_threads");
    if (o.threads > 0 && set_threads) set_threads(cpu, o.threads);
    if (o.threads > 0 && set_npu_threads) set_npu_threads(npu, o.threads); /* the softmax without FA */
    printf("# attention of one layer per prompt length: %d heads, %d KV heads, head size %d, %s cache, ubatch %d, %s\n",
           o.heads, o.kv_heads, o.head_size, ggml_type_name(o.kv_type), o.ubatch,
           o.fa ? "FLASH_ATTN_EXT" : "KQ + softmax + KQV (no flash attention)");
    printf("# x%d layers in the last columns; NPU: %s\n", o.layers, ggml_backend_dev_description(npu_dev));
    printf("| prompt | ubatches | CPU time ms/layer | NPU MODEL ms/layer @200 MHz | @1 GHz | host glue ms/layer (of "
           "which "
           "attention module) | NMSE max | CPU ms x%d | NPU MODEL ms x%d @200 | @1 GHz | glue ms x%d |\n",
           o.layers, o.layers, o.layers);
    printf("|---|---|---|---|---|---|---|---|---|---|---|\n");
    for (int li = 0; li < o.nlengths; li++) {
        int L = o.lengths[li], nub = (L + o.ubatch - 1) / o.ubatch;
        double cpu_time = 0, nmse_max = 0;
        struct ggml_backend_rknpu_stats s0, s1;
        double glue = 0, host = 0, m200[2] = {0}, m1000[2] = {0};
        for (int u = o.last ? nub - 1 : 0; u < nub; u++) {
            int pos0 = u * o.ubatch, nq = L - pos0 < o.ubatch ? L - pos0 : o.ubatch;
            int n_kv = (pos0 + nq + KV_PAD - 1) / KV_PAD * KV_PAD;
            struct attn_graph g;
            build(&g, &o, nq, n_kv, pos0);
            size_t n = (size_t)ggml_nelements(g.out);
            float *ref = malloc(n * sizeof(float)), *got = malloc(n * sizeof(float));
            double t0 = cpu_ms();
            if (ggml_backend_graph_compute(cpu, g.gf) != GGML_STATUS_SUCCESS) return 1;
            cpu_time += cpu_ms() - t0;
            ggml_backend_tensor_get(g.out, ref, 0, n * sizeof(float));
            if (o.cpu_only) {
                free(ref), free(got);
                drop(&g);
                continue;
            }
            stats(&s0);
            /* every node the NPU declines (the softmax without FA) runs on the CPU inside the plugin */
            if (ggml_backend_graph_compute(npu, g.gf) != GGML_STATUS_SUCCESS) return 1;
            stats(&s1);
            ggml_backend_tensor_get(g.out, got, 0, n * sizeof(float));
            if (s1.attention_ops == s0.attention_ops) {
                fprintf(stderr, "bench-attention: RKNPU0 ran no attention (ubatch of %d tokens)\n", nq);
                return 1;
            }
            double err = 0, den = 0;
            for (size_t i = 0; i < n; i++) err += (got[i] - ref[i]) * (got[i] - ref[i]), den += ref[i] * ref[i];
            nmse_max = fmax(nmse_max, den > 0 ? err / den : err);
            glue += (s1.glue_ms - s0.glue_ms) + (s1.attention_host_ms - s0.attention_host_ms);
            host += s1.attention_host_ms - s0.attention_host_ms;
            m200[0] += s1.model_ms_200_opt - s0.model_ms_200_opt,
                    m200[1] += s1.model_ms_200_pess - s0.model_ms_200_pess;
            m1000[0] += s1.model_ms_1000_opt - s0.model_ms_1000_opt;
            m1000[1] += s1.model_ms_1000_pess - s0.model_ms_1000_pess;
            free(ref), free(got);
            drop(&g);
        }
        printf("| %d%s | %d | %.1f | %.1f-%.1f | %.1f-%.1f | %.1f (%.1f) | %.1e | %.0f | %.0f-%.0f | %.0f-%.0f | %.0f "
               "|\n",
               L, o.last ? " (last ubatch)" : "", o.last ? 1 : nub, cpu_time, m200[0], m200[1], m1000[0], m1000[1],
               glue, host, nmse_max, cpu_time * o.layers, m200[0] * o.layers, m200[1] * o.layers, m1000[0] * o.layers,
               m1000[1] * o.layers, glue * o.layers);
        fflush(stdout);
    }
    ggml_backend_free(cpu), ggml_backend_free(npu);
    return 0;
}
