/* SPDX-License-Identifier: MIT */
/* GEMM engine internals: the weight layout (fixed at prepare time), the per-M plan, the host kernels. */
#ifndef RK_GEMM_INTERNAL_H
#define RK_GEMM_INTERNAL_H

#include <math.h>
#include <stdarg.h>
#include <string.h>

#include "npu_envelope.h"
#include "npu_limits.h"
#include "npu_timing.h"
#include "regcmd.h"
#include "rk_gemm.h"

/* K-slices per weight. A board envelope may allow only small K per task (calibrate proves K in steps
 * from 64), so this is generous; a K that needs more slices is declined by rk_gemm_supports. */
#define RK_GEMM_MAX_SLICES    64
/* cores and N-tiles start at multiples of it (docs/hardware/layouts.md §3.2, §4.3) */
#define RK_GEMM_N_UNIT        NPU_KGROUP_INT8
/* int8 feature tile ≤ 8 CBUF banks; 16 banks = WRONG (HM, docs/hardware/limits.md §5) */
#define RK_GEMM_I8_DATA_BANKS NPU_I8_DATA_BANKS_MAX

static inline bool rk_mode_int8(enum rk_gemm_mode m) { return m != RK_GEMM_FP16; } /* NPU runs int8 */

/* How a weight is cut: K-slices (each packed separately, docs/hardware/layouts.md §3.2 "a K-slice needs its own packed
 * B"), N over cores, N-tiles per core. Fixed at prepare time, independent of M, so it must be valid for every M; made
 * for one execution envelope (tile sizes, K per task, how A is sliced), which the plan then follows. */
struct rk_wlayout {
    struct npu_envelope env;
    enum rk_gemm_mode mode;
    uint32_t K, N, Kpad, bpe; /* bpe: 1 int8, 2 fp16 */
    uint32_t had_block;       /* int8-had: Hadamard block size (1 = no rotation) */
    uint32_t slices;
    uint32_t k0[RK_GEMM_MAX_SLICES], k[RK_GEMM_MAX_SLICES], kpad[RK_GEMM_MAX_SLICES];
    uint32_t cores; /* cores with a share of N (fewer than the engine's if N is small) */
    struct rk_core_share {
        uint32_t n0, n, npad; /* global first column, columns, padded columns */
        uint32_t units;       /* n in RK_GEMM_N_UNIT columns, spread evenly over the N-tiles (rk_tile_*) */
        uint32_t ntiles;
        uint64_t b_off[RK_GEMM_MAX_SLICES]; /* slice offset in the core's weight BO (bytes) */
        uint64_t b_bytes;
    } core[NPU_CORES];
};

struct rk_plan_task {
    uint8_t core, slice, job_start;
    uint8_t weight_reuse; /* the previous task on this core loaded the same weights with the same CBUF split:
                           * CBUF_CON0.WEIGHT_REUSE (rk_matmul.weight_reuse), no weight fetch in the MODEL */
    uint32_t ntile;
    uint32_t m0, m;
    uint64_t model_split_ns; /* pessimistic MODEL time at the split clock: what job splitting adds up */
};

/* The two clocks every MODEL figure is reported at: the mainline clock and the vendor maximum. */
enum rk_model_clock {
    RK_CLOCK_MAINLINE = 0,
    RK_CLOCK_VENDOR = 1
};
#define RK_MODEL_CLOCKS 2
uint32_t rk_model_clock_mhz(enum rk_model_clock c);

struct rk_plan {
    struct rk_wlayout L; /* the weight's layout; the plan may cut N-tiles narrower for WEIGHT_REUSE */
    uint32_t M;
    uint32_t m_tile[RK_GEMM_MAX_SLICES];
    struct npu_envelope env; /* what the plan may use (tiles, reuse, job budget) */
    struct rk_plan_core {
        uint32_t task0, tasks, jobs, reuse_tasks;
        uint64_t a_bytes, c_bytes, regcmd_bytes; /* per-core scratch BO sizes */
        uint64_t busy_ns[RK_MODEL_CLOCKS][NPU_MODEL_BOUNDS], max_job_ns;
        uint64_t dma_bytes; /* bytes the tasks move: A + weights actually fetched + C */
    } core[NPU_CORES];
    struct rk_plan_task *tasks; /* core-major; within a core: slice, N-tile, M-tile */
    uint32_t ntasks, njobs, reuse_tasks;
    uint64_t macs, dma_bytes;
    uint64_t model_ns[RK_MODEL_CLOCKS][NPU_MODEL_BOUNDS]; /* MODEL: cores in parallel, [clock][bound] */
    uint64_t max_job_ns;                                  /* pessimistic MODEL, at split_clock_mhz */
    uint32_t split_clock_mhz;                             /* the clock jobs are split at */
    uint64_t job_budget_ns;
};

/* env NULL: npu_envelope_safe. The layout (K-slices, N-tiles) stays inside it. */
int rk_layout_make(int64_t K, int64_t N, enum rk_gemm_mode mode, uint32_t cores, const struct npu_envelope *env,
                   struct rk_wlayout *L, char *why, size_t whylen);
/* Plan one matmul of M rows inside an envelope (NULL = the layout's). Jobs are split by the pessimistic MODEL at
 * npu_model_clock_mhz() against job_budget_ms (0 = the envelope's budget). */
int rk_plan_make(const struct rk_wlayout *L, uint32_t M, const struct npu_envelope *env, uint32_t job_budget_ms,
                 struct rk_plan *p, char *why, size_t whylen);
void rk_plan_free(struct rk_plan *p);
void rk_plan_print(const struct rk_plan *p, FILE *out);
/* Rows per task for one K-slice: the CBUF rule of the mode, capped by the envelope. */
uint32_t rk_plan_m_tile(enum rk_gemm_mode mode, uint32_t kpad, const struct npu_envelope *env);
/* N-tile t of a core's share: first column (local to the core), columns, padded columns. Tiles hold
 * RK_GEMM_N_UNIT-column units spread evenly, so they are computed, not stored (a narrow envelope cuts
 * the lm_head into hundreds of tiles per core). */
static inline uint32_t rk_tile_n0(const struct rk_core_share *cs, uint32_t t)
{
    uint32_t q = cs->units / cs->ntiles, r = cs->units % cs->ntiles;
    return (t * q + (t < r ? t : r)) * RK_GEMM_N_UNIT;
}
static inline uint32_t rk_tile_n(const struct rk_core_share *cs, uint32_t t)
{
    uint32_t n0 = rk_tile_n0(cs, t), end = t + 1 < cs->ntiles ? rk_tile_n0(cs, t + 1) : cs->n;
    return (end < cs->n ? end : cs->n) - n0;
}
uint32_t rk_tile_npad(const struct rk_wlayout *L, const struct rk_core_share *cs, uint32_t t);
/* A K-slice's rows in the A buffer: in place (one full-width row, LINE_STRIDE = Kpad, the vendor way) or
 * packed (each slice's columns in a region of their own, rows of kpad[s]: what the safe envelope needs). */
static inline bool rk_plan_slices_in_place(const struct rk_plan *p)
{
    return p->L.slices > 1 && p->env.inplace_k_slices;
}
static inline bool rk_plan_slices_packed(const struct rk_plan *p)
{
    return p->L.slices > 1 && !p->env.inplace_k_slices;
}
/* The matmul of one task (addresses relative to 0: add the BO IOVAs). */
struct rk_matmul rk_plan_task_matmul(const struct rk_plan *p, const struct rk_plan_task *t);
/* Byte offsets of a task's operands in the core's A, weight and C BOs. */
void rk_plan_task_offsets(const struct rk_plan *p, const struct rk_plan_task *t, uint64_t *a, uint64_t *b, uint64_t *c);
/* C element offset of (slice s, tile t, row m, column 0) in a core's C BO. */
uint64_t rk_plan_c_index(const struct rk_plan *p, uint32_t core, uint32_t s, uint32_t t, uint32_t m);

/* One value to symmetric int8: round half to even (the current rounding mode, like cvtps/vcvtnq), then
 * saturate to ±127. The scalar reference and the SIMD tails share it, so their bits agree. */
static inline int8_t rk_q8(float v)
{
    long q = lrintf(v);
    return (int8_t)(q > 127 ? 127 : q < -127 ? -127 : q);
}

/* ---- output canaries (canary.c) ----
 * The kernel reports neither a job it dropped nor one it reset after the job timeout: both signal
 * "complete" with their outputs unwritten (docs/hardware/rocket-uapi.md §1.3, §2.3). So before each job
 * the whole last row of every task's output tile (each K-slice's partial tile included) is poisoned with a
 * word no result can have, and checked after the wait: a canary still there fails the matmul. The last
 * row holds the last element the task writes whichever order the DPU writes in (row by row, or one
 * column group over all rows after the other).
 *   int32 out (int8 tasks): activations and weights are clamped to ±127 (rk_q8), K per task is at most
 *     NPU_INT8_K_MAX, so |acc| <= 127·127·8192 = 132,128,768 < 2^27 (docs/hardware/arithmetic.md §1): a
 *     word of magnitude >= 2^30 is never a result.
 *   fp32 out (fp16 tasks): inputs are finite and scaled to |v| < 2^14, so every sum is finite
 *     (docs/hardware/arithmetic.md §5): a NaN is never a result; its fixed payload makes it ours.
 * The two words of each type alternate between calls (per engine and core) and both count as "untouched",
 * so a region left unwritten since the previous call cannot pass either. */
#define RK_I8_ABS_MAX      127
#define RK_ACC_I8_BOUND    ((int64_t)RK_I8_ABS_MAX * RK_I8_ABS_MAX * NPU_INT8_K_MAX)
#define RK_CANARY_I32_MIN  (1ll << 30) /* smallest |canary| of the int32 words */
#define RK_CANARY_I32_EVEN 0x5A5A5A5Au /* +1515870810 */
#define RK_CANARY_I32_ODD  0xA5A5A5A5u /* -1515870811 */
#define RK_CANARY_F32_EVEN 0x7FC5A5A5u /* quiet NaN, payload 0x45A5A5 */
#define RK_CANARY_F32_ODD  0x7FCA5A5Au /* quiet NaN, payload 0x4A5A5A */
_Static_assert(RK_ACC_I8_BOUND < (1ll << 27) && (1ll << 27) < RK_CANARY_I32_MIN, "int8 sums stay below 2^27");
_Static_assert((int64_t)(int32_t)RK_CANARY_I32_EVEN >= RK_CANARY_I32_MIN &&
                       -(int64_t)(int32_t)RK_CANARY_I32_ODD >= RK_CANARY_I32_MIN,
               "int32 canaries are at least 2^30 in magnitude");
_Static_assert(((RK_CANARY_F32_EVEN >> 23) & 0xFF) == 0xFF && ((RK_CANARY_F32_ODD >> 23) & 0xFF) == 0xFF &&
                       (RK_CANARY_F32_EVEN & 0x7FFFFF) && (RK_CANARY_F32_ODD & 0x7FFFFF),
               "fp32 canaries are NaNs");

/* The canary word of a layout's output type for a call's phase (0 or 1). */
uint32_t rk_canary_word(const struct rk_wlayout *L, unsigned phase);
/* Poison the last row of every task of `core` in its C BO mapping (cmap). */
void rk_canary_write(const struct rk_plan *p, uint32_t core, void *cmap, unsigned phase);
/* The first task of `core` (index among the core's tasks) whose canary row still holds a canary word of
 * either phase, or -1 when every task wrote its row. */
int64_t rk_canary_check(const struct rk_plan *p, uint32_t core, const void *cmap);

/* ---- weight quantization (one row) ---- */
/* int8: s = amax/127 (1 if the row is 0), q = clamp(rne(w·127/amax), ±127) (docs/hardware/arithmetic.md §4).
 * fp16: s = 2^(ceil(log2 amax) − 14) so |w/s| ≤ 2^14 (exact power-of-two scaling, fp16 max 65504).
 * Return -EINVAL if the row holds a non-finite value. */
int rk_quant_row_i8(const float *w, uint32_t k, int8_t *q, float *scale);
int rk_quant_row_f16(const float *w, uint32_t k, uint16_t *q, float *scale);
float rk_pow2_scale_f16(float amax);

/* ---- block Hadamard rotation (hadamard.c) ---- */
uint32_t rk_hadamard_block(uint32_t K);
void rk_hadamard_rows(float *x, int64_t rows, int64_t ld, uint32_t K, uint32_t B);

/* ---- activations: rows of X into the row-major A layout (stride Kpad, zero padding K..Kpad) ----
 * A row holding a NaN or an infinity is no input for the NPU: its A row is written as zeros and its s_x as
 * NaN, so its Y row reads out as NaN; the caller learns which rows from s_x (rk_gemm_nonfinite_rows). The
 * other rows are quantized as usual. Return the number of such rows (0 normally). */
static inline int rk_act_row_nonfinite(void *a_row, size_t bytes, float *sx)
{
    memset(a_row, 0, bytes);
    *sx = NAN;
    return 1;
}
typedef int (*rk_act_quant_fn)(const float *x, int64_t M, int64_t ldx, uint32_t K, uint32_t Kpad, void *dst, float *sx);
int rk_act_quant_i8_ref(const float *x, int64_t M, int64_t ldx, uint32_t K, uint32_t Kpad, void *dst, float *sx);
int rk_act_quant_f16_ref(const float *x, int64_t M, int64_t ldx, uint32_t K, uint32_t Kpad, void *dst, float *sx);
int rk_act_quant_i8_simd(const float *x, int64_t M, int64_t ldx, uint32_t K, uint32_t Kpad, void *dst, float *sx);
int rk_act_quant_f16_simd(const float *x, int64_t M, int64_t ldx, uint32_t K, uint32_t Kpad, void *dst, float *sx);

/* ---- readout: y[j] = (float)(Σ_s c_s[j]) · (sx · sw[j]), j < n ---- */
/* int32 sums wrap like the NPU (docs/hardware/arithmetic.md §1 item 5). */
typedef void (*rk_readout_fn)(const void *const *c, uint32_t nslices, uint32_t n, float sx, const float *sw, float *y,
                              int32_t *acc);
void rk_readout_i32_ref(const void *const *c, uint32_t nslices, uint32_t n, float sx, const float *sw, float *y,
                        int32_t *acc);
void rk_readout_f32_ref(const void *const *c, uint32_t nslices, uint32_t n, float sx, const float *sw, float *y,
                        int32_t *acc);
void rk_readout_i32_simd(const void *const *c, uint32_t nslices, uint32_t n, float sx, const float *sw, float *y,
                         int32_t *acc);
void rk_readout_f32_simd(const void *const *c, uint32_t nslices, uint32_t n, float sx, const float *sw, float *y,
                         int32_t *acc);
const char *rk_simd_name(void); /* "avx2", "neon" or "scalar" (what the *_simd functions use) */
bool rk_simd_available(void);

/* ---- engine objects ---- */
struct rk_core_scratch {
    struct npu_bo *a, *c, *regcmd;
    bool c_cpu_owned;      /* C prepped for the readout and not handed back since (no NPU access) */
    unsigned canary_phase; /* flips every call */
};

/* Scratch sets per core: a pipelined run (gemm_exec.c) fills one set's A while the NPU reads the other's and
 * reads one set's C out while the NPU writes the other's. */
#define RK_GEMM_BUF_SETS 2

/* An fd group: one device (fd, 32-bit IOVA space) per core, with the scratch BOs of the runs on its weights
 * (made when a run first needs them). A weight lives in one group; its matmuls run on that group's fds. */
struct rk_fd_group {
    struct npu_device *dev[NPU_CORES];
    struct rk_core_scratch scratch[RK_GEMM_BUF_SETS][NPU_CORES];
    uint64_t used[NPU_CORES]; /* page-rounded bytes of the weight BOs on each fd */
};

struct rk_gemm_engine {
    struct rk_gemm_options opt;
    uint32_t cores;
    /* The group of the weight being run (rk_engine_use_group), so the run indexes dev[core], scratch[set][core]. */
    struct npu_device **dev;
    struct rk_core_scratch (*scratch)[NPU_CORES];
    struct rk_fd_group *group[RK_GEMM_MAX_GROUPS];
    uint32_t groups;       /* opened so far (group 0 at open, more as weights need them) */
    uint64_t iova_space;   /* per fd (npu_device_info.iova_space) */
    uint64_t iova_reserve; /* per fd: kept free of weights for scratch BOs and per-call operands */
    float *sx;             /* per-row activation scales, grown as needed; NaN for a non-finite row */
    size_t sx_cap;
    int64_t sx_rows;          /* rows of sx the last run quantized (rk_gemm_nonfinite_rows) */
    double glue_ns_per_value; /* measured: quantization + readout (thread CPU ns) per value of X and Y, a
                               * running mean over runs (gemm_exec.c chunks_for) */
    float *xrot;              /* int8-had: rotated copy of X */
    size_t xrot_cap;
    uint8_t *xq; /* packed K-slices: quantized full-width rows, scattered into the slices' A regions */
    size_t xq_cap;
    struct npu_envelope env; /* the execution envelope every plan of this engine stays inside */
    char err[512];
};

struct rk_weight {
    struct rk_gemm_engine *e;
    struct rk_wlayout L;
    float *scale;        /* N per-output-channel scales */
    size_t scale_cap;    /* ephemeral weights (rk_weight_load): scales allocated */
    int64_t fill_cpu_ns; /* the last conversion: thread CPU time of the busiest host thread */
    uint32_t group;      /* the fd group holding b[] */
    struct npu_bo *b[NPU_CORES];
    struct rk_weight_info info;
};

int rk_gemm_fail(struct rk_gemm_engine *e, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* gemm_engine.c: fd groups. Runs index e->dev / e->scratch; this points them at group g. */
void rk_engine_use_group(struct rk_gemm_engine *e, uint32_t g);
/* Create w's BOs of bytes[c] (c < cores) in the first group with room for them beyond the reserve (opening a
 * new group when none has), set w->group. 0 or -errno with the reason in e. */
int rk_weight_bos_place(struct rk_gemm_engine *e, struct rk_weight *w, const uint64_t *bytes, uint32_t cores);
/* Close w's BOs and give their room back to the group. */
void rk_weight_bos_release(struct rk_weight *w);

/* Test hook: rk_gemm_run that also stores the int32 accumulators (int8 mode) in acc[M·N] (row-major). */
int rk_gemm_run_acc(struct rk_gemm_engine *e, const struct rk_weight *w, const float *X, int64_t M, int64_t ldx,
                    float *Y, int64_t ldy, struct rk_gemm_stats *stats, int32_t *acc);

#endif
