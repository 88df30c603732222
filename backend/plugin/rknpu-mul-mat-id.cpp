// MUL_MAT_ID on the NPU: the expert matmuls of mixture-of-experts layers (docs/hardware/ggml-backend.md §3.5).
//
// dst[:, e, t] = as[:, :, ids[e, t]] · b[:, e % ne11, t] for every slot e < n_used and token t: each token
// picks n_used of the stack's n_expert weights. The rows of all tokens that picked one expert are gathered
// into one matrix and run as one NPU matmul on that expert's weight (converted at load like any 2-D weight,
// one NPU weight per expert), and the results are scattered back to their (slot, token) places.
//
// The batch threshold is the one of MUL_MAT, applied per expert: an NPU matmul streams its whole weight
// whatever its row count, so what decides whether it pays is the rows per weight, i.e. per expert
// (rknpu-config.cpp). The graph's expert choices are only known when it runs, so supports_op judges the
// expected rows per expert (tokens × n_used / n_expert), and at run time an expert whose rows are fewer
// than min_batch runs on the CPU, from ggml's own bytes, in the same node.
#include "rknpu-common.h"

#include "ggml-impl.h"

#include <string>
#include <vector>

namespace {

// One (slot, token) pair routed to an expert.
struct expert_row {
    int32_t slot, token;
};

// The op's operands and where each routed row lives.
struct mmid_operands {
    const ggml_tensor *src0, *src1, *ids;
    ggml_tensor *dst;

    int64_t K() const { return src0->ne[0]; }
    int64_t N() const { return src0->ne[1]; }
    int64_t n_expert() const { return src0->ne[2]; }
    const float *x_row(expert_row r) const
    {
        // b may hold one row per token for all slots (ne11 = 1: broadcast) or one per slot
        return (const float *)((const char *)src1->data + (r.slot % src1->ne[1]) * src1->nb[1] + r.token * src1->nb[2]);
    }
    float *y_row(expert_row r) const
    {
        return (float *)((char *)dst->data + r.slot * dst->nb[1] + r.token * dst->nb[2]);
    }
};

// The rows of `group` gathered into X (rows × K, row-major).
void gather(const mmid_operands &op, const std::vector<expert_row> &group, float *X)
{
    for (size_t i = 0; i < group.size(); i++) {
        memcpy(X + i * op.K(), op.x_row(group[i]), op.K() * sizeof(float));
    }
}

// Y (rows × N, row-major) scattered to the rows' places in dst.
void scatter(const mmid_operands &op, const std::vector<expert_row> &group, const float *Y)
{
    for (size_t i = 0; i < group.size(); i++) {
        memcpy(op.y_row(group[i]), Y + i * op.N(), op.N() * sizeof(float));
    }
}

// The (slot, token) pairs of each expert, in token order; false (logged) on an expert id out of range.
bool group_by_expert(const mmid_operands &op, std::vector<std::vector<expert_row>> &groups)
{
    groups.assign(op.n_expert(), {});
    for (int64_t t = 0; t < op.ids->ne[1]; t++) {
        for (int64_t e = 0; e < op.ids->ne[0]; e++) {
            const int32_t x = *(const int32_t *)((const char *)op.ids->data + t * op.ids->nb[1] + e * op.ids->nb[0]);
            if (x < 0 || x >= op.n_expert()) {
                GGML_LOG_ERROR("%s: MUL_MAT_ID %s: token %lld slot %lld routes to expert %d of %lld\n", RKNPU_NAME,
                               op.dst->name, (long long)t, (long long)e, x, (long long)op.n_expert());
                return false;
            }
            groups[x].push_back({(int32_t)e, (int32_t)t});
        }
    }
    return true;
}

// One expert's rows as one NPU matmul.
ggml_status expert_on_npu(rknpu_device_context &dev, const mmid_operands &op, const rk_weight *w, int64_t expert,
                          const std::vector<expert_row> &group, std::vector<float> &X, std::vector<float> &Y)
{
    const int64_t M = (int64_t)group.size();
    X.resize(M * op.K());
    Y.resize(M * op.N());
    gather(op, group, X.data());
    rk_gemm_stats st = {};
    {
        std::lock_guard<std::mutex> lock(dev.mutex);
        int rc = rk_gemm_run(dev.engine, w, X.data(), M, op.K(), Y.data(), op.N(), &st);
        dev.n_matmuls++;
        if (rc != 0) {
            // as MUL_MAT: an NPU failure ends the inference with an error, never a CPU result instead
            dev.n_failures++;
            GGML_LOG_ERROR("%s: MUL_MAT_ID %s expert %lld (K=%lld, N=%lld, M=%lld) failed on the NPU: %s\n", RKNPU_NAME,
                           op.dst->name, (long long)expert, (long long)op.K(), (long long)op.N(), (long long)M,
                           rk_gemm_last_error(dev.engine));
            return GGML_STATUS_FAILED;
        }
        dev.n_expert_matmuls++;
        rknpu_count_run(dev, st);
        if (st.nonfinite_rows) {
            rknpu_nonfinite_note(); // the graph recomputes the node on the CPU backend
        }
    }
    scatter(op, group, Y.data());
    return GGML_STATUS_SUCCESS;
}

// The experts below min_batch, all in one graph on the CPU backend: one MUL_MAT per expert over a 2-D view
// of its slab of ggml's bytes (the buffer is host memory) and its gathered rows.
ggml_status experts_on_cpu(rknpu_device_context &dev, ggml_backend_t cpu, const mmid_operands &op,
                           const std::vector<std::vector<expert_row>> &groups, const std::vector<int64_t> &experts)
{
    int64_t rows = 0;
    for (int64_t x : experts) {
        rows += (int64_t)groups[x].size();
    }
    std::vector<float> X(rows * op.K()), Y(rows * op.N());
    const size_t n = experts.size();
    const size_t graph_size = 2 * n + 1; // n matmul nodes; 2 leaves each (ggml sizes both lists alike)
    ggml_init_params ip = {.mem_size = 3 * n * ggml_tensor_overhead() + ggml_graph_overhead_custom(graph_size, false),
                           .mem_buffer = nullptr,
                           .no_alloc = true};
    ggml_context *ctx = ggml_init(ip);
    if (!ctx) {
        GGML_LOG_ERROR("%s: MUL_MAT_ID %s: out of memory\n", RKNPU_NAME, op.dst->name);
        return GGML_STATUS_ALLOC_FAILED;
    }
    ggml_cgraph *gf = ggml_new_graph_custom(ctx, graph_size, false);
    int64_t row0 = 0;
    for (int64_t x : experts) {
        const std::vector<expert_row> &group = groups[x];
        ggml_tensor *w = ggml_new_tensor_2d(ctx, op.src0->type, op.K(), op.N());
        w->data = (char *)op.src0->data + x * op.src0->nb[2];
        ggml_tensor *xt = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, op.K(), (int64_t)group.size());
        xt->data = X.data() + row0 * op.K();
        gather(op, group, (float *)xt->data);
        ggml_tensor *y = ggml_mul_mat(ctx, w, xt);
        y->data = Y.data() + row0 * op.N();
        ggml_build_forward_expand(gf, y);
        row0 += (int64_t)group.size();
    }
    ggml_status st = ggml_backend_graph_compute(cpu, gf);
    if (st == GGML_STATUS_SUCCESS) {
        row0 = 0;
        for (int64_t x : experts) {
            scatter(op, groups[x], Y.data() + row0 * op.N());
            row0 += (int64_t)groups[x].size();
        }
        std::lock_guard<std::mutex> lock(dev.mutex);
        dev.n_expert_cpu_matmuls += n;
    } else {
        GGML_LOG_ERROR("%s: MUL_MAT_ID %s: the CPU backend failed on %zu small expert batches\n", RKNPU_NAME,
                       op.dst->name, n);
    }
    ggml_free(ctx);
    return st;
}

} // namespace

bool rknpu_mul_mat_id_supported(const rknpu_device_context &dev, const ggml_tensor *op)
{
    const ggml_tensor *src1 = op->src[1], *ids = op->src[2];
    if (!rknpu_weight_op_supported(dev, op) || ids->type != GGML_TYPE_I32) {
        return false;
    }
    if (src1->nb[0] != sizeof(float) || op->nb[0] != sizeof(float)) {
        return false; // rows are gathered and scattered whole
    }
    // Expected rows per expert (tokens × n_used / n_expert) at least min_batch. Decode (one token) and
    // short prompts stay with the CPU's own MUL_MAT_ID.
    const int64_t n_expert = op->src[0]->ne[2], n_used = ids->ne[0], n_tokens = ids->ne[1];
    return n_tokens * n_used >= dev.config.min_batch * n_expert;
}

ggml_status rknpu_mul_mat_id(rknpu_device_context &dev, ggml_backend_t cpu, ggml_tensor *dst)
{
    const mmid_operands op = {dst->src[0], dst->src[1], dst->src[2], dst};
    rknpu_sidecar *sc = rknpu_sidecar_ready(&dev, op.src0);
    std::vector<std::vector<expert_row>> groups;
    if (!sc || !group_by_expert(op, groups)) {
        return GGML_STATUS_FAILED;
    }
    std::vector<int64_t> small; // experts whose rows run on the CPU
    std::vector<float> X, Y;
    for (int64_t x = 0; x < op.n_expert(); x++) {
        if (groups[x].empty()) {
            continue;
        }
        if ((int64_t)groups[x].size() < dev.config.min_batch) {
            small.push_back(x);
            continue;
        }
        ggml_status st = expert_on_npu(dev, op, sc->slab(x), x, groups[x], X, Y);
        if (st != GGML_STATUS_SUCCESS) {
            return st;
        }
    }
    return small.empty() ? GGML_STATUS_SUCCESS : experts_on_cpu(dev, cpu, op, groups, small);
}
