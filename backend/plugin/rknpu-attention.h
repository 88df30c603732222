// Attention on the NPU (issue 13): the two products of self-attention over the KV cache for prefill batches,
// both as llama.cpp builds them without flash attention (the KQ and KQV MUL_MATs on views of the cache) and
// with it (FLASH_ATTN_EXT, softmax on the host, tiled over the KV length). The cache stays in CPU memory;
// its K and V rows are converted and packed per call into NPU operands (rk_weight_load), which
// docs/architecture.md ("KV cache") justifies with the measured costs.
#pragma once

#include "rknpu-common.h"

// MUL_MAT whose src0 changes every call (a KV-cache view, a permuted or broadcast operand): accepted?
bool rknpu_attn_mul_mat_supported(const rknpu_device_context &dev, const ggml_tensor *op);
ggml_status rknpu_attn_mul_mat(rknpu_device_context &dev, ggml_tensor *dst);

// FLASH_ATTN_EXT: accepted? (declines ALiBi, soft-capping, sinks and the rest: docs/architecture.md)
bool rknpu_flash_attn_supported(const rknpu_device_context &dev, const ggml_tensor *op);
ggml_status rknpu_flash_attn(rknpu_device_context &dev, ggml_tensor *dst);

// The precision attention runs in: fp16 unless RKNPU_MODE forces a mode (docs/accuracy.md).
rk_gemm_mode rknpu_attention_mode(const rknpu_device_context &dev);

// Free the per-call operands and scratch (before the engine closes).
void rknpu_attention_free(rknpu_device_context &dev);
