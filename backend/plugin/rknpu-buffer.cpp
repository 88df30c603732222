// The RKNPU buffer type: host memory in ggml's own layout (is_host = true, so the CPU reads and
// writes it in place and no split needs a copy), plus an NPU copy of every weight beside it
// (docs/hardware/ggml-backend.md §1.4, §1.5, §2.3 design B).
#include "rknpu-budget.h"
#include "rknpu-common.h"
#include "rknpu-weight-cache.h"

#include "ggml-impl.h"

#include <cstring>
#include <memory>
#include <unordered_map>

#define RKNPU_BUFFER_ALIGNMENT 64 // ggml wants >= 64; the NPU copies live in their own BOs

struct rknpu_buffer_context {
    void *base = nullptr;
    size_t size = 0;
    std::mutex mutex;                                                          // guards sidecars and lazy conversion
    std::unordered_map<const void *, std::unique_ptr<rknpu_sidecar>> sidecars; // by tensor->data

    ~rknpu_buffer_context()
    {
        drop_sidecars();
        ggml_aligned_free(base, size);
    }

    void drop_sidecars()
    {
        for (auto &it : sidecars) {
            rknpu_sidecar_release(it.second.get());
        }
        sidecars.clear();
    }

    // The sidecar of the weight at t->data, made when missing. Caller holds the mutex.
    rknpu_sidecar *sidecar_for(const ggml_tensor *t)
    {
        auto &sc = sidecars[t->data];
        if (!sc) {
            sc = std::make_unique<rknpu_sidecar>();
        }
        if (sc->type != t->type || sc->ne0 != t->ne[0] || sc->ne1 != t->ne[1] || sc->ne2 != t->ne[2]) {
            sc->valid = false;
            sc->type = t->type;
            sc->ne0 = t->ne[0];
            sc->ne1 = t->ne[1];
            sc->ne2 = t->ne[2];
        }
        return sc.get();
    }

    rknpu_sidecar *find(const void *data)
    {
        auto it = sidecars.find(data);
        return it == sidecars.end() ? nullptr : it->second.get();
    }
};

bool rknpu_is_weight_type(ggml_type type)
{
    return type == GGML_TYPE_F32 || ggml_get_type_traits(type)->to_float != nullptr;
}

// Weight-like: a real 2-D leaf (or a 3-D expert stack) of a convertible type. Compute tensors
// (activations) never get one.
static bool rknpu_wants_sidecar(ggml_backend_buffer_t buffer, const ggml_tensor *t)
{
    return ggml_backend_buffer_get_usage(buffer) != GGML_BACKEND_BUFFER_USAGE_COMPUTE && t->view_src == nullptr &&
           t->op == GGML_OP_NONE && t->ne[3] == 1 && rknpu_is_weight_type(t->type);
}

// A write to a weight's bytes (directly or through a view) makes its NPU copy stale.
static void rknpu_invalidate(rknpu_buffer_context *ctx, const ggml_tensor *t)
{
    const ggml_tensor *base = t->view_src ? t->view_src : t;
    std::lock_guard<std::mutex> lock(ctx->mutex);
    if (rknpu_sidecar *sc = ctx->find(base->data)) {
        sc->valid = false;
    }
}

void rknpu_sidecar_release(rknpu_sidecar *sc)
{
    rk_weight_free(sc->weight);
    sc->weight = nullptr;
    for (rk_weight *w : sc->experts) {
        rk_weight_free(w);
    }
    sc->experts.clear();
    sc->valid = false;
}

int rknpu_sidecar_convert(rknpu_device_context *dev, const ggml_tensor *t, rknpu_sidecar *sc)
{
    // The engine serves one thread at a time (rk_gemm.h): a lazy conversion must not run beside another
    // thread's matmul (several contexts, test-backend-ops -j). Order: the buffer's mutex, then the device's.
    std::lock_guard<std::mutex> engine_lock(dev->mutex);
    rknpu_sidecar_release(sc);
    // ggml's F32 has no to_float: the engine takes f32 rows as they are (rk_gemm.h)
    rk_row_to_float to_float = t->type == GGML_TYPE_F32 ? nullptr : ggml_get_type_traits(t->type)->to_float;
    const rk_gemm_mode mode = rknpu_weight_mode(*dev, t->type);
    const bool stack = t->ne[2] > 1; // an expert stack: one NPU weight per [K, N] slab
    for (int64_t e = 0; e < t->ne[2]; e++) {
        const char *slab = (const char *)t->data + e * t->nb[2];
        const int64_t t0 = npu_monotonic_ns();
        const rknpu_cache_entry entry = rknpu_weight_cache_entry(*dev, t, slab, (size_t)t->nb[1] * t->ne[1], mode);
        rk_weight *w = rknpu_weight_cache_load(*dev, entry, t->ne[0], t->ne[1], mode);
        int rc = 0;
        if (w) {
            dev->cache_read_ns += npu_monotonic_ns() - t0;
        } else if ((rc = rk_weight_prepare(dev->engine, slab, t->ne[0], t->ne[1], t->nb[1], to_float, mode, &w)) == 0) {
            dev->n_converted++;
            dev->convert_ns += npu_monotonic_ns() - t0;
            rknpu_weight_cache_store(*dev, entry, w);
        }
        if (rc) {
            GGML_LOG_ERROR("%s: converting %s%s (%s, %lld x %lld) for the NPU failed: %s\n", RKNPU_NAME, t->name,
                           stack ? (" expert " + std::to_string(e)).c_str() : "", ggml_type_name(t->type),
                           (long long)t->ne[1], (long long)t->ne[0], rk_gemm_last_error(dev->engine));
            rknpu_sidecar_release(sc);
            return rc;
        }
        if (stack) {
            sc->experts.push_back(w);
        } else {
            sc->weight = w;
        }
    }
    sc->valid = true;
    rk_gemm_memory mem;
    if (rk_gemm_memory_get(dev->engine, &mem) == 0 && mem.groups > dev->fd_groups_logged) {
        dev->fd_groups_logged = mem.groups;
        GGML_LOG_INFO("%s: NPU weights span %u fd group(s): %u IOVA spaces of %.0f MiB (%.1f MiB of weights)\n",
                      RKNPU_NAME, mem.groups, mem.fds, mem.iova_space / 1048576.0, mem.weight_bytes / 1048576.0);
    }
    return 0;
}

rknpu_sidecar *rknpu_sidecar_ready(rknpu_device_context *dev, const ggml_tensor *t)
{
    if (!t->buffer || t->buffer->buft != ggml_backend_rknpu_buffer_type() || !rknpu_wants_sidecar(t->buffer, t)) {
        GGML_LOG_ERROR("%s: %s is not a weight in an RKNPU buffer\n", RKNPU_NAME, t->name);
        return nullptr;
    }
    if (!rknpu_budget_admits(*dev, t)) {
        GGML_LOG_ERROR("%s: %s has no NPU copy: it is beyond RKNPU_MAX_MEM\n", RKNPU_NAME, t->name);
        return nullptr;
    }
    auto *ctx = (rknpu_buffer_context *)t->buffer->context;
    std::lock_guard<std::mutex> lock(ctx->mutex);
    rknpu_sidecar *sc = ctx->sidecar_for(t);
    if (!sc->valid && rknpu_sidecar_convert(dev, t, sc) != 0) {
        return nullptr;
    }
    return sc;
}

static void ggml_backend_rknpu_buffer_free_buffer(ggml_backend_buffer_t buffer)
{
    auto *ctx = (rknpu_buffer_context *)buffer->context;
    rknpu_budget_forget(ctx->base, ctx->size);
    delete ctx;
}

static void *ggml_backend_rknpu_buffer_get_base(ggml_backend_buffer_t buffer)
{
    return ((rknpu_buffer_context *)buffer->context)->base;
}

static enum ggml_status ggml_backend_rknpu_buffer_init_tensor(ggml_backend_buffer_t buffer, ggml_tensor *tensor)
{
    if (rknpu_wants_sidecar(buffer, tensor)) {
        auto *ctx = (rknpu_buffer_context *)buffer->context;
        std::lock_guard<std::mutex> lock(ctx->mutex);
        ctx->sidecar_for(tensor);
        rknpu_budget_register(*(rknpu_device_context *)buffer->buft->device->context, tensor);
    }
    return GGML_STATUS_SUCCESS;
}

static void ggml_backend_rknpu_buffer_memset_tensor(ggml_backend_buffer_t buffer, ggml_tensor *tensor, uint8_t value,
                                                    size_t offset, size_t size)
{
    memset((char *)tensor->data + offset, value, size);
    rknpu_invalidate((rknpu_buffer_context *)buffer->context, tensor);
}

static void ggml_backend_rknpu_buffer_set_tensor(ggml_backend_buffer_t buffer, ggml_tensor *tensor, const void *data,
                                                 size_t offset, size_t size)
{
    memcpy((char *)tensor->data + offset, data, size);
    auto *ctx = (rknpu_buffer_context *)buffer->context;
    rknpu_invalidate(ctx, tensor);
    // The model loader writes each weight whole into a WEIGHTS buffer: convert now, so the first
    // inference does not pay for it. Other paths (partial writes, test-backend-ops, direct reads by
    // --load-mode none, rpc-server) convert lazily at first use.
    if (ggml_backend_buffer_get_usage(buffer) == GGML_BACKEND_BUFFER_USAGE_WEIGHTS && offset == 0 &&
        size == ggml_nbytes(tensor) && rknpu_wants_sidecar(buffer, tensor) &&
        rknpu_budget_admits(*(rknpu_device_context *)buffer->buft->device->context, tensor)) {
        std::lock_guard<std::mutex> lock(ctx->mutex);
        auto *dev = (rknpu_device_context *)buffer->buft->device->context;
        rknpu_sidecar_convert(dev, tensor, ctx->sidecar_for(tensor)); // a failure is logged and retried at first use
    }
}

static void ggml_backend_rknpu_buffer_get_tensor(ggml_backend_buffer_t buffer, const ggml_tensor *tensor, void *data,
                                                 size_t offset, size_t size)
{
    memcpy(data, (const char *)tensor->data + offset, size);
    GGML_UNUSED(buffer);
}

static bool ggml_backend_rknpu_buffer_cpy_tensor(ggml_backend_buffer_t buffer, const ggml_tensor *src, ggml_tensor *dst)
{
    if (!ggml_backend_buffer_is_host(src->buffer)) {
        return false;
    }
    memcpy(dst->data, src->data, ggml_nbytes(src));
    rknpu_invalidate((rknpu_buffer_context *)buffer->context, dst);
    return true;
}

static void ggml_backend_rknpu_buffer_clear(ggml_backend_buffer_t buffer, uint8_t value)
{
    auto *ctx = (rknpu_buffer_context *)buffer->context;
    memset(ctx->base, value, ctx->size);
    std::lock_guard<std::mutex> lock(ctx->mutex);
    for (auto &it : ctx->sidecars) {
        it.second->valid = false;
    }
}

// Runs on compute buffers before a graph is re-allocated: their tensors are gone.
static void ggml_backend_rknpu_buffer_reset(ggml_backend_buffer_t buffer)
{
    auto *ctx = (rknpu_buffer_context *)buffer->context;
    std::lock_guard<std::mutex> lock(ctx->mutex);
    ctx->drop_sidecars();
}

static const ggml_backend_buffer_i ggml_backend_rknpu_buffer_i = {
        .free_buffer = ggml_backend_rknpu_buffer_free_buffer,
        .get_base = ggml_backend_rknpu_buffer_get_base,
        .init_tensor = ggml_backend_rknpu_buffer_init_tensor,
        .memset_tensor = ggml_backend_rknpu_buffer_memset_tensor,
        .set_tensor = ggml_backend_rknpu_buffer_set_tensor,
        .get_tensor = ggml_backend_rknpu_buffer_get_tensor,
        .set_tensor_2d = nullptr,
        .get_tensor_2d = nullptr,
        .cpy_tensor = ggml_backend_rknpu_buffer_cpy_tensor,
        .clear = ggml_backend_rknpu_buffer_clear,
        .reset = ggml_backend_rknpu_buffer_reset,
};

static const char *ggml_backend_rknpu_buffer_type_get_name(ggml_backend_buffer_type_t buft)
{
    return RKNPU_NAME;
    GGML_UNUSED(buft);
}

static ggml_backend_buffer_t ggml_backend_rknpu_buffer_type_alloc_buffer(ggml_backend_buffer_type_t buft, size_t size)
{
    auto *ctx = new rknpu_buffer_context;
    ctx->size = size;
    ctx->base = ggml_aligned_malloc(size);
    if (!ctx->base) {
        GGML_LOG_ERROR("%s: cannot allocate a %zu-byte buffer\n", RKNPU_NAME, size);
        delete ctx;
        return nullptr;
    }
    return ggml_backend_buffer_init(buft, ggml_backend_rknpu_buffer_i, ctx, size);
}

static size_t ggml_backend_rknpu_buffer_type_get_alignment(ggml_backend_buffer_type_t buft)
{
    return RKNPU_BUFFER_ALIGNMENT;
    GGML_UNUSED(buft);
}

static bool ggml_backend_rknpu_buffer_type_is_host(ggml_backend_buffer_type_t buft)
{
    return true;
    GGML_UNUSED(buft);
}

ggml_backend_dev_t ggml_backend_rknpu_device(void);

ggml_backend_buffer_type_t ggml_backend_rknpu_buffer_type(void)
{
    static ggml_backend_buffer_type buft = {
            .iface =
                    {
                            .get_name = ggml_backend_rknpu_buffer_type_get_name,
                            .alloc_buffer = ggml_backend_rknpu_buffer_type_alloc_buffer,
                            .get_alignment = ggml_backend_rknpu_buffer_type_get_alignment,
                            .get_max_size = nullptr,
                            .get_alloc_size = nullptr,
                            .is_host = ggml_backend_rknpu_buffer_type_is_host,
                    },
            .device = ggml_backend_rknpu_device(),
            .context = nullptr,
    };
    return &buft;
}
