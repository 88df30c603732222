// libggml-rknpu.so: ggml backend plugin for the RK3588 NPU (mainline `rocket` driver).
//
// Reads top-down like ggml's small backends (docs/style.md §1): device selection, the MUL_MAT kernel, the
// backend (stream), the device with its placement policy, the registry, the dynamic-loading entry
// points. MUL_MAT_ID (mixture of experts) is in rknpu-mul-mat-id.cpp, the CPU's share of a split weight MUL_MAT
// in rknpu-split.cpp. The settings (RKNPU_DEVICE, RKNPU_MODE, RKNPU_MIN_BATCH, RKNPU_CLOCK_MHZ, RKNPU_ENVELOPE,
// RKNPU_CPU_SHARE, RKNPU_PROFILE, RKNPU_MAX_MEM, RKNPU_WEIGHT_CACHE) and the board profile are read in
// rknpu-config.cpp, the buffer type lives in rknpu-buffer.cpp, the extra entry points reached through
// get_proc_address are declared in ggml-rknpu.h. Registry, device and buffer type are static singletons: every
// ggml_backend_load_all() dlopens the plugin again and must get the same objects back
// (docs/hardware/ggml-backend.md §1.7).

#include "rknpu-attention.h"
#include "rknpu-budget.h"
#include "rknpu-common.h"
#include "rknpu-split.h"

#include "ggml-impl.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sys/utsname.h>

#include <chrono>
#include <system_error>
#include <thread>
#include <vector>

// Quantized weights (Q4_K, Q8_0, ...) carry at most 8 bits of precision, so int8 loses little and
// runs at the full MAC rate; float weights (F32, F16, BF16) would lose precision they have, so they
// run in fp16 (half the MAC rate, docs/hardware/arithmetic.md §7). RKNPU_MODE overrides this for all weights.
rk_gemm_mode rknpu_weight_mode(const rknpu_device_context &dev, ggml_type type)
{
    if (dev.config.mode_forced) {
        return dev.config.mode;
    }
    return type == GGML_TYPE_F32 || type == GGML_TYPE_F16 || type == GGML_TYPE_BF16 ? RK_GEMM_FP16 : RK_GEMM_INT8;
}

// What came of the settings: a device, no device (RKNPU_DEVICE=off, or auto without an NPU), or a
// config error (an invalid setting, or a device asked for by name that cannot be had).
enum class rknpu_outcome {
    present,
    absent,
    config_error
};

// Open the engine on the selected device and fill the description; otherwise the reason in `why`.
static rknpu_outcome rknpu_device_init(rknpu_device_context &dev, std::string &why)
{
    const rknpu_config &cfg = dev.config;
    if (!cfg.error.empty()) {
        why = cfg.error;
        return rknpu_outcome::config_error;
    }
    if (cfg.device_off) {
        why = "RKNPU_DEVICE=off";
        return rknpu_outcome::absent;
    }
    // One device first, for what the board profile is checked against (driver, its version, cores); the
    // engine then opens every core in the envelope chosen.
    char reason[512] = "";
    npu_open_options probe_opt = {};
    probe_opt.model_clock_mhz = cfg.clock_mhz;
    npu_device *probe = nullptr;
    npu_device_info info = {};
    if (npu_device_open(cfg.kind, &probe_opt, &probe) == 0) {
        npu_device_get_info(probe, &info);
        npu_device_close(probe);
    } else {
        snprintf(reason, sizeof reason, "opening the NPU (%s): %s", npu_device_kind_name(cfg.kind), npu_last_error());
    }
    rknpu_envelope_choice choice;
    if (!reason[0]) {
        utsname uts = {};
        uname(&uts);
        choice = rknpu_envelope_choose(cfg, info, uts.release);
        if (!choice.error.empty()) {
            why = choice.error;
            return rknpu_outcome::config_error;
        }
        dev.envelope = choice.envelope;
        dev.envelope_note = choice.note;
        // A profile made on this system also measured the timing: the MODEL plans with it from here on
        // (device/npu_timing.h; the planner's job budget is MODEL time, docs/hardware/limits.md §5 E5).
        if (choice.profile_used) {
            const rk_board_timing &t = choice.profile.timing;
            npu_model_measured m = {};
            m.task_overhead_us = t.task_overhead_us;
            m.job_overhead_us = t.job_overhead_us;
            m.mac_efficiency = t.mac_efficiency;
            m.dma_core_gbps = t.dma_gbps;
            m.clock_mhz = choice.profile.clock_mhz;
            if (npu_model_install_measured(&m, choice.profile.created) != 0)
                dev.envelope_note += "; its timing is implausible and not used (timing model as fitted)";
        }
        rk_gemm_options opt = {};
        opt.kind = cfg.kind;
        opt.cores = 0; // every core
        opt.model_clock_mhz = cfg.clock_mhz;
        opt.envelope = &dev.envelope;
        opt.pipeline_chunks = cfg.pipeline_chunks;
        rk_gemm_open(&opt, &dev.engine, reason, sizeof reason);
    }
    if (!dev.engine) {
        npu_model_reset();
        if (cfg.kind == NPU_DEVICE_AUTO) {
            why = std::string(reason) + "; RKNPU_DEVICE=sim selects the software NPU";
            return rknpu_outcome::absent;
        }
        why = std::string("RKNPU_DEVICE=") + npu_device_kind_name(cfg.kind) +
              " was asked for but cannot be used: " + reason;
        return rknpu_outcome::config_error;
    }
    rk_gemm_device_info(dev.engine, &dev.info);
    char desc[256];
    const char *env = npu_envelope_name(dev.envelope.kind);
    if (dev.info.is_simulator) {
        snprintf(desc, sizeof desc,
                 "RK3588 NPU SOFTWARE SIMULATOR (%u cores, timing model %u MHz, %s, envelope %s; not real hardware)",
                 dev.info.cores, dev.info.model_clock_mhz, npu_model_source(), env);
    } else {
        snprintf(desc, sizeof desc, "RK3588 NPU at %s (%s %d.%d.%d, %u cores, timing model %u MHz, %s, envelope %s)",
                 dev.info.node, dev.info.driver, dev.info.version_major, dev.info.version_minor, dev.info.version_patch,
                 dev.info.cores, dev.info.model_clock_mhz, npu_model_source(), env);
    }
    dev.description = desc;
    return rknpu_outcome::present;
}

// One context for the process: the settings, the device if any, and why not otherwise.
struct rknpu_plugin {
    rknpu_device_context dev;
    bool present = false;
    bool config_error = false;
    std::string why;

    rknpu_plugin()
    {
        dev.config = rknpu_config_get();
        rknpu_outcome outcome = rknpu_device_init(dev, why);
        present = outcome == rknpu_outcome::present;
        config_error = outcome == rknpu_outcome::config_error;
        // WARN, not INFO: the stock tools load backends while parsing their arguments, when their
        // logger still drops INFO lines, and which device runs the matmuls must always be visible.
        // A config error is an ERROR: the user asked for something that cannot be had. The stock
        // tools go on on the CPU; the CLI reads the status and refuses.
        if (present) {
            char share[160];
            if (dev.config.cpu_share_forced) {
                snprintf(share, sizeof share, "%.2f of their rows on the CPU (RKNPU_CPU_SHARE)", dev.config.cpu_share);
            } else {
                snprintf(share, sizeof share, "%s",
                         dev.info.is_simulator ? "NPU only on the simulator (RKNPU_CPU_SHARE)"
                                               : "rows split by measured speeds with the CPU");
            }
            char chunks[64];
            uint32_t n = dev.config.pipeline_chunks;
            snprintf(chunks, sizeof chunks,
                     n == 1 ? "no row chunks (RKNPU_PIPELINE=off)"
                     : n    ? "%u row chunks per large matmul (RKNPU_PIPELINE)"
                            : "row chunks where they pay (RKNPU_PIPELINE)",
                     n);
            size_t used = strlen(share);
            snprintf(share + used, sizeof share - used, ", %s", chunks);
            char attention[96];
            snprintf(attention, sizeof attention, "%s%s",
                     dev.config.attention_on_cpu ? "on the CPU (RKNPU_ATTENTION=cpu)" : "in ",
                     dev.config.attention_on_cpu ? "" : rk_gemm_mode_name(rknpu_attention_mode(dev)));
            GGML_LOG_WARN("%s: RKNPU0 = %s; MUL_MAT in %s (%s), attention (KQ/KQV, FLASH_ATTN_EXT) %s, for "
                          "batches >= %lld tokens; %s\n",
                          RKNPU_NAME, dev.description.c_str(),
                          dev.config.mode_forced ? rk_gemm_mode_name(dev.config.mode) : "int8 (fp16 for float weights)",
                          share, attention, (long long)dev.config.min_batch, dev.envelope_note.c_str());
        } else if (config_error) {
            GGML_LOG_ERROR("%s: %s; no device registered\n", RKNPU_NAME, why.c_str());
        } else {
            GGML_LOG_WARN("%s: %s; no device registered\n", RKNPU_NAME, why.c_str());
        }
    }

    ~rknpu_plugin()
    {
        rknpu_attention_free(dev);
        rk_gemm_close(dev.engine); // models using it must be freed before the plugin is unloaded
    }
};

static rknpu_plugin &rknpu_get_plugin(void)
{
    static rknpu_plugin plugin;
    return plugin;
}

// ---------------------------------------------------------------------------------------------
// MUL_MAT: dst[N, M] = src1[K, M] · src0[K, N]ᵀ with src0 a prepared weight (docs/hardware/ggml-backend.md §3.2)
// ---------------------------------------------------------------------------------------------

struct rknpu_backend_context;
static ggml_backend_t rknpu_cpu_backend(rknpu_backend_context &ctx, const char *what);
static ggml_backend_t rknpu_cpu_split_backend(rknpu_backend_context &ctx);

static double rknpu_elapsed_ns(std::chrono::steady_clock::time_point t0)
{
    return std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count();
}

// The share of this matmul's rows for the CPU: RKNPU_CPU_SHARE, or the share that balances the two engines'
// measured speeds (rknpu-split.h). Auto stays NPU only on the simulator (its NPU time is the host's, no
// board's) and for a weight's first run (which measures its NPU speed). Caller holds dev.mutex.
static double rknpu_cpu_share(const rknpu_device_context &dev, const rknpu_sidecar &sc, ggml_type type)
{
    if (dev.config.cpu_share_forced) {
        return dev.config.cpu_share;
    }
    if (dev.info.is_simulator) {
        return 0;
    }
    rknpu_split_speeds sp;
    sp.npu_macs_per_ns = sc.npu_macs_per_ns;
    sp.cpu_macs_per_ns = dev.cpu_macs_per_ns[type] > 0 ? dev.cpu_macs_per_ns[type] : rknpu_split_cpu_seed();
    return rknpu_split_balanced_share(sp);
}

// A running mean that follows a speed as it drifts (clock, thermal state, the other processes).
static void rknpu_speed_update(double &speed, double macs, double ns)
{
    constexpr double KEEP = 0.75;
    if (ns > 0) {
        speed = speed > 0 ? KEEP * speed + (1 - KEEP) * macs / ns : macs / ns;
    }
}

// The weight MUL_MAT. Rows [0, m_npu) of the batch run on the NPU on this thread; rows [m_npu, M), the CPU's
// share, at the same time on the CPU backend in a thread of their own (rknpu-split.cpp).
static ggml_status rknpu_mul_mat(rknpu_backend_context &ctx, rknpu_device_context &dev, ggml_tensor *dst)
{
    const ggml_tensor *src0 = dst->src[0];
    const ggml_tensor *src1 = dst->src[1];
    rknpu_sidecar *sc = rknpu_sidecar_ready(&dev, src0);
    if (!sc) {
        return GGML_STATUS_FAILED;
    }
    const int64_t K = src0->ne[0];
    const int64_t N = src0->ne[1];
    const int64_t M = ggml_nrows(src1); // src0 is 2-D, so src1's batches are one [K, M] matrix
    std::unique_lock<std::mutex> lock(dev.mutex);
    const int64_t m_cpu = rknpu_split_cpu_rows(rknpu_cpu_share(dev, *sc, src0->type), M, dev.config.min_batch);
    const int64_t m_npu = M - m_cpu;
    ggml_backend_t cpu = m_cpu ? rknpu_cpu_split_backend(ctx) : nullptr;
    if (m_cpu && !cpu) {
        return GGML_STATUS_FAILED; // logged
    }
    ggml_status cpu_st = GGML_STATUS_SUCCESS;
    double cpu_ns = 0;
    auto cpu_rows = [&] {
        auto t0 = std::chrono::steady_clock::now();
        cpu_st = rknpu_split_rows_on_cpu(cpu, dst, m_npu, m_cpu);
        cpu_ns = rknpu_elapsed_ns(t0);
    };
    std::thread cpu_part;
    bool cpu_after = false; // no thread to be had: the CPU's rows after the NPU's, still the CPU's share only
    if (m_cpu) {
        try {
            cpu_part = std::thread(cpu_rows);
        } catch (const std::system_error &) {
            cpu_after = true;
        }
    }
    rk_gemm_stats st = {};
    int rc = rk_gemm_run(dev.engine, sc->weight, (const float *)src1->data, m_npu, src1->nb[1] / sizeof(float),
                         (float *)dst->data, dst->nb[1] / sizeof(float), &st);
    if (cpu_part.joinable()) {
        cpu_part.join(); // also when the NPU failed: the CPU part writes into dst until it returns
    } else if (cpu_after && rc == 0) {
        cpu_rows();
    }
    dev.n_matmuls++;
    std::vector<int64_t> nonfinite;
    if (rc == 0 && st.nonfinite_rows) { // named until the engine's next run, which the lock holds off
        nonfinite.resize(st.nonfinite_rows);
        rk_gemm_nonfinite_rows(dev.engine, nonfinite.data(), (int64_t)nonfinite.size());
    }
    if (rc != 0) {
        // An NPU failure ends this inference with an error; it never falls back to the CPU, which computes only
        // its own share.
        dev.n_failures++;
        GGML_LOG_ERROR("%s: MUL_MAT %s (K=%lld, N=%lld, M=%lld, %lld rows on the NPU) failed on the NPU: %s\n",
                       RKNPU_NAME, dst->name, (long long)K, (long long)N, (long long)M, (long long)m_npu,
                       rk_gemm_last_error(dev.engine));
        return GGML_STATUS_FAILED;
    }
    rknpu_count_run(dev, st);
    const double macs_per_row = (double)K * (double)N;
    rknpu_speed_update(sc->npu_macs_per_ns, macs_per_row * (double)m_npu, st.wall_ns);
    dev.npu_share_macs += macs_per_row * (double)m_npu;
    if (m_cpu) {
        if (cpu_st != GGML_STATUS_SUCCESS) {
            GGML_LOG_ERROR("%s: MUL_MAT %s (K=%lld, N=%lld): the CPU backend failed on its %lld of %lld rows\n",
                           RKNPU_NAME, dst->name, (long long)K, (long long)N, (long long)m_cpu, (long long)M);
            return cpu_st;
        }
        dev.n_split_matmuls++;
        dev.cpu_share_macs += macs_per_row * (double)m_cpu;
        dev.cpu_share_ns += cpu_ns;
        rknpu_speed_update(dev.cpu_macs_per_ns[src0->type], macs_per_row * (double)m_cpu, cpu_ns);
    }
    lock.unlock();
    if (!nonfinite.empty()) {
        // Not an NPU fault: the rows the CPU path would have computed, from ggml's own bytes (rknpu-nonfinite.cpp).
        ggml_backend_t cpu = rknpu_cpu_backend(ctx, "a MUL_MAT with activation rows holding a NaN or an infinity");
        ggml_status cst = cpu ? rknpu_nonfinite_rows_on_cpu(cpu, dst, nonfinite.data(), (int64_t)nonfinite.size())
                              : GGML_STATUS_FAILED;
        if (cst != GGML_STATUS_SUCCESS) {
            GGML_LOG_ERROR("%s: MUL_MAT %s: the CPU backend failed on its %zu non-finite activation rows\n", RKNPU_NAME,
                           dst->name, nonfinite.size());
            return cst;
        }
    }
    return GGML_STATUS_SUCCESS;
}

void rknpu_count_run(rknpu_device_context &dev, const rk_gemm_stats &st)
{
    dev.n_tasks += st.tasks;
    dev.n_jobs += st.jobs;
    dev.glue_ns += st.glue_ns;
    dev.npu_wait_ns += st.npu_wait_ns;
    for (int b = 0; b < NPU_MODEL_BOUNDS; b++) {
        dev.model_ns_200[b] += st.model_ns_200[b];
        dev.model_ns_1000[b] += st.model_ns_1000[b];
    }
    dev.n_reuse_tasks += st.reuse_tasks;
}

// ---------------------------------------------------------------------------------------------
// backend (stream)
// ---------------------------------------------------------------------------------------------

// In llama.cpp the scheduler gives this backend only what supports_op accepted. A graph can also
// arrive whole, when rpc-server serves RKNPU0 to a remote client (the RPC client assumes the remote
// computes every op): then the matmuls the NPU takes run there and every other node runs on the
// A76 cores through the CPU backend, as the design splits the work anyway.
struct rknpu_backend_context {
    rknpu_device_context *dev = nullptr;
    ggml_backend_t cpu = nullptr;       // created on first need
    ggml_backend_t cpu_split = nullptr; // the CPU's share of split MUL_MATs, beside the NPU (rknpu_split_cpu_threads)
    int n_threads = 0;                  // 0 = the CPU backend's default
};

static bool rknpu_mul_mat_supported(const rknpu_device_context &dev, const ggml_tensor *op);

// The nodes this backend runs on the NPU: MUL_MAT with a resident weight, MUL_MAT with a per-call src0
// (attention without flash attention), FLASH_ATTN_EXT, MUL_MAT_ID (experts, rknpu-mul-mat-id.cpp).
static bool rknpu_node_on_npu(const rknpu_device_context &dev, const ggml_tensor *node)
{
    switch (node->op) {
    case GGML_OP_MUL_MAT:
        return rknpu_mul_mat_supported(dev, node) ||
               (!dev.config.attention_on_cpu && rknpu_attn_mul_mat_supported(dev, node));
    case GGML_OP_FLASH_ATTN_EXT:
        return !dev.config.attention_on_cpu && rknpu_flash_attn_supported(dev, node);
    case GGML_OP_MUL_MAT_ID:
        return rknpu_mul_mat_id_supported(dev, node);
    default:
        return false;
    }
}

static const char *ggml_backend_rknpu_get_name(ggml_backend_t backend)
{
    return RKNPU_NAME;
    GGML_UNUSED(backend);
}

static void ggml_backend_rknpu_free(ggml_backend_t backend)
{
    auto *ctx = (rknpu_backend_context *)backend->context;
    if (ctx->cpu) {
        ggml_backend_free(ctx->cpu);
    }
    if (ctx->cpu_split) {
        ggml_backend_free(ctx->cpu_split);
    }
    delete ctx;
    delete backend;
}

static bool rknpu_is_noop(const ggml_tensor *node)
{
    return node->op == GGML_OP_NONE || node->op == GGML_OP_RESHAPE || node->op == GGML_OP_VIEW ||
           node->op == GGML_OP_PERMUTE || node->op == GGML_OP_TRANSPOSE;
}

// A CPU backend with this many threads (0: its default); nullptr when no CPU backend is loaded.
static ggml_backend_t rknpu_new_cpu_backend(int n_threads)
{
    ggml_backend_dev_t cpu_dev = ggml_backend_dev_by_type(GGML_BACKEND_DEVICE_TYPE_CPU);
    ggml_backend_t cpu = cpu_dev ? ggml_backend_dev_init(cpu_dev, nullptr) : nullptr;
    if (cpu && n_threads > 0) {
        auto set_threads = (ggml_backend_set_n_threads_t)ggml_backend_reg_get_proc_address(
                ggml_backend_dev_backend_reg(cpu_dev), "ggml_backend_set_n_threads");
        if (set_threads) {
            set_threads(cpu, n_threads);
        }
    }
    return cpu;
}

// The CPU backend this backend hands work to, created on first need with llama.cpp's thread count; nullptr
// (logged, with what needed it) when no CPU backend is loaded.
static ggml_backend_t rknpu_cpu_backend(rknpu_backend_context &ctx, const char *what)
{
    if (!ctx.cpu) {
        ctx.cpu = rknpu_new_cpu_backend(ctx.n_threads);
        if (!ctx.cpu) {
            GGML_LOG_ERROR("%s: %s needs the CPU backend and none is loaded\n", RKNPU_NAME, what);
        }
    }
    return ctx.cpu;
}

// The CPU backend for the CPU's share of split MUL_MATs: llama.cpp's threads less the NPU side's, so the two
// engines' host threads together use no more cores than llama.cpp was given.
static ggml_backend_t rknpu_cpu_split_backend(rknpu_backend_context &ctx)
{
    if (!ctx.cpu_split) {
        ctx.cpu_split = rknpu_new_cpu_backend(rknpu_split_cpu_threads(ctx.n_threads));
        if (!ctx.cpu_split) {
            GGML_LOG_ERROR("%s: the CPU's share of a MUL_MAT (RKNPU_CPU_SHARE) needs the CPU backend and none is "
                           "loaded\n",
                           RKNPU_NAME);
        }
    }
    return ctx.cpu_split;
}

static ggml_status rknpu_compute_on_cpu(rknpu_backend_context &ctx, ggml_cgraph *cgraph, int i0, int i1)
{
    if (!rknpu_cpu_backend(ctx, "a node that is not a matmul")) {
        return GGML_STATUS_FAILED;
    }
    ggml_cgraph view = ggml_graph_view(cgraph, i0, i1);
    return ggml_backend_graph_compute(ctx.cpu, &view);
}

// Node i on the NPU. An input holding a NaN or an infinity is no NPU fault (int8 and fp16 cannot carry it):
// a MUL_MAT with a resident weight gets the CPU backend's values in just those rows (rknpu_mul_mat); in the
// attention and expert paths rows mix inside the node, so when they met one (rknpu_nonfinite_note) the whole
// node is recomputed by the CPU backend, which gives those rows exactly what the CPU path gives.
static ggml_status rknpu_node_compute(rknpu_backend_context &ctx, ggml_cgraph *cgraph, int i)
{
    rknpu_device_context &dev = *ctx.dev;
    ggml_tensor *node = ggml_graph_node(cgraph, i);
    if (node->op == GGML_OP_MUL_MAT && rknpu_mul_mat_supported(dev, node)) {
        return rknpu_mul_mat(ctx, dev, node);
    }
    rknpu_nonfinite_take(); // what is noted from here on is this node's
    ggml_status st = GGML_STATUS_FAILED;
    if (node->op == GGML_OP_FLASH_ATTN_EXT) {
        st = rknpu_flash_attn(dev, node);
    } else if (node->op == GGML_OP_MUL_MAT) {
        st = rknpu_attn_mul_mat(dev, node);
    } else if (ggml_backend_t cpu = rknpu_cpu_backend(ctx, "MUL_MAT_ID (experts below the NPU batch)")) {
        st = rknpu_mul_mat_id(dev, cpu, node);
    }
    return rknpu_nonfinite_take() ? rknpu_compute_on_cpu(ctx, cgraph, i, i + 1) : st;
}

// The matmuls this backend runs itself: accepted MUL_MATs and MUL_MAT_IDs.
static ggml_status ggml_backend_rknpu_graph_compute(ggml_backend_t backend, ggml_cgraph *cgraph)
{
    auto &ctx = *(rknpu_backend_context *)backend->context;
    const int n = ggml_graph_n_nodes(cgraph);
    int cpu_0 = -1;                     // start of a run of nodes for the CPU
    int n_mul_mat = 0, n_mmid = 0;      // what ran here, for the debug line below
    const ggml_tensor *first = nullptr; // the first of them
    for (int i = 0; i <= n; i++) {
        ggml_tensor *node = i < n ? ggml_graph_node(cgraph, i) : nullptr;
        bool on_npu = node && rknpu_node_on_npu(*ctx.dev, node);
        bool on_cpu = node && !on_npu && !rknpu_is_noop(node) && (node->flags & GGML_TENSOR_FLAG_COMPUTE);
        if (on_cpu && cpu_0 < 0) {
            cpu_0 = i;
        }
        if ((on_npu || !node) && cpu_0 >= 0) {
            ggml_status st = rknpu_compute_on_cpu(ctx, cgraph, cpu_0, i);
            if (st != GGML_STATUS_SUCCESS) {
                return st;
            }
            cpu_0 = -1;
        }
        if (on_npu && (node->flags & GGML_TENSOR_FLAG_COMPUTE)) {
            ggml_status st = rknpu_node_compute(ctx, cgraph, i);
            if (st != GGML_STATUS_SUCCESS) {
                return st;
            }
            (node->op == GGML_OP_MUL_MAT_ID ? n_mmid : n_mul_mat)++;
            first = first ? first : node;
        }
    }
    // With ggml's scheduler debugging on (GGML_SCHED_DEBUG, shown by the stock tools with -v), which matmuls of
    // each graph the NPU ran, and on how many rows (a prefill's batch; decode's single rows stay with the CPU).
    static const bool sched_debug = getenv("GGML_SCHED_DEBUG") != nullptr;
    if (first && sched_debug) {
        GGML_LOG_DEBUG("%s: graph of %d nodes: %d MUL_MAT and %d MUL_MAT_ID on the NPU, the first %s with "
                       "%lld rows\n",
                       RKNPU_NAME, n, n_mul_mat, n_mmid, first->name, (long long)ggml_nrows(first->src[1]));
    }
    return GGML_STATUS_SUCCESS;
}

static const ggml_backend_i ggml_backend_rknpu_i = {
        .get_name = ggml_backend_rknpu_get_name,
        .free = ggml_backend_rknpu_free,
        .set_tensor_async = nullptr,
        .get_tensor_async = nullptr,
        .set_tensor_2d_async = nullptr,
        .get_tensor_2d_async = nullptr,
        .cpy_tensor_async = nullptr,
        .synchronize = nullptr,
        .graph_plan_create = nullptr,
        .graph_plan_free = nullptr,
        .graph_plan_update = nullptr,
        .graph_plan_compute = nullptr,
        .graph_compute = ggml_backend_rknpu_graph_compute,
        .event_record = nullptr,
        .event_wait = nullptr,
        .graph_optimize = nullptr,
};

static ggml_guid_t ggml_backend_rknpu_guid(void)
{
    static ggml_guid guid = {'r', 'o', 's', 'e', 'n', 'b', 'l', 'a', 't', 't', '-', 'r', 'k', 'n', 'p', 'u'};
    return &guid;
}

// ---------------------------------------------------------------------------------------------
// device
// ---------------------------------------------------------------------------------------------

static const char *ggml_backend_rknpu_device_get_name(ggml_backend_dev_t dev)
{
    return RKNPU_NAME "0";
    GGML_UNUSED(dev);
}

static const char *ggml_backend_rknpu_device_get_description(ggml_backend_dev_t dev)
{
    return ((rknpu_device_context *)dev->context)->description.c_str();
}

// The NPU shares system RAM: the host's MemAvailable/MemTotal, cut to what RKNPU_MAX_MEM leaves (rknpu-budget.h).
// llama.cpp uses these only to split layers over -dev devices and in its memory report; an ACCEL device is not
// split over, so the numbers inform rather than steer (docs/hardware/ggml-backend.md §1.3).
static void ggml_backend_rknpu_device_get_memory(ggml_backend_dev_t dev, size_t *free, size_t *total)
{
    rknpu_budget_memory(*(rknpu_device_context *)dev->context, free, total);
}

// ACCEL: used without -ngl/-dev, its buffer type heads the CPU weight list, KV cache and flash
// attention stay on the CPU (docs/hardware/ggml-backend.md §2.4).
static enum ggml_backend_dev_type ggml_backend_rknpu_device_get_type(ggml_backend_dev_t dev)
{
    return GGML_BACKEND_DEVICE_TYPE_ACCEL;
    GGML_UNUSED(dev);
}

static void ggml_backend_rknpu_device_get_props(ggml_backend_dev_t dev, ggml_backend_dev_props *props)
{
    props->name = ggml_backend_rknpu_device_get_name(dev);
    props->description = ggml_backend_rknpu_device_get_description(dev);
    props->type = ggml_backend_rknpu_device_get_type(dev);
    ggml_backend_rknpu_device_get_memory(dev, &props->memory_free, &props->memory_total);
    props->device_id = nullptr;
    props->caps = {
            .async = false,
            .host_buffer = false,
            // must stay false: the loader would bypass set_tensor (docs/hardware/ggml-backend.md §1.3)
            .buffer_from_host_ptr = false,
            .events = false,
            .mmap_support = true,
    };
}

static ggml_backend_t ggml_backend_rknpu_device_init_backend(ggml_backend_dev_t dev, const char *params)
{
    auto *ctx = new rknpu_backend_context;
    ctx->dev = (rknpu_device_context *)dev->context;
    return new ggml_backend{
            .guid = ggml_backend_rknpu_guid(),
            .iface = ggml_backend_rknpu_i,
            .device = dev,
            .context = ctx,
    };
    GGML_UNUSED(params);
}

static ggml_backend_buffer_type_t ggml_backend_rknpu_device_get_buffer_type(ggml_backend_dev_t dev)
{
    return ggml_backend_rknpu_buffer_type();
    GGML_UNUSED(dev);
}

bool rknpu_weight_op_supported(const rknpu_device_context &dev, const ggml_tensor *op)
{
    const ggml_tensor *src0 = op->src[0];
    const ggml_tensor *src1 = op->src[1];
    if (op->type != GGML_TYPE_F32 || src1->type != GGML_TYPE_F32) {
        return false;
    }
    if (ggml_get_op_params_i32(op, 1) == GGML_HINT_SRC0_IS_HADAMARD) {
        return false; // src0 is an input rotation, not a weight
    }
    const int32_t prec_src1 = ggml_get_op_params_i32(op, 3);
    const rk_gemm_mode mode = rknpu_weight_mode(dev, src0->type);
    if (mode == RK_GEMM_INT8 && prec_src1 != GGML_PREC_UNDEFINED && prec_src1 < GGML_PREC_Q8) {
        return false; // the graph forbids 8-bit activations
    }
    if (src0->view_src != nullptr || !ggml_is_contiguous(src0) || src0->ne[3] != 1 ||
        !rknpu_is_weight_type(src0->type)) {
        return false;
    }
    if (src0->buffer && (src0->buffer->buft != ggml_backend_rknpu_buffer_type() ||
                         ggml_backend_buffer_get_usage(src0->buffer) == GGML_BACKEND_BUFFER_USAGE_COMPUTE)) {
        return false; // not a resident weight (a per-call src0 may still run: rknpu_attn_mul_mat_supported)
    }
    if (src0->buffer && src0->data && !rknpu_budget_admits(dev, src0)) {
        return false; // beyond RKNPU_MAX_MEM: the CPU runs it from ggml's bytes in our (host) buffer
    }
    return rk_gemm_supports(src0->ne[0], src0->ne[1], mode, rk_gemm_envelope(dev.engine), nullptr, 0) == 0;
}

// The placement policy (docs/hardware/ggml-backend.md §2.1, §3.3): weights are placed by probing this with M=512,
// and the scheduler asks it again for every graph. Only real, contiguous 2-D weights of a convertible type
// in our buffer type (or not yet allocated: a capability probe), with F32 activations, and batches of at least
// min_batch; smaller ones run on the CPU from ggml's own bytes. A src0 that is not such a weight (KV-cache
// views in KQ/KQV, permuted or broadcast operands) is the per-call path of rknpu-attention.cpp.
static bool rknpu_mul_mat_supported(const rknpu_device_context &dev, const ggml_tensor *op)
{
    if (!rknpu_weight_op_supported(dev, op) || op->src[0]->ne[2] != 1) {
        return false;
    }
    if (!ggml_is_contiguous(op->src[1]) || !ggml_is_contiguous(op)) {
        return false;
    }
    return ggml_nrows(op->src[1]) >= dev.config.min_batch;
}

static bool ggml_backend_rknpu_device_supports_op(ggml_backend_dev_t dev, const ggml_tensor *op)
{
    switch (op->op) {
    case GGML_OP_NONE:
    case GGML_OP_RESHAPE:
    case GGML_OP_VIEW:
    case GGML_OP_PERMUTE:
    case GGML_OP_TRANSPOSE:
        return true; // test-backend-ops asks about every tensor, leaves included (docs/hardware/ggml-backend.md §3.3)
    case GGML_OP_MUL_MAT:
    case GGML_OP_MUL_MAT_ID:
    case GGML_OP_FLASH_ATTN_EXT:
        return rknpu_node_on_npu(*(rknpu_device_context *)dev->context, op);
    default:
        return false;
    }
}

// Our buffers and any host buffer: activations are read and written where the CPU keeps them.
static bool ggml_backend_rknpu_device_supports_buft(ggml_backend_dev_t dev, ggml_backend_buffer_type_t buft)
{
    return buft == ggml_backend_rknpu_buffer_type() || ggml_backend_buft_is_host(buft);
    GGML_UNUSED(dev);
}

static const ggml_backend_device_i ggml_backend_rknpu_device_i = {
        .get_name = ggml_backend_rknpu_device_get_name,
        .get_description = ggml_backend_rknpu_device_get_description,
        .get_memory = ggml_backend_rknpu_device_get_memory,
        .get_type = ggml_backend_rknpu_device_get_type,
        .get_props = ggml_backend_rknpu_device_get_props,
        .init_backend = ggml_backend_rknpu_device_init_backend,
        .get_buffer_type = ggml_backend_rknpu_device_get_buffer_type,
        .get_host_buffer_type = nullptr,
        .buffer_from_host_ptr = nullptr,
        .supports_op = ggml_backend_rknpu_device_supports_op,
        .supports_buft = ggml_backend_rknpu_device_supports_buft,
        .offload_op = nullptr,
        .event_new = nullptr,
        .event_free = nullptr,
        .event_synchronize = nullptr,
};

ggml_backend_reg_t ggml_backend_rknpu_reg(void);

ggml_backend_dev_t ggml_backend_rknpu_device(void)
{
    static ggml_backend_device dev = {
            .iface = ggml_backend_rknpu_device_i,
            .reg = ggml_backend_rknpu_reg(),
            .context = &rknpu_get_plugin().dev,
    };
    return &dev;
}

// ---------------------------------------------------------------------------------------------
// extra entry points, reached through get_proc_address (for rosenblatt-dl and the tests)
// ---------------------------------------------------------------------------------------------

// Counters since load (ggml-rknpu.h).
static bool ggml_backend_rknpu_get_stats(ggml_backend_rknpu_stats *out)
{
    auto &p = rknpu_get_plugin();
    if (!p.present) {
        return false;
    }
    std::lock_guard<std::mutex> lock(p.dev.mutex);
    *out = {.matmuls = p.dev.n_matmuls,
            .failures = p.dev.n_failures,
            .tasks = p.dev.n_tasks,
            .jobs = p.dev.n_jobs,
            .glue_ms = p.dev.glue_ns / 1e6,
            .npu_wait_ms = p.dev.npu_wait_ns / 1e6,
            .model_ms_200_opt = p.dev.model_ns_200[NPU_MODEL_OPTIMISTIC] / 1e6,
            .model_ms_200_pess = p.dev.model_ns_200[NPU_MODEL_PESSIMISTIC] / 1e6,
            .model_ms_1000_opt = p.dev.model_ns_1000[NPU_MODEL_OPTIMISTIC] / 1e6,
            .model_ms_1000_pess = p.dev.model_ns_1000[NPU_MODEL_PESSIMISTIC] / 1e6,
            .reuse_tasks = p.dev.n_reuse_tasks,
            .model_source = {},
            .expert_matmuls = p.dev.n_expert_matmuls,
            .expert_cpu_matmuls = p.dev.n_expert_cpu_matmuls,
            .attention_ops = p.dev.n_attn_ops,
            .attention_matmuls = p.dev.n_attn_matmuls,
            .attention_host_ms = p.dev.attn_host_ns / 1e6,
            .split_matmuls = p.dev.n_split_matmuls,
            .npu_share_gmacs = p.dev.npu_share_macs / 1e9,
            .cpu_share_gmacs = p.dev.cpu_share_macs / 1e9,
            .cpu_share_ms = p.dev.cpu_share_ns / 1e6};
    snprintf(out->model_source, sizeof out->model_source, "%s", npu_model_source());
    return true;
}

// Whether RKNPU0 is there and why (ggml-rknpu.h): lets the CLI refuse to go on after a config error.
void ggml_backend_rknpu_get_status(ggml_backend_rknpu_status *out)
{
    const rknpu_plugin &p = rknpu_get_plugin();
    *out = {};
    out->present = p.present;
    out->config_error = p.config_error;
    out->is_simulator = p.present && p.dev.info.is_simulator;
    snprintf(out->reason, sizeof out->reason, "%s", p.present ? "" : p.why.c_str());
    snprintf(out->description, sizeof out->description, "%s", p.present ? p.dev.description.c_str() : "");
}

// llama.cpp passes its thread count here; it is used for the nodes this backend hands to the CPU.
static void ggml_backend_rknpu_set_n_threads(ggml_backend_t backend, int n_threads)
{
    auto *ctx = (rknpu_backend_context *)backend->context;
    ctx->n_threads = n_threads;
    const std::pair<ggml_backend_t, int> cpus[] = {{ctx->cpu, n_threads},
                                                   {ctx->cpu_split, rknpu_split_cpu_threads(n_threads)}};
    for (const auto &[cpu, threads] : cpus) {
        if (!cpu) {
            continue;
        }
        auto set_threads = (ggml_backend_set_n_threads_t)ggml_backend_reg_get_proc_address(
                ggml_backend_dev_backend_reg(ggml_backend_get_device(cpu)), "ggml_backend_set_n_threads");
        if (set_threads) {
            set_threads(cpu, threads);
        }
    }
}

// Simulator only: make a coming NPU job fail like the hardware would (ggml-rknpu.h).
static int ggml_backend_rknpu_sim_inject_fault(const char *spec)
{
    auto &p = rknpu_get_plugin();
    if (!p.present || !p.dev.info.is_simulator) {
        return -ENODEV;
    }
    if (!strcmp(spec, "none")) {
        return npu_sim_inject_fault(NPU_SIM_FAULT_NONE, 0);
    }
    npu_sim_fault_plan plan;
    int rc = npu_sim_fault_plan_parse(spec, &plan);
    return rc ? rc : npu_sim_inject_fault_plan(&plan);
}

// ---------------------------------------------------------------------------------------------
// registry
// ---------------------------------------------------------------------------------------------

static const char *ggml_backend_rknpu_reg_get_name(ggml_backend_reg_t reg)
{
    return RKNPU_NAME;
    GGML_UNUSED(reg);
}

static size_t ggml_backend_rknpu_reg_get_device_count(ggml_backend_reg_t reg)
{
    return rknpu_get_plugin().present ? 1 : 0;
    GGML_UNUSED(reg);
}

static ggml_backend_dev_t ggml_backend_rknpu_reg_get_device(ggml_backend_reg_t reg, size_t index)
{
    GGML_ASSERT(index == 0 && rknpu_get_plugin().present);
    return ggml_backend_rknpu_device();
    GGML_UNUSED(reg);
}

static void *ggml_backend_rknpu_reg_get_proc_address(ggml_backend_reg_t reg, const char *name)
{
    if (!strcmp(name, "ggml_backend_set_n_threads")) {
        return (void *)ggml_backend_rknpu_set_n_threads;
    }
    // Through the typedefs of ggml-rknpu.h, so a signature that drifts from the header does not compile.
    if (!strcmp(name, "ggml_backend_rknpu_get_stats")) {
        ggml_backend_rknpu_get_stats_t fn = ggml_backend_rknpu_get_stats;
        return (void *)fn;
    }
    if (!strcmp(name, "ggml_backend_rknpu_get_status")) {
        ggml_backend_rknpu_get_status_t fn = ggml_backend_rknpu_get_status;
        return (void *)fn;
    }
    if (!strcmp(name, "ggml_backend_rknpu_sim_inject_fault")) {
        ggml_backend_rknpu_sim_inject_fault_t fn = ggml_backend_rknpu_sim_inject_fault;
        return (void *)fn;
    }
    return nullptr;
    GGML_UNUSED(reg);
}

static const ggml_backend_reg_i ggml_backend_rknpu_reg_i = {
        .get_name = ggml_backend_rknpu_reg_get_name,
        .get_device_count = ggml_backend_rknpu_reg_get_device_count,
        .get_device = ggml_backend_rknpu_reg_get_device,
        .get_proc_address = ggml_backend_rknpu_reg_get_proc_address,
};

ggml_backend_reg_t ggml_backend_rknpu_reg(void)
{
    static ggml_backend_reg reg = {
            .api_version = GGML_BACKEND_API_VERSION,
            .iface = ggml_backend_rknpu_reg_i,
            .context = nullptr,
    };
    rknpu_get_plugin(); // select the device (and log it) on first use
    return &reg;
}

// The loader unloads a plugin whose score is 0. The plugin is loadable everywhere: without an NPU
// it registers no device and says why, rather than disappearing silently.
static int ggml_backend_rknpu_score(void) { return 1; }

GGML_BACKEND_DL_IMPL(ggml_backend_rknpu_reg)
GGML_BACKEND_DL_SCORE_IMPL(ggml_backend_rknpu_score)
