// SPDX-License-Identifier: MIT
/* The models' matmul shapes (model_shapes.h). In ggml order: src0 [K, N] = [input width, output width].
 * Attention: Q [hidden, heads·head], K and V [hidden, KV heads·head], O [heads·head, hidden]; FFN: gate and up
 * [hidden, FFN], down [FFN, hidden]; lm_head [hidden, vocabulary] (tied or not, the NPU holds a copy). An expert
 * stack is one [K, N] weight per expert on the NPU (backend/plugin/rknpu-mul-mat-id.cpp). */
#include "model_shapes.h"

#include <string.h>

#define N_OF(a) (int)(sizeof(a) / sizeof *(a))

/* Qwen2.5-1.5B: hidden 1536, FFN 8960, 12 heads and 2 KV heads of 128, 28 layers, vocabulary 151936 (tied) */
static const struct bench_shape qwen25_1_5b[] = {
        {"attn_q/attn_o", 1536, 1536, GGML_TYPE_Q4_K, 2}, {"attn_k/attn_v", 1536, 256, GGML_TYPE_Q4_K, 2},
        {"ffn_gate/up", 1536, 8960, GGML_TYPE_Q4_K, 2},   {"ffn_down", 8960, 1536, GGML_TYPE_Q4_K, 1},
        {"lm_head", 1536, 151936, GGML_TYPE_Q6_K, 0},
};
/* Qwen2.5-3B: hidden 2048, FFN 11008, 16 heads and 2 KV heads of 128, 36 layers, vocabulary 151936 (tied) */
static const struct bench_shape qwen25_3b[] = {
        {"attn_q/attn_o", 2048, 2048, GGML_TYPE_Q4_K, 2}, {"attn_k/attn_v", 2048, 256, GGML_TYPE_Q4_K, 2},
        {"ffn_gate/up", 2048, 11008, GGML_TYPE_Q4_K, 2},  {"ffn_down", 11008, 2048, GGML_TYPE_Q4_K, 1},
        {"lm_head", 2048, 151936, GGML_TYPE_Q6_K, 0},
};
/* Qwen2.5-7B: hidden 3584, FFN 18944, 28 heads and 4 KV heads of 128, 28 layers, vocabulary 152064 (separate) */
static const struct bench_shape qwen25_7b[] = {
        {"attn_q/attn_o", 3584, 3584, GGML_TYPE_Q4_K, 2}, {"attn_k/attn_v", 3584, 512, GGML_TYPE_Q4_K, 2},
        {"ffn_gate/up", 3584, 18944, GGML_TYPE_Q4_K, 2},  {"ffn_down", 18944, 3584, GGML_TYPE_Q4_K, 1},
        {"lm_head", 3584, 152064, GGML_TYPE_Q6_K, 0},
};
/* Qwen3-1.7B: hidden 2048, FFN 6144, 16 heads and 8 KV heads of 128, 28 layers, vocabulary 151936 (tied) */
static const struct bench_shape qwen3_1_7b[] = {
        {"attn_q/attn_o", 2048, 2048, GGML_TYPE_Q4_K, 2}, {"attn_k/attn_v", 2048, 1024, GGML_TYPE_Q4_K, 2},
        {"ffn_gate/up", 2048, 6144, GGML_TYPE_Q4_K, 2},   {"ffn_down", 6144, 2048, GGML_TYPE_Q4_K, 1},
        {"lm_head", 2048, 151936, GGML_TYPE_Q6_K, 0},
};
/* Gemma 2 2B: hidden 2304, FFN 9216, 8 heads and 4 KV heads of 256 (Q width 2048), 26 layers, vocabulary 256000
 * (tied) */
static const struct bench_shape gemma2_2b[] = {
        {"attn_q", 2304, 2048, GGML_TYPE_Q4_K, 1},        {"attn_o", 2048, 2304, GGML_TYPE_Q4_K, 1},
        {"attn_k/attn_v", 2304, 1024, GGML_TYPE_Q4_K, 2}, {"ffn_gate/up", 2304, 9216, GGML_TYPE_Q4_K, 2},
        {"ffn_down", 9216, 2304, GGML_TYPE_Q4_K, 1},      {"lm_head", 2304, 256000, GGML_TYPE_Q6_K, 0},
};
/* Gemma 3 1B: hidden 1152 (not a multiple of 256: Q5_0 / Q8_0 in a Q4_K_M file), FFN 6912, 4 heads and 1 KV head
 * of 256 (Q width 1024), 26 layers, vocabulary 262144 (tied) */
static const struct bench_shape gemma3_1b[] = {
        {"attn_q", 1152, 1024, GGML_TYPE_Q5_0, 1},       {"attn_o", 1024, 1152, GGML_TYPE_Q4_K, 1},
        {"attn_k/attn_v", 1152, 256, GGML_TYPE_Q5_0, 2}, {"ffn_gate/up", 1152, 6912, GGML_TYPE_Q5_0, 2},
        {"ffn_down", 6912, 1152, GGML_TYPE_Q4_K, 1},     {"lm_head", 1152, 262144, GGML_TYPE_Q8_0, 0},
};
/* Gemma 3 4B: hidden 2560, FFN 10240, 8 heads and 4 KV heads of 256 (Q width 2048), 34 layers, vocabulary 262144
 * (tied) */
static const struct bench_shape gemma3_4b[] = {
        {"attn_q", 2560, 2048, GGML_TYPE_Q4_K, 1},        {"attn_o", 2048, 2560, GGML_TYPE_Q4_K, 1},
        {"attn_k/attn_v", 2560, 1024, GGML_TYPE_Q4_K, 2}, {"ffn_gate/up", 2560, 10240, GGML_TYPE_Q4_K, 2},
        {"ffn_down", 10240, 2560, GGML_TYPE_Q4_K, 1},     {"lm_head", 2560, 262144, GGML_TYPE_Q6_K, 0},
};

/* Qwen3-30B-A3B (mixture of experts): hidden 2048, 32 heads and 4 KV heads of 128 (Q width 4096), 48 layers,
 * 128 experts of FFN 768, 8 per token, a router [2048, 128] per layer (F32 in a Q4_K_M file: fp16 on the NPU),
 * vocabulary 151936 (separate) */
static const struct bench_shape qwen3_30b_a3b[] = {
        {"attn_q", 2048, 4096, GGML_TYPE_Q4_K, 1, 0},
        {"attn_o", 4096, 2048, GGML_TYPE_Q4_K, 1, 0},
        {"attn_k/attn_v", 2048, 512, GGML_TYPE_Q4_K, 2, 0},
        {"ffn_gate_inp", 2048, 128, GGML_TYPE_F32, 1, 0},
        {"ffn_gate/up_exps", 2048, 768, GGML_TYPE_Q4_K, 2, 128},
        {"ffn_down_exps", 768, 2048, GGML_TYPE_Q5_0, 1, 128},
        {"lm_head", 2048, 151936, GGML_TYPE_Q6_K, 0, 0},
};

const struct bench_model bench_models[] = {
        {"qwen2.5-1.5b", "Qwen2.5-1.5B", 28, qwen25_1_5b, N_OF(qwen25_1_5b)},
        {"qwen2.5-3b", "Qwen2.5-3B", 36, qwen25_3b, N_OF(qwen25_3b)},
        {"qwen2.5-7b", "Qwen2.5-7B", 28, qwen25_7b, N_OF(qwen25_7b)},
        {"qwen3-1.7b", "Qwen3-1.7B", 28, qwen3_1_7b, N_OF(qwen3_1_7b)},
        {"gemma2-2b", "Gemma 2 2B", 26, gemma2_2b, N_OF(gemma2_2b)},
        {"gemma3-1b", "Gemma 3 1B", 26, gemma3_1b, N_OF(gemma3_1b)},
        {"gemma3-4b", "Gemma 3 4B", 34, gemma3_4b, N_OF(gemma3_4b)},
        {"qwen3-30b-a3b", "Qwen3-30B-A3B", 48, qwen3_30b_a3b, N_OF(qwen3_30b_a3b), 8},
};
const int bench_nmodels = N_OF(bench_models);

const struct bench_model *bench_model_find(const char *name)
{
    for (int i = 0; i < bench_nmodels; i++)
        if (!strcmp(bench_models[i].name, name)) return &bench_models[i];
    return NULL;
}
