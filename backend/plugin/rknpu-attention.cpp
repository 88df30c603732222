// Attention on the NPU: operand roles, tiling and precision.
//
// Both products are GEMMs whose "weight" (the B operand, packed into the NPU's weight blocks) is read from
// the KV cache and so changes every call: K rows for Q·Kᵀ (N = KV length, K = head size) and the V
// channels for P·V (N = head size, K = KV length). They are converted and packed per call into
// ephemeral weights (rk_weight_load) whose BOs are kept between calls. The cache side is the B operand
// because (1) the NPU writes C row-major [M, N], which is ggml's dst layout for both products, so the
// readout needs no transpose; (2) with grouped-query attention the n_head / n_head_kv query heads that
// share a KV head are stacked as the M rows of one GEMM, so each KV head is packed once and runs as one
// submission for its whole group; (3) per-output-channel scales of B are per-token scales of K.
//
// Without flash attention llama.cpp materialises KQ and runs the masked softmax on the CPU between the
// two MUL_MATs. With flash attention the plugin does the whole op: per KV head and per tile of the KV
// length, S = Q·Kᵀ on the NPU, the masked online softmax on the host (running max and sum per row, the
// partial output rescaled), then O += P·V on the NPU; tiles the mask hides for every row are skipped
// (causal prefill), and the tile bounds the score memory (FA_SCORE_BYTES).
#include "rknpu-attention.h"

#include "ggml-impl.h"

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <cmath>
#include <cstring>
#include <thread>
#include <vector>

// Score tile of flash attention: at most this many bytes of S per KV head (M rows of queries x T keys),
// with T a multiple of FA_TILE_UNIT and at least one unit.
#define FA_SCORE_BYTES (32u << 20)
#define FA_TILE_UNIT   256

struct rknpu_attention {
    rk_weight *kw = nullptr, *vw = nullptr; // the per-call B operands (K rows, V channels)
    std::vector<float> x, s, o, pv, vt, row, mask;
    std::vector<float> mrow, lrow;
};

static rknpu_attention &attn_state(rknpu_device_context &dev)
{
    if (!dev.attn) {
        dev.attn = new rknpu_attention;
    }
    return *dev.attn;
}

void rknpu_attention_free(rknpu_device_context &dev)
{
    if (dev.attn) {
        rk_weight_free(dev.attn->kw);
        rk_weight_free(dev.attn->vw);
        delete dev.attn;
        dev.attn = nullptr;
    }
}

rk_gemm_mode rknpu_attention_mode(const rknpu_device_context &dev)
{
    return dev.config.mode_forced ? dev.config.mode : RK_GEMM_FP16;
}

// Host work is measured as thread CPU time, like the engine's glue (rk_gemm_stats): on the simulator, and on
// any loaded host, wall time would mostly measure other threads. Converting an operand runs one thread per
// core share; its cost is the slowest share's CPU time (rk_weight_info.prep_cpu_seconds).
static double now_ns(void)
{
    timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static double load_ns(const rk_weight *w)
{
    rk_weight_info info;
    rk_weight_get_info(w, &info);
    return info.prep_cpu_seconds * 1e9;
}

// Rows of ne[0] values of this type that the engine can decode (to_float, or plain f32) and that are
// contiguous within the row.
static bool rows_readable(const ggml_tensor *t)
{
    return rknpu_is_weight_type(t->type) && t->nb[0] == ggml_type_size(t->type) &&
           t->ne[0] % ggml_blck_size(t->type) == 0;
}

static rk_row_to_float row_decoder(ggml_type type)
{
    return type == GGML_TYPE_F32 ? nullptr : (rk_row_to_float)ggml_get_type_traits(type)->to_float;
}

// Per-call conversion is for operands that change between calls: KV-cache views, intermediates, test data.
// A weight (a WEIGHTS buffer, ours or another backend's: a 3-D weight the resident path declines, a LoRA
// adapter, an override) would be converted on every call, slower than the CPU; and a weight being placed
// (llama.cpp's probe attaches a size-0 dummy buffer) must not be drawn into our buffer type by this path.
static bool per_call_source(const ggml_tensor *t)
{
    const ggml_tensor *base = t->view_src ? t->view_src : t;
    if (!base->buffer) {
        return true; // not allocated yet: a graph intermediate
    }
    return ggml_backend_buffer_get_usage(base->buffer) != GGML_BACKEND_BUFFER_USAGE_WEIGHTS &&
           ggml_backend_buffer_get_size(base->buffer) > 0;
}

static void count_run(rknpu_device_context &dev, const rk_gemm_stats &st)
{
    dev.n_tasks += st.tasks;
    dev.n_jobs += st.jobs;
    dev.glue_ns += st.glue_ns;
    dev.npu_wait_ns += st.npu_wait_ns;
    for (int b = 0; b < NPU_MODEL_BOUNDS; b++) {
        dev.model_ns_200[b] += st.model_ns_200[b];
        dev.model_ns_1000[b] += st.model_ns_1000[b];
    }
    dev.n_attn_matmuls++;
    if (st.nonfinite_rows) {
        rknpu_nonfinite_note(); // the graph recomputes the node on the CPU backend
    }
}

// ---------------------------------------------------------------------------------------------
// MUL_MAT with a per-call src0: dst[N, M, ne12, ne13] = src1 · src0ᵀ, src0 [K, N, ne02, ne03] broadcast over
// ne12/ne02 and ne13/ne03 (docs/hardware/ggml-backend.md §3.2)
// ---------------------------------------------------------------------------------------------

bool rknpu_attn_mul_mat_supported(const rknpu_device_context &dev, const ggml_tensor *op)
{
    const ggml_tensor *src0 = op->src[0];
    const ggml_tensor *src1 = op->src[1];
    if (op->type != GGML_TYPE_F32 || src1->type != GGML_TYPE_F32 || !ggml_is_contiguous(op)) {
        return false;
    }
    if (ggml_get_op_params_i32(op, 1) == GGML_HINT_SRC0_IS_HADAMARD) {
        return false; // the quantized-cache rotation: left to the CPU like every Hadamard hint
    }
    const rk_gemm_mode mode = rknpu_attention_mode(dev);
    const int32_t prec_src1 = ggml_get_op_params_i32(op, 3);
    if (mode != RK_GEMM_FP16 && prec_src1 != GGML_PREC_UNDEFINED && prec_src1 < GGML_PREC_Q8) {
        return false;
    }
    if (!rows_readable(src0) || !per_call_source(src0) || src1->nb[0] != sizeof(float) ||
        src1->nb[1] < src1->ne[0] * sizeof(float)) {
        return false;
    }
    if (src1->ne[2] % src0->ne[2] != 0 || src1->ne[3] % src0->ne[3] != 0) {
        return false;
    }
    const int64_t M = src1->ne[1] * (src1->ne[2] / src0->ne[2]);
    if (M > RK_GEMM_M_MAX ||
        rk_gemm_supports(src0->ne[0], src0->ne[1], mode, rk_gemm_envelope(dev.engine), nullptr, 0) != 0) {
        return false;
    }
    return src1->ne[1] >= dev.config.min_batch; // tokens, not heads x tokens: decode stays on the CPU
}

ggml_status rknpu_attn_mul_mat(rknpu_device_context &dev, ggml_tensor *dst)
{
    const ggml_tensor *src0 = dst->src[0];
    const ggml_tensor *src1 = dst->src[1];
    const int64_t K = src0->ne[0], N = src0->ne[1], M0 = src1->ne[1];
    const int64_t r2 = src1->ne[2] / src0->ne[2], r3 = src1->ne[3] / src0->ne[3];
    const rk_gemm_mode mode = rknpu_attention_mode(dev);
    const rk_row_to_float to_float = row_decoder(src0->type);
    std::lock_guard<std::mutex> lock(dev.mutex);
    rknpu_attention &at = attn_state(dev);
    double host_ns = 0;
    dev.n_matmuls++;
    dev.n_attn_ops++;
    // One GEMM per src0 matrix (a KV head): the r2 src1 matrices broadcast onto it are its M rows.
    for (int64_t i13 = 0; i13 < src1->ne[3]; i13++) {
        for (int64_t i02 = 0; i02 < src0->ne[2]; i02++) {
            const char *b = (const char *)src0->data + i02 * src0->nb[2] + (i13 / r3) * src0->nb[3];
            const char *x0 = (const char *)src1->data + i13 * src1->nb[3] + i02 * r2 * src1->nb[2];
            float *y = (float *)((char *)dst->data + i13 * dst->nb[3] + i02 * r2 * dst->nb[2]);
            const float *x = (const float *)x0;
            int64_t ldx = src1->nb[1] / sizeof(float);
            double t0 = now_ns();
            if (r2 > 1 && src1->nb[2] != M0 * src1->nb[1]) { // rows of the group not evenly spaced: gather
                at.x.resize((size_t)(r2 * M0 * K));
                for (int64_t j = 0; j < r2; j++) {
                    for (int64_t m = 0; m < M0; m++) {
                        memcpy(&at.x[(size_t)((j * M0 + m) * K)], x0 + j * src1->nb[2] + m * src1->nb[1],
                               (size_t)K * sizeof(float));
                    }
                }
                x = at.x.data(), ldx = K;
            }
            host_ns += now_ns() - t0;
            int rc = rk_weight_load(dev.engine, &at.kw, b, K, N, src0->nb[1], to_float, mode);
            host_ns += rc == 0 ? load_ns(at.kw) : 0;
            rk_gemm_stats st = {};
            if (rc == 0) {
                rc = rk_gemm_run(dev.engine, at.kw, x, r2 * M0, ldx, y, dst->nb[1] / sizeof(float), &st);
            }
            if (rc == -EDOM) { // a NaN or an infinity in the KV cache: no NPU fault, the CPU backend takes the node
                rknpu_nonfinite_note();
                return GGML_STATUS_FAILED;
            }
            if (rc != 0) {
                dev.n_failures++;
                GGML_LOG_ERROR("%s: MUL_MAT %s (K=%lld, N=%lld, M=%lld, per-call src0 %s) failed on the NPU: %s\n",
                               RKNPU_NAME, dst->name, (long long)K, (long long)N, (long long)(r2 * M0), src0->name,
                               rk_gemm_last_error(dev.engine));
                return GGML_STATUS_FAILED;
            }
            count_run(dev, st);
        }
    }
    dev.attn_host_ns += host_ns;
    return GGML_STATUS_SUCCESS;
}

// ---------------------------------------------------------------------------------------------
// FLASH_ATTN_EXT: dst[DV, n_head, n_q, ne3] = softmax(scale · Q·Kᵀ + mask) · V, rows of dst permuted
// (0, 2, 1, 3) against q; mask [n_kv, >= n_q, m2, m3] F16 broadcast over heads and sequences
// ---------------------------------------------------------------------------------------------

static bool fa_kv_type(ggml_type t)
{
    // the cache types people use; the 4/5-bit cache types are declined (docs/architecture.md)
    return t == GGML_TYPE_F16 || t == GGML_TYPE_F32 || t == GGML_TYPE_BF16 || t == GGML_TYPE_Q8_0;
}

bool rknpu_flash_attn_supported(const rknpu_device_context &dev, const ggml_tensor *op)
{
    const ggml_tensor *q = op->src[0], *k = op->src[1], *v = op->src[2], *mask = op->src[3];
    float max_bias = 0, softcap = 0;
    memcpy(&max_bias, (const float *)op->op_params + 1, sizeof(float));
    memcpy(&softcap, (const float *)op->op_params + 2, sizeof(float));
    if (max_bias != 0.0f || softcap != 0.0f || op->src[4] != nullptr) {
        return false; // ALiBi, soft-capping and attention sinks are not implemented
    }
    if (op->type != GGML_TYPE_F32 || q->type != GGML_TYPE_F32 || q->nb[0] != sizeof(float)) {
        return false;
    }
    if (!fa_kv_type(k->type) || !fa_kv_type(v->type) || !rows_readable(k) || !rows_readable(v) || !per_call_source(k) ||
        !per_call_source(v)) {
        return false;
    }
    if (mask && (mask->type != GGML_TYPE_F16 || mask->nb[0] != sizeof(ggml_fp16_t) || mask->ne[1] < q->ne[1] ||
                 mask->ne[0] < k->ne[1])) {
        return false;
    }
    if (k->ne[2] != v->ne[2] || k->ne[3] != v->ne[3] || q->ne[2] % k->ne[2] != 0 || q->ne[3] % k->ne[3] != 0) {
        return false;
    }
    if (op->nb[0] != sizeof(float) || !ggml_is_contiguous(op)) {
        return false;
    }
    const rk_gemm_mode mode = rknpu_attention_mode(dev);
    const int64_t M = q->ne[1] * (q->ne[2] / k->ne[2]);
    if (M > RK_GEMM_M_MAX ||
        rk_gemm_supports(k->ne[0], FA_TILE_UNIT, mode, rk_gemm_envelope(dev.engine), nullptr, 0) != 0 ||
        rk_gemm_supports(FA_TILE_UNIT, v->ne[0], mode, rk_gemm_envelope(dev.engine), nullptr, 0) != 0) {
        return false;
    }
    return q->ne[1] >= dev.config.min_batch;
}

// Does the mask leave any of the tile's keys visible to any row of this head group? (A causal prefill
// hides the keys after the batch: those tiles are skipped.)
static bool fa_tile_live(const ggml_tensor *mask, int64_t n_q, int64_t h0, int64_t heads, int64_t i3, int64_t c0,
                         int64_t tn)
{
    if (!mask) {
        return true;
    }
    const ggml_fp16_t ninf = ggml_fp32_to_fp16(-INFINITY);
    for (int64_t j = 0; j < heads && j < mask->ne[2]; j++) {
        for (int64_t t = 0; t < n_q; t++) {
            const ggml_fp16_t *mp =
                    (const ggml_fp16_t *)((const char *)mask->data + t * mask->nb[1] +
                                          ((h0 + j) % mask->ne[2]) * mask->nb[2] + (i3 % mask->ne[3]) * mask->nb[3]) +
                    c0;
            for (int64_t c = 0; c < tn; c++) {
                if (mp[c] != ninf) {
                    return true;
                }
            }
        }
    }
    return false;
}

// ---- the host half of flash attention: the masked online softmax of one score tile ----

// Host threads for the softmax: llama.cpp's CPU threads are idle while this backend computes. Capped so
// that on the RK3588 the rows stay on the four A76 cores' worth of threads.
#define FA_HOST_THREADS_MAX    4
// Rows per thread below which one thread does all (thread start-up would cost more).
#define FA_ROWS_PER_THREAD_MIN 64
// exp(x) for x <= 0 in a form compilers vectorise (range reduction to [-ln2/2, ln2/2] and a degree-6
// polynomial: relative error about 1.2e-7, like expf); exactly 0 below FA_EXP_MIN, and for -inf.
#define FA_EXP_MIN             (-87.0f)

static inline float fa_exp_neg(float x)
{
    const float xc = std::max(x, FA_EXP_MIN);                  // -inf too
    const float n = (float)(int32_t)(xc * 1.44269504f - 0.5f); // round to nearest for xc <= 0, no libm call
    const float r = (xc - n * 0.693145751953125f) - n * 1.428606765330187e-06f; // ln 2 in two parts
    const float p =
            1.0f +
            r * (1.0f + r * (0.5f + r * (0.16666667f + r * (0.041666668f + r * (0.008333334f + r * 0.0013888889f)))));
    const uint32_t pow2 = (uint32_t)((int32_t)n + 127) << 23; // 2^n, n >= -126
    float scale;
    memcpy(&scale, &pow2, sizeof scale);
    float e = p * scale;
    uint32_t bits;
    memcpy(&bits, &e, sizeof bits);
    bits &= 0u - (uint32_t)(x >= FA_EXP_MIN); // branch-free, so the loop vectorises
    memcpy(&e, &bits, sizeof e);
    return e;
}

struct fa_softmax_args {
    float *s, *o, *mrow, *lrow; // scores [M][tn] (P on return), output [M][dv], running max and sum [M]
    const ggml_tensor *mask;
    const float *mask_tile; // the tile's mask rows [n_q][tn] in f32 when every head shares them, else NULL
    float scale;
    int64_t n_q, h0, i3, c0, tn, dv;
};

// Rows [r0, r1): s = s·scale + mask, new running max, P = exp(s − max) in place, rescale O and the sum.
static void fa_softmax_rows(const fa_softmax_args &a, int64_t r0, int64_t r1, std::vector<float> &mk)
{
    const ggml_tensor *mask = a.mask;
    const int64_t tn = a.tn;
    mk.resize((size_t)tn);
    for (int64_t r = r0; r < r1; r++) {
        const int64_t j = r / a.n_q, t = r % a.n_q;
        float *s = a.s + r * tn;
        const float *mrow = mk.data();
        if (a.mask_tile) {
            mrow = a.mask_tile + t * tn;
        } else if (mask) {
            const ggml_fp16_t *mp = (const ggml_fp16_t *)((const char *)mask->data + t * mask->nb[1] +
                                                          ((a.h0 + j) % mask->ne[2]) * mask->nb[2] +
                                                          (a.i3 % mask->ne[3]) * mask->nb[3]) +
                                    a.c0;
            ggml_fp16_to_fp32_row(mp, mk.data(), tn);
        } else {
            std::fill(mk.begin(), mk.end(), 0.0f);
        }
        for (int64_t c = 0; c < tn; c++) {
            s[c] = s[c] * a.scale + mrow[c];
        }
        float mxs[8] = {-INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY};
        int64_t cm = 0;
        for (; cm + 8 <= tn; cm += 8) { // eight partial maxima: a vectorisable reduction
            for (int k = 0; k < 8; k++) {
                mxs[k] = s[cm + k] > mxs[k] ? s[cm + k] : mxs[k];
            }
        }
        float mx = -INFINITY;
        for (; cm < tn; cm++) {
            mx = s[cm] > mx ? s[cm] : mx;
        }
        for (int k = 0; k < 8; k++) {
            mx = mxs[k] > mx ? mxs[k] : mx;
        }
        const float mold = a.mrow[r], mnew = std::max(mold, mx);
        if (mnew == -INFINITY) { // every key so far hidden from this row
            std::fill(s, s + tn, 0.0f);
            continue;
        }
        for (int64_t c = 0; c < tn; c++) {
            s[c] = fa_exp_neg(s[c] - mnew);
        }
        float part[8] = {0}; // eight partial sums: a vectorisable reduction
        int64_t c = 0;
        for (; c + 8 <= tn; c += 8) {
            for (int k = 0; k < 8; k++) {
                part[k] += s[c + k];
            }
        }
        float sum = 0;
        for (; c < tn; c++) {
            sum += s[c];
        }
        for (int k = 0; k < 8; k++) {
            sum += part[k];
        }
        const float alpha = mold == -INFINITY ? 0.0f : fa_exp_neg(mold - mnew);
        a.mrow[r] = mnew;
        a.lrow[r] = a.lrow[r] * alpha + sum;
        if (alpha != 1.0f) {
            float *o = a.o + r * a.dv;
            for (int64_t d = 0; d < a.dv; d++) {
                o[d] *= alpha;
            }
        }
    }
}

// All M rows, over up to FA_HOST_THREADS_MAX threads; returns the critical path's thread CPU time.
static double fa_softmax(const fa_softmax_args &a, int64_t M)
{
    unsigned hw = std::thread::hardware_concurrency();
    int64_t nt = std::min<int64_t>({(int64_t)(hw ? hw : 1), FA_HOST_THREADS_MAX, M / FA_ROWS_PER_THREAD_MIN});
    nt = std::max<int64_t>(nt, 1);
    std::vector<double> cpu((size_t)nt, 0.0);
    std::vector<std::thread> th;
    auto part = [&](int64_t i) {
        std::vector<float> mk;
        double c0 = now_ns();
        fa_softmax_rows(a, M * i / nt, M * (i + 1) / nt, mk);
        cpu[(size_t)i] = now_ns() - c0;
    };
    for (int64_t i = 1; i < nt; i++) {
        th.emplace_back(part, i);
    }
    part(0);
    for (auto &t : th) {
        t.join();
    }
    return *std::max_element(cpu.begin(), cpu.end());
}

ggml_status rknpu_flash_attn(rknpu_device_context &dev, ggml_tensor *dst)
{
    const ggml_tensor *q = dst->src[0], *k = dst->src[1], *v = dst->src[2], *mask = dst->src[3];
    float scale = 1.0f;
    memcpy(&scale, (const float *)dst->op_params + 0, sizeof(float));
    const int64_t DK = k->ne[0], DV = v->ne[0], n_q = q->ne[1], n_kv = k->ne[1], H = q->ne[2];
    const int64_t r2 = H / k->ne[2], r3 = q->ne[3] / k->ne[3];
    const int64_t M = r2 * n_q;
    const rk_gemm_mode mode = rknpu_attention_mode(dev);
    const rk_row_to_float k_to_float = row_decoder(k->type), v_to_float = row_decoder(v->type);
    int64_t T = (int64_t)(FA_SCORE_BYTES / sizeof(float)) / M / FA_TILE_UNIT * FA_TILE_UNIT;
    T = std::max<int64_t>(FA_TILE_UNIT, std::min<int64_t>(T, n_kv));

    std::lock_guard<std::mutex> lock(dev.mutex);
    rknpu_attention &at = attn_state(dev);
    dev.n_attn_ops++;
    double host_ns = 0;
    at.x.resize((size_t)(M * DK));
    at.s.resize((size_t)(M * T));
    at.o.resize((size_t)(M * DV));
    at.pv.resize((size_t)(M * DV));
    at.vt.resize((size_t)(DV * T));
    at.row.resize((size_t)std::max(DV, T));
    at.mrow.resize((size_t)M);
    at.lrow.resize((size_t)M);

    for (int64_t i3 = 0; i3 < q->ne[3]; i3++) {
        for (int64_t g = 0; g < k->ne[2]; g++) {
            const int64_t h0 = g * r2;
            double t0 = now_ns();
            // X: the group's query rows, head-major (row j·n_q + t is head h0 + j, token t)
            for (int64_t j = 0; j < r2; j++) {
                for (int64_t t = 0; t < n_q; t++) {
                    memcpy(&at.x[(size_t)((j * n_q + t) * DK)],
                           (const char *)q->data + t * q->nb[1] + (h0 + j) * q->nb[2] + i3 * q->nb[3],
                           (size_t)DK * sizeof(float));
                }
            }
            std::fill(at.o.begin(), at.o.end(), 0.0f);
            std::fill(at.mrow.begin(), at.mrow.end(), -INFINITY);
            std::fill(at.lrow.begin(), at.lrow.end(), 0.0f);
            host_ns += now_ns() - t0;
            const char *kb = (const char *)k->data + g * k->nb[2] + (i3 / r3) * k->nb[3];
            const char *vb = (const char *)v->data + g * v->nb[2] + (i3 / r3) * v->nb[3];
            for (int64_t c0 = 0; c0 < n_kv; c0 += T) {
                const int64_t tn = std::min(T, n_kv - c0);
                t0 = now_ns();
                if (!fa_tile_live(mask, n_q, h0, r2, i3, c0, tn)) {
                    host_ns += now_ns() - t0;
                    continue;
                }
                rk_gemm_stats st = {};
                host_ns += now_ns() - t0;
                int rc = rk_weight_load(dev.engine, &at.kw, kb + c0 * k->nb[1], DK, tn, k->nb[1], k_to_float, mode);
                host_ns += rc == 0 ? load_ns(at.kw) : 0;
                if (rc == 0 && (rc = rk_gemm_run(dev.engine, at.kw, at.x.data(), M, DK, at.s.data(), tn, &st)) == 0) {
                    count_run(dev, st);
                }
                // online softmax over this tile, rows spread over host threads; a mask all heads share is
                // converted once per tile
                const bool shared_mask = mask && mask->ne[2] == 1;
                if (rc == 0 && shared_mask) {
                    t0 = now_ns();
                    at.mask.resize((size_t)(n_q * tn));
                    for (int64_t t = 0; t < n_q; t++) {
                        ggml_fp16_to_fp32_row((const ggml_fp16_t *)((const char *)mask->data + t * mask->nb[1] +
                                                                    (i3 % mask->ne[3]) * mask->nb[3]) +
                                                      c0,
                                              &at.mask[(size_t)(t * tn)], tn);
                    }
                    host_ns += now_ns() - t0;
                }
                if (rc == 0) {
                    fa_softmax_args sa = {.s = at.s.data(),
                                          .o = at.o.data(),
                                          .mrow = at.mrow.data(),
                                          .lrow = at.lrow.data(),
                                          .mask = mask,
                                          .mask_tile = shared_mask ? at.mask.data() : nullptr,
                                          .scale = scale,
                                          .n_q = n_q,
                                          .h0 = h0,
                                          .i3 = i3,
                                          .c0 = c0,
                                          .tn = tn,
                                          .dv = DV};
                    host_ns += fa_softmax(sa, M);
                }
                t0 = now_ns();
                // B of P·V: the tile's V channels as rows of tn keys (V is stored token-major)
                for (int64_t c = 0; c < tn && rc == 0; c++) {
                    const char *vr = vb + (c0 + c) * v->nb[1];
                    const float *vf = (const float *)vr;
                    if (v_to_float) {
                        v_to_float(vr, at.row.data(), DV);
                        vf = at.row.data();
                    }
                    for (int64_t d = 0; d < DV; d++) {
                        at.vt[(size_t)(d * tn + c)] = vf[d];
                    }
                }
                host_ns += now_ns() - t0;
                if (rc == 0) {
                    rc = rk_weight_load(dev.engine, &at.vw, at.vt.data(), tn, DV, (size_t)tn * sizeof(float), nullptr,
                                        mode);
                    host_ns += rc == 0 ? load_ns(at.vw) : 0;
                }
                if (rc == 0 && (rc = rk_gemm_run(dev.engine, at.vw, at.s.data(), M, tn, at.pv.data(), DV, &st)) == 0) {
                    count_run(dev, st);
                }
                if (rc == -EDOM) { // a NaN or an infinity in K or V: as for MUL_MAT above
                    rknpu_nonfinite_note();
                    return GGML_STATUS_FAILED;
                }
                if (rc != 0) {
                    dev.n_failures++;
                    GGML_LOG_ERROR("%s: FLASH_ATTN_EXT %s (head size %lld/%lld, %lld queries x %lld heads, KV tile "
                                   "%lld-%lld of %lld) failed on the NPU: %s\n",
                                   RKNPU_NAME, dst->name, (long long)DK, (long long)DV, (long long)n_q, (long long)H,
                                   (long long)c0, (long long)(c0 + tn - 1), (long long)n_kv,
                                   rk_gemm_last_error(dev.engine));
                    return GGML_STATUS_FAILED;
                }
                t0 = now_ns();
                for (size_t i = 0; i < at.o.size(); i++) {
                    at.o[i] += at.pv[i];
                }
                host_ns += now_ns() - t0;
            }
            t0 = now_ns();
            // dst row of (token t, head h, sequence i3): index (i3·n_q + t)·H + h, each DV floats
            for (int64_t j = 0; j < r2; j++) {
                for (int64_t t = 0; t < n_q; t++) {
                    const int64_t r = j * n_q + t;
                    const float l = at.lrow[(size_t)r], inv = l == 0.0f ? 0.0f : 1.0f / l;
                    float *out =
                            (float *)((char *)dst->data + t * dst->nb[2] + (h0 + j) * dst->nb[1] + i3 * dst->nb[3]);
                    for (int64_t d = 0; d < DV; d++) {
                        out[d] = at.o[(size_t)(r * DV + d)] * inv;
                    }
                }
            }
            host_ns += now_ns() - t0;
        }
    }
    dev.attn_host_ns += host_ns;
    return GGML_STATUS_SUCCESS;
}
