// The NPU memory budget (RKNPU_MAX_MEM): which weights get an NPU copy when not all may.
//
// The decision is made once per model, when its first weight is about to be converted (set_tensor during the
// load, or the first graph that needs it), over every weight the model's buffers registered at allocation
// (init_tensor runs for all of them before any data is written). From then on it is fixed, so the scheduler sees
// the same placement for every graph. Whole layers are admitted from layer 0 up while they fit; weights outside
// the "blk.N." layers (the output matrix) come last and only when every layer fits. A declined weight keeps
// ggml's bytes in the (host) RKNPU buffer and supports_op declines its nodes, so the CPU backend runs them.
// Without a budget every weight is admitted and nothing is recorded.
#pragma once

#include "rknpu-common.h"

#include <cstddef>

// A weight-like tensor of a weights buffer was allocated (its shape and name are final).
void rknpu_budget_register(const rknpu_device_context &dev, const ggml_tensor *t);
// A buffer is freed: its weights leave the budget.
void rknpu_budget_forget(const void *base, size_t size);
// May the weight at t->data have an NPU copy? Weights never registered (capability probes, graphs of tests
// that write no weights buffer) are admitted while the budget has room.
bool rknpu_budget_admits(const rknpu_device_context &dev, const ggml_tensor *t);
// What get_memory reports: the host's memory (the NPU has none of its own: its copies live in RAM), cut to what
// the budget has left when one is set.
void rknpu_budget_memory(const rknpu_device_context &dev, size_t *free, size_t *total);
