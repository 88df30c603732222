// The on-disk cache of converted NPU weights (RKNPU_WEIGHT_CACHE, RKNPU_WEIGHT_CACHE_MAX), so the second load of a
// model reads its NPU copies instead of converting them.
//
// Key: a 128-bit hash of the weight's own bytes (as ggml holds them) with its type, shape, accuracy mode, execution
// envelope, the engine's format version and the plugin binary's identity (a rebuilt plugin starts afresh). The plugin never sees the GGUF's path (the loader writes bytes through
// set_tensor, or read()s them straight into the buffer), and the bytes are the identity that matters: a changed
// model file changes the keys of the weights that changed, a copied or renamed file still hits, and no path,
// size or mtime can make a stale entry look current. Hashing runs at memory speed (~6 GB/s on one x86 core).
// Entries: one file per weight (<key>.npuw, rk_weight_write's format with its hash trailer), written to a temporary
// file, fsynced and renamed into place, so a reader sees a whole file or none; a short or corrupt file is refused
// by rk_weight_read, removed and rebuilt. Size: at most RKNPU_WEIGHT_CACHE_MAX bytes; a hit refreshes the file's
// mtime and the least recently used files go first. A cache that cannot be written only costs the next load time.
#pragma once

#include "rknpu-common.h"

#include <string>

struct rknpu_cache_entry {
    std::string path; // "" when the cache is off
    std::string name; // for the log
};

// The entry of one weight slab (`bytes` of raw data at `data`, decoded as t's type into [K, N]).
rknpu_cache_entry rknpu_weight_cache_entry(const rknpu_device_context &dev, const ggml_tensor *t, const void *data,
                                           size_t bytes, rk_gemm_mode mode);
// The cached NPU weight, or nullptr (no cache, a miss, or an unusable entry, which is removed and logged).
// Caller holds dev.mutex.
rk_weight *rknpu_weight_cache_load(rknpu_device_context &dev, const rknpu_cache_entry &entry, int64_t K, int64_t N,
                                   rk_gemm_mode mode);
// Keep a converted weight (errors are logged once and otherwise ignored). Caller holds dev.mutex.
void rknpu_weight_cache_store(rknpu_device_context &dev, const rknpu_cache_entry &entry, const rk_weight *w);
